// Administration entry: requires a signed-in user, else back to the sign-in page. Then shows the
// contents list (#contents), the sites (sites.js), the departments (departments.js), the bank
// holidays (holidays.js), the canned responses (canned.js), for administrators, the DPO and
// auditors the encryption keys (keys.js), for administrators the backups (backups.js, with a
// banner when they need attention), for the DPO and administrators the data requests (gdpr.js:
// subject access, and erasure by the DPO; cases.js: requests as cases with deadlines), for administrators, the DPO and auditors the audit
// log (audit.js), and the reference links (#links). The sections tell each other about changes:
// the site form offers the departments listed, a deleted department disappears from the sites,
// and a changed bank-holiday list reloads the departments (whether they are open now).
import { currentSession, showUser } from '/dashboard/session.js';
import { format } from '/dashboard/strings.js';
import { strings } from './strings.js';
import { sitesSection } from './sites.js';
import { departmentsSection } from './departments.js';
import { holidaysSection } from './holidays.js';
import { cannedSection } from './canned.js';
import { backupsSection } from './backups.js';
import { keysSection } from './keys.js';
import { gdprSection } from './gdpr.js';
import { casesSection } from './cases.js';
import { auditSection } from './audit.js';

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
    for (const id of ['contents', 'sites', 'departments', 'holidays', 'canned', 'links']) {
      document.getElementById(id).hidden = false;
    }
    const sites = sitesSection(t, session);
    const departments = departmentsSection(t, session, { onList: sites.setDepartments, onDelete: sites.load });
    const holidays = holidaysSection(t, session, { onChange: departments.load });
    sites.load();
    departments.load();
    holidays.load();
    cannedSection(t, session).load();
    if (['administrator', 'dpo', 'auditor'].includes(session.user.role)) {
      document.getElementById('keys').hidden = false;
      document.getElementById('contents-keys').hidden = false;
      keysSection(t).load();
    }
    if (session.user.role === 'administrator') {
      document.getElementById('backups').hidden = false;
      document.getElementById('contents-backups').hidden = false;
      backupsSection(t, session).load();
    }
    if (['dpo', 'administrator'].includes(session.user.role)) {
      document.getElementById('gdpr').hidden = false;
      document.getElementById('contents-gdpr').hidden = false;
      gdprSection(t, session);
      casesSection(t, session).load();
    }
    if (['administrator', 'dpo', 'auditor'].includes(session.user.role)) {
      document.getElementById('audit').hidden = false;
      document.getElementById('contents-audit').hidden = false;
      auditSection(t).load();
    }
  })
  .catch(() => {
    status.textContent = t.pageUnreachable;
  });
