// Widget app inside the iframe: pre-chat form → live chat → "ended" with a rating form, or the
// leave-a-message form when no one can chat. The site's config (/widget/config) brings its extra
// fields, its teams (departments) and its theme. The conversation's record lives in the iframe's
// own storage (store.js); after a reload or a lost link the chat is resumed and unacknowledged
// messages are sent again with their first ids.
import { STRINGS, format } from './strings.js';
import { connect } from '/common/socket.js';
import * as store from './store.js';
import { prechat } from './prechat.js';
import { chatView } from './chat.js';
import { endedView } from './ended.js';
import { offlineView } from './offline.js';
import { parseDepartments } from './fields.js';
import { mailForm } from './mailme.js';
import { rememberControls } from './remember.js';

const params = new URLSearchParams(window.location.search);
const lang = params.get('lang') === 'cy' ? 'cy' : 'en';
const site = params.get('site') || '';
const t = STRINGS[lang];
const RETRY_MS = 2000;
/** Theme colours the widget accepts (the server also checks contrast with white text). */
const COLOUR = /^#[0-9a-fA-F]{6}$/;

document.documentElement.lang = lang;
document.title = t.title;
for (const element of document.querySelectorAll('[data-t]')) element.textContent = t[element.dataset.t];

const status = document.getElementById('status');
let record = store.load(site); // see store.js; null while no chat is open
let phase = record ? 'chat' : 'form'; // 'form' | 'chat' | 'ended' | 'offline'
let connected = false;
let failedOnce = false;
let operator = null;
let position = null;
let ending = false;
let retry = null;
let lastConversation = null;
let lastToken = null;
let available = true; // from the server's hello: is any adviser online?
let config = null; // {available, departments} from /widget/config once it has arrived
let offlineId = null; // id of the leave_message awaiting its ack
let mailId = null; // id of the email_transcript awaiting its ack

const form = prechat(t, startChat);
const chat = chatView(t, lang, { onSend: sendMessage, onTyping: sendTyping, onEnd: endChat });
const ended = endedView(t, { onNewChat: newChat, onRate: rate });
const offline = offlineView(t, lang, leaveMessage);
const mail = mailForm(t, emailTranscript);
const socket = connect(`wss://${window.location.host}/ws/visitor`, { onOpen, onFrame, onDown });
const remember = rememberControls(t, site, socket);
loadConfig();
remember.load();

if (record) {
  chat.open();
  if (record.start) chat.transcript.addPending(record.start.id, record.start.question, t.you);
  for (const p of record.pending) chat.transcript.addPending(p.id, p.text, t.you);
} else {
  form.show();
}
renderStatus();

function setStatus(text) {
  if (status.textContent !== text) status.textContent = text;
}

function renderStatus() {
  if (phase === 'ended' || phase === 'offline') return;
  if (!connected) setStatus(!failedOnce ? t.connecting : phase === 'chat' ? t.reconnecting : t.offline);
  else if (phase === 'form') setStatus(t.ready);
  else if (!record.conversation) setStatus(t.starting);
  else if (operator) setStatus(format(t.chattingWith, { name: operator }));
  else if (position) setStatus(format(t.queue, { n: position }));
  else setStatus(t.waiting);
}

/** Fetches the site's config again (teams open and close, and may change). */
function loadConfig() {
  fetch(`/widget/config?site=${encodeURIComponent(site)}`)
    .then((response) => (response.ok ? response.json() : null))
    .then((body) => body && applyConfig(body))
    .catch(() => {});
}

function applyConfig(body) {
  if (!config) {
    form.setFields(body.fields, lang);
    form.setConsent(body);
    applyTheme(body.theme);
  }
  config = { available: body.available !== false, departments: parseDepartments(body.departments) };
  form.setDepartments(config.departments, lang);
  offline.setDepartments(config.departments);
  if (phase === 'form' && !canChat()) showOffline(form.values());
}

/** The site's theme: its colour on the header and primary buttons, its own title and greeting. */
function applyTheme(theme) {
  if (!theme || typeof theme !== 'object') return;
  // Only the widget's language: a Welsh page without Welsh texts keeps the Welsh defaults.
  const text = (key) => {
    const value = theme[lang === 'cy' ? `${key}_cy` : key];
    return typeof value === 'string' && value.trim() ? value : '';
  };
  if (typeof theme.colour === 'string' && COLOUR.test(theme.colour)) {
    document.documentElement.style.setProperty('--brand', theme.colour);
  }
  const title = text('title');
  if (title) {
    document.getElementById('title').textContent = title;
    document.title = title;
  }
  const greeting = text('greeting');
  if (greeting) document.getElementById('greeting').textContent = greeting;
}

