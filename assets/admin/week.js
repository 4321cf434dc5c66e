// The weekly-hours editor shared by departments (opening hours) and roles (sign-in hours): a
// fieldset per day in `week`, each with the checkbox #<prefix>-<day>-open and, shown when it is
// ticked, two periods of time inputs #<prefix>-<day>-<n>-start/-end; the radios `always` (no
// schedule) and `scheduled` show and hide the week. Times are UK time, as the server reads them.
import { element } from '/dashboard/dom.js';
import { format } from '/dashboard/strings.js';
import { checkbox } from './fields.js';

const PERIODS = [1, 2];
export const DAYS = [
  ['mon', 'dayMon'],
  ['tue', 'dayTue'],
  ['wed', 'dayWed'],
  ['thu', 'dayThu'],
  ['fri', 'dayFri'],
  ['sat', 'daySat'],
  ['sun', 'daySun'],
];

/**
 * `openLabel` and `missing` are string keys (with `{day}`): the day checkbox's label and the
 * message for a ticked day without times. Returns `{ set(hours), read() }`: `set` fills the
 * week (null or {} = always) and says whether a day had more periods than the form shows;
 * `read` gives `{ hours }` (null = always) or `{ problem: { message, input } }`.
 */
export function weekEditor(t, { prefix, week, always, scheduled, openLabel, missing }) {
  const byId = (id) => document.getElementById(id);
  const id = (day, rest) => `${prefix}-${day}-${rest}`;

  /** A labelled time input. */
  function timeField(day, n, end, label, more) {
    const wrap = element('div', 'field');
    const input = element('input');
    input.type = 'time';
    input.id = id(day, `${n}-${end}`);
    const text = element('label', '', label);
    text.htmlFor = input.id;
    if (more) text.append(element('span', 'visually-hidden', more));
    wrap.append(text, input);
    return wrap;
  }

  week.replaceChildren(
    ...DAYS.map(([day, name]) => {
      const set = element('fieldset', 'group day');
      set.append(element('legend', '', t[name]));
      const open = checkbox(id(day, 'open'), undefined, format(t[openLabel], { day: t[name] }), false);
      const periods = element('div', 'periods');
      periods.id = id(day, 'periods');
      periods.hidden = true;
      periods.append(
        timeField(day, 1, 'start', t.hoursFrom),
        timeField(day, 1, 'end', t.hoursUntil),
        timeField(day, 2, 'start', t.hoursThenFrom),
        timeField(day, 2, 'end', t.hoursUntil, t.hoursSecond),
      );
      open.querySelector('input').addEventListener('change', (event) => {
        periods.hidden = !event.target.checked;
      });
      set.append(open, periods);
      return set;
    }),
  );

  const showWeek = () => {
    week.hidden = !scheduled.checked;
  };
  always.addEventListener('change', showWeek);
  scheduled.addEventListener('change', showWeek);

  function set(hours) {
    const schedule = hours && typeof hours === 'object' && Object.keys(hours).length ? hours : null;
    always.checked = !schedule;
    scheduled.checked = Boolean(schedule);
    showWeek();
    let more = false;
    for (const [day] of DAYS) {
      const spans = Array.isArray(schedule?.[day]) ? schedule[day].filter(Array.isArray).sort() : [];
      more ||= spans.length > PERIODS.length;
      byId(id(day, 'open')).checked = spans.length > 0;
      byId(id(day, 'periods')).hidden = spans.length === 0;
      for (const n of PERIODS) {
        const [from = '', to = ''] = (spans[n - 1] || []).map(String);
        byId(id(day, `${n}-start`)).value = from;
        // A time input cannot show 24:00; 00:00 as the closing time stands for midnight.
        byId(id(day, `${n}-end`)).value = to === '24:00' ? '00:00' : to;
      }
    }
    return more;
  }

  function read() {
    if (!scheduled.checked) return { hours: null };
    const hours = {};
    for (const [day, name] of DAYS) {
      if (!byId(id(day, 'open')).checked) continue;
      const problem = (key, input) => ({ problem: { message: format(t[key], { day: t[name] }), input } });
      const spans = [];
      for (const n of PERIODS) {
        const startInput = byId(id(day, `${n}-start`));
        const endInput = byId(id(day, `${n}-end`));
        const start = startInput.value.slice(0, 5);
        const end = endInput.value.slice(0, 5);
        if (n > 1 && !start && !end) continue;
        if (!start) return problem(n > 1 ? 'hoursHalf' : missing, startInput);
        if (!end) return problem(n > 1 ? 'hoursHalf' : missing, endInput);
        const until = end === '00:00' ? '24:00' : end;
        if (start >= until) return problem('hoursOrder', endInput);
        spans.push([start, until]);
      }
      spans.sort();
      if (spans.length > 1 && spans[1][0] < spans[0][1]) return problem('hoursOverlap', byId(id(day, '2-start')));
      hours[day] = spans;
    }
    return { hours };
  }

  return { set, read };
}
