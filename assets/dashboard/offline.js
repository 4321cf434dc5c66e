// "Offline requests" (#view-offline): messages visitors left while no operator (or no one in
// their team) was available, from GET /api/v1/offline-requests (open ones unless #offline-status
// says done; only the ones assigned to us when #offline-assigned says "me"), oldest first. Each is
// an article.offline-request with the visitor's e-mail address as a mailto: link, its team (when
// it has a department), who it is assigned to and when it was replied to. An open one has:
// - div.offline-assign: select#offline-assign-<id> (Nobody and every user who is not disabled,
//   from GET /api/v1/users) with button.assign, and button.assign-me; both POST
//   /api/v1/offline-requests/{id}/assign {user} (null for nobody);
// - form.offline-reply: textarea#offline-reply-<id> and button.send-reply, POST
//   /api/v1/offline-requests/{id}/reply {text}; once the reply is queued (202) the request is done
//   and leaves the list. Its problems show in #offline-reply-<id>-error (role=alert); when the
//   appliance cannot send mail (409 no_mail) p.mail-fallback offers a mailto: link instead;
// - a "Mark as done" button (POST /api/v1/offline-requests/{id}/done) that removes it.
// Every change carries the CSRF token (api.js). Outcomes are announced in #offline-status-msg,
// other failures shown in #offline-error. Text from the server goes in with textContent only.
import { MAX_CHARS } from '/common/composer.js';
import { apiGet, apiPost, apiSend } from './api.js';
import { format, teamName } from './strings.js';
import { element, setText, showFieldMessage, showMessage, timeElement } from './dom.js';
import { listLoader, removeEntry } from './listing.js';

/** Reply texts longer than this are left out of a fallback mailto: link (mail programs cut them). */
const MAILTO_BODY_MAX = 1800;

/**
 * A mailto: address for `email`, with anything that could add headers (?, &, %) escaped, and
 * `body` as the message when given.
 */
function mailto(email, body = '') {
  const address = `mailto:${encodeURIComponent(email).replace(/%40/g, '@')}`;
  const encoded = encodeURIComponent(body);
  return body && encoded.length <= MAILTO_BODY_MAX ? `${address}?body=${encoded}` : address;
}