/** Whether a chat can start: someone is online and, when the site has teams, one of them is free. */
function canChat() {
  if (!available) return false;
  if (!config) return true;
  return config.departments.length ? config.departments.some((d) => d.available) : config.available;
}

function persist() {
  if (record.conversation) record.lastSeq = chat.transcript.lastSeq;
  store.save(site, record);
}

/** After every (re)connect: start or resume, then everything not yet acknowledged. */
function onOpen(hello) {
  connected = true;
  available = hello.available !== false;
  if (phase === 'form' && !canChat()) showOffline(form.values());
  if (phase === 'chat' && record.conversation) {
    socket.send({ type: 'resume', conversation: record.conversation, token: record.token, last_seq: chat.transcript.lastSeq });
    flush();
  } else if (phase === 'chat') {
    socket.send({ type: 'start', site, ...record.start });
  }
  renderStatus();
}

function onDown() {
  connected = false;
  failedOnce = true;
  chat.showTyping(null, false);
  renderStatus();
}

function flush() {
  clearTimeout(retry);
  retry = null;
  for (const p of record.pending) socket.send({ type: 'message', id: p.id, text: p.text });
  if (ending) socket.send({ type: 'end', id: crypto.randomUUID() });
}

/** Whether a frame is about the open conversation (frames may omit the conversation). */
function ours(frame) {
  return phase === 'chat' && Boolean(record.conversation) && (!frame.conversation || frame.conversation === record.conversation);
}

function onFrame(frame) {
  switch (frame.type) {
    case 'started':
      if (phase !== 'chat' || !record.start || typeof frame.conversation !== 'string') return;
      chat.transcript.add({ seq: frame.seq, id: record.start.id, author: 'visitor', text: record.start.question, at: new Date().toISOString() });
      record = { conversation: frame.conversation, token: frame.token, lastSeq: 0, pending: record.pending };
      persist();
      flush();
      return renderStatus();
    case 'resumed':
      if (!ours(frame)) return;
      operator = frame.operator || null;
      // A chat that ended while we were away is replayed first; its `closed` frame follows.
      return renderStatus();
    case 'queue':
      if (!ours(frame)) return;
      position = Number.isInteger(frame.position) ? frame.position : null;
      return renderStatus();
    case 'requeued':
      // Our adviser was disconnected: the chat waits for the next one, history intact.
      if (!ours(frame)) return;
      operator = null;
      return renderStatus();
    case 'accepted':
      if (!ours(frame)) return;
      operator = frame.operator || t.adviser;
      position = null;
      return renderStatus();
    case 'typing':
      if (ours(frame) && frame.who !== 'visitor') chat.showTyping(operator, frame.active === true);
      return;
    case 'message':
      if (!ours(frame) || frame.conversation !== record.conversation) return;
      if (chat.transcript.add(frame) && frame.author === 'operator') chat.showTyping(null, false);
      record.pending = record.pending.filter((p) => p.id !== frame.id);
      return persist();
    case 'ack':
      if (frame.id && frame.id === offlineId) {
        offlineId = null;
        return offline.sent();
      }
      if (frame.id && frame.id === mailId) {
        mailId = null;
        return mail.done(true);
      }
      if (phase !== 'chat' || !record.conversation) return;
      chat.transcript.ack(frame.id, frame.seq);
      record.pending = record.pending.filter((p) => p.id !== frame.id);
      return persist();
    case 'closed':
      if (ours(frame)) finish(true);
      return;
    case 'error':
      return onError(frame.code, frame.message);
    default:
  }
}

