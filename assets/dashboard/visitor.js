// "Visitor details" beside one chat (section.visitor-panel): the visitor's name, site and extra
// pre-chat answers, the page they started the chat on (.visitor-page), where they came from
// (.visitor-referrer) and their earlier chats (ul.visitor-previous), each with a "View
// transcript" button (.previous-transcript) that loads
// GET /api/v1/conversations/{conversation}/messages into ol.previous-lines inside the panel.
// Filled from the staff socket's `visitor` frame; a later frame replaces the details. Text from
// the server goes in with textContent; only http(s) addresses become links (new tab, no opener,
// no referrer).
import { apiGet } from './api.js';
import { dateTime, format, statusLabel } from './strings.js';
import { element, setText, showMessage, timeElement, transcriptLine } from './dom.js';

/** The server sends at most 20 earlier chats; anything past these bounds is not shown. */
const MAX_PREVIOUS = 50;
const MAX_ANSWERS = 50;

/** Builds the details area for `info` ({conversation, name, site}); returns `{ section, show(frame) }`. */
export function visitorPanel(t, info) {
  const base = `visitor-${info.conversation}`;
  const section = element('section', 'visitor-panel');
  section.setAttribute('aria-labelledby', `${base}-title`);
  const title = element('h4', '', t.visitorDetails);
  title.id = `${base}-title`;
  title.tabIndex = -1;
  const details = element('dl', 'visitor-details');
  const waiting = element('p', 'hint', t.visitorWaiting);
  const newTab = element('span', 'visually-hidden', t.opensInNewTab);
  newTab.id = `${base}-new-tab`;

  const earlier = element('div', 'visitor-earlier');
  earlier.hidden = true;
  const earlierTitle = element('h5', '', t.earlierChats);
  earlierTitle.id = `${base}-earlier`;
  const previous = element('ul', 'visitor-previous');
  previous.setAttribute('aria-labelledby', earlierTitle.id);
  earlier.append(earlierTitle, previous);

  const statusLine = element('p', 'visitor-status');
  statusLine.setAttribute('role', 'status');
  const error = element('p', 'error');
  error.setAttribute('role', 'alert');
  error.hidden = true;

  // The transcript of one earlier chat at a time.
  const view = element('section', 'previous-view');
  view.id = `${base}-previous`;
  view.hidden = true;
  const viewTitle = element('h5');
  viewTitle.id = `${base}-transcript`;
  viewTitle.tabIndex = -1;
  view.setAttribute('aria-labelledby', viewTitle.id);
  const noLines = element('p', '', t.transcriptEmpty);
  noLines.hidden = true;
  const lines = element('ol', 'previous-lines');
  lines.setAttribute('aria-labelledby', viewTitle.id);
  lines.tabIndex = 0; // it scrolls: reachable with the keyboard
  const closeButton = element('button', 'previous-close secondary', t.closeTranscript);
  closeButton.type = 'button';
  closeButton.addEventListener('click', () => {
    setText(statusLine, '');
    closeTranscript(true);
  });
  view.append(viewTitle, noLines, lines, closeButton);

  section.append(title, details, waiting, earlier, statusLine, error, view, newTab);
  details.append(row(t.visitorName, info.name || t.visitor, 'visitor-name'));
  if (info.site) details.append(row(t.siteLabel, info.site, 'visitor-site'));

  let shown = ''; // the details on screen, as JSON: an identical frame (after a join) changes nothing
  let requestNo = 0;
  let open = null; // the earlier conversation whose transcript is shown

  /** Fills the area from a `visitor` frame, replacing what was there. */
  function show(frame) {
    const data = normalise(frame);
    const key = JSON.stringify(data);
    if (key === shown) return;
    shown = key;
    const active = document.activeElement;
    const focusKey = section.contains(active) ? active.dataset.key : undefined;

    details.replaceChildren(
      row(t.visitorName, data.name, 'visitor-name'),
      row(t.siteLabel, data.site || t.notKnown, 'visitor-site'),
      row(t.visitorPage, address(data.page, 'page'), 'visitor-page'),
      row(t.visitorReferrer, address(data.referrer, 'referrer'), 'visitor-referrer'),
      ...data.answers.map((a) => row(a.label, a.value, 'visitor-answer')),
    );
    if (data.previous.length) previous.replaceChildren(...data.previous.map(previousItem));
    else previous.replaceChildren(element('li', 'empty', t.noEarlierChats));
    waiting.hidden = true;
    earlier.hidden = false;
    if (open && !data.previous.some((p) => p.conversation === open)) closeTranscript(false);
    // The element that had the focus was replaced: its successor (or the heading) takes it.
    if (focusKey !== undefined && !active.isConnected) (find(focusKey) || title).focus();
  }

  function normalise(frame) {
    const text = (value) => (typeof value === 'string' ? value : '');
    const answers = Array.isArray(frame.answers) ? frame.answers : [];
    const list = Array.isArray(frame.previous) ? frame.previous : [];
    return {
      name: text(frame.name) || info.name || t.visitor,
      site: text(frame.site) || info.site || '',
      page: text(frame.page),
      referrer: text(frame.referrer),
      answers: answers
        .filter((a) => a && typeof a === 'object' && (typeof a.value === 'string' || typeof a.value === 'number'))
        .slice(0, MAX_ANSWERS)
        .map((a) => ({ label: text(a.label) || text(a.key), value: String(a.value) })),
      previous: list
        .filter((p) => p && typeof p.conversation === 'string' && p.conversation)
        .slice(0, MAX_PREVIOUS)
        .map((p) => ({ conversation: p.conversation, started_at: text(p.started_at), status: text(p.status) })),
    };
  }

  /** A dt/dd pair in a div; `value` is text or a node. */
  function row(label, value, className) {
    const group = element('div');
    const dd = element('dd', className);
    dd.append(value);
    group.append(element('dt', '', label), dd);
    return group;
  }

  const WEB_ADDRESS = /^https?:[/][/]/i;

  /** An address as text; a web address (http or https scheme) is also a link. */
  function address(url, key) {
    if (!url) return t.notKnown;
    if (!WEB_ADDRESS.test(url)) return url;
    let target;
    try {
      target = new URL(url);
    } catch {
      return url;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return url;
    const link = element('a', '', url);
    link.href = target.href;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.setAttribute('aria-describedby', newTab.id);
    link.dataset.key = key;
    return link;
  }

  function previousItem(chat) {
    const started = dateTime(chat.started_at) || chat.started_at;
    const li = element('li', 'previous-chat');
    li.dataset.conversation = chat.conversation;
    const state = element('span', 'previous-state', statusLabel(t, chat.status));
    const button = element('button', 'previous-transcript secondary', t.viewTranscript);
    button.type = 'button';
    button.dataset.key = chat.conversation;
    button.setAttribute('aria-controls', view.id);
    button.append(element('span', 'visually-hidden', format(t.earlierChatOf, { started })));
    button.addEventListener('click', () => openTranscript(chat.conversation, started));
    li.append(timeElement(chat.started_at), ' ', state, button);
    return li;
  }

  function find(key) {
    return [...section.querySelectorAll('[data-key]')].find((node) => node.dataset.key === key) || null;
  }

  async function openTranscript(conversation, started) {
    const mine = ++requestNo;
    open = conversation;
    showMessage(error, '');
    viewTitle.textContent = format(t.earlierTranscriptTitle, { started });
    lines.replaceChildren();
    lines.hidden = true;
    noLines.hidden = true;
    view.hidden = false;
    view.setAttribute('aria-busy', 'true');
    setText(statusLine, t.loadingTranscript);
    try {
      const list = await apiGet(t, `/api/v1/conversations/${encodeURIComponent(conversation)}/messages`);
      if (mine !== requestNo) return;
      const messages = Array.isArray(list) ? list : [];
      lines.replaceChildren(...messages.map((message) => transcriptLine(t, message)));
      lines.hidden = messages.length === 0;
      noLines.hidden = messages.length > 0;
      setText(statusLine, format(t.transcriptShown, { n: messages.length }));
      // Unless the operator has gone elsewhere (the reply box) while it loaded.
      const at = document.activeElement;
      if (!at || at === document.body || section.contains(at)) viewTitle.focus();
    } catch (e) {
      if (mine !== requestNo) return;
      closeTranscript(false);
      setText(statusLine, '');
      showMessage(error, e.message);
    } finally {
      if (mine === requestNo) view.removeAttribute('aria-busy');
    }
  }

  /** Hides the transcript; `returnFocus` puts the focus back on the button that opened it. */
  function closeTranscript(returnFocus) {
    requestNo += 1;
    const hadFocus = view.contains(document.activeElement);
    const opener = open;
    open = null;
    view.hidden = true;
    view.removeAttribute('aria-busy');
    lines.replaceChildren();
    if (returnFocus || hadFocus) ((opener && find(opener)) || title).focus();
  }

  return { section, show };
}