/** Wires the view; returns `{ shown() }` for the view switcher (each showing reloads the list). */
export function offlineView(t, session) {
  const byId = (id) => document.getElementById(id);
  const me = session.user.username;
  const select = byId('offline-status');
  const assignedFilter = byId('offline-assigned');
  const heading = byId('offline-title');
  const error = byId('offline-error');
  const statusLine = byId('offline-status-msg');
  const empty = byId('offline-empty');
  const list = byId('offline-list');
  let users = []; // not disabled, from GET /api/v1/users

  select.addEventListener('change', () => load());
  assignedFilter.addEventListener('change', () => load());
  byId('offline-refresh').addEventListener('click', () => load());

  const say = (text) => setText(statusLine, text);

  const showError = (message) => showMessage(error, message);

  const load = listLoader({
    container: list,
    heading,
    say,
    showError,
    counts: { loading: t.loadingRequests, none: t.requestsShownNone, one: t.requestsShownOne, many: t.requestsShown },
    request: async () => {
      const query = {
        status: select.value === 'done' ? 'done' : 'open',
        assigned: assignedFilter.value === 'me' ? 'me' : '',
      };
      // Without the users the Assign list offers only Nobody, us and whoever has it now.
      const [requests, staff] = await Promise.all([
        apiGet(t, '/api/v1/offline-requests', query),
        apiGet(t, '/api/v1/users').catch(() => null),
      ]);
      if (Array.isArray(staff)) users = staff.filter((u) => u && typeof u.username === 'string' && !u.disabled);
      return requests;
    },
    show: (requests) => {
      list.replaceChildren(...requests.map(article));
      empty.hidden = requests.length > 0;
      return requests.length;
    },
  });

  function detail(dl, term, value) {
    const dd = element('dd');
    dd.append(value);
    dl.append(element('dt', '', term), dd);
    return dd;
  }

  /** A button whose visible text is followed by a visually hidden `who`. */
  function button(className, text, who) {
    const node = element('button', className, text);
    node.type = 'button';
    node.append(element('span', 'visually-hidden', who));
    return node;
  }

  /** Who a request is assigned to, in words. */
  function assignee(request) {
    if (typeof request.assigned_to !== 'string' || !request.assigned_to) return t.nobody;
    return String(request.assigned_name || request.assigned_to);
  }

  function article(request) {
    const name = request.name || t.visitor;
    const node = element('article', 'offline-request');
    node.dataset.id = String(request.id);
    const headingId = `offline-request-${request.id}`;
    node.setAttribute('aria-labelledby', headingId);
    const title = element('h3', '', name);
    title.id = headingId;
    const details = element('dl', 'details');
    const email = String(request.email ?? '');
    const link = element('a', 'email', email);
    link.href = mailto(email);
    detail(details, t.email, link);
    detail(details, t.siteLabel, String(request.site ?? ''));
    const team = teamName(request.department);
    if (team) detail(details, t.teamLabel, team);
    detail(details, t.received, timeElement(request.received_at));
    const assigned = detail(details, t.assignedTo, assignee(request));
    assigned.className = 'assigned';
    if (request.replied_at) detail(details, t.repliedAt, timeElement(request.replied_at));
    if (request.done_at) detail(details, t.doneAt, timeElement(request.done_at));
    const text = element('p', 'text', String(request.text ?? ''));
    node.append(title, details, text);
    if (request.status !== 'done') {
      const state = { request, node, name, email, assigned };
      node.append(assignControls(state), replyForm(state));
      const done = button('mark-done', t.markDone, format(t.markDoneWho, { name }));
      done.addEventListener('click', () => markDone(request.id, node, done));
      node.append(done);
    }
    return node;
  }

  /** The Assign list and buttons of an open request. */
  function assignControls(state) {
    const { request, name } = state;
    const wrap = element('div', 'offline-assign');
    const group = element('div', 'field');
    const id = `offline-assign-${request.id}`;
    const label = element('label', '', t.assignTo);
    label.htmlFor = id;
    const choice = element('select');
    choice.id = id;
    const userText = (u) => format(t.userOption, { name: u.display_name || u.username, username: u.username });
    const options = [[null, t.nobody], ...users.map((u) => [u.username, userText(u)])];
    const current = typeof request.assigned_to === 'string' && request.assigned_to ? request.assigned_to : null;
    // Whoever has it now stays in the list, even if disabled (or the users did not load).
    for (const user of [current, me]) {
      if (!user || options.some(([value]) => value === user)) continue;
      options.push([user, user === current ? assignee(request) : user]);
    }
    for (const [value, text] of options) {
      const option = element('option', '', text);
      option.value = value ?? '';
      choice.append(option);
    }
    choice.value = current ?? '';
    group.append(label, choice);
    const assign = button('assign', t.assign, format(t.assignWho, { name }));
    const mine = button('assign-me', t.assignMe, format(t.assignWho, { name }));
    state.assignButtons = [assign, mine];
    state.choice = choice;
    assign.addEventListener('click', () => assignTo(state, choice.value || null, assign));
    mine.addEventListener('click', () => assignTo(state, me, mine));
    wrap.append(group, assign, mine);
    return wrap;
  }

  async function assignTo(state, user, used) {
    const { request, node, name, assigned, assignButtons, choice } = state;
    if (used.getAttribute('aria-disabled') === 'true') return;
    for (const b of assignButtons) b.setAttribute('aria-disabled', 'true');
    const label = used.firstChild.textContent;
    used.firstChild.textContent = t.assigning;
    showError('');
    try {
      const path = `/api/v1/offline-requests/${encodeURIComponent(request.id)}/assign`;
      const row = await apiSend(t, 'POST', path, session.csrf_token, { user });
      const now = row && typeof row === 'object' ? row : { assigned_to: user, assigned_name: null };
      request.assigned_to = now.assigned_to ?? null;
      request.assigned_name = now.assigned_name ?? null;
      setText(assigned, assignee(request));
      choice.value = request.assigned_to ?? '';
      const who = { name, user: assignee(request) };
      if (assignedFilter.value === 'me' && request.assigned_to !== me) {
        remove(node);
        return say(format(request.assigned_to ? t.assignedElsewhere : t.unassignedElsewhere, who));
      }
      say(format(request.assigned_to ? t.assignedToName : t.unassigned, who));
    } catch (e) {
      if (e.code === 'unknown_request') return gone(node);
      showError(e.message);
    } finally {
      used.firstChild.textContent = label;
      for (const b of assignButtons) b.removeAttribute('aria-disabled');
    }
  }

  /** The "Reply by e-mail" form of an open request. */
  function replyForm({ request, node, name, email }) {
    const id = `offline-reply-${request.id}`;
    const form = element('form', 'offline-reply');
    form.noValidate = true;
    const label = element('label', '', format(t.replyByEmail, { name }));
    label.htmlFor = id;
    const input = element('textarea');
    input.id = id;
    input.rows = 4;
    input.maxLength = MAX_CHARS;
    const hint = element('p', 'hint', format(t.replyByEmailHint, { email }));
    hint.id = `${id}-hint`;
    input.setAttribute('aria-describedby', hint.id);
    const problem = element('p', 'error');
    problem.id = `${id}-error`;
    problem.setAttribute('role', 'alert');
    problem.hidden = true;
    const fallback = element('p', 'mail-fallback');
    fallback.hidden = true;
    const fallbackLink = element('a', '', format(t.mailFallback, { email }));
    fallback.append(fallbackLink);
    const send = element('button', 'send-reply', t.sendReply);
    send.type = 'submit';
    send.append(element('span', 'visually-hidden', format(t.sendReplyWho, { name })));
    form.append(label, input, hint, problem, fallback, send);

    const fail = (message) => showFieldMessage(problem, message, [input], message ? input : null);
    input.addEventListener('input', () => {
      if (!problem.hidden) fail('');
    });

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (send.getAttribute('aria-disabled') === 'true') return;
      const text = input.value.trim();
      if (!text) return fail(t.replyMissing);
      if ([...text].length > MAX_CHARS) return fail(t.replyTooLong);
      fail('');
      send.setAttribute('aria-disabled', 'true');
      send.firstChild.textContent = t.sendingReply;
      showError('');
      try {
        const path = `/api/v1/offline-requests/${encodeURIComponent(request.id)}/reply`;
        await apiSend(t, 'POST', path, session.csrf_token, { text });
        remove(node);
        say(t.replyQueued);
      } catch (e) {
        if (e.code === 'unknown_request') return gone(node);
        if (e.code === 'no_mail') {
          // The appliance cannot send mail: the operator's own mail program can, with the text.
          fallbackLink.href = mailto(email, text);
          fallback.hidden = false;
        }
        fail(e.message);
      } finally {
        send.removeAttribute('aria-disabled');
        send.firstChild.textContent = t.sendReply;
      }
    });
    return form;
  }

  async function markDone(id, node, done) {
    if (done.getAttribute('aria-disabled') === 'true') return;
    done.setAttribute('aria-disabled', 'true');
    done.firstChild.textContent = t.markingDone;
    showError('');
    try {
      await apiPost(t, `/api/v1/offline-requests/${encodeURIComponent(id)}/done`, session.csrf_token);
      remove(node);
      say(t.markedDone);
    } catch (e) {
      if (e.code === 'unknown_request') return gone(node);
      done.removeAttribute('aria-disabled');
      done.firstChild.textContent = t.markDone;
      showError(e.message);
    }
  }

  /** Someone else finished the request first: it is no longer open either way. */
  function gone(node) {
    remove(node);
    say(t.alreadyDone);
  }

  /** Takes a request off the list; the focus goes to the next one's button (or the heading). */
  function remove(node) {
    removeEntry(node, ['.mark-done', 'a'], heading, () => {
      empty.hidden = list.children.length > 0;
    });
  }

  return { shown: load };
}
