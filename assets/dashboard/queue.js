// Queue panel (#queue): the visitors waiting, each with name, site, team (span.q-department, when
// the chat has a department), time waited (ticking every second) and an Accept button. Entries are
// kept per conversation so an update does not move the keyboard focus off a button that is still
// there. #queue-department (in #queue-filter, shown once there are teams to pick) narrows the list
// to one team's visitors: "All teams" or a department key, remembered in sessionStorage. It only
// hides entries: the queue, its notifications and its count stay whole. The server lists at most
// the 100 longest-waiting chats (the frame's `total` counts them all); li.more at the end of the
// list says how many more wait, and they move up as the first ones are taken.
import { elapsed, format, teamName } from './strings.js';

const FILTER_KEY = 'parley.staff.queue-department';

/**
 * Wires #queue. onAccept(conversation) is called when an Accept button is used; say(text)
 * announces what a change of the team filter shows.
 */
export function queuePanel(t, { onAccept, say }) {
  const list = document.getElementById('queue');
  const heading = document.getElementById('queue-title');
  const filterField = document.getElementById('queue-filter');
  const filter = document.getElementById('queue-department');
  const entries = new Map(); // conversation → { li, info, team, wait, button }
  const empty = document.createElement('li');
  empty.className = 'empty';
  empty.textContent = t.queueEmpty;
  list.append(empty);
  const more = document.createElement('li');
  more.className = 'more';
  more.hidden = true;
  list.append(more);
  let teams = []; // [{key, name}] from GET /api/v1/departments
  let wanted = loadFilter(); // the team chosen, kept while the list of teams is not known yet
  setInterval(tick, 1000);

  filter.addEventListener('change', () => {
    wanted = filter.value;
    saveFilter(wanted);
    const shown = applyFilter();
    const n = entries.size;
    if (n) say(wanted ? format(t.queueFiltered, { shown, n }) : format(t.queueUnfiltered, { n }));
  });

  function tick() {
    for (const entry of entries.values()) {
      const text = format(t.waited, { time: elapsed(t, entry.info.since) });
      if (entry.wait.textContent !== text) entry.wait.textContent = text;
    }
  }

  const keyOf = (info) => (typeof info.department?.key === 'string' ? info.department.key : '');

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
    const team = document.createElement('span');
    team.className = 'q-department';
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
    li.append(name, site, team, wait, button);
    return { li, info, team, wait, button };
  }

  /** The team line of an entry, from its latest queue information. */
  function showTeam(entry) {
    const name = teamName(entry.info.department);
    const text = name ? format(t.team, { team: name }) : '';
    if (entry.team.textContent !== text) entry.team.textContent = text;
    entry.team.hidden = !name;
  }

  /**
   * The filter's options: every team from the server and any other a waiting chat names; the
   * field shows once there is one. Returns whether the chosen team is among them.
   */
  function fillFilter() {
    const known = new Map(teams.map((d) => [d.key, teamName(d)]));
    for (const { info } of entries.values()) {
      const key = keyOf(info);
      if (key && !known.has(key)) known.set(key, teamName(info.department));
    }
    const options = [...known].map(([key, name]) => {
      const option = document.createElement('option');
      option.value = key;
      option.textContent = name;
      return option;
    });
    const [all, ...old] = filter.options;
    const same =
      options.length === old.length &&
      options.every((o, i) => o.value === old[i].value && o.textContent === old[i].textContent);
    if (!same) filter.replaceChildren(all, ...options);
    filterField.hidden = options.length === 0;
    const available = known.has(wanted);
    filter.value = available ? wanted : '';
    return available;
  }

  /** Hides the entries of other teams; returns how many are shown. */
  function applyFilter() {
    const key = fillFilter() ? wanted : '';
    let shown = 0;
    let lostFocus = false;
    for (const entry of entries.values()) {
      const hide = Boolean(key) && keyOf(entry.info) !== key;
      lostFocus ||= hide && entry.li.contains(document.activeElement);
      entry.li.hidden = hide;
      if (!hide) shown += 1;
    }
    if (!entries.size) {
      empty.textContent = t.queueEmpty;
      list.append(empty);
    } else if (!shown) {
      empty.textContent = format(t.queueEmptyTeam, { n: entries.size });
      list.append(empty);
    } else {
      empty.remove();
    }
    if (lostFocus) firstAccept().focus();
    return shown;
  }

  function firstAccept() {
    const entry = [...entries.values()].find((e) => !e.li.hidden);
    return entry ? entry.button : heading;
  }

  return {
    /** Shows the new queue; returns the entries that were not there before. */
    update(waiting, total) {
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
        } else {
          entry.info = { ...entry.info, ...info };
        }
        showTeam(entry);
        if (list.children[index] !== entry.li) list.insertBefore(entry.li, list.children[index] || null);
      });
      const beyond = Number.isInteger(total) ? total - entries.size : 0;
      more.hidden = beyond <= 0;
      if (beyond > 0) more.textContent = format(beyond === 1 ? t.queueMoreOne : t.queueMore, { n: beyond });
      list.append(more);
      applyFilter();
      tick();
      if (lostFocus) firstAccept().focus();
      return fresh;
    },
    /** The teams (GET /api/v1/departments) the filter offers. */
    teams(departments) {
      teams = (Array.isArray(departments) ? departments : []).filter((d) => d && typeof d.key === 'string');
      applyFilter();
    },
    /** Name, site, team and waiting time of a queued conversation, if it is in the queue. */
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

function loadFilter() {
  try {
    return sessionStorage.getItem(FILTER_KEY) || '';
  } catch {
    return '';
  }
}

function saveFilter(key) {
  try {
    if (key) sessionStorage.setItem(FILTER_KEY, key);
    else sessionStorage.removeItem(FILTER_KEY);
  } catch {
    // Storage blocked: the choice lasts until the page closes.
  }
}
