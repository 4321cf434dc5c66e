// View switcher of the signed-in dashboard (#views-nav): "Live chats" (#view-live, the default),
// "Stored chats" (#view-history) and "Offline requests" (#view-offline). The links point at
// #live, #history and #offline, so Back, Forward and reloads keep the view; the current link has
// aria-current="page". A view's `shown()` runs each time it is shown, and `document` gets a
// `parley:view` event (detail: the view's name) that the live workspace uses for unread counts.

const NAMES = ['live', 'history', 'offline'];

function fromHash() {
  const name = window.location.hash.slice(1);
  return NAMES.includes(name) ? name : null;
}

/** Wires the switcher. `handlers` maps a view name to `{ shown() }` (live needs none). */
export function startViews(handlers) {
  const views = new Map(
    NAMES.map((name) => [
      name,
      { link: document.getElementById(`show-${name}`), section: document.getElementById(`view-${name}`) },
    ]),
  );
  let current = null;

  function show(name) {
    if (!name || name === current) return;
    current = name;
    for (const [other, { link, section }] of views) {
      const on = other === name;
      section.hidden = !on;
      if (on) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    handlers[name]?.shown();
    document.dispatchEvent(new CustomEvent('parley:view', { detail: name }));
  }

  for (const [name, { link }] of views) {
    link.addEventListener('click', (event) => {
      // Ctrl/Shift/Cmd-click and middle click keep their usual meaning (a new tab or window).
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      if (name !== current) window.history.pushState(null, '', `#${name}`);
      show(name);
    });
  }
  // Back and Forward between views. No hash is the live view; a hash that names no view (the skip
  // link's #main) leaves the view as it is.
  const follow = () => show(fromHash() || (window.location.hash ? null : 'live'));
  window.addEventListener('popstate', follow);
  window.addEventListener('hashchange', follow);
  show(fromHash() || 'live');
}
