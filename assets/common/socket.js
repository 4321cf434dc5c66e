// Reconnecting websocket for protocol-v1 JSON frames: exponential backoff (0.5 s doubling to
// 8 s), a paced outbox (the server refuses more than 10 frames a second) and a keep-alive ping
// that notices a dead link. Frames that cannot be sent are dropped: callers re-send what matters
// (resume/join, pending messages) from their own state in `onOpen`.
// Shared by the widget and the dashboard: served at /common/ on both listeners.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 8000;
const FRAMES_PER_SECOND = 8;
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;

/**
 * Opens `url` and keeps it open. Callbacks: onOpen(hello) after each greeting, onFrame(frame)
 * for every other frame, onDown(failures) when the link is lost (failures = attempts in a row
 * that never got a greeting).
 */
export function connect(url, { onOpen, onFrame, onDown }) {
  let ws = null;
  let delay = FIRST_DELAY_MS;
  let failures = 0;
  let greeted = false;
  let maxBytes = 16384;
  let outbox = [];
  let sentAt = [];
  let drainTimer = null;
  let retryTimer = null;
  let pingTimer = null;
  let pongTimer = null;

  function open() {
    retryTimer = null;
    greeted = false;
    const socket = new WebSocket(url);
    ws = socket;
    socket.addEventListener('message', (event) => {
      if (socket !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!frame || typeof frame !== 'object') return;
      if (frame.type === 'pong') {
        clearTimeout(pongTimer);
      } else if (frame.type === 'hello') {
        greeted = true;
        failures = 0;
        delay = FIRST_DELAY_MS;
        if (Number.isInteger(frame.max_frame_bytes)) maxBytes = frame.max_frame_bytes;
        pingTimer = setInterval(ping, PING_EVERY_MS);
        onOpen(frame);
      } else {
        onFrame(frame);
      }
    });
    socket.addEventListener('close', () => {
      if (socket === ws) lost();
    });
  }

  /** Forgets the current socket and schedules the next attempt. */
  function lost() {
    const old = ws;
    ws = null;
    if (old && old.readyState < WebSocket.CLOSING) old.close();
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    clearTimeout(drainTimer);
    drainTimer = null;
    outbox = [];
    if (!greeted) failures += 1;
    const wait = Math.min(MAX_DELAY_MS, delay) * (0.8 + Math.random() * 0.4);
    delay = Math.min(MAX_DELAY_MS, delay * 2);
    retryTimer = setTimeout(open, Math.min(MAX_DELAY_MS, wait));
    onDown(failures);
  }

  function ping() {
    send({ type: 'ping', id: 'keepalive' });
    clearTimeout(pongTimer);
    pongTimer = setTimeout(lost, PONG_WITHIN_MS);
  }

  function drain() {
    drainTimer = null;
    while (outbox.length && isOpen()) {
      const now = performance.now();
      while (sentAt.length && now - sentAt[0] >= 1000) sentAt.shift();
      if (sentAt.length >= FRAMES_PER_SECOND) {
        drainTimer = setTimeout(drain, 1010 - (now - sentAt[0]));
        return;
      }
      sentAt.push(now);
      ws.send(outbox.shift());
    }
  }

  function isOpen() {
    return greeted && ws !== null && ws.readyState === WebSocket.OPEN;
  }

  /** The frame as sent on the wire (with "v": 1). */
  function encode(frame) {
    return JSON.stringify({ v: 1, ...frame });
  }

  /** Whether the frame is within the server's size limit. */
  function fits(frame) {
    return new TextEncoder().encode(encode(frame)).length <= maxBytes;
  }

  /** Queues a frame; false when offline or too large (nothing is queued then). */
  function send(frame) {
    if (!isOpen() || !fits(frame)) return false;
    outbox.push(encode(frame));
    if (!drainTimer) drain();
    return true;
  }

  window.addEventListener('online', () => {
    if (retryTimer) {
      clearTimeout(retryTimer);
      open();
    }
  });
  open();
  /** Opens a fresh connection now (e.g. so the handshake carries a cookie set since). */
  function reconnect() {
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    clearTimeout(drainTimer);
    drainTimer = null;
    outbox = [];
    const old = ws;
    ws = null;
    if (old && old.readyState < WebSocket.CLOSING) old.close();
    open();
  }

  return { send, fits, isOpen, reconnect };
}
