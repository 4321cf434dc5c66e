// "Remember this device" (docs/gdpr.md, "Tracking and objection"). The site decides (GET
// /widget/tracking): `consent` shows the optional #remember box in the pre-chat form, `always`
// asks the server to remember without a question, `off` shows nothing. Agreeing posts to
// /widget/tracking, which sets the HttpOnly `parley_vid` cookie; the chat socket is then opened
// again so its handshake carries it. While remembered, #forget withdraws (DELETE) and the
// server forgets the device from then on. The page never sees the cookie's value.

/** Wires the controls; returns `{ load, beforeStart }`. */
export function rememberControls(t, site, socket) {
  const field = document.getElementById('remember-field');
  const box = document.getElementById('remember');
  const forget = document.getElementById('forget');
  const result = document.getElementById('forget-result');
  const url = '/widget/tracking';

  const show = (remembered, tracking) => {
    forget.hidden = !remembered;
    field.hidden = remembered || tracking !== 'consent';
  };

  forget.addEventListener('click', async () => {
    const response = await fetch(url, { method: 'DELETE' }).catch(() => null);
    if (response && response.ok) {
      show(false, 'consent');
      result.textContent = t.forgotten;
    }
  });

  async function load() {
    const response = await fetch(`${url}?site=${encodeURIComponent(site)}`).catch(() => null);
    const body = response && response.ok ? await response.json().catch(() => null) : null;
    if (!body) return;
    if (body.tracking === 'always' && !body.remembered) {
      const done = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ site, consent: false }),
      }).catch(() => null);
      if (done && done.ok) socket.reconnect();
      show(Boolean(done && done.ok), body.tracking);
      return;
    }
    show(body.remembered === true, body.tracking);
  }

  /** Before a chat starts: when the box is ticked, agree and reconnect (true = reconnected,
   * so the start goes out when the new connection opens). */
  async function beforeStart() {
    if (field.hidden || !box.checked) return false;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ site, consent: true }),
    }).catch(() => null);
    if (!response || !response.ok) return false;
    show(true, 'consent');
    socket.reconnect();
    return true;
  }

  return { load, beforeStart };
}
