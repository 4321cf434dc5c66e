// Tabs for the open chats, after the WAI-ARIA tabs pattern: role=tablist/tab/tabpanel, one tab
// in the Tab order, Left/Right/Home/End move to another tab and select it. A tab shows the
// visitor's name, then (span.tab-team) the chat's team when it has one, then the unread count.

/** Wires the tablist (tabs) and `panels` (their container). onSelect(key) runs whenever a tab becomes the selected one. */
export function tabs(tablist, panels, { onSelect }) {
  const order = [];
  const items = new Map(); // key → { tab, panel, badge }
  let selected = null;

  tablist.addEventListener('keydown', (event) => {
    const at = order.indexOf(selected);
    if (at < 0) return;
    const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: order.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key] + order.length) % order.length;
    select(order[next], true);
  });

  function select(key, focus) {
    const item = items.get(key);
    if (!item) return;
    selected = key;
    for (const [other, { tab, panel }] of items) {
      const on = other === key;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    }
    if (focus) item.tab.focus();
    onSelect(key);
  }

  return {
    select,
    has: (key) => items.has(key),
    selected: () => selected,
    keys: () => [...order],
    /**
     * Adds a tab labelled `label` for `panel` (not selected unless it is the only one); `team`,
     * when given, is the chat's team and `teamPrefix` what a screen reader hears before it.
     */
    add(key, label, panel, team = '', teamPrefix = '') {
      const tab = document.createElement('button');
      tab.type = 'button';
      tab.id = `tab-${key}`;
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-controls', panel.id);
      tab.setAttribute('aria-selected', 'false');
      tab.tabIndex = -1;
      const name = document.createElement('span');
      name.textContent = label;
      const badge = document.createElement('span');
      badge.className = 'unread';
      badge.hidden = true;
      tab.append(name);
      if (team) {
        const detail = document.createElement('span');
        detail.className = 'tab-team';
        const prefix = document.createElement('span');
        prefix.className = 'visually-hidden';
        prefix.textContent = teamPrefix;
        detail.append(prefix, team);
        tab.append(detail);
      }
      tab.append(badge);
      tab.addEventListener('click', () => select(key, true));
      panel.setAttribute('role', 'tabpanel');
      panel.setAttribute('aria-labelledby', tab.id);
      panel.hidden = true;
      tablist.append(tab);
      panels.append(panel);
      items.set(key, { tab, panel, badge });
      order.push(key);
      if (order.length === 1) select(key, false);
    },
    /** Removes a tab and its panel; the neighbour becomes selected. */
    remove(key) {
      const item = items.get(key);
      if (!item) return;
      const at = order.indexOf(key);
      order.splice(at, 1);
      items.delete(key);
      item.tab.remove();
      item.panel.remove();
      if (selected === key) {
        selected = null;
        if (order.length) select(order[Math.min(at, order.length - 1)], true);
        else onSelect(null);
      }
    },
    /** Shows `count` unread messages on the tab ("" when none). */
    badge(key, count, unreadWord) {
      const badge = items.get(key)?.badge;
      if (!badge) return;
      badge.hidden = !count;
      badge.replaceChildren();
      if (!count) return;
      const word = document.createElement('span');
      word.className = 'visually-hidden';
      word.textContent = unreadWord;
      badge.append(String(count), word);
    },
  };
}
