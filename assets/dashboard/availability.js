// Operator availability (#availability, a toggle button whose label stays "Available";
// aria-pressed says whether). It sends the staff frame {"type":"status","status":"online"|"away"}
// and shows the state the server confirmed in #availability-state. A new staff connection starts
// as available, so after every (re)connect an operator who chose "away" says so again. The choice
// survives a reload (sessionStorage) and is shared with the dashboard's other open tabs in this
// browser (BroadcastChannel): a change in one tab applies to all, and a newly opened tab asks the
// others for theirs (with none open it starts as available, like the server).

const KEY = 'parley.staff.availability';
const STATES = ['online', 'away'];
const CHANNEL = 'parley.staff.availability';
const ASK = 'ask';

/** Wires the button. `send(status)` queues the frame and returns false when not connected. */
export function availabilityToggle(t, { send }) {
  const button = document.getElementById('availability');
  const state = document.getElementById('availability-state');
  let wanted = load();
  let confirmed = null; // what the server last said on this connection; null while disconnected
  const others = 'BroadcastChannel' in window ? new BroadcastChannel(CHANNEL) : null;

  button.addEventListener('click', () => choose(wanted === 'online' ? 'away' : 'online'));
  others?.addEventListener('message', (event) => {
    if (event.data === ASK) others.postMessage(wanted);
    else apply(event.data);
  });
  others?.postMessage(ASK);
  render();

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
    /** The socket is open (the server counts us as available): repeat a choice of "away". */
    connected() {
      confirmed = 'online';
      if (wanted !== 'online') send(wanted);
      render();
    },
    /** The server's `status` frame. */
    confirmed(status) {
      if (!STATES.includes(status) || confirmed === null) return;
      confirmed = status;
      render();
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
