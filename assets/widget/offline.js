// "Leave a message" form, shown instead of the pre-chat form when no adviser is available.
import { EMAIL, fieldError, MAX_CHARS } from '/common/composer.js';

/** Wires #offline-form. onSend({name, email, text}) returns '' or a message for the form. */
export function offlineView(t, onSend) {
  const section = document.getElementById('offline');
  const form = document.getElementById('offline-form');
  const name = document.getElementById('offline-name');
  const email = document.getElementById('offline-email');
  const text = document.getElementById('offline-text');
  const formError = document.getElementById('offline-error');
  const thanks = document.getElementById('offline-thanks');
  const checks = [
    [name, () => (name.value.trim() ? '' : t.nameMissing)],
    [email, () => (!email.value.trim() ? t.emailMissing : EMAIL.test(email.value.trim()) ? '' : t.emailInvalid)],
    [text, () => (!text.value.trim() ? t.messageMissing : [...text.value.trim()].length > MAX_CHARS ? t.messageTooLong : '')],
  ];

  const check = ([input, rule]) => fieldError(input, rule());

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    formError.hidden = true;
    const failing = checks.filter((pair) => check(pair));
    if (failing.length) {
      failing[0][0].focus();
      return;
    }
    const problem = onSend({ name: name.value.trim(), email: email.value.trim(), text: text.value.trim() });
    if (problem) {
      formError.textContent = problem;
      formError.hidden = false;
    }
  });

  return {
    /** Shows the form, prefilled with what the visitor typed for a chat. */
    show({ name: givenName = '', text: givenText = '' } = {}) {
      section.hidden = false;
      form.hidden = false;
      thanks.hidden = true;
      if (givenName && !name.value) name.value = givenName;
      if (givenText && !text.value) text.value = givenText;
      name.focus();
    },
    /** The server stored the message. */
    sent() {
      form.hidden = true;
      form.reset();
      thanks.hidden = false;
      thanks.focus();
    },
    failed(message) {
      formError.textContent = message;
      formError.hidden = false;
    },
  };
}
