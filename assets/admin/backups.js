// "Backups" on the administration page (#backups), for administrators only: the settings
// (#backups-settings), the last run (#backups-last) and the files from GET /api/v1/backups in
// #backups-table, each with a download link (GET /api/v1/backups/{file}/download: the encrypted
// file, useless without the offline identity), and the button #backup-create (POST
// /api/v1/backups). Errors go to #backups-error (role=alert), outcomes to #backups-status
// (role=status). When something needs an administrator (the last backup failed, a verify or
// restore failed), the banner #backup-warning (role=alert) at the top of the page says so;
// `warnAboutBackups` puts the same banner on the dashboard. Text from the server goes in with
// textContent only.
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showMessage, timeElement } from '/dashboard/dom.js';
import { listLoader } from '/dashboard/listing.js';
import { format } from '/dashboard/strings.js';
import { strings } from './strings.js';

/** Bytes as "812 bytes", "201 KB" or "3.4 MB". */
function size(t, bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return format(t.backupBytes, { n });
  if (n < 1024 * 1024) return format(t.backupKilobytes, { n: Math.round(n / 1024) });
  return format(t.backupMegabytes, { n: (n / (1024 * 1024)).toFixed(1) });
}

/** Fills `banner` with the server's warning and a link to the Backups section (hidden if none). */
function showWarning(t, banner, warning) {
  if (!warning) {
    banner.replaceChildren();
    banner.hidden = true;
    return;
  }
  const link = element('a', '', t.backupWarningLink);
  link.href = '/admin#backups-title';
  banner.replaceChildren(element('strong', '', t.backupWarningTitle), ' ', String(warning), ' ', link);
  banner.hidden = false;
}

/** On the dashboard: a banner for administrators after `anchor` when backups need attention. */
export async function warnAboutBackups(anchor) {
  const t = strings();
  const banner = element('p', 'notice error');
  banner.id = 'backup-warning';
  banner.setAttribute('role', 'alert');
  banner.hidden = true;
  anchor.after(banner);
  try {
    const status = await apiGet(t, '/api/v1/backups');
    showWarning(t, banner, status?.warning);
  } catch {
    // The dashboard works without it; the Backups section shows the problem.
  }
}

/** Wires the section for `session` (an administrator); returns `{ load }`. */
export function backupsSection(t, session) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('backups-title');
  const error = byId('backups-error');
  const statusLine = byId('backups-status');
  const settings = byId('backups-settings');
  const last = byId('backups-last');
  const table = byId('backups-table');
  const rows = byId('backups-rows');
  const form = byId('backup-form');
  const create = byId('backup-create');
  const notConfigured = byId('backups-not-configured');
  const banner = byId('backup-warning');
  let busy = false;
  let configured = false;

  const say = (text) => setText(statusLine, text);
  const showError = (message) => showMessage(error, message);

  function showSettings(status) {
    const schedule = status.schedule ? format(t.backupSchedule, { schedule: status.schedule }) : t.backupNoSchedule;
    const age = status.max_age_days > 0 ? format(t.backupMaxAge, { days: status.max_age_days }) : '';
    settings.textContent = format(t.backupSettings, { dir: status.dir, schedule, keep: status.keep_last, age });
    configured = Boolean(status.configured);
    notConfigured.hidden = configured;
    if (configured && !busy) create.removeAttribute('aria-disabled');
    else create.setAttribute('aria-disabled', 'true');
  }

  function showLast(run) {
    if (!run) {
      last.replaceChildren(t.backupNoRunYet);
      return;
    }
    const when = timeElement(run.finished_at || run.started_at);
    if (run.status === 'ok') {
      last.replaceChildren(t.backupLastOk, ' ', when, ` (${run.file ?? ''}, ${size(t, run.size)}).`);
    } else if (run.status === 'failed') {
      last.replaceChildren(element('strong', '', t.backupLastFailed), ' ', when, ': ', String(run.error ?? ''));
    } else {
      last.replaceChildren(t.backupLastRunning, ' ', timeElement(run.started_at), '.');
    }
  }

  function row(item) {
    const file = String(item.file);
    const tr = element('tr');
    const name = element('th', '', file);
    name.scope = 'row';
    const download = element('a', '', t.backupDownload);
    download.href = `/api/v1/backups/${encodeURIComponent(file)}/download`;
    download.setAttribute('download', file);
    download.append(element('span', 'visually-hidden', format(t.backupDownloadWho, { file })));
    const cell = element('td');
    cell.append(download);
    const schema = item.schema_version ?? '?';
    const created = element('td');
    created.append(timeElement(item.created_at));
    tr.append(
      name,
      created,
      element('td', '', size(t, item.size)),
      element('td', '', String(schema)),
      element('td', item.problem ? 'error' : '', item.problem ? String(item.problem) : t.backupFine),
      cell,
    );
    return tr;
  }

  const load = listLoader({
    container: table,
    heading,
    say,
    showError,
    counts: { loading: t.loadingBackups, none: t.backupsShownNone, one: t.backupsShownOne, many: t.backupsShown },
    request: async () => {
      const status = await apiGet(t, '/api/v1/backups');
      showSettings(status);
      showLast(status.last_run);
      showWarning(t, banner, status.warning);
      return status.backups;
    },
    show: (items) => {
      const list = items.filter((b) => typeof b?.file === 'string');
      rows.replaceChildren(...list.map(row));
      table.hidden = list.length === 0;
      return list.length;
    },
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (busy || create.getAttribute('aria-disabled') === 'true') return;
    busy = true;
    create.setAttribute('aria-disabled', 'true');
    showError('');
    say(t.backupCreating);
    try {
      const run = await apiSend(t, 'POST', '/api/v1/backups', session.csrf_token);
      await load();
      say(format(t.backupCreated, { file: run?.file ?? '' }));
    } catch (e) {
      // The list shows the failed run; the error stays in view.
      await load();
      showError(e.message);
    } finally {
      busy = false;
      if (configured) create.removeAttribute('aria-disabled');
    }
  });

  return { load };
}
