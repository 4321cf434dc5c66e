// "Roles" on the administration page (#roles), for roles with roles.view: each role from GET
// /api/v1/roles in #roles-table (name, built-in or custom, description, permissions, allowed
// networks, sign-in hours; one tr[data-role] each). With roles.manage also the form #role-form
// (PUT /api/v1/roles/{name}, which creates a missing role): #role-name, #role-description, the
// permission matrix #role-matrix (a table, modules as rows and actions as columns, a checkbox
// #perm-<module>-<action> in each cell, read-only for built-in roles, whose permissions are
// fixed), #role-networks (one CIDR range a line) and the sign-in hours: the radios
// #role-hours-any and #role-hours-set, and for the latter a fieldset per day in #role-week with
// #role-hours-mon-open, #role-hours-mon-1-start, -1-end, -2-start, -2-end (and so on to sun), like
// the departments' opening hours, and the team scope #role-scope (all, or own_teams: only the
// holder's departments; fixed at all for built-in roles). Per row, button.edit-role fills the form; custom roles also
// get button.delete-role, which asks with button.confirm-delete-role before DELETE. Errors from
// the server go to #roles-error (role=alert), outcomes to #roles-status (role=status). Text from
// the server goes in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';
import { button, rowActions } from './fields.js';
import { DAYS, weekEditor } from './week.js';

const NAME = /^[a-z][a-z0-9_-]{1,39}$/;
const MAX_DESCRIPTION = 200;

/**
 * Wires the section; returns `{ load }`. `manage` = the session has roles.manage; `onList(names)`
 * gets the role names after every load (for the user forms).
 */
