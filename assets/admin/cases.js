// "Requests" in the Data requests section (#cases), for the DPO and administrators: each
// data-subject request as a case. GET /api/v1/gdpr/cases lists the open ones in #cases-table
// (tbody#cases-rows: one tr[data-case] per case with its reference, kind, date received,
// deadline, days left and notes; an overdue case gets the class "overdue" and the words
// "Overdue by N days", so it is not shown by colour alone), or #cases-empty. Each row has
// button.case-done and button.case-refused, which PATCH /api/v1/gdpr/cases/{id} {status} and
// take the case off the list. The form #case-form (#case-kind, #case-received defaulting to
// today, #case-subject, #case-notes; notes are not for personal data, #case-notes-hint says so)
// POSTs /api/v1/gdpr/cases and shows the new reference in #cases-status (role=status); problems
// go to #cases-error (role=alert). `showOpenCases` puts the open ones on the dashboard. Text from
// the server goes in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { format } from '/dashboard/strings.js';
import { strings } from './strings.js';

const KINDS = ['access', 'erasure', 'rectification', 'objection'];

/** Today as YYYY-MM-DD in the browser's time zone. */
function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** "N days left", "Due today" or "Overdue by N days" for a case. */
export function daysLeftText(t, item) {
  const days = Number(item.days_left) || 0;
  if (item.overdue) return format(days === -1 ? t.caseOverdueOne : t.caseOverdue, { n: -days });
  if (days === 0) return t.caseDueToday;
  return format(days === 1 ? t.caseDaysLeftOne : t.caseDaysLeft, { n: days });
}

/** Wires the list and the form for `session`; returns { load }. */
export function casesSection(t, session) {
  const byId = (id) => document.getElementById(id);
  const table = byId('cases-table');
  const rows = byId('cases-rows');
  const empty = byId('cases-empty');
  const statusLine = byId('cases-status');
  const error = byId('cases-error');
  const form = byId('case-form');
  const kind = byId('case-kind');
  const received = byId('case-received');
  const subject = byId('case-subject');
  const notes = byId('case-notes');
  const fields = [received, subject, notes];
  received.value = today();
  received.max = today();

  const say = (text) => setText(statusLine, text);
  const showError = (message, field) => showFieldMessage(error, message, fields, field);

  function row(item) {
    const tr = element('tr');
    tr.dataset.case = String(item.id);
    if (item.overdue) tr.classList.add('overdue');
    const kindLabel = t.caseKinds[item.kind] || String(item.kind);
    const left = element('td', 'days-left');
    left.append(item.overdue ? element('strong', '', daysLeftText(t, item)) : daysLeftText(t, item));
    tr.append(
      element('th', '', String(item.reference)),
      element('td', '', kindLabel),
      element('td', '', String(item.received_on)),
      element('td', '', String(item.deadline)),
      left,
      element('td', '', String(item.notes || '')),
    );
    const actions = element('td');
    for (const [status, label] of [['done', t.caseDone], ['refused', t.caseRefused]]) {
      const action = element('button', `secondary case-${status}`, label);
      action.type = 'button';
      action.setAttribute('aria-label', `${label} ${item.reference}`);
      action.addEventListener('click', () => close(item, status));
      actions.append(action, ' ');
    }
    tr.append(actions);
    return tr;
  }

  async function load() {
    try {
      const answer = await apiGet(t, '/api/v1/gdpr/cases');
      const list = Array.isArray(answer?.cases) ? answer.cases : [];
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      empty.hidden = list.length !== 0;
      showError('');
    } catch (err) {
      showError(err.message);
    }
  }

  async function close(item, status) {
    say(t.caseSaving);
    try {
      await apiSend(t, 'PATCH', `/api/v1/gdpr/cases/${encodeURIComponent(item.id)}`, session.csrf_token, { status });
      say(format(status === 'done' ? t.caseClosed : t.caseRefusedDone, { reference: item.reference }));
      await load();
    } catch (err) {
      say('');
      showError(err.message);
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { kind: KINDS.includes(kind.value) ? kind.value : KINDS[0], notes: notes.value.trim() };
    if (!received.value) return showError(t.caseReceivedMissing, received);
    body.received_on = received.value;
    const subjectText = subject.value.trim();
    if (subjectText) {
      if (!/^[0-9]{1,18}$/.test(subjectText)) return showError(t.caseSubjectInvalid, subject);
      body.subject = Number(subjectText);
    }
    showError('');
    say(t.caseSaving);
    try {
      const created = await apiSend(t, 'POST', '/api/v1/gdpr/cases', session.csrf_token, body);
      say(format(t.caseLogged, { reference: created.reference, deadline: created.deadline }));
      subject.value = '';
      notes.value = '';
      await load();
    } catch (err) {
      say('');
      const field = err.code === 'unknown_subject' ? subject : undefined;
      showError(err.message, field);
    }
  });

  return { load };
}

/**
 * The dashboard's list of open requests (for the DPO and administrators): fills `section`
 * (#open-cases, with ul#open-cases-list) with one li per open case — reference, kind and days
 * left, overdue ones first in words and bold — and a link to the Requests list; stays hidden
 * when there are none or the list cannot be loaded.
 */
export async function showOpenCases(section) {
  const t = strings();
  try {
    const answer = await apiGet(t, '/api/v1/gdpr/cases');
    const list = Array.isArray(answer?.cases) ? answer.cases : [];
    const items = list.map((item) => {
      const li = element('li', item.overdue ? 'overdue' : '');
      const text = `${item.reference} (${t.caseKinds[item.kind] || item.kind}): ${daysLeftText(t, item)}`;
      li.append(item.overdue ? element('strong', '', text) : text);
      return li;
    });
    const link = element('a', '', t.caseListLink);
    link.href = '/admin#cases-title';
    section.querySelector('ul').replaceChildren(...items);
    section.querySelector('p').replaceChildren(link);
    section.hidden = items.length === 0;
  } catch {
    // The dashboard works without it; the Data requests section shows the problem.
  }
}
