// Requests to the staff JSON API for the dashboard and administration pages: GET with query
// parameters (empty ones left out), and POST, PUT or DELETE with the session's CSRF token and an
// optional JSON body. A failure becomes an ApiError carrying the server's `{code, message}`, or a
// message of our own when the server could not be reached. `t` needs the strings `unreachable`,
// `signedOut` and `requestFailed`.
import { format } from './strings.js';

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function call(t, path, init) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin', ...init });
  } catch {
    throw new ApiError('unreachable', t.unreachable, 0);
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (response.ok) return body;
  const code = typeof body?.code === 'string' ? body.code : `http_${response.status}`;
  let message = typeof body?.message === 'string' && body.message ? body.message : '';
  if (response.status === 401) message = t.signedOut;
  throw new ApiError(code, message || format(t.requestFailed, { status: response.status }), response.status);
}

/** GET `path` with `params` as the query (empty values are not sent); resolves to the JSON body. */
export function apiGet(t, path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== '' && value !== null && value !== undefined) query.set(key, String(value));
  }
  const search = query.toString();
  return call(t, search ? `${path}?${search}` : path, { headers: { Accept: 'application/json' } });
}

/**
 * `method` (POST, PUT or DELETE) to `path` with the X-CSRF-Token header and `body`, when given,
 * as JSON; resolves to the JSON answer, or null for 204 No Content.
 */
export function apiSend(t, method, path, csrfToken, body) {
  const headers = { Accept: 'application/json', 'X-CSRF-Token': csrfToken };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return call(t, path, init);
}

/** POST `path` without a body, with the X-CSRF-Token header; resolves to the JSON body or null. */
export function apiPost(t, path, csrfToken) {
  return apiSend(t, 'POST', path, csrfToken);
}
