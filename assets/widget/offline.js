// "Leave a message" form, shown instead of the pre-chat form when no adviser (or no one in the
// site's teams) is available. With several teams the visitor says which one the message is
// for; when that team (or the only one) is closed, the form says when it opens again.
import { describedBy, EMAIL, fieldError, MAX_CHARS } from '/common/composer.js';
import { offerDepartments } from './fields.js';
import { format } from './strings.js';

/** "We're open again on Monday 24 November at 09:00" for an RFC 3339 time, in UK time. */
export function opensAgain(t, lang, iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const timeZone = 'Europe/London';
  const wanted = lang === 'cy' ? 'cy-GB' : 'en-GB';
  const partsOf = (locale, options) => {
    const parts = new Intl.DateTimeFormat(locale, { timeZone, ...options }).formatToParts(date);
    return (type) => parts.find((p) => p.type === type)?.value || '';
  };
  let weekday;
  let month;
  const day = partsOf('en-GB', { day: 'numeric' })('day');
  if (Intl.DateTimeFormat.supportedLocalesOf([wanted]).length) {
    const part = partsOf(wanted, { weekday: 'long', day: 'numeric', month: 'long' });
    [weekday, month] = [part('weekday'), part('month')];
  } else {
    // Some browsers (Chromium) carry no Welsh names: take them from strings.js instead.
    const part = partsOf('en-GB', { year: 'numeric', month: 'numeric', day: 'numeric' });
    const [y, m, d] = ['year', 'month', 'day'].map((type) => Number(part(type)));
    [weekday, month] = [t.weekdays[new Date(Date.UTC(y, m - 1, d)).getUTCDay()], t.months[m - 1]];
  }
  // "weekday day month" without a comma in both languages; in Welsh "dydd Llun" becomes
  // "ddydd Llun" ("on Monday").
  if (lang === 'cy') weekday = weekday.replace(/^dydd /i, 'ddydd ');
  const time = new Intl.DateTimeFormat(wanted, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
  return format(t.opensAgain, { day: `${weekday} ${day} ${month}`, time });
}

/**
 * Wires #offline-form. onSend({name, email, text, department}) returns '' or a message for the
 * form; `department` is the chosen key, the only department's key, or undefined with none.
 */
export function offlineView(t, lang, onSend) {
  const section = document.getElementById('offline');
  const form = document.getElementById('offline-form');
  const name = document.getElementById('offline-name');
  const email = document.getElementById('offline-email');
  const text = document.getElementById('offline-text');
  const departmentField = document.getElementById('offline-department-field');
  const department = document.getElementById('offline-department');
  const opens = document.getElementById('offline-opens');
  const formError = document.getElementById('offline-error');
  const thanks = document.getElementById('offline-thanks');
  const departmentCheck = [department, () => (department.value ? '' : t.departmentMissing)];
  let departments = [];

  const checks = () => [
    [name, () => (name.value.trim() ? '' : t.nameMissing)],
    [email, () => (!email.value.trim() ? t.emailMissing : EMAIL.test(email.value.trim()) ? '' : t.emailInvalid)],
    ...(departments.length > 1 ? [departmentCheck] : []),
    [text, () => (!text.value.trim() ? t.messageMissing : [...text.value.trim()].length > MAX_CHARS ? t.messageTooLong : '')],
  ];

  const check = ([input, rule]) => fieldError(input, rule());

  /** The chosen team (or the only one), if any. */
  function chosen() {
    return departments.length > 1 ? departments.find((d) => d.key === department.value) : departments[0];
  }

  /** Says when the chosen team opens again, if it is closed and the appliance knows. */
  function showOpens() {
    const team = chosen();
    const line = team && !team.open && team.opens_at ? opensAgain(t, lang, team.opens_at) : '';
    if (opens.textContent !== line) opens.textContent = line;
    opens.hidden = !line;
    describedBy(department, opens.id, Boolean(line));
  }

  department.addEventListener('change', () => {
    showOpens();
    if (department.getAttribute('aria-invalid') === 'true') check(departmentCheck);
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    formError.hidden = true;
    const failing = checks().filter((pair) => check(pair));
    if (failing.length) {
      failing[0][0].focus();
      return;
    }
    const problem = onSend({ name: name.value.trim(), email: email.value.trim(), text: text.value.trim(), department: chosen()?.key });
    if (problem) {
      formError.textContent = problem;
      formError.hidden = false;
    }
  });

  return {
    /** Offers the site's teams (all of them: a message can wait for a closed team). */
    setDepartments(list) {
      departments = list;
      offerDepartments(departmentField, department, list, lang, t, false);
      showOpens();
    },
    /** Shows the form, prefilled with what the visitor typed for a chat (and the team chosen). */
    show({ name: givenName = '', text: givenText = '', department: givenDepartment = '' } = {}) {
      section.hidden = false;
      form.hidden = false;
      thanks.hidden = true;
      if (givenName && !name.value) name.value = givenName;
      if (givenText && !text.value) text.value = givenText;
      if (givenDepartment && !department.value && departments.some((d) => d.key === givenDepartment)) department.value = givenDepartment;
      showOpens();
      name.focus();
    },
    /** The server stored the message. */
    sent() {
      form.hidden = true;
      form.reset();
      showOpens();
      thanks.hidden = false;
      thanks.focus();
    },
    /** The message was refused; `department` when the server did not accept the team. */
    failed(message, { department: refused = false } = {}) {
      if (refused && departments.length > 1) {
        fieldError(department, message);
        department.focus();
        return;
      }
      formError.textContent = message;
      formError.hidden = false;
    },
  };
}
