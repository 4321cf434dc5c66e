// Live-chat workspace for signed-in staff, started by app.js: the staff websocket, the queue, a
// tab per chat and notifications. After every (re)connect each open tab is joined from the last
// seq it has seen and its unacknowledged messages are sent again with their first ids (they
// survive a reload in sessionStorage); `mine` then opens tabs for chats assigned to us that have
// none, and ends the tabs of chats that closed while we were away. The `visitor` frame that
// starts the answer to `accept` and `join` fills that chat's visitor details, and the `note`
// frames that end it (or come live from colleagues) its internal notes. A `transfer` (to a
// colleague or to a team's queue) is answered by `transferred` (the tab ends) or by an `invalid`
// or `unknown_department` error (see transferRequests). Queue entries, `mine`, `assigned` and
// the queue entry behind an `accepted` carry the chat's `department`, shown on its tab and panel.
// Messages count as read only while the live view (#view-live) is on screen.
import { connect } from '/common/socket.js';
import { currentSession } from './session.js';
import { strings, format, teamName } from './strings.js';
import { queuePanel } from './queue.js';
import { tabs as tabList } from './tabs.js';
import { conversationPanel } from './conversation.js';
import { notifier } from './notify.js';
import { availabilityToggle } from './availability.js';
import { cannedResponses } from './canned.js';
import { staffDirectory, transferRequests } from './transfer.js';

const PENDING_KEY = 'parley.staff.pending';
const RETRY_MS = 2000;
/** Messages replayed into a newly opened tab are history: no beep or unread count for them. */
const HISTORY_QUIET_MS = 2000;

let started = false;
let availability = null;

/** Sets the operator's availability, 'online' or 'away' (as the #availability button does). */
export function setAvailability(status) {
  availability?.set(status);
}

