// Small element builders shared by the dashboard views. Text always goes in with textContent.
import { describedBy } from '/common/composer.js';
import { dateTime } from './strings.js';

const clock = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });

const AUTHORS = ['visitor', 'operator', 'system'];

/** A new `tag` element with an optional class name and text. */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An RFC 3339 time as the local time of day, e.g. "10:15" ('' if unreadable). */
export function shortTime(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? '' : clock.format(date);
}

/** A <time> for an RFC 3339 time, showing the local date and time (or what `show` makes of it). */
export function timeElement(at, show = dateTime) {
  const time = element('time', '', show(at));
  time.dateTime = typeof at === 'string' ? at : '';
  return time;
}

/**
 * One line of a stored transcript (from GET /api/v1/conversations/{conversation}/messages): an
 * li.line.line-<author> with span.author, a <time> and span.text.
 */
export function transcriptLine(t, message) {
  const kind = AUTHORS.includes(message.author) ? message.author : 'system';
  const author = message.name || { visitor: t.visitor, operator: t.operator }[kind] || t.system;
  const li = element('li', `line line-${kind}`);
  if (Number.isInteger(message.seq)) li.dataset.seq = String(message.seq);
  li.append(
    element('span', 'author', String(author)),
    ' ',
    timeElement(message.at),
    element('span', 'text', String(message.text ?? '')),
  );
  return li;
}

/** Sets a live region's text, only when it changes (so it is not announced twice). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Shows `message` in an error element (role=alert), or hides it when empty. */
export function showMessage(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

/**
 * Shows `message` in an error element like showMessage; `field` (one of the form's `fields`)
 * becomes aria-invalid, described by the message, and gets the focus. The other fields are
 * marked valid again.
 */
export function showFieldMessage(node, message, fields, field) {
  showMessage(node, message);
  for (const input of fields) {
    const invalid = input === field && Boolean(message);
    if (invalid) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    describedBy(input, node.id, invalid);
  }
  if (field) field.focus();
}
