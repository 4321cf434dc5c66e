// "Stored chats" (#view-history): the filter form (#history-form), the matching conversations
// from GET /api/v1/conversations in #history-table, and one transcript at a time from
// GET /api/v1/conversations/{conversation}/messages in #transcript-view. The team filter
// (#history-department) is filled from GET /api/v1/departments when the view is first shown.
// A newer search or transcript request makes the answer of an older one be ignored. Text from
// the server goes in with textContent only.
import { apiGet } from './api.js';
import { dateTime, format, statusLabel } from './strings.js';
import { element, setText, showMessage, timeElement, transcriptLine } from './dom.js';

/** The API's default page size: a full page means there may be older matches. */
const PAGE = 50;

/** Wires the view; returns `{ shown() }` for the view switcher (the first showing searches). */
export function historyView(t) {
  const byId = (id) => document.getElementById(id);
  const form = byId('history-form');
  const from = byId('history-from');
  const to = byId('history-to');
  const error = byId('history-error');
  const statusLine = byId('history-status-msg');
  const empty = byId('history-empty');
  const table = byId('history-table');
  const rows = byId('history-rows');
  const panel = byId('transcript-view');
  const title = byId('transcript-title');
  const lines = byId('transcript-lines');
  const noLines = byId('transcript-empty');
  let searched = false;
  const teams = new Map(); // department key → name, for the table
  let searchNo = 0;
  let transcriptNo = 0;
  let opener = null; // the "View transcript" button of the transcript shown

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    search();
  });
  byId('transcript-close').addEventListener('click', () => closeTranscript(true));

  const say = (text) => setText(statusLine, text);

  function showError(message, field) {
    showMessage(error, message);
    if (message && field) field.focus();
  }

  async function search() {
    showError('');
    for (const input of [from, to]) {
      if (input.validity.badInput) return showError(t.dateIncomplete, input);
    }
    if (from.value && to.value && from.value > to.value) return showError(t.datesReversed, from);
    const query = {
      from: from.value,
      to: to.value,
      status: byId('history-status').value,
      operator: byId('history-operator').value.trim(),
      rating: byId('history-rating').value,
      department: byId('history-department').value,
      q: byId('history-text').value.trim(),
    };
    const mine = ++searchNo;
    searched = true;
    say(t.searching);
    table.setAttribute('aria-busy', 'true');
    try {
      const list = await apiGet(t, '/api/v1/conversations', query);
      if (mine === searchNo) show(Array.isArray(list) ? list : []);
    } catch (e) {
      if (mine !== searchNo) return;
      say('');
      showError(e.message);
    } finally {
      if (mine === searchNo) table.removeAttribute('aria-busy');
    }
  }

  function show(list) {
    closeTranscript(false);
    rows.replaceChildren(...list.map(row));
    table.hidden = list.length === 0;
    empty.hidden = list.length > 0;
    const n = list.length;
    if (n === 0) say(t.foundNone);
    else if (n === 1) say(t.foundOne);
    else say(format(n >= PAGE ? t.foundMax : t.found, { n }));
  }

  function row(chat) {
    const name = chat.name || t.visitor;
    const started = dateTime(chat.started_at);
    const tr = element('tr');
    tr.dataset.conversation = String(chat.conversation ?? '');
    const when = element('th');
    when.scope = 'row';
    when.append(timeElement(chat.started_at));
    const cells = [
      name,
      chat.site ?? '',
      chat.department ? (teams.get(chat.department) ?? chat.department) : t.noTeam,
      chat.operator || t.notTaken,
      statusLabel(t, chat.status),
      String(chat.messages ?? 0),
      Number.isInteger(chat.rating) ? String(chat.rating) : t.notRated,
    ].map((text) => element('td', '', text));
    cells[5].className = 'number';
    const button = element('button', 'view-transcript secondary', t.viewTranscript);
    button.type = 'button';
    button.append(element('span', 'visually-hidden', format(t.viewTranscriptOf, { name, started })));
    button.addEventListener('click', () => openTranscript(chat, name, started, button));
    const action = element('td');
    action.append(button);
    tr.append(when, ...cells, action);
    return tr;
  }

  async function openTranscript(chat, name, started, button) {
    const mine = ++transcriptNo;
    opener = button;
    showError('');
    title.textContent = format(t.transcriptTitle, { name, started });
    lines.replaceChildren();
    noLines.hidden = true;
    panel.hidden = false;
    panel.setAttribute('aria-busy', 'true');
    say(t.loadingTranscript);
    try {
      const list = await apiGet(t, `/api/v1/conversations/${encodeURIComponent(chat.conversation)}/messages`);
      if (mine !== transcriptNo) return;
      const messages = Array.isArray(list) ? list : [];
      lines.replaceChildren(...messages.map((message) => transcriptLine(t, message)));
      noLines.hidden = messages.length > 0;
      say(format(t.transcriptShown, { n: messages.length }));
      title.focus();
    } catch (e) {
      if (mine !== transcriptNo) return;
      closeTranscript(false);
      say('');
      showError(e.message);
    } finally {
      if (mine === transcriptNo) panel.removeAttribute('aria-busy');
    }
  }

  /** Hides the transcript; `returnFocus` puts the focus back on the button that opened it. */
  function closeTranscript(returnFocus) {
    transcriptNo += 1;
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    panel.removeAttribute('aria-busy');
    lines.replaceChildren();
    if (returnFocus || hadFocus) (opener?.isConnected ? opener : byId('history-search')).focus();
    opener = null;
  }

  /** Fills the team filter once; a failure leaves "Any" (the search still works). */
  async function loadTeams() {
    try {
      const list = await apiGet(t, '/api/v1/departments');
      const select = byId('history-department');
      for (const d of Array.isArray(list) ? list : []) {
        if (typeof d?.key !== 'string' || teams.has(d.key)) continue;
        teams.set(d.key, String(d.name ?? d.key));
        const option = element('option', '', teams.get(d.key));
        option.value = d.key;
        select.append(option);
      }
    } catch {
      // Teams are optional for searching.
    }
  }

  return {
    shown() {
      if (searched) return;
      // Teams load alongside the first search (rows show a team's key until its name is known),
      // so a search started by hand meanwhile is never overtaken by this one.
      loadTeams();
      search();
    },
  };
}