export function startChat(session) {
  if (started) return;
  started = true;
  const t = strings();
  const me = session.user.display_name;
  const status = document.getElementById('chat-status');
  const liveView = document.getElementById('view-live');
  const chats = new Map(); // conversation → { view, info, unread, quietUntil }
  const pending = loadPending(); // conversation → [{id, text}]
  const accepting = new Map(); // conversation → its queue entry, for the accepts we sent
  const transfers = transferRequests((conversation) => chats.get(conversation)?.view);
  let connected = false;
  let baseline = true; // the first queue of this page is not news
  let queueNews = 0;
  let retry = null;

  document.getElementById('workspace').hidden = false;
  document.body.classList.add('has-workspace');
  const attention = notifier();
  const canned = cannedResponses(t);
  canned.load();
  const queue = queuePanel(t, { onAccept: accept, say });
  const directory = staffDirectory(t, session.user.username);
  directory.watch((departments) => queue.teams(departments));
  const tabs = tabList(document.getElementById('chat-tabs'), document.getElementById('chat-panels'), {
    onSelect: (key) => {
      document.getElementById('chats-empty').hidden = Boolean(key);
      if (key) seen(key);
      else document.getElementById('chats-title').focus();
    },
  });
  const sendStatus = (status, max) => socket.send({ type: 'status', status, max_chats: max });
  availability = availabilityToggle(t, { send: sendStatus, say });
  const socket = connect(`wss://${window.location.host}/ws/staff`, { onOpen, onFrame, onDown });
  say(t.connecting);

  const backOnScreen = () => {
    if (!onScreen()) return;
    queueNews = 0;
    if (tabs.selected()) seen(tabs.selected());
    else recount();
  };
  document.addEventListener('visibilitychange', backOnScreen);
  document.addEventListener('parley:view', backOnScreen);
  document.getElementById('queue-panel').addEventListener('focusin', () => {
    queueNews = 0;
    recount();
  });

  function say(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  /** Whether the operator can see the live workspace (this browser tab, and the live view). */
  function onScreen() {
    return !document.hidden && !liveView?.hidden;
  }

  function onOpen() {
    connected = true;
    say(t.connected);
    availability.connected();
    directory.refresh(true);
    for (const chat of chats.values()) if (!chat.view.ended()) join(chat);
  }

  function onDown(failures) {
    connected = false;
    say(t.reconnecting);
    availability.disconnected();
    for (const chat of chats.values()) chat.view.showTyping(false);
    transfers.failAll(t.transferUnconfirmed);
    // Every third failed attempt: has the session ended? Then back to the sign-in page.
    if (failures && failures % 3 === 0) {
      currentSession()
        .then((s) => s || window.location.assign('/'))
        .catch(() => {});
    }
  }

  function onFrame(frame) {
    const chat = chats.get(frame.conversation);
    switch (frame.type) {
      case 'queue':
        return onQueue(Array.isArray(frame.waiting) ? frame.waiting : [], frame.total);
      case 'mine':
        return onMine(Array.isArray(frame.conversations) ? frame.conversations : frame.mine);
      case 'accepted':
        return onAccepted(frame);
      case 'assigned':
        return onAssigned(frame);
      case 'message':
        return chat && onMessage(chat, frame);
      case 'visitor':
        return chat && chat.view.showVisitor(frame);
      case 'note':
        return chat && chat.view.notes.show(frame);
      case 'ack':
        return onAck(frame);
      case 'typing':
        if (chat && frame.who !== 'operator') chat.view.showTyping(frame.active === true);
        return;
      case 'closed':
        if (!chat || chat.view.ended()) return;
        endChat(frame.conversation, chat);
        return say(format(t.chatEnded, { name: chat.info.name || t.visitor }));
      case 'transferred':
        return onTransferred(frame);
      case 'status':
        return availability.confirmed(frame.status, frame.max_chats);
      case 'error':
        return onError(frame);
      default:
    }
  }

  function onQueue(waiting, total) {
    const fresh = queue.update(waiting, total);
    if (!baseline && fresh.length) {
      queueNews += fresh.length;
      say(format(t.newVisitor, { name: fresh.map((w) => w.name || t.visitor).join(', ') }));
      attention.beep();
    }
    baseline = false;
    queueNews = Math.min(queueNews, queue.size());
    recount();
  }

  /** The chats assigned to us: a tab (joined) for each new one; tabs not listed have ended. */
  function onMine(list) {
    if (!Array.isArray(list)) return;
    const open = new Set();
    for (const info of list) {
      if (!info || typeof info.conversation !== 'string') continue;
      open.add(info.conversation);
      if (!chats.has(info.conversation)) join(openChat(info));
    }
    for (const [conversation, chat] of chats) {
      if (!open.has(conversation) && !chat.view.ended()) endChat(conversation, chat);
    }
    for (const conversation of pending.keys()) if (!open.has(conversation)) dropPending(conversation);
  }

  function onAccepted(frame) {
    const conversation = frame.conversation;
    const entry = accepting.get(conversation);
    const ours = accepting.delete(conversation);
    if (!ours && frame.operator !== me) return;
    if (ours) queue.busy(conversation, false);
    let chat = chats.get(conversation);
    if (chat?.view.ended()) {
      // Accepted again (it went back to the queue while we were away): a fresh tab replaces the
      // ended one.
      chats.delete(conversation);
      tabs.remove(conversation);
      chat = null;
    }
    if (!chat) {
      const info = { ...entry, ...frame };
      chat = openChat({ conversation, name: info.name, site: info.site, department: info.department });
      // Joined either way: a chat accepted on another connection of ours needs it, and after our
      // own `accept` the messages then come twice, the second copy dropped by seq.
      join(chat);
    }
    if (ours) {
      tabs.select(conversation, false);
      chat.view.focus();
    }
  }

  /** A chat routed (or transferred) to us by the server: open its tab and catch up. */
  function onAssigned(frame) {
    const conversation = frame.conversation;
    if (typeof conversation !== 'string') return;
    let chat = chats.get(conversation);
    if (chat?.view.ended()) {
      chats.delete(conversation);
      tabs.remove(conversation);
      chat = null;
    }
    // A transfer (`from` is who handed it over) is news even if our other tab opened it already.
    const from = typeof frame.from === 'string' && frame.from ? frame.from : '';
    if (chat && !from) return;
    if (!chat) join(openChat({ conversation, name: frame.name, site: frame.site, department: frame.department }));
    const name = frame.name || t.visitor;
    say(from ? format(t.transferredToYou, { from, name }) : format(t.newVisitor, { name }));
    attention.beep();
    recount();
  }

  function onMessage(chat, frame) {
    if (!chat.view.transcript.add(frame)) return;
    if (frame.author === 'operator') {
      forget(frame.conversation, frame.id);
      return;
    }
    if (frame.author === 'visitor') chat.view.showTyping(false);
    const looking = tabs.selected() === frame.conversation && onScreen();
    if (looking || performance.now() < chat.quietUntil) return;
    chat.unread += 1;
    tabs.badge(frame.conversation, chat.unread, t.unread);
    say(format(t.newMessage, { name: chat.info.name || t.visitor }));
    attention.beep();
    recount();
  }

  function onAck(frame) {
    for (const [conversation, list] of pending) {
      if (!list.some((p) => p.id === frame.id)) continue;
      chats.get(conversation)?.view.transcript.ack(frame.id, frame.seq);
      forget(conversation, frame.id);
      return;
    }
    for (const chat of chats.values()) if (chat.view.notes.ack(frame.id)) return;
  }

  /** Our transfer went through: the chat is no longer ours. */
  function onTransferred(frame) {
    transfers.done(frame.id);
    const chat = chats.get(frame.conversation);
    if (!chat || chat.view.ended()) return;
    const { ended, said } = directory.transferred(frame);
    endChat(frame.conversation, chat, ended);
    say(said);
  }

  /** Ends a chat's tab: closed, transferred (`text` says so), or gone while we were away. */
  function endChat(conversation, chat, text) {
    chat.view.end(text);
    dropPending(conversation);
    transfers.drop(conversation);
  }

  function onError({ code, message }) {
    const reason = typeof message === 'string' && message ? message : t.transferFailed;
    // Only a transfer is answered with these (a status we send, max_chats included, is valid).
    if ((code === 'invalid' || code === 'unknown_department') && transfers.refused(reason)) return;
    if (code === 'already_taken' || code === 'not_member') {
      accepting.clear();
      queue.idle();
      return say(code === 'not_member' ? reason : t.taken);
    }
    // A chat that closed while we were away answers its `join` so; `mine` ends its tab.
    if (code === 'conversation_closed' || code === 'unknown_conversation') return;
    if (code === 'rate_limited' || code === 'internal') {
      say(code === 'rate_limited' ? t.tooFast : t.failed);
      transfers.failAll(t.transferFailed);
      if (!retry) retry = setTimeout(resend, RETRY_MS);
      return;
    }
    say(t.failed);
  }

  function openChat(info) {
    const conversation = info.conversation;
    const chat = { info, unread: 0, quietUntil: 0 };
    chat.view = conversationPanel(t, info, me, {
      canned,
      directory,
      onSend: (text) => sendMessage(conversation, text),
      onTyping: (active) => chat.view.ended() || socket.send({ type: 'typing', conversation, active }),
      onClose: () => {
        if (!socket.send({ type: 'close', id: crypto.randomUUID(), conversation })) say(t.notConnected);
      },
      onNote: (id, text) => {
        const frame = { type: 'note', id, conversation, text };
        if (!socket.fits(frame)) return t.noteTooLong;
        if (connected) socket.send(frame);
        return '';
      },
      onTransfer: (target, note) => {
        const id = crypto.randomUUID();
        if (!socket.send({ type: 'transfer', id, conversation, ...target, note: note || undefined })) return t.notConnected;
        transfers.add(id, conversation);
        return '';
      },
      onRemove: () => {
        chats.delete(conversation);
        dropPending(conversation);
        tabs.remove(conversation);
        recount();
      },
    });
    chats.set(conversation, chat);
    chat.quietUntil = performance.now() + HISTORY_QUIET_MS;
    tabs.add(conversation, info.name || t.visitor, chat.view.panel, teamName(info.department), t.tabTeam);
    for (const p of pending.get(conversation) || []) chat.view.transcript.addPending(p.id, p.text, t.you);
    return chat;
  }

  /** Catches a chat up from the last seq it has seen, then re-sends what was not acknowledged. */
  function join(chat) {
    const conversation = chat.info.conversation;
    socket.send({ type: 'join', conversation, last_seq: chat.view.transcript.lastSeq });
    for (const p of pending.get(conversation) || []) socket.send({ type: 'message', id: p.id, conversation, text: p.text });
    sendNotes(chat);
  }

  function resend() {
    retry = null;
    for (const [conversation, list] of pending) {
      for (const p of list) socket.send({ type: 'message', id: p.id, conversation, text: p.text });
    }
    for (const chat of chats.values()) if (!chat.view.ended()) sendNotes(chat);
  }

  /** Sends a chat's notes that have no `ack` yet again, with their first ids. */
  function sendNotes({ info, view }) {
    for (const n of view.notes.pending()) socket.send({ type: 'note', ...n, conversation: info.conversation });
  }

  function accept(conversation) {
    if (!socket.send({ type: 'accept', id: crypto.randomUUID(), conversation })) return say(t.notConnected);
    accepting.set(conversation, queue.info(conversation));
    queue.busy(conversation, true);
  }

  function sendMessage(conversation, text) {
    const id = crypto.randomUUID();
    const frame = { type: 'message', id, conversation, text };
    if (!socket.fits(frame)) return t.messageTooLong;
    pending.set(conversation, [...(pending.get(conversation) || []), { id, text }]);
    savePending(pending);
    chats.get(conversation).view.transcript.addPending(id, text, t.you);
    if (connected) socket.send(frame);
    return '';
  }

  function forget(conversation, id) {
    const list = (pending.get(conversation) || []).filter((p) => p.id !== id);
    if (list.length) pending.set(conversation, list);
    else pending.delete(conversation);
    savePending(pending);
  }

  function dropPending(conversation) {
    pending.delete(conversation);
    savePending(pending);
  }

  /** The selected tab is being looked at: its messages are read. */
  function seen(conversation) {
    const chat = chats.get(conversation);
    if (!chat || !onScreen()) return recount();
    chat.unread = 0;
    tabs.badge(conversation, 0, t.unread);
    recount();
  }

  function recount() {
    let unread = queueNews;
    for (const chat of chats.values()) unread += chat.unread;
    attention.count(unread);
  }
}

function loadPending() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(PENDING_KEY) || '{}');
    return new Map(Object.entries(stored).filter(([, list]) => Array.isArray(list)));
  } catch {
    return new Map();
  }
}

function savePending(pending) {
  try {
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(Object.fromEntries(pending)));
  } catch {
    // Storage blocked or full: pending messages still live until the page closes.
  }
}
