// "Transfer this chat" beside one chat (section.transfer-area): form.transfer-form sends the chat
// either to a colleague or to a team's queue. The radio pair in fieldset.transfer-kind
// (#transfer-kind-<conversation>-user, checked at first, and #transfer-kind-<conversation>-team)
// chooses which, and only the chosen field shows; the pair itself shows only once there are teams.
// A colleague is the user name typed in #transfer-to-<conversation> (suggested from
// datalist#transfer-colleagues: the colleagues signed in and available); a team is picked in
// select#transfer-department-<conversation> (from GET /api/v1/departments). Then an optional note
// (#transfer-note-<conversation>) and button.transfer. chat.js sends the `transfer` frame, with
// `to` or `department`, never both, and reports back: the form is busy until the answer comes; a
// refusal (the server's message, e.g. the colleague is not signed in) shows in p.transfer-error
// (#transfer-<conversation>-error, role=alert) beside the chosen field; on `transferred` the whole
// panel ends. staffDirectory loads the colleagues and teams for every chat's form: when live chat
// connects and, at most every 15 s, when a transfer form gets the focus.
import { describedBy } from '/common/composer.js';
import { apiGet } from './api.js';
import { format, teamName } from './strings.js';
import { element, showMessage } from './dom.js';

/** The server joins the note into "Transferred from … to …: note" (at most 4,000 characters). */
const MAX_NOTE_CHARS = 3500;
/** Colleagues' availability changes: a form's focus reloads the lists once they are this old. */
const REFRESH_MS = 15000;

/**
 * The colleagues and teams a chat can go to, shared by every transfer form. `me` is our own
 * user name (never suggested). Returns `{ refresh(force), watch(fn), transferred(frame) }`.
 */
export function staffDirectory(t, me) {
  const colleagues = document.getElementById('transfer-colleagues');
  const watchers = new Set();
  let departments = [];
  let loadedAt = -Infinity;
  let loading = null;

  function showColleagues(users) {
    const options = users
      .filter((u) => u && typeof u.username === 'string' && u.online === true && !u.disabled && u.username !== me)
      .map((u) => {
        const option = element('option', '', String(u.display_name || u.username));
        option.value = u.username;
        return option;
      });
    colleagues.replaceChildren(...options);
  }

  /** Loads both lists (unless loaded less than REFRESH_MS ago and not `force`d). */
  function refresh(force = false) {
    if (loading || (!force && performance.now() - loadedAt < REFRESH_MS)) return loading;
    loadedAt = performance.now();
    // Either list may fail on its own: the forms then keep what they had.
    loading = Promise.all([
      apiGet(t, '/api/v1/users').catch(() => null),
      apiGet(t, '/api/v1/departments').catch(() => null),
    ]).then(([users, teams]) => {
      loading = null;
      if (Array.isArray(users)) showColleagues(users);
      if (!Array.isArray(teams)) return;
      departments = teams.filter((d) => d && typeof d.key === 'string');
      for (const fn of watchers) fn(departments);
    });
    return loading;
  }

  return {
    refresh,
    /** Calls fn(departments) now and after every load; returns a function that stops it. */
    watch(fn) {
      watchers.add(fn);
      fn(departments);
      return () => watchers.delete(fn);
    },
    /**
     * What to say about our `transferred` frame (`to` a colleague, or `department`: a key or
     * `{key, name}`): `ended` for the chat's panel, `said` for the status line.
     */
    transferred({ to, department }) {
      const found = typeof department === 'string' && departments.find((d) => d.key === department);
      const team = typeof department === 'string' ? teamName(found || { key: department }) : teamName(department);
      if (team && !(typeof to === 'string' && to)) {
        return { ended: format(t.transferredEndedTeam, { team }), said: format(t.chatTransferredTeam, { team }) };
      }
      const name = typeof to === 'string' && to ? to : t.operator;
      return { ended: format(t.transferredEnded, { name }), said: format(t.chatTransferred, { name }) };
    },
  };
}

/**
 * Builds the transfer area of `conversation`. onTransfer(target, note) sends the request, target
 * being `{to}` or `{department}`, and returns '' or a problem to show. `directory` is the
 * staffDirectory. Returns `{ section, busy(on), fail(message), end() }`.
 */
