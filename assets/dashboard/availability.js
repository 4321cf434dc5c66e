// Operator availability (#availability, a toggle button whose label stays "Available";
// aria-pressed says whether). It sends the staff frame {"type":"status","status":"online"|"away"}
// and shows the state the server confirmed in #availability-state. A new staff connection starts
// as available, so after every (re)connect an operator who chose "away" says so again. The choice
// survives a reload (sessionStorage) and is shared with the dashboard's other open tabs in this
// browser (BroadcastChannel): a change in one tab applies to all, and a newly opened tab asks the
// others for theirs (with none open it starts as available, like the server).
// Beside it, #max-chats in form#max-chats-form ("Chats at once", 1–20): a change sends
// {"type":"status","status":<the current choice>,"max_chats":N} (again after a reconnect if it was
// not confirmed); the input shows the max_chats of the server's `status` frame, which comes once
// on connect and after every change. A problem with the number shows in #max-chats-error
// (role=alert); a confirmed change is announced through `say` (the live-chat status line).
import { describedBy } from '/common/composer.js';
import { format } from './strings.js';
import { showMessage } from './dom.js';

const KEY = 'parley.staff.availability';
const STATES = ['online', 'away'];
const CHANNEL = 'parley.staff.availability';
const ASK = 'ask';
const MIN_CHATS = 1;
const MAX_CHATS = 20;

/**
 * Wires the button and the number of chats at once. `send(status, maxChats)` queues the frame
 * (maxChats only when it changes) and returns false when not connected; `say(text)` announces.
 */
export function availabilityToggle(t, { send, say }) {
  const button = document.getElementById('availability');
  const state = document.getElementById('availability-state');
  const maxForm = document.getElementById('max-chats-form');
  const maxInput = document.getElementById('max-chats');
  const maxError = document.getElementById('max-chats-error');
  let wanted = load();
  let confirmed = null; // what the server last said on this connection; null while disconnected
  let maxWanted = null; // a number of chats sent (or to send) and not yet confirmed
  let maxShown = null; // the server's last max_chats
  const others = 'BroadcastChannel' in window ? new BroadcastChannel(CHANNEL) : null;

  button.addEventListener('click', () => choose(wanted === 'online' ? 'away' : 'online'));
  maxInput.addEventListener('change', chooseMax);
  maxForm.addEventListener('submit', (event) => {
    event.preventDefault();
    chooseMax();
  });
  maxInput.addEventListener('input', () => {
    if (!maxError.hidden) maxProblem('');
  });
  others?.addEventListener('message', (event) => {
    if (event.data === ASK) others.postMessage(wanted);
    else if (Number.isInteger(event.data?.maxChats)) showMax(event.data.maxChats);
    else apply(event.data);
  });
  others?.postMessage(ASK);
  render();

  function maxProblem(message) {
    showMessage(maxError, message);
    if (message) maxInput.setAttribute('aria-invalid', 'true');
    else maxInput.removeAttribute('aria-invalid');
    describedBy(maxInput, maxError.id, Boolean(message));
  }

  /** The operator changed the number: check it and send it with the current status. */
  function chooseMax() {
    const n = Number(maxInput.value.trim());
    if (maxInput.validity.badInput || !Number.isInteger(n) || n < MIN_CHATS || n > MAX_CHATS) {
      return maxProblem(t.maxChatsWrong);
    }
    maxProblem('');
    if (n === (maxWanted ?? maxShown)) return;
    maxWanted = n;
    if (confirmed !== null) send(wanted, n);
  }

  /** Shows the server's number, unless the operator is in the middle of changing it. */
  function showMax(n) {
    maxShown = n;
    const editing = document.activeElement === maxInput && maxInput.value !== String(n);
    if (!editing && maxError.hidden) maxInput.value = String(n);
  }

  function render() {
    button.setAttribute('aria-pressed', String(wanted === 'online'));
    let text = t.availabilityOffline;
    if (confirmed !== null) {
      if (confirmed !== wanted) text = t.availabilityChanging;
      else text = wanted === 'online' ? t.availableNow : t.awayNow;
    }
    if (state.textContent !== text) state.textContent = text;
  }

  /** Takes `status` ('online' or 'away') as this tab's choice and tells the server when connected. */
  function apply(status) {
    if (!STATES.includes(status) || status === wanted) return;
    wanted = status;
    save(status);
    if (confirmed !== null) send(status);
    render();
  }

  /** The operator's choice: this tab and the dashboard's other tabs. */
  function choose(status) {
    apply(status);
    if (STATES.includes(status)) others?.postMessage(status);
  }

  return {
    set: choose,
    /**
     * The socket is open (the server counts us as available): repeat a choice of "away" and a
     * number of chats the server has not confirmed.
     */
    connected() {
      confirmed = 'online';
      if (wanted !== 'online' || maxWanted !== null) send(wanted, maxWanted ?? undefined);
      render();
    },
    /** The server's `status` frame: `{status, max_chats}`. */
    confirmed(status, maxChats) {
      if (!STATES.includes(status) || confirmed === null) return;
      confirmed = status;
      render();
      if (!Number.isInteger(maxChats)) return;
      if (maxWanted === null) return showMax(maxChats);
      maxShown = maxChats;
      if (maxChats !== maxWanted) return; // the number from before our change (e.g. on connect)
      maxWanted = null;
      showMax(maxChats);
      say(maxChats === 1 ? t.maxChatsSavedOne : format(t.maxChatsSaved, { n: maxChats }));
      others?.postMessage({ maxChats });
    },
    disconnected() {
      confirmed = null;
      render();
    },
  };
}

function load() {
  try {
    return sessionStorage.getItem(KEY) === 'away' ? 'away' : 'online';
  } catch {
    return 'online';
  }
}

function save(status) {
  try {
    sessionStorage.setItem(KEY, status);
  } catch {
    // Storage blocked: the choice lasts until the page closes.
  }
}
