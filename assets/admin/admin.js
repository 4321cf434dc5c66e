// Administration entry: requires a signed-in user, else back to the sign-in page. Then shows the
// sites (sites.js), the canned responses (canned.js) and the reference links (#links).
import { currentSession, showUser } from '/dashboard/session.js';
import { format } from '/dashboard/strings.js';
import { strings } from './strings.js';
import { sitesSection } from './sites.js';
import { cannedSection } from './canned.js';

const t = strings();
const status = document.getElementById('status');
currentSession()
  .then((session) => {
    if (!session) {
      window.location.assign('/');
      return;
    }
    showUser(session, () => window.location.assign('/'));
    status.textContent = format(t.signedInAs, { name: session.user.display_name });
    for (const id of ['sites', 'canned', 'links']) document.getElementById(id).hidden = false;
    sitesSection(t, session).load();
    cannedSection(t, session).load();
  })
  .catch(() => {
    status.textContent = t.pageUnreachable;
  });
