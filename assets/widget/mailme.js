// "E-mail me the transcript" form in the ended view.
import { EMAIL, fieldError } from '/common/composer.js';

/** Wires #mail-form. onSend(email) returns '' or a message to show. */
export function mailForm(t, onSend) {
  const form = document.getElementById('mail-form');
  const email = document.getElementById('mail-email');
  const result = document.getElementById('mail-result');

  const show = (message) => fieldError(email, message);

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
