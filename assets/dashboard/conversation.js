// One open chat in the dashboard: its tab panel with a heading (the visitor's name, the site and,
// for a chat with a department, span.team), the transcript (ol.messages), the
// visitor's typing indicator, the reply box (#reply-<conversation>, button.send, with the canned
// responses list ul.canned-list) and "Close chat" in div.chat-main, and beside them (div.chat-side)
// the visitor's details (section.visitor-panel, see visitor.js), the internal notes
// (section.notes-area, see notes.js) and "Transfer this chat" (section.transfer-area, see
// transfer.js). Pending messages and seq de-duplication are handled by Transcript.
import { Transcript } from '/common/transcript.js';
import { composer } from '/common/composer.js';
import { cannedPicker } from './canned.js';
import { format, teamName } from './strings.js';
import { element, shortTime } from './dom.js';
import { visitorPanel } from './visitor.js';
import { notesArea } from './notes.js';
import { transferArea } from './transfer.js';

/** A visitor who stops typing without saying so (a lost frame) stops showing after this. */
const TYPING_SHOWN_MS = 10000;

/**
 * Builds the panel for `info` ({conversation, name, site, department}). `me` is the operator's
 * display name. Callbacks: onSend(text) → '' or an error, onTyping(active), onClose(), onRemove(),
 * onNote(id, text) → '' or an error, onTransfer(target, note) → '' or an error, where target is
 * {to} or {department}. `canned` (from cannedResponses) adds the canned responses list to the
 * reply box; `directory` (staffDirectory, see transfer.js) offers colleagues and teams.
 */
export function conversationPanel(t, info, me, callbacks) {
  const { onSend, onTyping, onClose, onRemove, onNote, onTransfer, canned, directory } = callbacks;
  const id = info.conversation;
  const name = info.name || t.visitor;
  const panel = element('section', 'chat-panel');
  panel.id = `panel-${id}`;
  const heading = element('h3', '', name);
  if (info.site) heading.append(' ', element('span', 'site', format(t.site, { site: info.site })));
  const team = teamName(info.department);
  if (team) heading.append(' ', element('span', 'team', format(t.team, { team })));
  const list = element('ol', 'messages');
  list.setAttribute('aria-live', 'polite');
  list.setAttribute('aria-label', format(t.messagesWith, { name }));
  list.tabIndex = 0;
  const typing = element('p', 'typing');
  typing.setAttribute('aria-live', 'polite');
  const ended = element('div', 'ended');
  ended.hidden = true;
  const dismiss = element('button', 'dismiss', t.removeTab);
  dismiss.type = 'button';
  dismiss.addEventListener('click', onRemove);
  const endedText = element('p', '', t.ended);
  ended.append(endedText, dismiss);

  const form = element('form', 'composer');
  form.noValidate = true;
  const label = element('label', '', format(t.replyTo, { name }));
  label.htmlFor = `reply-${id}`;
  const reply = element('textarea');
  reply.id = `reply-${id}`;
  reply.rows = 3;
  reply.maxLength = 4000;
  const hint = element('p', 'hint', t.replyHint);
  hint.id = `reply-${id}-hint`;
  reply.setAttribute('aria-describedby', hint.id);
  const error = element('p', 'error');
  error.id = `reply-${id}-error`;
  error.hidden = true;
  const send = element('button', 'send', t.send);
  send.type = 'submit';
  const close = element('button', 'close-chat secondary', t.closeChat);
  close.type = 'button';
  close.addEventListener('click', onClose);
  const actions = element('div', 'actions');
  actions.append(send, close);
  form.append(label, reply, hint, error, actions);
  const main = element('div', 'chat-main');
  main.append(list, typing, ended, form);
  const visitor = visitorPanel(t, info);
  const notes = notesArea(t, id, me, { onAdd: onNote });
  const transfer = transferArea(t, id, { onTransfer, directory });
  const side = element('div', 'chat-side');
  side.append(visitor.section, notes.section, transfer.section);
  panel.append(heading, main, side);

  const transcript = new Transcript(list, {
    self: 'operator',
    sending: t.sending,
    author: (m) => {
      if (m.author === 'visitor') return m.name || name;
      if (m.author === 'operator') return m.name === me ? t.you : m.name || t.operator;
      return t.system;
    },
    time: shortTime,
  });
  // Before the composer: the list handles its keys and a "/shortcut" reply first.
  const picker = canned ? cannedPicker(t, canned, form, reply) : null;
  const box = composer(form, reply, error, {
    onSend,
    onTyping,
    strings: { empty: t.messageMissing, tooLong: t.messageTooLong },
  });
  let typingTimer = null;

  function showTyping(active) {
    clearTimeout(typingTimer);
    const text = active ? format(t.typing, { name }) : '';
    if (typing.textContent !== text) typing.textContent = text;
    if (active) typingTimer = setTimeout(() => showTyping(false), TYPING_SHOWN_MS);
  }

  return {
    panel,
    transcript,
    /** The internal notes (see notes.js): show(frame), ack(id), pending(). */
    notes,
    /** The transfer form (see transfer.js): busy(on), fail(message). */
    transfer,
    showTyping,
    /** Shows (or replaces) the visitor's details from a `visitor` frame. */
    showVisitor: visitor.show,
    ended: () => !ended.hidden,
    /**
     * The chat is over for us (closed, or transferred: then `text` says so): the transcript and
     * the notes stay, the reply box, the note form and the transfer form go.
     */
    end(text = t.ended) {
      if (!ended.hidden) return;
      const hadFocus = panel.contains(document.activeElement);
      endedText.textContent = text;
      ended.hidden = false;
      form.hidden = true;
      notes.end();
      transfer.end();
      picker?.close();
      box.setEnabled(false);
      showTyping(false);
      if (hadFocus) dismiss.focus();
    },
    focus() {
      reply.focus();
    },
  };
}
