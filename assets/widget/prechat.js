// Pre-chat form: name, question and consent. Checked in the page on submit (then again as the
// visitor corrects each field), with each message tied to its field by aria-describedby.
import { fieldError, MAX_CHARS } from '/common/composer.js';
import { renderFields } from './fields.js';

const MAX_NAME_CHARS = 100;

const length = (text) => [...text].length;

/**
 * Wires #prechat-form. onStart({name, question, answers}) returns '' or a message for the whole
 * form. `setFields(fields, lang)` adds the site's extra fields.
 */
export function prechat(t, onStart) {
  const form = document.getElementById('prechat-form');
  const name = document.getElementById('name');
  const question = document.getElementById('question');
  const consent = document.getElementById('consent');
  const formError = document.getElementById('prechat-error');
  const base = [
    [name, () => (!name.value.trim() ? t.nameMissing : length(name.value.trim()) > MAX_NAME_CHARS ? t.nameTooLong : '')],
    [question, () => (!question.value.trim() ? t.questionMissing : length(question.value.trim()) > MAX_CHARS ? t.questionTooLong : '')],
    [consent, () => (consent.checked ? '' : t.consentMissing)],
  ];
  let extra = [];
  let checks = base;
  let tried = false;

  const check = ([input, rule]) => fieldError(input, rule());

  const watch = (pair) =>
    pair[0].addEventListener(pair[0] === consent || pair[0].tagName === 'SELECT' ? 'change' : 'input', () => {
      if (tried) check(pair);
    });
  base.forEach(watch);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    tried = true;
    formError.hidden = true;
    const failing = checks.filter((pair) => check(pair));
    if (failing.length) {
      failing[0][0].focus();
      return;
    }
    const answers = {};
    for (const [input, , key] of extra) if (input.value.trim()) answers[key] = input.value.trim();
    const problem = onStart({ name: name.value.trim(), question: question.value.trim(), answers });
    if (problem) showError(problem);
  });

  function showError(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  return {
    /** Shows the site's extra fields (from /widget/config). */
    setFields(fields, lang) {
      extra = renderFields(document.getElementById('extra-fields'), fields, lang, t);
      extra.forEach(watch);
      // Checked in the order they appear: name, extra fields, question, consent.
      checks = [base[0], ...extra, base[1], base[2]];
    },
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
