// "Transfer this chat" beside one chat (section.transfer-area): form.transfer-form with the
// colleague's user name (#transfer-to-<conversation>), an optional note for them
// (#transfer-note-<conversation>) and button.transfer. chat.js sends the `transfer` frame and
// reports back: the form is busy until the answer comes; a refusal (the server's message, e.g.
// the colleague is not signed in) shows in p.transfer-error (role=alert) beside the form; on
// `transferred` the whole panel ends.
import { describedBy } from '/common/composer.js';
import { element, showMessage } from './dom.js';

/** The server joins the note into "Transferred from … to …: note" (at most 4,000 characters). */
const MAX_NOTE_CHARS = 3500;

/**
 * Builds the transfer area of `conversation`. onTransfer(to, note) sends the request and returns
 * '' or a problem to show. Returns `{ section, busy(on), fail(message), end() }`.
 */
export function transferArea(t, conversation, { onTransfer }) {
  const base = `transfer-${conversation}`;
  const section = element('section', 'transfer-area');
  section.setAttribute('aria-labelledby', `${base}-title`);
  const title = element('h4', '', t.transferTitle);
  title.id = `${base}-title`;

  const form = element('form', 'transfer-form');
  form.noValidate = true;
  const to = field(`transfer-to-${conversation}`, t.transferTo, t.transferToHint);
  to.input.maxLength = 100;
  to.input.autocomplete = 'off';
  to.input.setAttribute('autocapitalize', 'none');
  to.input.spellcheck = false;
  const note = field(`transfer-note-${conversation}`, t.transferNote, t.transferNoteHint);
  note.input.maxLength = MAX_NOTE_CHARS;
  const error = element('p', 'error transfer-error');
  error.id = `${base}-error`;
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const button = element('button', 'transfer', t.transfer);
  button.type = 'submit';
  to.group.append(error); // beside the user name it is about
  form.append(to.group, note.group, button);
  section.append(title, form);

  let waiting = false;

  function field(id, labelText, hintText) {
    const group = element('div', 'field');
    const label = element('label', '', labelText);
    label.htmlFor = id;
    const input = element('input');
    input.type = 'text';
    input.id = id;
    const hint = element('p', 'hint', hintText);
    hint.id = `${id}-hint`;
    describedBy(input, hint.id, true);
    group.append(label, input, hint);
    return { group, input };
  }

  /** Shows `message` (or clears it) against the user name; `focus` moves the focus there. */
  function show(message, focus) {
    showMessage(error, message);
    if (message) to.input.setAttribute('aria-invalid', 'true');
    else to.input.removeAttribute('aria-invalid');
    describedBy(to.input, error.id, Boolean(message));
    if (message && focus) to.input.focus();
  }

  function busy(on) {
    waiting = on;
    button.textContent = on ? t.transferring : t.transfer;
    if (on) button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
  }

  to.input.addEventListener('input', () => {
    if (!error.hidden) show('', false);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (waiting) return;
    const who = to.input.value.trim();
    if (!who) return show(t.transferWhoMissing, true);
    show('', false);
    const problem = onTransfer(who, note.input.value.trim());
    if (problem) return show(problem, true);
    busy(true);
  });

  return {
    section,
    busy,
    /** The request was refused: the form is free again, with `message` beside it. */
    fail(message) {
      busy(false);
      // The focus goes to the user name only if the operator is still in this form.
      show(message, form.contains(document.activeElement));
    },
    /** The chat is over for us: nothing left to transfer. (The panel moves the focus.) */
    end() {
      busy(false);
      section.hidden = true;
    },
  };
}

/**
 * The transfer requests awaiting an answer, oldest first, across all chats. An `invalid` error
 * names no conversation, but the server answers one connection's frames in the order sent and
 * only a transfer is answered with `invalid`: it belongs to the oldest request still waiting.
 * `viewOf(conversation)` finds a chat's panel (conversation.js), whose form is freed on an answer.
 */
export function transferRequests(viewOf) {
  let list = []; // {id, conversation}

  /** Forgets the requests `which` picks; their forms are free again, showing `message`. */
  function settle(which, message = '') {
    list = list.filter((request, index) => {
      if (!which(request, index)) return true;
      const view = viewOf(request.conversation);
      if (view && !view.ended()) view.transfer.fail(message);
      return false;
    });
  }

  return {
    add(id, conversation) {
      list.push({ id, conversation });
    },
    /** `transferred` for `id`; requests sent before it were answered first, by other errors. */
    done(id) {
      const at = list.findIndex((request) => request.id === id);
      if (at >= 0) settle((request, index) => index < at);
      list = list.filter((request) => request.id !== id);
    },
    /** An `invalid` error: the oldest request was refused for `message`. False if none waits. */
    refused(message) {
      if (!list.length) return false;
      settle((request, index) => index === 0, message);
      return true;
    },
    /** No answer is coming (connection lost, frames dropped): every form is free again. */
    failAll(message) {
      settle(() => true, message);
    },
    /** The chat's tab has ended: its requests need no answer any more. */
    drop(conversation) {
      list = list.filter((request) => request.conversation !== conversation);
    },
  };
}
