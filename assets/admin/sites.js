// "Sites" on the administration page (#sites): the sites from GET /api/v1/sites in #sites-table,
// each with its allowed origins, the departments it offers, its widget colour (a swatch) and its
// embed snippet. Administrators also get the form #site-form (PUT /api/v1/sites/{key}, which adds
// or changes a site): #site-key, #site-name, #site-origins; "Departments offered", one checkbox
// #site-department-<key> per department in #site-departments (filled by setDepartments from the
// Departments section, sent in the department list's order); "Widget appearance", #site-colour
// (#rrggbb, kept in step with the picker #site-colour-picker), #site-title, #site-title-cy,
// #site-greeting, #site-greeting-cy, #site-launcher, #site-launcher-cy (sent as `theme`, empty
// ones left out); and the extra pre-chat fields (fields.js). An Edit button per row fills the
// form, and button.delete-site shows an inline "Confirm delete" button
// (button.confirm-delete-site) before DELETE /api/v1/sites/{key}. Everyone else sees the list and
// the note #sites-readonly. Errors (the server's 400 messages too) go to #sites-error
// (role=alert), outcomes to #sites-status (role=status). Text from the server goes in with
// textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';
import { checkbox, fieldsEditor, rowActions } from './fields.js';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
const COLOUR = /^#[0-9a-fA-F]{6}$/;
const MAX_ORIGINS = 50;
const MAX_NAME = 100;
const MIN_CONTRAST = 4.5;
/** The theme's texts: input id, theme key, most characters, string when too long. */
const THEME_TEXTS = [
  ['site-title', 'title', 60, 'titleTooLong'],
  ['site-title-cy', 'title_cy', 60, 'titleTooLong'],
  ['site-greeting', 'greeting', 300, 'greetingTooLong'],
  ['site-greeting-cy', 'greeting_cy', 300, 'greetingTooLong'],
  ['site-launcher', 'launcher', 60, 'launcherTooLong'],
  ['site-launcher-cy', 'launcher_cy', 60, 'launcherTooLong'],
];

