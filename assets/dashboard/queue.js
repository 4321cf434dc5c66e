// Queue panel (#queue): the visitors waiting, each with name, site, time waited (ticking every
// second) and an Accept button. Entries are kept per conversation so an update does not move
// the keyboard focus off a button that is still there.
import { elapsed, format } from './strings.js';

/** Wires #queue. onAccept(conversation) is called when an Accept button is used. */
export function queuePanel(t, { onAccept }) {
  const list = document.getElementById('queue');
  const heading = document.getElementById('queue-title');
  const entries = new Map(); // conversation → { li, info, wait, button }
  const empty = document.createElement('li');
  empty.className = 'empty';
  empty.textContent = t.queueEmpty;
  list.append(empty);
  setInterval(tick, 1000);

  function tick() {
    for (const entry of entries.values()) {
      const text = format(t.waited, { time: elapsed(t, entry.info.since) });
      if (entry.wait.textContent !== text) entry.wait.textContent = text;
    }
  }

  function create(info) {
    const li = document.createElement('li');
    li.className = 'queue-entry';
    li.dataset.conversation = info.conversation;
    const name = document.createElement('span');
    name.className = 'q-name';
    name.textContent = info.name || t.visitor;
    const site = document.createElement('span');
    site.className = 'q-site';
    site.textContent = format(t.site, { site: info.site || '' });
    const wait = document.createElement('span');
    wait.className = 'q-wait';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'accept';
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = format(t.acceptWho, { name: info.name || t.visitor });
    button.append(t.accept, who);
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') !== 'true') onAccept(info.conversation);
    });
    li.append(name, site, wait, button);
    return { li, info, wait, button };
  }

  return {
    /** Shows the new queue; returns the entries that were not there before. */
    update(waiting) {
      const fresh = [];
      const keep = waiting.filter((w) => w && typeof w.conversation === 'string');
      const ids = new Set(keep.map((w) => w.conversation));
      let lostFocus = false;
      for (const [conversation, entry] of entries) {
        if (ids.has(conversation)) continue;
        lostFocus ||= entry.li.contains(document.activeElement);
        entry.li.remove();
        entries.delete(conversation);
      }
      keep.forEach((info, index) => {
        let entry = entries.get(info.conversation);
        if (!entry) {
          entry = create(info);
          entries.set(info.conversation, entry);
          fresh.push(info);
        }
        if (list.children[index] !== entry.li) list.insertBefore(entry.li, list.children[index] || null);
      });
      if (entries.size) empty.remove();
      else list.append(empty);
      tick();
      if (lostFocus) (list.querySelector('.accept') || heading).focus();
      return fresh;
    },
    /** Name, site and waiting time of a queued conversation, if it is in the queue. */
    info(conversation) {
      return entries.get(conversation)?.info;
    },
    /** Marks an Accept button as busy (or not). */
    busy(conversation, on) {
      const button = entries.get(conversation)?.button;
      if (!button) return;
      button.setAttribute('aria-disabled', String(on));
      button.firstChild.textContent = on ? t.accepting : t.accept;
    },
    /** Every Accept button usable again. */
    idle() {
      for (const conversation of entries.keys()) this.busy(conversation, false);
    },
    size() {
      return entries.size;
    },
  };
}
