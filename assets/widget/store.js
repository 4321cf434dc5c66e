// The chat's record in the iframe's own storage (the appliance's origin, never the host page's):
// key "parley.chat.<site>" holds {conversation, token, lastSeq, pending: [{id, text}]}, or
// {start: {id, name, question, department?, answers?}, pending} while a `start` has not been
// answered yet (so a reload resends the same `start`, with the same team and answers).
// Storage may be blocked or full: the chat then still works until the page is closed.

const key = (site) => `parley.chat.${site}`;

const isText = (value) => typeof value === 'string' && value.length > 0;

/** The stored record, or null when there is none or it is not one we wrote. */
export function load(site) {
  let record;
  try {
    record = JSON.parse(localStorage.getItem(key(site)) || 'null');
  } catch {
    return null;
  }
  if (!record || typeof record !== 'object') return null;
  const pending = Array.isArray(record.pending) ? record.pending.filter((p) => isText(p?.id) && isText(p?.text)) : [];
  if (isText(record.conversation) && isText(record.token)) {
    const lastSeq = Number.isInteger(record.lastSeq) && record.lastSeq > 0 ? record.lastSeq : 0;
    return { conversation: record.conversation, token: record.token, lastSeq, pending };
  }
  const start = record.start;
  if (start && isText(start.id) && isText(start.name) && isText(start.question)) {
    const kept = { id: start.id, name: start.name, question: start.question };
    if (isText(start.department)) kept.department = start.department;
    if (start.consent === true) kept.consent = true;
    if (Array.isArray(start.consents)) kept.consents = start.consents.filter((c) => c === 'marketing' || c === 'transcript');
    if (start.answers && typeof start.answers === 'object' && !Array.isArray(start.answers)) {
      kept.answers = Object.fromEntries(Object.entries(start.answers).filter(([, v]) => typeof v === 'string'));
    }
    return { start: kept, pending };
  }
  return null;
}

export function save(site, record) {
  try {
    localStorage.setItem(key(site), JSON.stringify(record));
  } catch {
    // Blocked or full: keep going without it.
  }
}

export function clear(site) {
  try {
    localStorage.removeItem(key(site));
  } catch {
    // Blocked: nothing was stored.
  }
}
