// Administration entry: requires a signed-in user, else back to the sign-in page. Then shows the
// contents list (#contents), the reference links (#links) and each section the user's permissions
// (GET /api/v1/me `permissions`, as `module.action`) allow, with its entry in the contents list:
// the sites (sites.js) and bank holidays (holidays.js) with settings.view, the departments
// (departments.js) and canned responses (canned.js) with chats.view, the staff accounts
// (users.js) with users.view, editable with users.manage, the roles (roles.js) with roles.view,
// editable with roles.manage, the backups (backups.js, with a banner when they need attention)
// with backups.view, the encryption keys (keys.js) with keys.view, the data requests (gdpr.js:
// search and erasure; cases.js: requests as cases with deadlines) with gdpr.view, and the audit
// report (audit.js; CSV with audit.export) and the breach scope (breach.js) with audit.view. The server checks every request
// again; hiding a section only spares the user requests they would be refused. The sections tell
// each other about changes: the site form offers the departments listed, a deleted department
// disappears from the sites, a changed bank-holiday list reloads the departments (whether they
// are open now), and the role lists of the staff forms follow the Roles section.
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
import { breachSection } from './breach.js';
import { casesSection } from './cases.js';
import { auditSection } from './audit.js';
import { usersSection } from './users.js';
import { rolesSection } from './roles.js';

const BUILTIN_ROLES = ['operator', 'supervisor', 'administrator', 'dpo', 'auditor'];

const t = strings();
const status = document.getElementById('status');

/** Shows section `id` and its entry in the contents list. */
function reveal(id) {
  document.getElementById(id).hidden = false;
  document.getElementById(`contents-${id}`).hidden = false;
}

currentSession()
  .then((session) => {
    if (!session) {
      window.location.assign('/');
      return;
    }
    showUser(session, () => window.location.assign('/'));
    status.textContent = format(t.signedInAs, { name: session.user.display_name });
    const granted = new Set(Array.isArray(session.permissions) ? session.permissions : []);
    const can = (permission) => granted.has(permission);
    document.getElementById('contents').hidden = false;
    document.getElementById('links').hidden = false;

    const showSites = can('settings.view');
    const showDepartments = can('chats.view');
    const sites = sitesSection(t, session);
    const departments = departmentsSection(t, session, { onList: sites.setDepartments, onDelete: sites.load });
    if (showSites) {
      reveal('sites');
      sites.load();
    }
    if (showDepartments) {
      reveal('departments');
      departments.load();
    }
    if (can('settings.view')) {
      reveal('holidays');
      holidaysSection(t, session, { onChange: showDepartments ? departments.load : () => {} }).load();
    }
    if (can('chats.view')) {
      reveal('canned');
      cannedSection(t, session).load();
    }
    let users = null;
    if (can('users.view')) {
      reveal('users');
      users = usersSection(t, session, { manage: can('users.manage') });
      users.load();
      if (!can('roles.view')) users.setRoles(BUILTIN_ROLES);
    }
    if (can('roles.view')) {
      reveal('roles');
      const onList = (names) => users?.setRoles(names);
      rolesSection(t, session, { manage: can('roles.manage'), onList }).load();
    }
    if (can('keys.view')) {
      reveal('keys');
      keysSection(t).load();
    }
    if (can('backups.view')) {
      reveal('backups');
      backupsSection(t, session).load();
    }
    if (can('gdpr.view')) {
      reveal('gdpr');
      gdprSection(t, session);
      casesSection(t, session).load();
    }
    if (can('audit.view')) {
      reveal('audit');
      auditSection(t, { canExport: can('audit.export') }).load();
      breachSection(t);
    }
  })
  .catch(() => {
    status.textContent = t.pageUnreachable;
  });
