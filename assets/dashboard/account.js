// "Your account" (#account-view): change the password, set up or turn off two-factor sign-in
// (QR code rendered by the server as SVG, shown from a data: URL), and see and end sessions.
// While the server says a step is due (`session.pending`), only that step is shown and
// `onDone` runs once it is complete.
import { apiGet, apiSend } from './api.js';
import { dateTime, format, strings } from './strings.js';

const $ = (id) => document.getElementById(id);

function showError(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

/** Shows the account view for `session`; `onDone()` runs when a required step is finished. */
export async function showAccount(session, onDone) {
  const t = strings();
  const pending = session.pending;
  $('account-view').hidden = false;
  const required = $('account-required');
  required.hidden = !pending;
  required.textContent = pending === 'password_change_required' ? t.passwordRequired : t.totpRequired;
  $('password-section').hidden = pending === 'totp_enrolment_required';
  $('totp-section').hidden = pending === 'password_change_required';
  $('sessions-section').hidden = Boolean(pending);
  const local = session.user.source !== 'ldap';
  $('password-form').hidden = !local;
  $('password-directory').hidden = local;
  wirePassword(t, session, onDone);
  await showTotp(t, session, onDone);
  if (!pending) await listSessions(t, session);
  $('account-title').focus();
}

function wirePassword(t, session, onDone) {
  const form = $('password-form');
  const error = $('password-error');
  form.onsubmit = async (event) => {
    event.preventDefault();
    showError(error, '');
    $('password-done').hidden = true;
    const current = form.current.value;
    const next = form.new.value;
    if (!current || !next) return showError(error, t.passwordMissing);
    if (next !== form.repeat.value) return showError(error, t.passwordMismatch);
    try {
      await apiSend(t, 'POST', '/api/v1/account/password', session.csrf_token, {
        current_password: current,
        new_password: next,
      });
      form.reset();
      $('password-done').textContent = t.passwordChanged;
      $('password-done').hidden = false;
      if (session.pending) onDone();
    } catch (e) {
      showError(error, e.message);
      (e.code === 'wrong_password' ? form.current : form.new).focus();
    }
  };
}

async function showTotp(t, session, onDone) {
  const account = await apiGet(t, '/api/v1/account');
  const state = $('totp-state');
  const start = $('totp-start');
  const disable = $('totp-disable-form');
  $('totp-enrol').hidden = true;
  $('totp-codes').hidden = true;
  if (account.source === 'ldap') {
    state.textContent = t.totpDirectory;
    start.hidden = true;
    disable.hidden = true;
    return;
  }
  state.textContent = account.totp_enabled
    ? format(t.totpOn, { left: account.recovery_codes_left })
    : t.totpOff;
  start.hidden = account.totp_enabled;
  disable.hidden = !account.totp_enabled;
  start.onclick = () => enrol(t, session, onDone);
  disable.onsubmit = async (event) => {
    event.preventDefault();
    const error = $('totp-disable-error');
    showError(error, '');
    try {
      await apiSend(t, 'DELETE', '/api/v1/account/totp', session.csrf_token, { password: disable.password.value });
      disable.reset();
      // The role may require two-factor sign-in: let the page ask the server again.
      window.location.hash = 'account';
      window.location.reload();
    } catch (e) {
      showError(error, e.message);
      disable.password.focus();
    }
  };
}

async function enrol(t, session, onDone) {
  const error = $('totp-error');
  showError(error, '');
  const enrolment = await apiSend(t, 'POST', '/api/v1/account/totp', session.csrf_token);
  $('totp-qr').src = `data:image/svg+xml,${encodeURIComponent(enrolment.qr_svg)}`;
  $('totp-secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
  $('totp-start').hidden = true;
  $('totp-enrol').hidden = false;
  const form = $('totp-confirm-form');
  form.code.focus();
  form.onsubmit = async (event) => {
    event.preventDefault();
    showError(error, '');
    const code = form.code.value.replace(/\s/g, '');
    if (!/^\d{6}$/.test(code)) return showError(error, t.totpCodeFormat);
    try {
      const done = await apiSend(t, 'POST', '/api/v1/account/totp/confirm', session.csrf_token, { code });
      form.reset();
      $('totp-enrol').hidden = true;
      const list = $('totp-code-list');
      list.replaceChildren(
        ...done.recovery_codes.map((c) => {
          const item = document.createElement('li');
          item.textContent = c;
          return item;
        }),
      );
      $('totp-codes').hidden = false;
      $('totp-state').textContent = format(t.totpOn, { left: done.recovery_codes.length });
      $('totp-continue').focus();
      $('totp-continue').onclick = () => (session.pending ? onDone() : showTotp(t, session, onDone));
    } catch (e) {
      showError(error, e.message);
      form.code.focus();
    }
  };
}

async function listSessions(t, session) {
  const status = $('sessions-status');
  const body = $('sessions-body');
  const { sessions } = await apiGet(t, '/api/v1/account/sessions');
  body.replaceChildren(
    ...sessions.map((s) => {
      const row = document.createElement('tr');
      for (const text of [s.user_agent, s.source_ip, dateTime(s.created_at), dateTime(s.last_seen_at)]) {
        const cell = document.createElement('td');
        cell.textContent = text;
        row.append(cell);
      }
      const action = document.createElement('td');
      if (s.current) {
        action.textContent = t.thisSession;
      } else {
        const end = document.createElement('button');
        end.type = 'button';
        end.textContent = t.endSession;
        end.setAttribute('aria-label', format(t.endSessionWho, { agent: s.user_agent, at: dateTime(s.created_at) }));
        end.onclick = async () => {
          try {
            await apiSend(t, 'DELETE', `/api/v1/account/sessions/${encodeURIComponent(s.id)}`, session.csrf_token);
            status.textContent = t.sessionEnded;
            await listSessions(t, session);
            $('sessions-title').focus?.();
          } catch (e) {
            status.textContent = e.message;
          }
        };
        action.append(end);
      }
      row.append(action);
      return row;
    }),
  );
}