/** The contrast of white text on `colour` (#rrggbb), by the WCAG 2 formula, rounded down. */
function contrastWithWhite(colour) {
  const channel = (at) => {
    const c = parseInt(colour.slice(at, at + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return Math.floor((1.05 / (luminance + 0.05)) * 100) / 100;
}

/** Wires the section for `session`; returns `{ load, setDepartments }`. */
export function sitesSection(t, session) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('sites-title');
  const error = byId('sites-error');
  const statusLine = byId('sites-status');
  const table = byId('sites-table');
  const rows = byId('sites-rows');
  const form = byId('site-form');
  const formTitle = byId('site-form-title');
  const keyInput = byId('site-key');
  const nameInput = byId('site-name');
  const originsInput = byId('site-origins');
  const trackingInput = byId('site-tracking'); // consent | off | always (docs/gdpr.md)
  const basisInput = byId('site-basis'); // public_task | legitimate_interests
  const requireConsentInput = byId('site-require-consent');
  const askMarketingInput = byId('site-ask-marketing');
  const departmentsBox = byId('site-departments');
  const colourInput = byId('site-colour');
  const picker = byId('site-colour-picker');
  const contrast = byId('site-colour-contrast');
  const swatch = byId('site-colour-swatch');
  const themeInputs = THEME_TEXTS.map(([id, ...rest]) => [byId(id), ...rest]);
  const save = byId('site-save');
  const cancel = byId('site-cancel');
  const admin = (session.permissions ?? []).includes('settings.manage');
  let editing = null; // the key of the site in the form, when changing one
  let busy = false;
  let departments; // undefined while loading, null when they could not be loaded, else the list
  let names = new Map(); // department key → name
  let siteDepartments = []; // the departments of the site in the form, kept when the list is missing

  byId('site-editor').hidden = !admin;
  byId('sites-readonly').hidden = admin;
  if (!admin) byId('sites-actions-col').remove();

  const say = (text) => setText(statusLine, text);

  const formInputs = () => [keyInput, nameInput, originsInput, colourInput, ...themeInputs.map(([i]) => i), ...fields.inputs()];
  const showError = (message, field) => showFieldMessage(error, message, formInputs(), field);

  const fields = fieldsEditor(t, {
    list: byId('site-fields'),
    add: byId('site-field-add'),
    none: byId('site-fields-none'),
    keyHint: 'site-field-key-hint',
    say,
    showError,
  });

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingSites, none: t.sitesShownNone, one: t.sitesShownOne, many: t.sitesShown },
    request: () => apiGet(t, '/api/v1/sites'),
    show: (items) => {
      const sites = items.filter((s) => typeof s?.key === 'string');
      rows.replaceChildren(...sites.map(row));
      table.hidden = sites.length === 0;
      return sites.length;
    },
  });

  function row(site) {
    const key = site.key;
    const origins = Array.isArray(site.origins) ? site.origins.map(String) : [];
    const offered = Array.isArray(site.departments) ? site.departments.map(String) : [];
    const colour = typeof site.theme?.colour === 'string' && COLOUR.test(site.theme.colour) ? site.theme.colour : '';
    const tr = element('tr');
    tr.dataset.key = key;
    const keyCell = element('th', '', key);
    keyCell.scope = 'row';
    const originsCell = element('td');
    if (origins.length) {
      const list = element('ul', 'origins');
      list.append(...origins.map((origin) => element('li', '', origin)));
      originsCell.append(list);
    } else {
      originsCell.textContent = t.noOrigins;
    }
    const departmentsCell = element('td');
    if (offered.length) {
      const list = element('ul', 'origins');
      for (const dept of offered) {
        const li = element('li', '', names.get(dept) || dept);
        li.dataset.department = dept;
        list.append(li);
      }
      departmentsCell.append(list);
    } else {
      departmentsCell.textContent = t.siteDepartmentsNone;
    }
    const colourCell = element('td');
    if (colour) {
      const sample = element('span', 'swatch');
      sample.style.backgroundColor = colour;
      colourCell.append(sample, element('code', '', colour.toLowerCase()));
    } else {
      colourCell.textContent = t.colourDefault;
    }
    const snippet = element('code', 'snippet', embedSnippet(key));
    const snippetCell = element('td');
    snippetCell.append(snippet);
    tr.append(keyCell, element('td', '', String(site.name ?? '')), originsCell, departmentsCell, colourCell, snippetCell);
    if (admin) {
      const who = {
        edit: format(t.editWho, { key }),
        delete: format(t.deleteWho, { key }),
        confirm: format(t.confirmDeleteWho, { key }),
        cancel: format(t.cancelDeleteWho, { key }),
      };
      const onEdit = () => startEdit(site, origins, offered);
      const onAsk = () => showError('');
      const onDelete = () => deleteSite(key);
      tr.append(rowActions(t, { kind: 'site', key, who, warning: t.deleteWarning, onEdit, onAsk, onDelete }));
    }
    return tr;
  }

  /** The script tag for a site's pages; the appliance's public address is not known here. */
  function embedSnippet(key) {
    return `<script src="https://${t.snippetHost}/widget.js" data-site="${key}" async></script>`;
  }

  /** Deletes a site; resolves to true when it is still there. */
  async function deleteSite(key) {
    if (busy) return true;
    busy = true;
    showError('');
    try {
      await apiSend(t, 'DELETE', `/api/v1/sites/${encodeURIComponent(key)}`, session.csrf_token);
      if (editing === key) resetForm();
      heading.focus();
      await load();
      say(format(t.siteDeleted, { key }));
      return false;
    } catch (e) {
      const gone = e.code === 'unknown_site';
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

  /** The ticked departments, in the department list's order (the site's own when not loaded). */
  function chosenDepartments() {
    if (!Array.isArray(departments)) return siteDepartments;
    return [...departmentsBox.querySelectorAll('input:checked')].map((input) => input.value);
  }

  function showDepartmentChoices(chosen) {
    const focused = departmentsBox.contains(document.activeElement) ? document.activeElement.id : '';
    if (departments === undefined) departmentsBox.replaceChildren(element('p', 'hint', t.loadingDepartments));
    else if (departments === null) departmentsBox.replaceChildren(element('p', 'hint', t.siteDepartmentsUnavailable));
    else if (!departments.length) departmentsBox.replaceChildren(element('p', 'hint', t.noDepartmentsYet));
    else {
      departmentsBox.replaceChildren(
        ...departments.map((d) => checkbox(`site-department-${d.key}`, d.key, `${names.get(d.key)} (${d.key})`, chosen.includes(d.key))),
      );
    }
    if (focused) byId(focused)?.focus();
  }

  /** The departments from the Departments section (null when they could not be loaded). */
  function setDepartments(list) {
    const chosen = chosenDepartments();
    departments = Array.isArray(list) ? list.filter((d) => typeof d?.key === 'string') : null;
    names = new Map((departments || []).map((d) => [d.key, String(d.name || d.key)]));
    for (const li of rows.querySelectorAll('li[data-department]')) {
      li.textContent = names.get(li.dataset.department) || li.dataset.department;
    }
    showDepartmentChoices(chosen);
  }

  function showColour() {
    const value = colourInput.value.trim();
    const valid = COLOUR.test(value);
    if (valid) picker.value = value.toLowerCase();
    swatch.hidden = !valid;
    swatch.style.backgroundColor = valid ? value : '';
    if (!value) contrast.textContent = t.colourDefaultHint;
    else if (!valid) contrast.textContent = t.colourInvalid;
    else {
      const ratio = contrastWithWhite(value);
      contrast.textContent = format(ratio >= MIN_CONTRAST ? t.colourContrast : t.colourContrastLow, { ratio });
    }
  }
  colourInput.addEventListener('input', showColour);
  picker.addEventListener('input', () => {
    colourInput.value = picker.value;
    showColour();
  });

  function startEdit(site, origins, offered) {
    editing = site.key;
    showError('');
    keyInput.value = site.key;
    keyInput.readOnly = true;
    nameInput.value = String(site.name ?? '');
    originsInput.value = origins.join('\n');
    trackingInput.value = ['consent', 'off', 'always'].includes(site.tracking) ? site.tracking : 'consent';
    basisInput.value = site.lawful_basis === 'legitimate_interests' ? 'legitimate_interests' : 'public_task';
    requireConsentInput.checked = site.require_consent === true;
    askMarketingInput.checked = site.ask_marketing === true;
    siteDepartments = offered;
    showDepartmentChoices(offered);
    const theme = site.theme && typeof site.theme === 'object' ? site.theme : {};
    colourInput.value = typeof theme.colour === 'string' ? theme.colour : '';
    showColour();
    for (const [input, key] of themeInputs) input.value = typeof theme[key] === 'string' ? theme[key] : '';
    fields.set(Array.isArray(site.fields) ? site.fields : []);
    formTitle.textContent = format(t.changeSite, { key: site.key });
    save.textContent = t.saveChanges;
    cancel.hidden = false;
    nameInput.focus();
  }

  function resetForm() {
    editing = null;
    form.reset();
    keyInput.readOnly = false;
    siteDepartments = [];
    showDepartmentChoices([]);
    showColour();
    fields.set([]);
    formTitle.textContent = t.addSite;
    save.textContent = t.saveSite;
    cancel.hidden = true;
  }

  cancel.addEventListener('click', () => {
    const key = editing;
    resetForm();
    showError('');
    const edit = [...rows.children].find((tr) => tr.dataset.key === key)?.querySelector('.edit-site');
    (edit || keyInput).focus();
  });

  /** The theme from the form, or `{ message, input }` for the first problem. */
  function readTheme() {
    const theme = {};
    const colour = colourInput.value.trim();
    if (colour && !COLOUR.test(colour)) return { problem: { message: t.colourInvalid, input: colourInput } };
    if (colour) theme.colour = colour.toLowerCase();
    for (const [input, key, max, tooLong] of themeInputs) {
      const value = input.value.trim();
      if ([...value].length > max) return { problem: { message: t[tooLong], input } };
      if (value) theme[key] = value;
    }
    return { theme };
  }

  /** The form field a 400 message from the server is about, when it names one. */
  function fieldOf(message, origins) {
    if (/colou?r|contrast/i.test(message)) return colourInput;
    if (origins.some((origin) => message.includes(origin))) return originsInput;
    return fields.inputFor(message);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const key = keyInput.value.trim();
    const name = nameInput.value.trim();
    const origins = originsInput.value
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean);
    if (!key) return showError(t.siteKeyMissing, keyInput);
    if (!KEY.test(key)) return showError(t.siteKeyInvalid, keyInput);
    if (!name) return showError(t.siteNameMissing, nameInput);
    if ([...name].length > MAX_NAME) return showError(t.siteNameTooLong, nameInput);
    if (origins.length > MAX_ORIGINS) return showError(t.tooManyOrigins, originsInput);
    const { theme, problem } = readTheme();
    if (problem) return showError(problem.message, problem.input);
    const fieldProblem = fields.check();
    if (fieldProblem) return showError(fieldProblem.message, fieldProblem.input);
    showError('');
    busy = true;
    save.setAttribute('aria-disabled', 'true');
    say(format(t.savingSite, { key }));
    try {
      const saved = await apiSend(t, 'PUT', `/api/v1/sites/${encodeURIComponent(key)}`, session.csrf_token, {
        name,
        origins,
        departments: chosenDepartments(),
        theme,
        fields: fields.value(),
        tracking: trackingInput.value,
        lawful_basis: basisInput.value,
        require_consent: requireConsentInput.checked,
        ask_marketing: askMarketingInput.checked,
      });
      resetForm();
      await load();
      say(format(t.siteSaved, { key: saved?.key || key }));
    } catch (e) {
      say('');
      showError(e.message, e.code === 'invalid' ? fieldOf(e.message, origins) : undefined);
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
    }
  });

  showDepartmentChoices([]);
  showColour();
  return { load, setDepartments };
}
