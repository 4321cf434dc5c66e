// Internal notes beside one chat (section.notes-area): notes for staff only; the server never
// sends them to the visitor. ol.notes lists each note once by its `id` (li.note with span.author,
// a <time> and span.text), whether it is our own (shown once the server's `ack` arrives), a
// colleague's (a `note` frame) or replayed after `accept` and `join`. form.note-form holds the
// new note's textarea (#note-<conversation>) and button.add-note; chat.js sends the `note` frame.
// A note of ours waiting for its `ack` is shown greyed (li.note-pending) and kept in
// sessionStorage, so it is sent again with the same id after a reconnect or a reload.
import { MAX_CHARS } from '/common/composer.js';
import { element, shortTime, showFieldMessage, timeElement } from './dom.js';

const PENDING_KEY = 'parley.staff.notes';

/**
 * Builds the notes area of `conversation`. `me` is the operator's display name. onAdd(id, text)
 * sends a new note and returns '' or a problem to show. Returns `{ section, show(frame),
 * ack(id), pending(), end() }`.
 */
export function notesArea(t, conversation, me, { onAdd }) {
  const base = `notes-${conversation}`;
  const section = element('section', 'notes-area');
  section.setAttribute('aria-labelledby', `${base}-title`);
  const title = element('h4', '', t.notesTitle);
  title.id = `${base}-title`;
  const none = element('p', 'hint notes-empty', t.notesNone);
  const list = element('ol', 'notes');
  list.setAttribute('aria-labelledby', title.id);
  list.setAttribute('aria-live', 'polite');
  list.tabIndex = 0; // it scrolls: reachable with the keyboard
  list.hidden = true;

  const form = element('form', 'note-form');
  form.noValidate = true;
  const label = element('label', '', t.noteLabel);
  label.htmlFor = `note-${conversation}`;
  const input = element('textarea');
  input.id = `note-${conversation}`;
  input.rows = 2;
  input.maxLength = MAX_CHARS;
  const error = element('p', 'error');
  error.id = `note-${conversation}-error`;
  error.hidden = true;
  const add = element('button', 'add-note', t.addNote);
  add.type = 'submit';
  form.append(label, input, error, add);
  section.append(title, none, list, form);

  const shown = new Set(); // ids of the notes listed
  const waiting = new Map(); // id → { text, li }: ours, not acknowledged yet
  for (const p of loadPending(conversation)) addPending(p.id, p.text);

  function fail(message) {
    showFieldMessage(error, message, [input], message ? input : null);
  }

  input.addEventListener('input', () => {
    if (!error.hidden) fail('');
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return fail(t.noteMissing);
    if ([...text].length > MAX_CHARS) return fail(t.noteTooLong);
    const id = crypto.randomUUID();
    const problem = onAdd(id, text);
    if (problem) return fail(problem);
    addPending(id, text);
    savePending();
    input.value = '';
    fail('');
  });

  function item(className, name, at, text) {
    const li = element('li', className);
    li.append(element('span', 'author', name), ' ', timeElement(at, shortTime), element('span', 'text', text));
    return li;
  }

  /** Adds `li` at the end (or in place of `old`), keeping the end of the list in view. */
  function place(li, old) {
    const atEnd = list.hidden || list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    if (old) old.replaceWith(li);
    else list.append(li);
    list.hidden = false;
    none.hidden = true;
    if (atEnd) list.scrollTop = list.scrollHeight;
  }

  function addPending(id, text) {
    if (shown.has(id) || waiting.has(id)) return;
    const li = item('note-pending', t.you, '', text);
    li.append(element('span', 'state', t.noteSaving));
    waiting.set(id, { text, li });
    place(li);
  }

  /** Lists a `note` frame, unless a note with its id is listed already. */
  function show(frame) {
    const id = typeof frame.id === 'string' ? frame.id : '';
    if (!id || shown.has(id)) return false;
    const name = typeof frame.name === 'string' && frame.name ? frame.name : t.operator;
    const li = item('note', name === me ? t.you : name, frame.at, String(frame.text ?? ''));
    const mine = waiting.get(id);
    shown.add(id);
    if (mine) {
      waiting.delete(id);
      savePending();
    }
    place(li, mine?.li);
    return true;
  }

  /** The server stored our note `id`; false when it is not one of ours waiting here. */
  function ack(id) {
    const mine = waiting.get(id);
    if (!mine) return false;
    waiting.delete(id);
    savePending();
    shown.add(id);
    place(item('note', t.you, new Date().toISOString(), mine.text), mine.li);
    return true;
  }

  function savePending() {
    storePending(conversation, [...waiting].map(([id, { text }]) => ({ id, text })));
  }

  return {
    section,
    show,
    ack,
    /** Our notes not acknowledged yet ({id, text}), to send again after a reconnect. */
    pending: () => [...waiting].map(([id, { text }]) => ({ id, text })),
    /** The chat is over for us: no new notes; unsaved ones say so. (The panel moves the focus.) */
    end() {
      form.hidden = true;
      for (const { li } of waiting.values()) li.querySelector('.state').textContent = t.noteNotSaved;
      waiting.clear();
      savePending();
    },
  };
}

function readAll() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(PENDING_KEY) || '{}');
    return stored && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  } catch {
    return {};
  }
}

function loadPending(conversation) {
  const list = readAll()[conversation];
  return Array.isArray(list) ? list.filter((p) => typeof p?.id === 'string' && typeof p.text === 'string') : [];
}

function storePending(conversation, list) {
  const all = readAll();
  if (list.length) all[conversation] = list;
  else delete all[conversation];
  try {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(all));
  } catch {
    // Storage blocked or full: pending notes still live until the page closes.
  }
}
