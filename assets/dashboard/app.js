// Dashboard entry: sign-in form, then the signed-in view: live chats (the default), stored chats
// and offline requests, chosen with the view switcher. Administrators also get a banner when
// backups need attention (from /admin/backups.js); the DPO and administrators see the open data
// requests with the days left (from /admin/cases.js).
import { currentSession, signIn, showUser } from './session.js';
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

function showHome(session) {
  loginView.hidden = true;
  homeView.hidden = false;
  document.getElementById('welcome').textContent = `Signed in as ${session.user.display_name}.`;
  document.getElementById('must-change').hidden = !session.user.must_change_password;
  showUser(session, () => window.location.assign('/'));
  document.getElementById('main').focus();
  startChat(session);
  if (!viewsStarted) {
    viewsStarted = true;
    if (session.user.role === 'administrator') warnAboutBackups(document.getElementById('must-change'));
    if (['dpo', 'administrator'].includes(session.user.role)) showOpenCases(document.getElementById('open-cases'));
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
    error.textContent = 'Enter your user name and password.';
    error.hidden = false;
    return;
  }
  try {
    const session = await signIn(username, password);
    form.password.value = '';
    showHome(session);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
    form.password.focus();
  }
});

currentSession().then((session) => (session ? showHome(session) : showLogin())).catch(showLogin);
