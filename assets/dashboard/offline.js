// "Offline requests" (#view-offline): messages visitors left while no operator was available,
// from GET /api/v1/offline-requests (open ones unless #offline-status says done), oldest first.
// Each is an article.offline-request with the visitor's e-mail address as a mailto: link; an
// open one has a "Mark as done" button (POST /api/v1/offline-requests/{id}/done with the CSRF
// token) that removes it from the list. Text from the server goes in with textContent only.
import { apiGet, apiPost } from './api.js';
import { format } from './strings.js';
import { element, setText, showMessage, timeElement } from './dom.js';
import { listLoader, removeEntry } from './listing.js';

/** A mailto: address for `email`, with anything that could add headers (?, &, %) escaped. */
function mailto(email) {
  return `mailto:${encodeURIComponent(email).replace(/%40/g, '@')}`;
}

/** Wires the view; returns `{ shown() }` for the view switcher (each showing reloads the list). */
export function offlineView(t, session) {
  const byId = (id) => document.getElementById(id);
  const select = byId('offline-status');
  const heading = byId('offline-title');
  const error = byId('offline-error');
  const statusLine = byId('offline-status-msg');
  const empty = byId('offline-empty');
  const list = byId('offline-list');

  select.addEventListener('change', () => load());
  byId('offline-refresh').addEventListener('click', () => load());

  const say = (text) => setText(statusLine, text);

  const showError = (message) => showMessage(error, message);

  const load = listLoader({
    container: list,
    heading,
    say,
    showError,
    counts: { loading: t.loadingRequests, none: t.requestsShownNone, one: t.requestsShownOne, many: t.requestsShown },
    request: () => apiGet(t, '/api/v1/offline-requests', { status: select.value === 'done' ? 'done' : 'open' }),
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
    detail(details, t.received, timeElement(request.received_at));
    if (request.done_at) detail(details, t.doneAt, timeElement(request.done_at));
    const text = element('p', 'text', String(request.text ?? ''));
    node.append(title, details, text);
    if (request.status !== 'done') {
      const button = element('button', 'mark-done', t.markDone);
      button.type = 'button';
      button.append(element('span', 'visually-hidden', format(t.markDoneWho, { name })));
      button.addEventListener('click', () => markDone(request.id, node, button));
      node.append(button);
    }
    return node;
  }

  async function markDone(id, node, button) {
    if (button.getAttribute('aria-disabled') === 'true') return;
    button.setAttribute('aria-disabled', 'true');
    button.firstChild.textContent = t.markingDone;
    showError('');
    try {
      await apiPost(t, `/api/v1/offline-requests/${encodeURIComponent(id)}/done`, session.csrf_token);
      remove(node);
      say(t.markedDone);
    } catch (e) {
      if (e.code === 'unknown_request') {
        // Someone else finished it first: it is no longer open either way.
        remove(node);
        say(t.alreadyDone);
        return;
      }
      button.removeAttribute('aria-disabled');
      button.firstChild.textContent = t.markDone;
      showError(e.message);
    }
  }

  /** Takes a request off the list; the focus goes to the next one's button (or the heading). */
  function remove(node) {
    removeEntry(node, ['.mark-done', 'a'], heading, () => {
      empty.hidden = list.children.length > 0;
    });
  }

  return { shown: load };
}
