// Strings of the staff chat workspace, one table per language (the dashboard is English-only so
// far; a `cy` table goes beside `en` when it is translated). `{key}` is filled in by `format`.

const en = {
  queueEmpty: 'No visitors waiting',
  accept: 'Accept',
  acceptWho: ' chat with {name}',
  accepting: 'Accepting…',
  site: 'Site: {site}',
  waited: 'Waiting {time}',
  seconds: '{s} s',
  minutes: '{m} min {s} s',
  hours: '{h} h {m} min',
  messagesWith: 'Messages with {name}',
  replyTo: 'Reply to {name}',
  replyHint: 'Enter sends. Shift and Enter adds a new line.',
  send: 'Send',
  closeChat: 'Close chat',
  removeTab: 'Remove this tab',
  ended: 'This chat has ended.',
  typing: '{name} is typing…',
  unread: ' unread',
  you: 'You',
  visitor: 'Visitor',
  operator: 'Operator',
  system: 'Notice',
  sending: 'sending…',
  messageMissing: 'Type a message first',
  messageTooLong: 'Messages must be 4,000 characters or fewer',
  connecting: 'Connecting to live chat…',
  connected: 'Live chat connected.',
  reconnecting: 'Live chat connection lost. Reconnecting…',
  newVisitor: 'New visitor waiting: {name}',
  newMessage: 'New message from {name}',
  chatEnded: 'The chat with {name} has ended.',
  taken: 'Another operator accepted that chat first.',
  notConnected: 'Not connected to live chat. Try again in a moment.',
  tooFast: 'Too many actions at once. Trying again shortly.',
  failed: 'Something went wrong with the last action.',
};

export const STRINGS = { en };

export function strings() {
  return STRINGS[document.documentElement.lang] || en;
}

/** Fills `{key}` placeholders from `values`. */
export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/** How long since `since` (an RFC 3339 time), e.g. "3 min 05 s". */
export function elapsed(t, since) {
  const total = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000)) || 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  if (h) return format(t.hours, { h, m: String(m).padStart(2, '0') });
  if (m) return format(t.minutes, { m, s });
  return format(t.seconds, { s: total });
}