function onError(code, message) {
  if (offlineId) {
    offlineId = null;
    if (code === 'unknown_department') {
      loadConfig();
      return offline.failed(t.departmentUnknown, { department: true });
    }
    return offline.failed(code === 'invalid' ? message : t.failed);
  }
  if (mailId) {
    mailId = null;
    return mail.done(false, code === 'invalid' ? message : '');
  }
  if (phase === 'chat' && !record.conversation && code === 'offline') {
    // Nobody (in the chosen team) can chat after all: keep what was typed and offer the message
    // form instead; the fresh config says when the team opens again.
    const typed = record.start || {};
    store.clear(site);
    record = null;
    chat.close();
    showOffline({ name: typed.name, text: typed.question, department: typed.department });
    if (typed.department && config?.departments.length > 1) setStatus(t.departmentOffline);
    return loadConfig();
  }
  if (phase !== 'chat') return; // e.g. a late `rate` error
  if (code === 'unknown_conversation') return finish(false);
  if (code === 'conversation_closed') return finish(true);
  if (!record.conversation) {
    // The start itself was refused: back to the form, which still holds what was typed (or gets
    // it back after a reload).
    const typed = record.start || {};
    store.clear(site);
    record = null;
    phase = 'form';
    chat.close();
    form.fill(typed);
    if (code === 'unknown_department') {
      // The site's teams changed under us: offer the current ones.
      form.refuseDepartment(t.departmentUnknown);
      loadConfig();
    } else {
      form.show(code === 'rate_limited' ? t.tooFast : t.startFailed);
    }
    return renderStatus();
  }
  setStatus(code === 'rate_limited' ? t.tooFast : t.failed);
  if (!retry) retry = setTimeout(flush, RETRY_MS);
}

/** The conversation is over (or gone): forget it and offer a new one. */
function finish(withRating) {
  if (phase !== 'chat') return;
  lastConversation = record.conversation || null;
  lastToken = record.token || null;
  store.clear(site);
  clearTimeout(retry);
  record = null;
  phase = 'ended';
  ending = false;
  operator = null;
  position = null;
  chat.end();
  setStatus(t.ended);
  ended.show(withRating && Boolean(lastConversation));
  mail.reset(Boolean(lastConversation));
}

function showOffline(typed) {
  phase = 'offline';
  form.hide();
  offline.show(typed);
  setStatus(t.offlineIntro);
}

function leaveMessage({ name, email, text, department }) {
  offlineId = crypto.randomUUID();
  const frame = { type: 'leave_message', id: offlineId, site, name, email, text, department };
  if (!socket.fits(frame)) return t.messageTooLong;
  if (!socket.send(frame)) return t.failed;
  return '';
}

function emailTranscript(email) {
  mailId = crypto.randomUUID();
  if (!socket.send({ type: 'email_transcript', id: mailId, conversation: lastConversation, token: lastToken, email })) return t.failed;
  return '';
}

function startChat({ name, question, answers, department, consent, consents }) {
  const start = {
    id: crypto.randomUUID(),
    name,
    question,
    answers,
    department, // undefined (left out of the frame) when the site offers no teams
    page: params.get('page') || undefined,
    referrer: params.get('ref') || undefined,
    // Ticked where the site requires consent, left out elsewhere; optional purposes each on
    // their own. The server records them with the privacy-notice version.
    consent: consent || undefined,
    consents: consents.length ? consents : undefined,
  };
  if (!socket.fits({ type: 'start', site, ...start })) return t.questionTooLong;
  record = { start, pending: [] };
  phase = 'chat';
  persist();
  form.hide();
  chat.open();
  chat.transcript.addPending(start.id, question, t.you);
  chat.focus();
  // With "remember this device" ticked, the start goes out on the fresh connection that carries
  // the cookie (onOpen sends it); otherwise now.
  remember.beforeStart().then((reconnected) => {
    if (!reconnected) socket.send({ type: 'start', site, ...start });
  });
  renderStatus();
  return '';
}

function sendMessage(text) {
  const id = crypto.randomUUID();
  const frame = { type: 'message', id, text };
  if (!socket.fits(frame)) return t.messageTooLong;
  record.pending.push({ id, text });
  persist();
  chat.transcript.addPending(id, text, t.you);
  if (record.conversation) socket.send(frame);
  return '';
}

function sendTyping(active) {
  if (phase === 'chat' && record.conversation) socket.send({ type: 'typing', active });
}

function endChat() {
  ending = true; // sent again after a reconnect until `closed` arrives
  if (record.conversation) socket.send({ type: 'end', id: crypto.randomUUID() });
}

function newChat() {
  ended.hide();
  chat.close();
  phase = 'form';
  form.reset();
  if (canChat()) form.show();
  else showOffline({});
  renderStatus();
  loadConfig();
}

/** Sends the rating (with the conversation's token, kept after the record was cleared). */
function rate(rating, comment) {
  const frame = { type: 'rate', id: crypto.randomUUID(), conversation: lastConversation, token: lastToken, rating, comment };
  if (!socket.send(frame)) return t.failed;
  setStatus(t.rateThanks);
  return '';
}
