// "Breach scope" in the audit report section (#breach), for roles with audit.view: what a
// personal data breach notification to the ICO (within 72 hours) needs — the people whose data
// was looked at, exported, corrected or erased in a time window, optionally by one staff account,
// and the kinds of data involved. The form #breach-form has #breach-from and #breach-to (UTC
// days, both included, both required) and #breach-user (a user name, optional); "Find affected
// people" (#breach-show) asks GET /api/v1/gdpr/breach-scope (itself audited) and fills
// #breach-table (#breach-rows: data subject, kinds of data, why included; tr[data-subject]).
// After an answer, the link #breach-csv downloads the same list as CSV for the notification.
// Problems go to #breach-error (role=alert), outcomes to #breach-status (role=status). Text
// from the server goes in with textContent only.
import { apiGet } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { format } from '/dashboard/strings.js';

const USER = /^[^\s]{0,100}$/;

export function breachSection(t) {
  const byId = (id) => document.getElementById(id);
  const form = byId('breach-form');
  const fromInput = byId('breach-from');
  const toInput = byId('breach-to');
  const userInput = byId('breach-user');
  const table = byId('breach-table');
  const rows = byId('breach-rows');
  const csvLink = byId('breach-csv');
  const error = byId('breach-error');
  const statusLine = byId('breach-status');
  const inputs = [fromInput, toInput, userInput];
  const say = (text) => setText(statusLine, text);
  const showError = (message, field) => showFieldMessage(error, message, inputs, field);
  let asked = 0;

  function read() {
    const from = fromInput.value;
    const to = toInput.value;
    const user = userInput.value.trim();
    if (!from) return { problem: [t.breachFromMissing, fromInput] };
    if (!to) return { problem: [t.breachToMissing, toInput] };
    if (to < from) return { problem: [t.breachToBeforeFrom, toInput] };
    if (!USER.test(user)) return { problem: [t.breachUserInvalid, userInput] };
    const query = { from, to };
    if (user) query.user = user;
    return { query };
  }

  const categoryLabel = (c) => t.breachCategories[c] ?? String(c);

  function row(entry) {
    const tr = element('tr');
    tr.dataset.subject = String(entry.subject);
    const who = element('th', '', format(t.gdprSubject, { id: String(entry.subject) }));
    who.scope = 'row';
    const reasons = (Array.isArray(entry.reasons) ? entry.reasons : []).map(String).join('; ');
    const categories = Array.isArray(entry.categories) ? entry.categories.map(categoryLabel) : [];
    tr.append(who, element('td', '', categories.join(', ') || t.auditNone), element('td', '', reasons || t.auditNone));
    return tr;
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const { query, problem } = read();
    if (problem) return showError(problem[0], problem[1]);
    showError('');
    const mine = ++asked;
    csvLink.hidden = true;
    say(t.breachSearching);
    table.setAttribute('aria-busy', 'true');
    try {
      const answer = await apiGet(t, '/api/v1/gdpr/breach-scope', query);
      if (mine !== asked) return;
      const found = (Array.isArray(answer?.subjects) ? answer.subjects : []).filter(
        (s) => s && Number.isInteger(s.subject),
      );
      rows.replaceChildren(...found.map(row));
      table.hidden = found.length === 0;
      csvLink.href = `/api/v1/gdpr/breach-scope?${new URLSearchParams({ ...query, format: 'csv' })}`;
      csvLink.hidden = false;
      const n = found.length;
      say(n === 0 ? t.breachNone : n === 1 ? t.breachOne : format(t.breachMany, { n }));
    } catch (e) {
      if (mine !== asked) return;
      rows.replaceChildren();
      table.hidden = true;
      say('');
      showError(e.message);
    } finally {
      if (mine === asked) table.removeAttribute('aria-busy');
    }
  });
}
