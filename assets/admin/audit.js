// "Audit report" on the administration page (#audit), for roles with audit.view: the newest 100
// entries matching the filters from GET /api/v1/audit in #audit-table (#audit-rows: time, who,
// action, target, details; one tr[data-id] each), newest first. The filter form #audit-filter has
// #audit-from and #audit-to (UTC days, both included), #audit-actor (a user name, exact) and
// #audit-action (the start of an action, e.g. `auth.`); "Show" (#audit-apply) reads the entries
// again with them, "Clear" (#audit-clear) empties them. With audit.export, the link #audit-csv
// downloads every matching entry as CSV (GET /api/v1/audit?format=csv, itself audited); its
// address follows the filters as they are typed. "Refresh" (#audit-refresh) reads the entries
// again. "Check the audit log" (#audit-verify) asks GET /api/v1/audit/verify, which follows
// the hash chain through every entry: intact, #audit-status (role=status) says so with the number
// of entries; altered, the alert #audit-altered (role=alert) names the first entry that does not
// match, and that entry's row, when shown, is marked (tr.audit-bad). Failed requests go to
// #audit-error (role=alert), outcomes to #audit-status. Text from the server goes in with
// textContent only.
import { apiGet } from '/dashboard/api.js';
import { element, setText, showFieldMessage, showMessage, timeElement } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';

const LIMIT = 100;
const ACTION = /^[A-Za-z0-9._-]*$/;

/** Wires the section; returns `{ load }`. `canExport` = the session has audit.export. */
export function auditSection(t, { canExport = false } = {}) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('audit-title');
  const table = byId('audit-table');
  const rows = byId('audit-rows');
  const error = byId('audit-error');
  const altered = byId('audit-altered');
  const statusLine = byId('audit-status');
  const verifyButton = byId('audit-verify');
  const filterForm = byId('audit-filter');
  const fromInput = byId('audit-from');
  const toInput = byId('audit-to');
  const actorInput = byId('audit-actor');
  const actionInput = byId('audit-action');
  const csvLink = byId('audit-csv');
  const filterInputs = [fromInput, toInput, actorInput, actionInput];
  let firstBad = null; // the id of the first altered entry, after a check that found one

  const say = (text) => setText(statusLine, text);
  const showError = (message, field) => showFieldMessage(error, message, filterInputs, field);
  let filters = {}; // the filters of the entries shown

  /** The filters typed, or `{ problem: { message, input } }`. */
  function readFilters() {
    const from = fromInput.value;
    const to = toInput.value;
    const actor = actorInput.value.trim();
    const action = actionInput.value.trim();
    if (from && to && to < from) return { problem: { message: t.auditToBeforeFrom, input: toInput } };
    if (!ACTION.test(action)) return { problem: { message: t.auditActionInvalid, input: actionInput } };
    return { values: { from, to, actor, action } };
  }

  /** Points the CSV link at the typed filters. */
  function updateCsvLink() {
    const { values } = readFilters();
    const query = new URLSearchParams({ format: 'csv' });
    for (const [key, value] of Object.entries(values || filters)) if (value) query.set(key, value);
    csvLink.href = `/api/v1/audit?${query}`;
  }

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
    request: () => apiGet(t, '/api/v1/audit', { ...filters, limit: LIMIT }),
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
  filterForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const { values, problem } = readFilters();
    if (problem) return showError(problem.message, problem.input);
    filters = values;
    load();
  });
  byId('audit-clear').addEventListener('click', () => {
    filterForm.reset();
    filters = {};
    updateCsvLink();
    load();
    fromInput.focus();
  });
  csvLink.hidden = !canExport;
  byId('audit-csv-hint').hidden = !canExport;
  for (const input of filterInputs) input.addEventListener('input', updateCsvLink);
  csvLink.addEventListener('click', (event) => {
    const { problem } = readFilters();
    if (problem) {
      event.preventDefault();
      showError(problem.message, problem.input);
    }
  });
  updateCsvLink();
  verifyButton.addEventListener('click', () => verify());

  return { load };
}