export function transferArea(t, conversation, { onTransfer, directory }) {
  const base = `transfer-${conversation}`;
  const section = element('section', 'transfer-area');
  section.setAttribute('aria-labelledby', `${base}-title`);
  const title = element('h4', '', t.transferTitle);
  title.id = `${base}-title`;

  const form = element('form', 'transfer-form');
  form.noValidate = true;
  const kinds = element('fieldset', 'transfer-kind');
  kinds.append(element('legend', '', t.transferKind));
  const toUser = radio('user', t.transferKindUser);
  const toTeam = radio('team', t.transferKindTeam);
  toUser.checked = true;
  kinds.hidden = true; // until there are teams
  const to = field(`transfer-to-${conversation}`, t.transferTo, t.transferToHint, element('input'));
  to.input.type = 'text';
  to.input.maxLength = 100;
  to.input.autocomplete = 'off';
  to.input.setAttribute('autocapitalize', 'none');
  to.input.setAttribute('list', 'transfer-colleagues');
  to.input.spellcheck = false;
  const team = field(`transfer-department-${conversation}`, t.transferTeam, t.transferTeamHint, element('select'));
  team.group.hidden = true;
  const note = field(`transfer-note-${conversation}`, t.transferNote, t.transferNoteHint, element('input'));
  note.input.type = 'text';
  note.input.maxLength = MAX_NOTE_CHARS;
  const error = element('p', 'error transfer-error');
  error.id = `${base}-error`;
  error.setAttribute('role', 'alert');
  error.hidden = true;
  const button = element('button', 'transfer', t.transfer);
  button.type = 'submit';
  to.group.append(error); // beside the field it is about
  form.append(kinds, to.group, team.group, note.group, button);
  section.append(title, form);

  let waiting = false;
  const unwatch = directory.watch(showTeams);
  section.addEventListener('focusin', () => directory.refresh());

  function radio(value, labelText) {
    const wrap = element('div', 'radio');
    const input = element('input');
    input.type = 'radio';
    input.name = `transfer-kind-${conversation}`;
    input.value = value;
    input.id = `transfer-kind-${conversation}-${value}`;
    const label = element('label', '', labelText);
    label.htmlFor = input.id;
    input.addEventListener('change', chooseKind);
    wrap.append(input, label);
    kinds.append(wrap);
    return input;
  }

  function field(id, labelText, hintText, input) {
    const group = element('div', 'field');
    const label = element('label', '', labelText);
    label.htmlFor = id;
    input.id = id;
    const hint = element('p', 'hint', hintText);
    hint.id = `${id}-hint`;
    describedBy(input, hint.id, true);
    group.append(label, input, hint);
    return { group, input };
  }

  /** The field in use: the colleague's user name or the team. */
  const target = () => (toTeam.checked ? team : to);

  /** The radio pair changed: only the chosen field shows, and the error goes beside it. */
  function chooseKind() {
    show('', false);
    to.group.hidden = toTeam.checked;
    team.group.hidden = !toTeam.checked;
    target().group.append(error);
  }

  /** Fills the team list (keeping the choice); without teams only a colleague can be chosen. */
  function showTeams(departments) {
    const chosen = team.input.value;
    const options = departments.map((d) => {
      const name = teamName(d);
      let text = name;
      if (d.open === false) text = format(t.teamClosed, { name });
      else if (d.available === false) text = format(t.teamUnavailable, { name });
      const option = element('option', '', text);
      option.value = d.key;
      return option;
    });
    const none = element('option', '', t.chooseTeam);
    none.value = '';
    team.input.replaceChildren(none, ...options);
    team.input.value = departments.some((d) => d.key === chosen) ? chosen : '';
    kinds.hidden = departments.length === 0;
    if (kinds.hidden && toTeam.checked) {
      toUser.checked = true;
      chooseKind();
    }
  }

  /** Shows `message` (or clears it) against the field in use; `focus` moves the focus there. */
  function show(message, focus) {
    showMessage(error, message);
    for (const input of [to.input, team.input]) {
      const invalid = Boolean(message) && input === target().input;
      if (invalid) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
      describedBy(input, error.id, invalid);
    }
    if (message && focus) target().input.focus();
  }

  function busy(on) {
    waiting = on;
    button.textContent = on ? t.transferring : t.transfer;
    if (on) button.setAttribute('aria-disabled', 'true');
    else button.removeAttribute('aria-disabled');
  }

  for (const [input, event] of [[to.input, 'input'], [team.input, 'change']]) {
    input.addEventListener(event, () => {
      if (!error.hidden) show('', false);
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (waiting) return;
    let chosen;
    if (toTeam.checked) {
      if (!team.input.value) return show(t.transferTeamMissing, true);
      chosen = { department: team.input.value };
    } else {
      const who = to.input.value.trim();
      if (!who) return show(t.transferWhoMissing, true);
      chosen = { to: who };
    }
    show('', false);
    const problem = onTransfer(chosen, note.input.value.trim());
    if (problem) return show(problem, true);
    busy(true);
  });

  return {
    section,
    busy,
    /** The request was refused: the form is free again, with `message` beside it. */
    fail(message) {
      busy(false);
      // The focus goes to the field only if the operator is still in this form.
      show(message, form.contains(document.activeElement));
    },
    /** The chat is over for us: nothing left to transfer. (The panel moves the focus.) */
    end() {
      busy(false);
      unwatch();
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
