// Session helpers shared by the dashboard and administration pages.

/** The current session, or null when signed out. */
export async function currentSession() {
  const response = await fetch('/api/v1/me', { credentials: 'same-origin' });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`unexpected status ${response.status}`);
  return response.json();
}

/**
 * Signs in, with a two-factor code (or recovery code) when one is given; resolves to the session
 * or throws an Error carrying the server's message and `code` (`totp_required` asks for a code).
 */
export async function signIn(username, password, totpCode) {
  const request = { username, password };
  if (totpCode) request.totp_code = totpCode;
  const response = await fetch('/api/v1/session', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.message || `sign-in failed (${response.status})`);
    error.code = body.code;
    throw error;
  }
  return body;
}

export async function signOut(csrfToken) {
  await fetch('/api/v1/session', {
    method: 'DELETE',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken },
  });
}

/** Fills the header bar for a signed-in user and wires the sign-out button. */
export function showUser(session, onSignedOut) {
  const who = document.getElementById('who');
  who.textContent = `${session.user.display_name} (${session.user.role})`;
  who.hidden = false;
  document.getElementById('nav').hidden = false;
  const logout = document.getElementById('logout');
  logout.hidden = false;
  logout.onclick = async () => {
    await signOut(session.csrf_token);
    onSignedOut();
  };
}
