// Pre-chat form: name, the team (when the site offers several), the site's extra fields,
// question, the site's lawful basis with the privacy-notice link, and consent only where the site
// requires it (plus the optional marketing box where the site offers it). Checked in the page on submit (then again as the visitor corrects each
// field), with each message tied to its field by aria-describedby.
import { fieldError, MAX_CHARS } from '/common/composer.js';
import { offerDepartments, renderFields } from './fields.js';

const MAX_NAME_CHARS = 100;

const length = (text) => [...text].length;

/**
 * Wires #prechat-form. onStart({name, question, answers, department, consent, consents}) returns '' or a message
 * for the whole form; `department` is the chosen key, the only department's key, or undefined
 * when the site offers none. `setFields(fields, lang)` adds the site's extra fields and
 * `setDepartments(departments, lang)` its teams (see fields.js); `setConsent(config)` shows the
 * site's lawful basis and the consent boxes it asks for (from /widget/config).
 */
export function prechat(t, onStart) {
  const form = document.getElementById('prechat-form');
  const name = document.getElementById('name');
  const question = document.getElementById('question');
  const consent = document.getElementById('consent');
  const consentField = document.getElementById('consent-field');
  const marketing = document.getElementById('marketing');
  const marketingField = document.getElementById('marketing-field');
  const basisText = document.getElementById('basis-text');
  const departmentField = document.getElementById('department-field');
  const department = document.getElementById('department');
  const formError = document.getElementById('prechat-error');
  const nameCheck = [name, () => (!name.value.trim() ? t.nameMissing : length(name.value.trim()) > MAX_NAME_CHARS ? t.nameTooLong : '')];
  const departmentCheck = [department, () => (department.value ? '' : t.departmentMissing)];
  const questionCheck = [question, () => (!question.value.trim() ? t.questionMissing : length(question.value.trim()) > MAX_CHARS ? t.questionTooLong : '')];
  const consentCheck = [consent, () => (consent.checked ? '' : t.consentMissing)];
  let departments = [];
  let extra = [];
  let requireConsent = false;
  let checks = [];
  let tried = false;

  /** The checks in the order the fields appear (the team only when there is a choice). */
  function order() {
    checks = [nameCheck, ...(departments.length > 1 ? [departmentCheck] : []), ...extra, questionCheck, ...(requireConsent ? [consentCheck] : [])];
  }
  order();

  const check = ([input, rule]) => fieldError(input, rule());

  const watch = (pair) =>
    pair[0].addEventListener(pair[0] === consent || pair[0].tagName === 'SELECT' ? 'change' : 'input', () => {
      if (tried) check(pair);
    });
  [nameCheck, departmentCheck, questionCheck, consentCheck].forEach(watch);

  /** The team to send: the visitor's choice, or the only one, or none. */
  function chosen() {
    if (departments.length > 1) return department.value || undefined;
    return departments[0]?.key;
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
    const answers = {};
    for (const [input, , key] of extra) if (input.value.trim()) answers[key] = input.value.trim();
    const consents = !marketingField.hidden && marketing.checked ? ['marketing'] : [];
    const problem = onStart({
      name: name.value.trim(),
      question: question.value.trim(),
      answers,
      department: chosen(),
      consent: requireConsent && consent.checked,
      consents,
    });
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
      order();
    },
    /** The site's lawful basis, whether it requires consent, and whether it asks about marketing. */
    setConsent({ lawful_basis: basis, require_consent: required, ask_marketing: askMarketing }) {
      requireConsent = required === true;
      consentField.hidden = !requireConsent;
      marketingField.hidden = askMarketing !== true;
      basisText.textContent = basis === 'legitimate_interests' ? t.basisLegitimateInterests : t.basisPublicTask;
      order();
    },
    /** Offers the site's teams: a select with two or more, nothing to ask with one or none. */
    setDepartments(list, lang) {
      departments = list;
      offerDepartments(departmentField, department, list, lang, t, true);
      order();
    },
    /** Shows the form, optionally with a message about the last attempt. */
    show(message) {
      form.hidden = false;
      if (message) showError(message);
      name.focus();
    },
    /** Shows the form after the server refused the chosen team, with `message` at the select. */
    refuseDepartment(message) {
      form.hidden = false;
      if (departments.length < 2) {
        showError(message);
        name.focus();
        return;
      }
      tried = true;
      department.value = '';
      fieldError(department, message);
      department.focus();
    },
    hide() {
      form.hidden = true;
      formError.hidden = true;
    },
    /** What the visitor has typed so far (for the leave-a-message form). */
    values() {
      return { name: name.value.trim(), text: question.value.trim(), department: chosen() };
    },
    /** Puts back what was typed for a chat the server refused, where the form is empty. */
    fill({ name: givenName = '', question: givenQuestion = '' } = {}) {
      if (givenName && !name.value) name.value = givenName;
      if (givenQuestion && !question.value) question.value = givenQuestion;
    },
    /** Empties the form for a new chat. */
    reset() {
      form.reset();
      tried = false;
      formError.hidden = true;
      for (const [input] of [nameCheck, departmentCheck, ...extra, questionCheck, consentCheck]) {
        fieldError(input, '');
        input.removeAttribute('aria-invalid');
      }
    },
  };
}
