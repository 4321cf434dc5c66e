// Canned responses in the reply box of a chat. Typing "/" and the start of a shortcut at the
// start of a reply (e.g. "/hou") opens a listbox (ul.canned-list, above the reply box) of the
// matching responses, after the ARIA combobox pattern: the textarea is the combobox
// (aria-expanded, aria-controls, aria-activedescendant) and the first match is active; Up and
// Down move, Enter or Tab puts the response's text in place of "/shortcut", Escape closes the
// list. A reply that is exactly "/shortcut" of a known response is replaced by its text instead
// of being sent.
// The responses come from GET /api/v1/canned-responses once after sign-in, and again each time
// the dashboard window regains focus (so ones added on the administration page turn up).
import { apiGet } from './api.js';
import { format } from './strings.js';
import { element } from './dom.js';

/** Options shown at most; typing more of the shortcut narrows the list. */
const MAX_SHOWN = 20;
/** Characters of a response's text shown in its option. */
const PREVIEW_CHARS = 120;
/** What is typed before the caret while the list may be open: "/" and part of a shortcut. */
const TYPED = /^\/([A-Za-z0-9_-]*)$/;
/** A whole reply that is one shortcut. */
const WHOLE = /^\/([A-Za-z0-9_-]+)$/;

/** The signed-in user's canned responses (their own, then the shared ones), kept up to date. */
export function cannedResponses(t) {
  let list = [];
  let loading = null;

  /** (Re)loads the list; a failure keeps the last one (the chat status reports lost connections). */
  function load() {
    if (!loading) {
      loading = apiGet(t, '/api/v1/canned-responses')
        .then((items) => {
          if (Array.isArray(items)) {
            list = items.filter((c) => typeof c?.shortcut === 'string' && typeof c.text === 'string' && c.text);
          }
        })
        .catch(() => {})
        .finally(() => {
          loading = null;
        });
    }
    return loading;
  }

  window.addEventListener('focus', load);
  return {
    load,
    /** Responses whose shortcut starts with `typed` (any case), in the server's order. */
    matching(typed) {
      const start = typed.toLowerCase();
      return list.filter((c) => c.shortcut.toLowerCase().startsWith(start)).slice(0, MAX_SHOWN);
    },
    /** The response with exactly this shortcut (your own before a shared one), or undefined. */
    exact(shortcut) {
      const wanted = shortcut.toLowerCase();
      return list.find((c) => c.shortcut.toLowerCase() === wanted);
    },
  };
}

function preview(text) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > PREVIEW_CHARS ? `${flat.slice(0, PREVIEW_CHARS - 1)}…` : flat;
}

/**
 * Adds the list to the reply box `textarea` of `form`. Call it before the composer is wired, so
 * that its keys and the form's submit reach this first. Returns `{ close }`.
 */
export function cannedPicker(t, canned, form, textarea) {
  const listId = `${textarea.id}-canned`;
  const listbox = element('ul', 'canned-list');
  listbox.id = listId;
  listbox.setAttribute('role', 'listbox');
  listbox.setAttribute('aria-label', t.cannedList);
  listbox.hidden = true;
  const status = element('p', 'visually-hidden');
  status.setAttribute('role', 'status');
  // The list opens above the reply box, over the transcript, so that opening and closing it
  // moves nothing (a click on Send while it is open still lands on Send).
  const box = element('div', 'canned-box');
  textarea.replaceWith(box);
  box.append(textarea, listbox);
  box.after(status);
  textarea.setAttribute('role', 'combobox');
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-expanded', 'false');
  textarea.setAttribute('aria-controls', listId);

  let shown = []; // the responses in the open list
  let active = -1;
  let quiet = false; // our own input event after an insertion

  const say = (text) => {
    if (status.textContent !== text) status.textContent = text;
  };

  /** The part of a shortcut typed so far, or null when the list does not apply. */
  function typed() {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return null;
    const match = TYPED.exec(textarea.value.slice(0, caret));
    return match ? match[1] : null;
  }

  function option(item, index) {
    const node = element('li', 'canned-option');
    node.id = `${listId}-${index}`;
    node.setAttribute('role', 'option');
    node.setAttribute('aria-selected', 'false');
    node.append(element('span', 'canned-shortcut', `/${item.shortcut}`));
    if (item.shared) node.append(' ', element('span', 'canned-tag', t.cannedShared));
    node.append(' ', element('span', 'canned-preview', preview(item.text)));
    // A click inserts; the focus stays in the reply box.
    node.addEventListener('mousedown', (event) => event.preventDefault());
    node.addEventListener('click', () => insert(item, textarea.selectionStart));
    return node;
  }

  function update() {
    const start = typed();
    const found = start === null ? [] : canned.matching(start);
    if (!found.length) return close();
    const announce = listbox.hidden || found.length !== shown.length;
    shown = found;
    listbox.replaceChildren(...found.map(option));
    listbox.hidden = false;
    textarea.setAttribute('aria-expanded', 'true');
    setActive(0);
    if (announce) say(found.length === 1 ? t.cannedMatchesOne : format(t.cannedMatches, { n: found.length }));
  }

  function setActive(index) {
    active = index;
    [...listbox.children].forEach((node, i) => node.setAttribute('aria-selected', String(i === index)));
    const node = listbox.children[index];
    if (!node) return textarea.removeAttribute('aria-activedescendant');
    textarea.setAttribute('aria-activedescendant', node.id);
    node.scrollIntoView({ block: 'nearest' });
  }

  function close() {
    if (listbox.hidden) return;
    listbox.hidden = true;
    listbox.replaceChildren();
    shown = [];
    active = -1;
    textarea.setAttribute('aria-expanded', 'false');
    textarea.removeAttribute('aria-activedescendant');
    say('');
  }

  /** Puts `item`'s text in place of everything before `end` (the "/shortcut"). */
  function insert(item, end) {
    const rest = textarea.value.slice(end);
    textarea.value = item.text + rest;
    textarea.setSelectionRange(item.text.length, item.text.length);
    close();
    say(format(t.cannedInserted, { shortcut: item.shortcut }));
    textarea.focus();
    // The composer hears about it as typing (indicator, clearing an old error).
    quiet = true;
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
    quiet = false;
  }

  textarea.addEventListener('input', () => {
    if (!quiet) update();
  });
  textarea.addEventListener('blur', close);

  textarea.addEventListener('keydown', (event) => {
    if (listbox.hidden || event.isComposing) return;
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    switch (event.key) {
      case 'ArrowDown':
        setActive((active + 1) % shown.length);
        break;
      case 'ArrowUp':
        setActive((active - 1 + shown.length) % shown.length);
        break;
      case 'Enter':
      case 'Tab':
        if (!plain || !shown[active]) return;
        insert(shown[active], textarea.selectionStart);
        break;
      case 'Escape':
        close();
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  });

  // Enter (or Send) on a reply that is exactly "/shortcut": the response's text replaces it.
  form.addEventListener('submit', (event) => {
    const match = WHOLE.exec(textarea.value.trim());
    const item = match && canned.exact(match[1]);
    if (!item) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    textarea.value = '';
    insert(item, 0);
  });

  return { close };
}
