// "E-mail me the transcript" form in the ended view.
import { describedBy } from '/common/composer.js';

const EMAIL = /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/;

/** Wires #mail-form. onSend(email) returns '' or a message to show. */
export function mailForm(t, onSend) {
  const form = document.getElementById('mail-form');
  const email = document.getElementById('mail-email');
  const error = document.getElementById('mail-email-error');
  const result = document.getElementById('mail-result');

  function show(message) {
    error.textContent = message;
    error.hidden = !message;
    email.setAttribute('aria-invalid', String(Boolean(message)));
    describedBy(email, error.id, Boolean(message));
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = email.value.trim();
    const problem = !value ? t.emailMissing : EMAIL.test(value) ? onSend(value) : t.emailInvalid;
    show(problem);
    if (problem) email.focus();
  });

  return {
    reset(visible) {
      form.reset();
      form.hidden = !visible;
      result.textContent = '';
      show('');
    },
    done(ok, message) {
      result.textContent = ok ? t.mailSent : `${t.mailFailed} ${message || ''}`.trim();
      if (ok) form.hidden = true;
    },
  };
}
