// "Encryption keys" on the administration page (#keys), for administrators, the DPO and
// auditors: where the key-encryption key comes from (#keys-source), each key by fingerprint with
// its state, dates and how many data keys it wraps (#keys-rows), the number of data subjects and,
// while `parley keys rotate` runs, its progress (#keys-rotation, a <progress> with a text
// equivalent). From GET /api/v1/keys; key bytes never reach the page. "Refresh" (#keys-refresh)
// reads it again. Text from the server goes in with textContent only.
import { apiGet } from '/dashboard/api.js';
import { element, setText, showMessage, timeElement } from '/dashboard/dom.js';
import { format } from '/dashboard/strings.js';

/** Wires the section; returns `{ load }`. */
export function keysSection(t) {
  const byId = (id) => document.getElementById(id);
  const source = byId('keys-source');
  const rows = byId('keys-rows');
  const table = byId('keys-table');
  const subjects = byId('keys-subjects');
  const rotation = byId('keys-rotation');
  const bar = byId('keys-rotation-bar');
  const rotationText = byId('keys-rotation-text');
  const error = byId('keys-error');
  const statusLine = byId('keys-status');

  byId('keys-refresh').addEventListener('click', () => load());

  function row(kek) {
    const tr = element('tr');
    const print = element('th', '', String(kek.fingerprint ?? ''));
    print.scope = 'row';
    const created = element('td');
    created.append(timeElement(kek.created_at));
    const retired = element('td');
    if (kek.retired_at) retired.append(timeElement(kek.retired_at));
    else retired.textContent = t.keyNotRetired;
    const count = element('td', 'number', String(kek.data_keys ?? 0));
    tr.append(print, element('td', '', t.keyStates[kek.state] ?? String(kek.state ?? '')), created, retired, count);
    return tr;
  }

  async function load() {
    showMessage(error, '');
    setText(statusLine, t.loadingKeys);
    try {
      const keys = await apiGet(t, '/api/v1/keys');
      source.textContent = format(keys.credential ? t.keySourceCredential : t.keySourceFile, { path: String(keys.source ?? '') });
      const list = Array.isArray(keys.keks) ? keys.keks : [];
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      subjects.textContent = format(t.keySubjects, { n: Number(keys.data_keys) || 0 });
      if (keys.rotation) {
        const done = Number(keys.rotation.done) || 0;
        const total = Number(keys.rotation.total) || 0;
        bar.max = Math.max(total, 1);
        bar.value = done;
        rotationText.textContent = format(t.keyRotating, { done, total });
        rotation.hidden = false;
      } else {
        rotation.hidden = true;
      }
      setText(statusLine, t.keysShown);
    } catch (e) {
      setText(statusLine, '');
      showMessage(error, e.message);
    }
  }

  return { load };
}