export function rolesSection(t, session, { manage, onList = () => {} }) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('roles-title');
  const table = byId('roles-table');
  const rows = byId('roles-rows');
  const error = byId('roles-error');
  const statusLine = byId('roles-status');
  const form = byId('role-form');
  const formTitle = byId('role-form-title');
  const nameInput = byId('role-name');
  const description = byId('role-description');
  const matrix = byId('role-matrix');
  const builtinNote = byId('role-builtin-note');
  const networks = byId('role-networks');
  const scope = byId('role-scope');
  const anyTime = byId('role-hours-any');
  const scheduled = byId('role-hours-set');
  const week = byId('role-week');
  const save = byId('role-save');
  const cancel = byId('role-cancel');
  let modules = [];
  let actions = [];
  let editing = null; // the role in the form, when changing one
  let hoursEditor = null; // week.js, with roles.manage
  let busy = false;

  byId('role-editor').hidden = !manage;
  byId('roles-readonly').hidden = manage;
  if (!manage) byId('roles-actions-col').remove();

  const say = (text) => setText(statusLine, text);
  const timeInputs = () => [...week.querySelectorAll('input[type="time"]')];
  const showError = (message, field) =>
    showFieldMessage(error, message, [nameInput, description, scope, networks, ...timeInputs()], field);
  const moduleName = (m) => t.moduleNames[m] || m;
  const actionName = (a) => t.actionNames[a] || a;

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingRoles, none: t.rolesShownNone, one: t.rolesShownOne, many: t.rolesShown },
    request: async () => {
      const answer = await apiGet(t, '/api/v1/roles');
      const strings = (list) => (Array.isArray(list) ? list.filter((x) => typeof x === 'string') : []);
      const newModules = strings(answer?.modules);
      const newActions = strings(answer?.actions);
      if (manage && (newModules.join() !== modules.join() || newActions.join() !== actions.join())) {
        modules = newModules;
        actions = newActions;
        buildMatrix();
      }
      return Array.isArray(answer?.roles) ? answer.roles : [];
    },
    show: (items) => {
      const list = items.filter((r) => typeof r?.name === 'string');
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      onList(list.map((r) => r.name));
      return list.length;
    },
  });

  function list(items, empty) {
    if (!items.length) return empty;
    const ul = element('ul', 'origins');
    ul.append(...items.map((item) => element('li', '', item)));
    return ul;
  }

  /** "Chats: view, store" per module, from `module.action` names. */
  function permissionSummary(names) {
    const byModule = new Map();
    for (const name of names) {
      const [module, action] = String(name).split('.');
      if (!byModule.has(module)) byModule.set(module, []);
      byModule.get(module).push(actionName(action));
    }
    return list([...byModule].map(([m, acts]) => `${moduleName(m)}: ${acts.join(', ')}`), t.rolePermissionsNone);
  }

  function hoursSummary(hours) {
    const schedule = hours && typeof hours === 'object' ? hours : {};
    if (!Object.keys(schedule).length) return t.roleAnyTime;
    const days = DAYS.filter(([day]) => Array.isArray(schedule[day]) && schedule[day].length).map(([day, name]) => {
      const spans = schedule[day].filter(Array.isArray).map(([from, to]) => `${from}–${to}`);
      return `${t[name]} ${spans.join(', ')}`;
    });
    return list(days, t.roleNoHours);
  }

  function row(role) {
    const name = role.name;
    const tr = element('tr');
    tr.dataset.role = name;
    const nameCell = element('th', '', name);
    nameCell.scope = 'row';
    const perms = element('td');
    perms.append(permissionSummary(Array.isArray(role.permissions) ? role.permissions : []));
    const nets = element('td');
    nets.append(list(Array.isArray(role.allowed_networks) ? role.allowed_networks.map(String) : [], t.roleAnyNetwork));
    const hours = element('td');
    hours.append(hoursSummary(role.login_hours));
    tr.append(
      nameCell,
      element('td', '', role.builtin ? t.roleBuiltin : t.roleCustom),
      element('td', '', String(role.description ?? '')),
      perms,
      nets,
      hours,
      element('td', '', role.scope === 'own_teams' ? t.roleScopeOwnTeams : t.roleScopeAll),
    );
    if (!manage) return tr;
    const who = {
      edit: format(t.roleWho, { name }),
      delete: format(t.roleWho, { name }),
      confirm: format(t.roleConfirmWho, { name }),
      cancel: format(t.roleCancelWho, { name }),
    };
    if (role.builtin) {
      const cell = element('td');
      const box = element('div', 'row-actions');
      const edit = button('edit-role secondary', t.edit, who.edit);
      edit.addEventListener('click', () => startEdit(role));
      box.append(edit);
      cell.append(box);
      tr.append(cell);
    } else {
      const onEdit = () => startEdit(role);
      const onAsk = () => showError('');
      const onDelete = () => deleteRole(name);
      tr.append(rowActions(t, { kind: 'role', key: name, who, warning: t.roleDeleteWarning, onEdit, onAsk, onDelete }));
    }
    return tr;
  }

  /** Deletes a role; resolves to true when it is still there. */
  async function deleteRole(name) {
    if (busy) return true;
    busy = true;
    showError('');
    try {
      await apiSend(t, 'DELETE', `/api/v1/roles/${encodeURIComponent(name)}`, session.csrf_token);
      if (editing === name) resetForm();
      heading.focus();
      await load();
      say(format(t.roleDeleted, { name }));
      return false;
    } catch (e) {
      showError(e.message);
      return true;
    } finally {
      busy = false;
    }
  }

  /** The permission matrix: a row per module, a column per action. */
  function buildMatrix() {
    const head = element('tr');
    const corner = element('th', '', t.roleModule);
    corner.scope = 'col';
    head.append(corner);
    for (const action of actions) {
      const th = element('th', '', actionName(action));
      th.scope = 'col';
      head.append(th);
    }
    const body = modules.map((module) => {
      const tr = element('tr');
      const th = element('th', '', moduleName(module));
      th.scope = 'row';
      tr.append(th);
      for (const action of actions) {
        const td = element('td');
        const input = element('input');
        input.type = 'checkbox';
        input.id = `perm-${module}-${action}`;
        input.value = `${module}.${action}`;
        const label = element('label', 'visually-hidden', format(t.rolePermissionLabel, { module: moduleName(module), action: actionName(action) }));
        label.htmlFor = input.id;
        td.append(input, label);
        tr.append(td);
      }
      return tr;
    });
    const caption = element('caption', '', t.roleMatrixCaption);
    const thead = element('thead');
    thead.append(head);
    const tbody = element('tbody');
    tbody.append(...body);
    matrix.replaceChildren(caption, thead, tbody);
  }

  const permissionBoxes = () => [...matrix.querySelectorAll('input[type="checkbox"]')];

  function setPermissions(names, builtin) {
    const chosen = new Set(names.map(String));
    for (const input of permissionBoxes()) {
      input.checked = chosen.has(input.value);
      input.disabled = builtin;
    }
    builtinNote.hidden = !builtin;
  }

  function startEdit(role) {
    editing = role.name;
    showError('');
    nameInput.value = role.name;
    nameInput.readOnly = true;
    description.value = String(role.description ?? '');
    setPermissions(Array.isArray(role.permissions) ? role.permissions : [], Boolean(role.builtin));
    networks.value = (Array.isArray(role.allowed_networks) ? role.allowed_networks : []).map(String).join('\n');
    scope.value = role.scope === 'own_teams' ? 'own_teams' : 'all';
    scope.disabled = Boolean(role.builtin);
    hoursEditor?.set(role.login_hours);
    formTitle.textContent = format(t.roleChange, { name: role.name });
    save.textContent = t.saveChanges;
    cancel.hidden = false;
    description.focus();
  }

  function resetForm() {
    editing = null;
    form.reset();
    nameInput.readOnly = false;
    scope.disabled = false;
    setPermissions([], false);
    hoursEditor?.set(null);
    formTitle.textContent = t.roleAdd;
    save.textContent = t.roleSave;
    cancel.hidden = true;
  }

  cancel.addEventListener('click', () => {
    const name = editing;
    resetForm();
    showError('');
    const edit = [...rows.children].find((tr) => tr.dataset.role === name)?.querySelector('.edit-role');
    (edit || nameInput).focus();
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const name = nameInput.value.trim();
    const text = description.value.trim();
    if (!name) return showError(t.roleNameMissing, nameInput);
    if (!NAME.test(name)) return showError(t.roleNameInvalid, nameInput);
    if ([...text].length > MAX_DESCRIPTION) return showError(t.roleDescriptionTooLong, description);
    const { hours, problem } = hoursEditor.read();
    if (problem) return showError(problem.message, problem.input);
    if (hours && !Object.keys(hours).length) return showError(t.roleHoursNone, scheduled);
    const body = {
      description: text,
      permissions: permissionBoxes().filter((input) => input.checked).map((input) => input.value),
      allowed_networks: networks.value.split('\n').map((line) => line.trim()).filter(Boolean),
      login_hours: hours ?? {},
      scope: scope.value === 'own_teams' ? 'own_teams' : 'all',
    };
    busy = true;
    save.setAttribute('aria-disabled', 'true');
    showError('');
    say(format(t.roleSaving, { name }));
    try {
      await apiSend(t, 'PUT', `/api/v1/roles/${encodeURIComponent(name)}`, session.csrf_token, body);
      resetForm();
      await load();
      say(format(t.roleSaved, { name }));
    } catch (e) {
      say('');
      // The server names the field it could not accept.
      const field = e.message.startsWith('allowed_networks')
        ? networks
        : e.message.startsWith('scope')
          ? scope
        : e.message.startsWith('login_hours')
          ? timeInputs()[0]
          : e.message.includes('description')
            ? description
            : nameInput;
      showError(e.message, field);
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
    }
  });

  if (manage) {
    hoursEditor = weekEditor(t, { prefix: 'role-hours', week, always: anyTime, scheduled, openLabel: 'roleHoursOn', missing: 'roleHoursMissing' });
    hoursEditor.set(null);
  }
  return { load };
}
