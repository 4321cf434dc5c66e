// "Sites" on the administration page (#sites): the sites from GET /api/v1/sites in #sites-table,
// each with its allowed origins and embed snippet. Administrators also get the form #site-form
// (PUT /api/v1/sites/{key}, which adds or changes a site), an Edit button per row that fills the
// form, and button.delete-site, which shows an inline "Confirm delete" button
// (button.confirm-delete-site) before DELETE /api/v1/sites/{key}. Everyone else sees the list and
// the note #sites-readonly. Errors go to #sites-error (role=alert), outcomes to #sites-status
// (role=status). Text from the server goes in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ORIGINS = 50;
const MAX_NAME = 100;

/** Wires the section for `session`; returns `{ load }`. */
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
  const save = byId('site-save');
  const cancel = byId('site-cancel');
  const admin = session.user.role === 'administrator';
  let editing = null; // the key of the site in the form, when changing one
  let busy = false;

  byId('site-editor').hidden = !admin;
  byId('sites-readonly').hidden = admin;
  if (!admin) byId('sites-actions-col').remove();

  const say = (text) => setText(statusLine, text);

  const showError = (message, field) => showFieldMessage(error, message, [keyInput, nameInput, originsInput], field);

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

  /** A button with visible `label` and, for screen readers, `more` naming what it acts on. */
  function button(className, label, more) {
    const node = element('button', className, label);
    node.type = 'button';
    node.append(element('span', 'visually-hidden', more));
    return node;
  }

  function row(site) {
    const key = site.key;
    const origins = Array.isArray(site.origins) ? site.origins.map(String) : [];
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
    const snippet = element('code', 'snippet', embedSnippet(key));
    const snippetCell = element('td');
    snippetCell.append(snippet);
    tr.append(keyCell, element('td', '', String(site.name ?? '')), originsCell, snippetCell);
    if (admin) tr.append(actions(site, origins));
    return tr;
  }

  /** The script tag for a site's pages; the appliance's public address is not known here. */
  function embedSnippet(key) {
    return `<script src="https://${t.snippetHost}/widget.js" data-site="${key}" async></script>`;
  }

  function actions(site, origins) {
    const key = site.key;
    const cell = element('td');
    const box = element('div', 'row-actions');
    const edit = button('edit-site secondary', t.edit, format(t.editWho, { key }));
    const remove = button('delete-site secondary', t.delete, format(t.deleteWho, { key }));
    const confirm = button('confirm-delete-site danger', t.confirmDelete, format(t.confirmDeleteWho, { key }));
    const keep = button('cancel-delete-site secondary', t.cancel, format(t.cancelDeleteWho, { key }));
    const note = element('p', 'confirm-note', t.deleteWarning);
    note.id = `site-${key}-delete-note`;
    confirm.setAttribute('aria-describedby', note.id);
    for (const node of [confirm, keep, note]) node.hidden = true;
    box.append(edit, remove, confirm, keep, note);
    cell.append(box);

    const asking = (on) => {
      remove.hidden = on;
      for (const node of [confirm, keep, note]) node.hidden = !on;
    };
    edit.addEventListener('click', () => startEdit(site, origins));
    remove.addEventListener('click', () => {
      showError('');
      asking(true);
      confirm.focus();
    });
    keep.addEventListener('click', () => {
      asking(false);
      remove.focus();
    });
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !confirm.hidden && !busy) {
        asking(false);
        remove.focus();
      }
    });
    confirm.addEventListener('click', () => deleteSite(key, confirm, keep, () => asking(false), remove));
    return cell;
  }

  async function deleteSite(key, confirm, keep, restore, remove) {
    if (busy) return;
    busy = true;
    confirm.setAttribute('aria-disabled', 'true');
    keep.setAttribute('aria-disabled', 'true');
    confirm.firstChild.textContent = t.deleting;
    showError('');
    try {
      await apiSend(t, 'DELETE', `/api/v1/sites/${encodeURIComponent(key)}`, session.csrf_token);
      if (editing === key) resetForm();
      heading.focus();
      await load();
      say(format(t.siteDeleted, { key }));
    } catch (e) {
      confirm.removeAttribute('aria-disabled');
      keep.removeAttribute('aria-disabled');
      confirm.firstChild.textContent = t.confirmDelete;
      if (e.code === 'unknown_site') {
        heading.focus();
        await load();
      } else {
        restore();
        remove.focus();
      }
      showError(e.message);
    } finally {
      busy = false;
    }
  }

  function startEdit(site, origins) {
    editing = site.key;
    showError('');
    keyInput.value = site.key;
    keyInput.readOnly = true;
    nameInput.value = String(site.name ?? '');
    originsInput.value = origins.join('\n');
    formTitle.textContent = format(t.changeSite, { key: site.key });
    save.textContent = t.saveChanges;
    cancel.hidden = false;
    nameInput.focus();
  }

  function resetForm() {
    editing = null;
    form.reset();
    keyInput.readOnly = false;
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
    showError('');
    busy = true;
    save.setAttribute('aria-disabled', 'true');
    say(format(t.savingSite, { key }));
    try {
      const saved = await apiSend(t, 'PUT', `/api/v1/sites/${encodeURIComponent(key)}`, session.csrf_token, {
        name,
        origins,
      });
      resetForm();
      await load();
      say(format(t.siteSaved, { key: saved?.key || key }));
    } catch (e) {
      say('');
      // The server names the origin it could not accept; that is the field to fix.
      showError(e.message, e.code === 'invalid' && origins.length ? originsInput : undefined);
    } finally {
      busy = false;
      save.removeAttribute('aria-disabled');
    }
  });

  return { load };
}
