// Message composer: a form holding a textarea and a submit button. Enter sends, Shift+Enter adds
// a line. Typing indicators go out at most every 3 s while typing, and "stopped" after 3 s idle
// or on send. Validation messages are tied to the textarea with aria-describedby.
// Shared by the widget and the dashboard: served at /common/ on both listeners.

export const MAX_CHARS = 4000;
const TYPING_EVERY_MS = 3000;

/** Adds or removes one id in an element's aria-describedby list. */
export function describedBy(element, id, on) {
  const ids = new Set((element.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  if (on) ids.add(id);
  else ids.delete(id);
  if (ids.size) element.setAttribute('aria-describedby', [...ids].join(' '));
  else element.removeAttribute('aria-describedby');
}

/** A plain shape check for e-mail addresses (the server checks again). */
export const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;

/** Shows (or clears) `message` in the `<input id>-error` element tied to `input`; returns it. */
export function fieldError(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  error.textContent = message;
  error.hidden = !message;
  input.setAttribute('aria-invalid', String(Boolean(message)));
  describedBy(input, error.id, Boolean(message));
  return message;
}

/**
 * Wires the form. onSend(text) returns '' when the message was taken, else an error to show;
 * onTyping(active) sends the indicator. `strings` has `empty` and `tooLong`.
 */
export function composer(form, textarea, error, { onSend, onTyping, strings }) {
  let active = false;
  let lastSent = 0;
  let idle = null;

  function stopTyping() {
    clearTimeout(idle);
    idle = null;
    if (active) {
      active = false;
      lastSent = 0;
      onTyping(false);
    }
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
    textarea.setAttribute('aria-invalid', String(Boolean(text)));
    describedBy(textarea, error.id, Boolean(text));
    if (text) textarea.focus();
  }

  textarea.addEventListener('input', () => {
    if (!error.hidden) showError('');
    if (!textarea.value.trim()) {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (now - lastSent >= TYPING_EVERY_MS) {
      lastSent = now;
      active = true;
      onTyping(true);
    }
    clearTimeout(idle);
    idle = setTimeout(stopTyping, TYPING_EVERY_MS);
  });

  textarea.addEventListener('keydown', (event) => {
    const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
    if (event.key === 'Enter' && plain && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (!text) return showError(strings.empty);
    if ([...text].length > MAX_CHARS) return showError(strings.tooLong);
    const problem = onSend(text);
    if (problem) return showError(problem);
    textarea.value = '';
    stopTyping();
    showError('');
    textarea.focus();
  });

  /** Turns the whole form on or off (off once the chat has ended). */
  function setEnabled(on) {
    for (const control of form.elements) control.disabled = !on;
    if (!on) stopTyping();
  }

  return { stopTyping, setEnabled };
}
