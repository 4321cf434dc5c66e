// "Canned responses" on the administration page (#canned): the signed-in user's own responses
// and the shared ones from GET /api/v1/canned-responses in #canned-table, the form #canned-form
// (POST /api/v1/canned-responses) and button.delete-canned per row (DELETE
// /api/v1/canned-responses/{id}). Everyone may add and delete their own; supervisors and
// administrators also get the checkbox #canned-shared and may delete shared ones. Errors go to
// #canned-error (role=alert), outcomes to #canned-status (role=status). Text from the server goes
// in with textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage } from '/dashboard/dom.js';
import { listLoader, removeEntry } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';

const SHORTCUT = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_TEXT = 4000;

/** Wires the section for `session`; returns `{ load }`. */
export function cannedSection(t, session) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('canned-title');
  const error = byId('canned-error');
  const statusLine = byId('canned-status');
  const table = byId('canned-table');
  const rows = byId('canned-rows');
  const form = byId('canned-form');
  const shortcutInput = byId('canned-shortcut');
  const textInput = byId('canned-text');
  const sharedInput = byId('canned-shared');
  const add = byId('canned-add');
  const mayShare = (session.permissions ?? []).includes('chats.manage');
  let busy = false;

  byId('canned-shared-field').hidden = !mayShare;

  const say = (text) => setText(statusLine, text);

  const showError = (message, field) => showFieldMessage(error, message, [shortcutInput, textInput], field);

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingCanned, none: t.cannedShownNone, one: t.cannedShownOne, many: t.cannedShown },
    request: () => apiGet(t, '/api/v1/canned-responses'),
    show: (items) => {
      const list = items.filter((c) => typeof c?.shortcut === 'string');
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      return list.length;
    },
  });

  function row(item) {
    const shortcut = item.shortcut;
    const tr = element('tr');
    const name = element('th', '', `/${shortcut}`);
    name.scope = 'row';
    const cell = element('td');
    tr.append(name, element('td', 'canned-text', String(item.text ?? '')), element('td', '', item.shared ? t.yes : t.no), cell);
    // Your own responses are always yours to delete; shared ones only for supervisors and
    // administrators (the server checks too).
    if (!item.shared || mayShare) {
      const remove = element('button', 'delete-canned secondary', t.delete);
      remove.type = 'button';
      remove.append(element('span', 'visually-hidden', format(t.deleteCannedWho, { shortcut })));
      remove.addEventListener('click', () => deleteCanned(item, tr, remove));
      cell.append(remove);
    }
    return tr;
  }

  async function deleteCanned(item, tr, remove) {
    if (remove.getAttribute('aria-disabled') === 'true') return;
    remove.setAttribute('aria-disabled', 'true');
    showError('');
    const shortcut = item.shortcut;
    try {
      await apiSend(t, 'DELETE', `/api/v1/canned-responses/${encodeURIComponent(item.id)}`, session.csrf_token);
      dropRow(tr);
      say(format(t.cannedDeleted, { shortcut }));
    } catch (e) {
      if (e.code === 'unknown_canned') {
        dropRow(tr);
        say(format(t.cannedGone, { shortcut }));
        return;
      }
      remove.removeAttribute('aria-disabled');
      showError(e.message);
    }
  }

  /** Takes a row off the table; the focus goes to the next row's Delete button (or the heading). */
  function dropRow(tr) {
    removeEntry(tr, ['.delete-canned'], heading, () => {
      table.hidden = rows.children.length === 0;
      if (table.hidden) say(t.cannedShownNone);
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy) return;
    const shortcut = shortcutInput.value.trim().replace(/^\//, '');
    const text = textInput.value.trim();
    const shared = mayShare && sharedInput.checked;
    if (!shortcut) return showError(t.shortcutMissing, shortcutInput);
    if (!SHORTCUT.test(shortcut)) return showError(t.shortcutInvalid, shortcutInput);
    if (!text) return showError(t.cannedTextMissing, textInput);
    if ([...text].length > MAX_TEXT) return showError(t.cannedTextTooLong, textInput);
    showError('');
    busy = true;
    add.setAttribute('aria-disabled', 'true');
    say(format(t.addingCanned, { shortcut }));
    try {
      const body = mayShare ? { shortcut, text, shared } : { shortcut, text };
      const created = await apiSend(t, 'POST', '/api/v1/canned-responses', session.csrf_token, body);
      form.reset();
      await load();
      const added = created?.shortcut || shortcut.toLowerCase();
      say(format(shared ? t.cannedAddedShared : t.cannedAdded, { shortcut: added }));
      shortcutInput.focus();
    } catch (e) {
      say('');
      const field = e.code === 'conflict' || e.code === 'invalid' ? shortcutInput : undefined;
      showError(e.message, field);
    } finally {
      busy = false;
      add.removeAttribute('aria-disabled');
    }
  });

  return { load };
}
