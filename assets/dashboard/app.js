// Dashboard entry: sign-in form, then the signed-in view: live chats (the default), stored chats
// and offline requests, chosen with the view switcher. Administrators also get a banner when
// backups need attention (from /admin/backups.js); the DPO and administrators see the open data
// requests with the days left (from /admin/cases.js).
import { currentSession, signIn, showUser } from './session.js';
import { showAccount } from './account.js';
import { startChat } from './chat.js';
import { startViews } from './views.js';
import { historyView } from './history.js';
import { offlineView } from './offline.js';
import { strings } from './strings.js';
import { warnAboutBackups } from '/admin/backups.js';
import { showOpenCases } from '/admin/cases.js';

const loginView = document.getElementById('login-view');
const homeView = document.getElementById('home-view');
const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
let viewsStarted = false;

function showLogin() {
  homeView.hidden = true;
  loginView.hidden = false;
  for (const id of ['who', 'logout', 'nav']) document.getElementById(id).hidden = true;
  document.getElementById('username').focus();
}

/** The account page: on request (#account), or instead of everything while a step is due. */
function showAccountView(session) {
  loginView.hidden = true;
  homeView.hidden = true;
  showUser(session, () => window.location.assign('/'));
  showAccount(session, () => {
    // The step is done: start again, so the server decides what comes next.
    window.location.hash = '';
    window.location.reload();
  });
}

function route(session) {
  if (session.pending || window.location.hash === '#account') showAccountView(session);
  else showHome(session);
}

window.addEventListener('hashchange', () => {
  const leaving = !document.getElementById('account-view').hidden && window.location.hash !== '#account';
  if (window.location.hash === '#account' || leaving) window.location.reload();
});

function showHome(session) {
  document.getElementById('account-view').hidden = true;
  loginView.hidden = true;
  homeView.hidden = false;
  document.getElementById('welcome').textContent = `Signed in as ${session.user.display_name}.`;
  document.getElementById('must-change').hidden = !session.user.must_change_password;
  showUser(session, () => window.location.assign('/'));
  document.getElementById('main').focus();
  startChat(session);
  if (!viewsStarted) {
    viewsStarted = true;
    const can = (permission) => (session.permissions ?? []).includes(permission);
    if (can('backups.view')) warnAboutBackups(document.getElementById('must-change'));
    if (can('gdpr.view')) showOpenCases(document.getElementById('open-cases'));
    const t = strings();
    startViews({ history: historyView(t), offline: offlineView(t, session) });
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = strings().signInMissing;
    error.hidden = false;
    return;
  }
  const totpField = document.getElementById('totp-field');
  const code = form.totp_code.value.trim();
  try {
    const session = await signIn(username, password, totpField.hidden ? undefined : code);
    form.password.value = '';
    form.totp_code.value = '';
    route(session);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    if (e.code === 'totp_required' || e.code === 'totp_invalid') {
      totpField.hidden = false;
      form.totp_code.value = '';
      form.totp_code.focus();
    } else {
      form.password.focus();
    }
  }
});

currentSession().then((session) => (session ? route(session) : showLogin())).catch(showLogin);
