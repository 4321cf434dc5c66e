// "Departments" on the administration page (#departments): the departments from GET
// /api/v1/departments in #departments-table (routing, members, opening hours, and whether each is
// open and available now, or when it opens). Administrators also get the form #department-form
// (PUT /api/v1/departments/{key}): #department-key, #department-name, #department-name-cy,
// #department-routing, #department-assignment; in the fieldset #department-members a checkbox
// #department-member-<user name> (value = user name) per staff account from GET /api/v1/users
// (disabled accounts left out unless already members); the radios #department-hours-always and
// #department-hours-set, and for the latter a fieldset per day in #department-week with
// #hours-mon-open, #hours-mon-1-start, #hours-mon-1-end, #hours-mon-2-start, #hours-mon-2-end
// (and so on to sun); the checkbox #department-bank-holidays. Per row, Edit fills the form and
// button.delete-department asks with an inline button.confirm-delete-department before DELETE
// /api/v1/departments/{key}. Everyone else sees the list and the note #departments-readonly.
// Errors go to #departments-error (role=alert), outcomes to #departments-status (role=status).
// Text from the server goes in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { dateTime, format } from '/dashboard/strings.js';
import { checkbox, rowActions } from './fields.js';
import { DAYS, weekEditor } from './week.js';

const KEY = /^[a-z0-9_-]{1,64}$/;
const MAX_NAME = 100;

/**
 * Wires the section for `session`; returns `{ load }`. `onList(departments)` gets every list
 * shown (null when the first load fails); `onDelete()` runs after a department is deleted.
 */
