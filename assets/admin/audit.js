// "Audit log" on the administration page (#audit), for administrators, the DPO and auditors: the
// newest 100 entries from GET /api/v1/audit?limit=100 in #audit-table (#audit-rows: time, who,
// action, target, details; one tr[data-id] each), newest first. "Refresh" (#audit-refresh) reads
// them again. "Check the audit log" (#audit-verify) asks GET /api/v1/audit/verify, which follows
// the hash chain through every entry: intact, #audit-status (role=status) says so with the number
// of entries; altered, the alert #audit-altered (role=alert) names the first entry that does not
// match, and that entry's row, when shown, is marked (tr.audit-bad). Failed requests go to
// #audit-error (role=alert), outcomes to #audit-status. Text from the server goes in with
// textContent only.
import { apiGet } from '/dashboard/api.js';
import { element, setText, showMessage, timeElement } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';

const LIMIT = 100;

/** Wires the section; returns `{ load }`. */
export function auditSection(t) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('audit-title');
  const table = byId('audit-table');
  const rows = byId('audit-rows');
  const error = byId('audit-error');
  const altered = byId('audit-altered');
  const statusLine = byId('audit-status');
  const verifyButton = byId('audit-verify');
  let firstBad = null; // the id of the first altered entry, after a check that found one

  const say = (text) => setText(statusLine, text);
  const showError = (message) => showMessage(error, message);

  /** A value from the server as text ('–' when there is none). */
  function text(value) {
    if (value === null || value === undefined || value === '') return t.auditNone;
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }

  function row(entry) {
    const tr = element('tr');
    if (entry.id !== null && entry.id !== undefined) tr.dataset.id = String(entry.id);
    const when = element('th');
    when.scope = 'row';
    when.append(timeElement(entry.at));
    const action = element('td');
    action.append(element('code', '', text(entry.action)));
    tr.append(
      when,
      element('td', '', text(entry.actor)),
      action,
      element('td', '', text(entry.target)),
      element('td', 'audit-details', text(entry.details)),
    );
    return tr;
  }

  /** Marks the row of the first altered entry (and unmarks the others). */
  function markRows() {
    for (const tr of rows.children) {
      const bad = firstBad !== null && tr.dataset.id === firstBad;
      tr.classList.toggle('audit-bad', bad);
      const mark = tr.querySelector('.audit-bad-mark');
      if (bad && !mark) tr.firstElementChild.append(' ', element('strong', 'audit-bad-mark', t.auditBadMark));
      if (!bad && mark) mark.remove();
    }
  }

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingAudit, none: t.auditShownNone, one: t.auditShownOne, many: t.auditShown },
    request: () => apiGet(t, '/api/v1/audit', { limit: LIMIT }),
    show: (items) => {
      const list = items.filter((entry) => entry && typeof entry === 'object');
      rows.replaceChildren(...list.map(row));
      markRows();
      table.hidden = list.length === 0;
      return list.length;
    },
  });

  async function verify() {
    if (verifyButton.getAttribute('aria-disabled') === 'true') return;
    verifyButton.setAttribute('aria-disabled', 'true');
    showError('');
    showMessage(altered, '');
    say(t.auditChecking);
    try {
      const result = await apiGet(t, '/api/v1/audit/verify');
      if (result?.ok === true) {
        firstBad = null;
        say(format(t.auditIntact, { n: Number(result.entries) || 0 }));
      } else {
        const bad = result?.first_bad;
        firstBad = bad === null || bad === undefined ? null : String(bad);
        say('');
        showMessage(altered, firstBad === null ? t.auditAlteredUnknown : format(t.auditAltered, { id: firstBad }));
      }
      markRows();
    } catch (e) {
      say('');
      showError(e.message);
    } finally {
      verifyButton.removeAttribute('aria-disabled');
    }
  }

  byId('audit-refresh').addEventListener('click', () => load());
  verifyButton.addEventListener('click', () => verify());

  return { load };
}
