// Administration entry: requires a signed-in user, else back to the sign-in page.
import { currentSession, showUser } from '/dashboard/session.js';

const status = document.getElementById('status');
currentSession()
  .then((session) => {
    if (!session) {
      window.location.assign('/');
      return;
    }
    showUser(session, () => window.location.assign('/'));
    status.textContent = `Signed in as ${session.user.display_name}.`;
    document.getElementById('links').hidden = false;
  })
  .catch(() => {
    status.textContent = 'The server could not be reached. Reload the page to try again.';
  });