export function departmentsSection(t, session, { onList = () => {}, onDelete = () => {} } = {}) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('departments-title');
  const error = byId('departments-error');
  const statusLine = byId('departments-status');
  const table = byId('departments-table');
  const rows = byId('departments-rows');
  const form = byId('department-form');
  const formTitle = byId('department-form-title');
  const keyInput = byId('department-key');
  const nameInput = byId('department-name');
  const nameCyInput = byId('department-name-cy');
  const routing = byId('department-routing');
  const assignment = byId('department-assignment');
  const membersBox = byId('department-members-list');
  const always = byId('department-hours-always');
  const scheduled = byId('department-hours-set');
  const week = byId('department-week');
  const bankHolidays = byId('department-bank-holidays');
  const save = byId('department-save');
  const cancel = byId('department-cancel');
  const admin = (session.permissions ?? []).includes('settings.manage');
  let editing = null; // the key of the department in the form, when changing one
  let hoursEditor = null; // week.js, for administrators
  let busy = false;
  let loaded = false;
  let users; // undefined while loading, null when they could not be loaded, else the list
  let members = []; // the members of the department in the form, kept when the list is missing

  byId('department-editor').hidden = !admin;
  byId('departments-readonly').hidden = admin;
  if (!admin) byId('departments-actions-col').remove();

  const say = (text) => setText(statusLine, text);
  const timeInputs = () => [...week.querySelectorAll('input[type="time"]')];
  const showError = (message, field) => showFieldMessage(error, message, [keyInput, nameInput, nameCyInput, ...timeInputs()], field);

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingDepartments, none: t.departmentsShownNone, one: t.departmentsShownOne, many: t.departmentsShown },
    request: () =>
      apiGet(t, '/api/v1/departments').catch((e) => {
        if (!loaded) onList(null);
        throw e;
      }),
    show: (items) => {
      const list = items.filter((d) => typeof d?.key === 'string');
      loaded = true;
      onList(list);
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      return list.length;
    },
  });

  function list(items, empty) {
    if (!items.length) return empty;
    const ul = element('ul', 'origins');
    ul.append(...items.map((item) => element('li', '', item)));
    return ul;
  }

  function hoursSummary(dept) {
    const schedule = dept.hours && typeof dept.hours === 'object' ? dept.hours : null;
    if (!schedule) return t.alwaysOpen;
    const days = DAYS.filter(([day]) => Array.isArray(schedule[day]) && schedule[day].length).map(([day, name]) => {
      const spans = schedule[day].filter(Array.isArray).map(([from, to]) => `${from}–${to}`);
      return `${t[name]} ${spans.join(', ')}`;
    });
    return list(days, t.closedAllWeek);
  }

  function nowText(dept) {
    if (dept.available) return t.nowAvailable;
    if (dept.open) return t.nowOpenNobody;
    const when = typeof dept.opens_at === 'string' ? dateTime(dept.opens_at) : '';
    return when ? format(t.nowClosedOpens, { time: when }) : t.nowClosed;
  }

  function row(dept) {
    const key = dept.key;
    const tr = element('tr');
    tr.dataset.key = key;
    const keyCell = element('th', '', key);
    keyCell.scope = 'row';
    const nameCell = element('td', '', String(dept.name ?? ''));
    if (dept.name_cy) {
      const welsh = element('span', 'welsh', String(dept.name_cy));
      welsh.lang = 'cy';
      nameCell.append(element('br'), welsh);
    }
    const routingText = dept.routing === 'round_robin' ? t.routingRoundRobin : t.routingLeastBusy;
    const assignmentText = dept.assignment === 'manual' ? t.assignmentManualShort : t.assignmentAutoShort;
    const hoursCell = element('td');
    hoursCell.append(hoursSummary(dept));
    if (dept.closed_on_bank_holidays) hoursCell.append(element('p', 'cell-note', t.closedOnBankHolidays));
    const membersCell = element('td');
    membersCell.append(list(Array.isArray(dept.members) ? dept.members.map(String) : [], t.noMembers));
    const now = element('td', dept.open ? 'state-open' : 'state-closed', nowText(dept));
    tr.append(keyCell, nameCell, element('td', '', `${routingText}; ${assignmentText}`), membersCell, hoursCell, now);
    if (admin) {
      const who = {
        edit: format(t.editDepartmentWho, { key }),
        delete: format(t.deleteDepartmentWho, { key }),
        confirm: format(t.confirmDeleteDepartmentWho, { key }),
        cancel: format(t.cancelDeleteDepartmentWho, { key }),
      };
      const onEdit = () => startEdit(dept);
      const onAsk = () => showError('');
      const onDelete = () => deleteDepartment(key);
      tr.append(rowActions(t, { kind: 'department', key, who, warning: t.deleteDepartmentWarning, onEdit, onAsk, onDelete }));
    }
    return tr;
  }

  /** Deletes a department; resolves to true when it is still there. */
  async function deleteDepartment(key) {
    if (busy) return true;
    busy = true;
    showError('');
    try {
      await apiSend(t, 'DELETE', `/api/v1/departments/${encodeURIComponent(key)}`, session.csrf_token);
      if (editing === key) resetForm();
      heading.focus();
      await load();
      say(format(t.departmentDeleted, { key }));
      onDelete();
      return false;
    } catch (e) {
      const gone = e.code === 'unknown_department';
      if (gone) {
        heading.focus();
        await load();
      }
      showError(e.message);
      return !gone;
    } finally {
      busy = false;
    }
  }

  /** The ticked members (the department's own when the staff list is missing). */
  function chosenMembers() {
    if (!Array.isArray(users)) return members;
    return [...membersBox.querySelectorAll('input:checked')].map((input) => input.value);
  }

  function showMembers(chosen) {
    if (users === undefined) return membersBox.replaceChildren(element('p', 'hint', t.loadingUsers));
    if (users === null) return membersBox.replaceChildren(element('p', 'hint', t.membersUnavailable));
    const shown = users.filter((u) => !u.disabled || chosen.includes(u.username));
    if (!shown.length) return membersBox.replaceChildren(element('p', 'hint', t.noUsers));
    membersBox.replaceChildren(
      ...shown.map((u) => {
        const label = `${u.display_name || u.username} (${u.username})${u.disabled ? t.accountDisabled : ''}`;
        return checkbox(`department-member-${u.username}`, u.username, label, chosen.includes(u.username));
      }),
    );
  }

  async function loadUsers() {
    let list = null;
    try {
      const answer = await apiGet(t, '/api/v1/users');
      list = Array.isArray(answer) ? answer.filter((u) => typeof u?.username === 'string') : [];
    } catch (e) {
      showError(format(t.usersFailed, { message: e.message }));
    }
    const chosen = chosenMembers();
    users = list;
    showMembers(chosen);
  }

  function startEdit(dept) {
    editing = dept.key;
    showError('');
    keyInput.value = dept.key;
    keyInput.readOnly = true;
    nameInput.value = String(dept.name ?? '');
    nameCyInput.value = typeof dept.name_cy === 'string' ? dept.name_cy : '';
    routing.value = dept.routing === 'round_robin' ? 'round_robin' : 'least_busy';
    assignment.value = dept.assignment === 'manual' ? 'manual' : 'auto';
    bankHolidays.checked = Boolean(dept.closed_on_bank_holidays);
    members = Array.isArray(dept.members) ? dept.members.map(String) : [];
    showMembers(members);
    const more = hoursEditor?.set(dept.hours) ?? false;
    formTitle.textContent = format(t.changeDepartment, { key: dept.key });
    save.textContent = t.saveChanges;
    cancel.hidden = false;
    say(more ? format(t.morePeriods, { key: dept.key }) : '');
    nameInput.focus();
  }

  function resetForm() {
    editing = null;
    form.reset();
    keyInput.readOnly = false;
    members = [];
    showMembers([]);
    hoursEditor?.set(null);
    formTitle.textContent = t.addDepartment;
    save.textContent = t.saveDepartment;
    cancel.hidden = true;
  }

  cancel.addEventListener('click', () => {
    const key = editing;
    resetForm();
    showError('');
    const edit = [...rows.children].find((tr) => tr.dataset.key === key)?.querySelector('.edit-department');
    (edit || keyInput).focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const key = keyInput.value.trim();
    const name = nameInput.value.trim();
    const nameCy = nameCyInput.value.trim();
    if (!key) return showError(t.departmentKeyMissing, keyInput);
    if (!KEY.test(key)) return showError(t.departmentKeyInvalid, keyInput);
    if (!name) return showError(t.departmentNameMissing, nameInput);
    if ([...name].length > MAX_NAME) return showError(t.departmentNameTooLong, nameInput);
    if ([...nameCy].length > MAX_NAME) return showError(t.departmentNameTooLong, nameCyInput);
    const { hours, problem } = hoursEditor.read();
    if (problem) return showError(problem.message, problem.input);
    showError('');
    busy = true;
    save.setAttribute('aria-disabled', 'true');
    say(format(t.savingDepartment, { key }));
    const body = {
      name,
      routing: routing.value,
      assignment: assignment.value,
      hours,
      closed_on_bank_holidays: bankHolidays.checked,
      members: chosenMembers(),
    };
    if (nameCy) body.name_cy = nameCy;
    try {
      const saved = await apiSend(t, 'PUT', `/api/v1/departments/${encodeURIComponent(key)}`, session.csrf_token, body);
      resetForm();
      await load();
      say(format(t.departmentSaved, { key: saved?.key || key }));
    } catch (e) {
      say('');
      // The server names the day of a schedule it could not accept.
      const day = e.code === 'invalid' ? DAYS.find(([d]) => e.message.startsWith(`${d}:`)) : undefined;
      showError(e.message, day ? byId(`hours-${day[0]}-1-start`) : undefined);
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
    }
  });

  if (admin) {
    hoursEditor = weekEditor(t, { prefix: 'hours', week, always, scheduled, openLabel: 'openOn', missing: 'hoursMissing' });
    showMembers([]);
    loadUsers();
  }
  return { load };
}
