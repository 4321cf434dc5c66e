// Lists loaded from the staff API into a page section, shared by the dashboard's offline requests
// and the administration page's sites and canned responses: the section's status line says
// "loading", then how many there are; the container is aria-busy meanwhile; the answer of an
// older load is ignored; a failure goes to the section's error (role=alert). Also: taking one
// entry off such a list without losing the keyboard focus.
import { format } from './strings.js';

/**
 * Returns `load()`. `request()` resolves to the items; `show(items)` puts them in `container`
 * and returns how many it showed; `counts` has the status texts `loading`, `none`, `one` and
 * `many` ("{n} …"). If the focus was inside `container`, it goes to `heading` afterwards.
 */
export function listLoader({ container, heading, say, showError, counts, request, show }) {
  let loadNo = 0;
  return async function load() {
    const mine = ++loadNo;
    showError('');
    say(counts.loading);
    container.setAttribute('aria-busy', 'true');
    try {
      const items = await request();
      if (mine !== loadNo) return;
      const hadFocus = container.contains(document.activeElement);
      const n = show(Array.isArray(items) ? items : []);
      say(n === 0 ? counts.none : n === 1 ? counts.one : format(counts.many, { n }));
      if (hadFocus) heading.focus();
    } catch (e) {
      if (mine !== loadNo) return;
      say('');
      showError(e.message);
    } finally {
      if (mine === loadNo) container.removeAttribute('aria-busy');
    }
  };
}

/**
 * Removes `node` (false if it was already gone). If it held the focus, the focus goes to the
 * first match of `selectors` (tried in order) in the next entry, or else the previous one, or
 * else to `fallback`. `afterRemove` runs in between (e.g. to show an "empty" note).
 */
export function removeEntry(node, selectors, fallback, afterRemove = () => {}) {
  if (!node.isConnected) return false;
  const hadFocus = node.contains(document.activeElement);
  const next = node.nextElementSibling || node.previousElementSibling;
  node.remove();
  afterRemove();
  if (hadFocus) {
    const target = next && selectors.map((s) => next.querySelector(s)).find(Boolean);
    (target || fallback).focus();
  }
  return true;
}
