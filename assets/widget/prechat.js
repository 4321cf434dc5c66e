// Pre-chat form: name, question and consent. Checked in the page on submit (then again as the
// visitor corrects each field), with each message tied to its field by aria-describedby.
import { fieldError, MAX_CHARS } from '/common/composer.js';

const MAX_NAME_CHARS = 100;

const length = (text) => [...text].length;

/** Wires #prechat-form. onStart({name, question}) returns '' or a message for the whole form. */
export function prechat(t, onStart) {
  const form = document.getElementById('prechat-form');
  const name = document.getElementById('name');
  const question = document.getElementById('question');
  const consent = document.getElementById('consent');
  const formError = document.getElementById('prechat-error');
  const checks = [
    [name, () => (!name.value.trim() ? t.nameMissing : length(name.value.trim()) > MAX_NAME_CHARS ? t.nameTooLong : '')],
    [question, () => (!question.value.trim() ? t.questionMissing : length(question.value.trim()) > MAX_CHARS ? t.questionTooLong : '')],
    [consent, () => (consent.checked ? '' : t.consentMissing)],
  ];
  let tried = false;

  const check = ([input, rule]) => fieldError(input, rule());

  for (const pair of checks) {
    pair[0].addEventListener(pair[0] === consent ? 'change' : 'input', () => {
      if (tried) check(pair);
    });
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    tried = true;
    formError.hidden = true;
    const failing = checks.filter((pair) => check(pair));
    if (failing.length) {
      failing[0][0].focus();
      return;
    }
    const problem = onStart({ name: name.value.trim(), question: question.value.trim() });
    if (problem) showError(problem);
  });

  function showError(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  return {
    /** Shows the form, optionally with a message about the last attempt. */
    show(message) {
      form.hidden = false;
      if (message) showError(message);
      name.focus();
    },
    hide() {
      form.hidden = true;
      formError.hidden = true;
    },
    /** Empties the form for a new chat. */
    reset() {
      form.reset();
      tried = false;
      formError.hidden = true;
      for (const [input] of checks) {
        fieldError(input, '');
        input.removeAttribute('aria-invalid');
      }
    },
  };
}
