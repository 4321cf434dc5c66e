// "Bank holidays" on the administration page (#holidays): the appliance's one list of bank
// holidays from GET /api/v1/bank-holidays in #holidays-table. Administrators also get
// button.delete-holiday per row (DELETE /api/v1/bank-holidays/{date}), the form #holiday-form
// (#holiday-date, #holiday-name, #holiday-add: PUT /api/v1/bank-holidays/{date}, which adds a
// date or renames it) and the form #holiday-generate-form (#holiday-region, #holiday-year,
// #holiday-generate: POST /api/v1/bank-holidays/generate, which adds a year's holidays by the
// region's rules and answers with the whole list). Everyone else sees the list and the note
// #holidays-readonly. Errors go to #holidays-error (role=alert), outcomes to #holidays-status
// (role=status). Text from the server goes in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader, removeEntry } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';
import { button } from './fields.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_NAME = 100;
const FIRST_YEAR = 2000;
const LAST_YEAR = 2100;

/**
 * Wires the section for `session`; returns `{ load }`. `onChange()` runs after the list changed
 * (departments closed on bank holidays may open or close).
 */
export function holidaysSection(t, session, { onChange = () => {} } = {}) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('holidays-title');
  const error = byId('holidays-error');
  const statusLine = byId('holidays-status');
  const table = byId('holidays-table');
  const rows = byId('holidays-rows');
  const form = byId('holiday-form');
  const dateInput = byId('holiday-date');
  const nameInput = byId('holiday-name');
  const add = byId('holiday-add');
  const generateForm = byId('holiday-generate-form');
  const region = byId('holiday-region');
  const yearInput = byId('holiday-year');
  const generate = byId('holiday-generate');
  const admin = (session.permissions ?? []).includes('settings.manage');
  const long = new Intl.DateTimeFormat(t.locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  let busy = false;

  byId('holiday-editor').hidden = !admin;
  byId('holidays-readonly').hidden = admin;
  if (!admin) byId('holidays-actions-col').remove();
  yearInput.value = String(new Date().getFullYear());

  const say = (text) => setText(statusLine, text);
  const showError = (message, field) => showFieldMessage(error, message, [dateInput, nameInput, yearInput], field);
  const counts = { loading: t.loadingHolidays, none: t.holidaysShownNone, one: t.holidaysShownOne, many: t.holidaysShown };

  /** Shows `items`; returns how many. */
  function show(items) {
    const list = items.filter((h) => typeof h?.date === 'string');
    rows.replaceChildren(...list.map(row));
    table.hidden = list.length === 0;
    return list.length;
  }

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts,
    request: () => apiGet(t, '/api/v1/bank-holidays'),
    show,
  });

  /** A date like "Friday 25 December 2026" (the date itself if unreadable). */
  function longDate(date) {
    const at = new Date(`${date}T00:00:00Z`);
    return DATE.test(date) && !Number.isNaN(at.getTime()) ? long.format(at) : date;
  }

  function row(holiday) {
    const date = holiday.date;
    const tr = element('tr');
    tr.dataset.date = date;
    const dateCell = element('th');
    dateCell.scope = 'row';
    const time = element('time', '', longDate(date));
    time.dateTime = date;
    dateCell.append(time);
    tr.append(dateCell, element('td', '', String(holiday.name ?? '')));
    if (admin) {
      const cell = element('td');
      const remove = button('delete-holiday secondary', t.delete, format(t.deleteHolidayWho, { date: longDate(date) }));
      remove.addEventListener('click', () => deleteHoliday(date, tr, remove));
      cell.append(remove);
      tr.append(cell);
    }
    return tr;
  }

  async function deleteHoliday(date, tr, remove) {
    if (remove.getAttribute('aria-disabled') === 'true') return;
    remove.setAttribute('aria-disabled', 'true');
    showError('');
    const shown = longDate(date);
    try {
      await apiSend(t, 'DELETE', `/api/v1/bank-holidays/${encodeURIComponent(date)}`, session.csrf_token);
      dropRow(tr);
      say(format(t.holidayDeleted, { date: shown }));
      onChange();
    } catch (e) {
      if (e.code === 'unknown_bank_holiday') {
        dropRow(tr);
        say(format(t.holidayGone, { date: shown }));
        return;
      }
      remove.removeAttribute('aria-disabled');
      showError(e.message);
    }
  }

  /** Takes a row off the table; the focus goes to the next row's Delete button (or the heading). */
  function dropRow(tr) {
    removeEntry(tr, ['.delete-holiday'], heading, () => {
      table.hidden = rows.children.length === 0;
      if (table.hidden) say(t.holidaysShownNone);
    });
  }

  /** Runs `send()` with `control` marked busy; errors go to the error line (on `field` if given). */
  async function sending(control, progress, send, field) {
    if (busy) return;
    showError('');
    busy = true;
    control.setAttribute('aria-disabled', 'true');
    say(progress);
    try {
      await send();
      onChange();
    } catch (e) {
      say('');
      showError(e.message, e.code === 'invalid' ? field : undefined);
    } finally {
      busy = false;
      control.removeAttribute('aria-disabled');
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const date = dateInput.value.trim();
    const name = nameInput.value.trim();
    if (!date) return showError(t.holidayDateMissing, dateInput);
    if (!DATE.test(date)) return showError(t.holidayDateInvalid, dateInput);
    if (!name) return showError(t.holidayNameMissing, nameInput);
    if ([...name].length > MAX_NAME) return showError(t.holidayNameTooLong, nameInput);
    const shown = longDate(date);
    sending(add, format(t.savingHoliday, { date: shown }), async () => {
      await apiSend(t, 'PUT', `/api/v1/bank-holidays/${encodeURIComponent(date)}`, session.csrf_token, { name });
      form.reset();
      await load();
      say(format(t.holidaySaved, { date: shown }));
      dateInput.focus();
    }, dateInput);
  });

  generateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const year = Number(yearInput.value.trim());
    if (!Number.isInteger(year) || year < FIRST_YEAR || year > LAST_YEAR) return showError(t.yearInvalid, yearInput);
    const place = region.selectedOptions[0]?.textContent || region.value;
    sending(generate, format(t.generatingHolidays, { year, region: place }), async () => {
      const before = rows.children.length;
      const list = await apiSend(t, 'POST', '/api/v1/bank-holidays/generate', session.csrf_token, { region: region.value, year });
      const n = show(Array.isArray(list) ? list : []);
      const added = Math.max(0, n - before);
      const text = added === 0 ? t.holidaysGeneratedNone : added === 1 ? t.holidaysGeneratedOne : t.holidaysGenerated;
      say(format(text, { n: added, year, region: place }));
    }, yearInput);
  });

  return { load };
}
