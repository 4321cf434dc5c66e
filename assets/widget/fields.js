// The site's pre-chat choices from /widget/config: its extra fields (set by administrators per
// site), rendered into the form between the name and the question, checked in the page, sent as
// `answers`; and its departments, offered in a "Which team do you need?" select.
import { EMAIL, fieldError } from '/common/composer.js';

const TEL = /^[0-9 +()-]+$/;

const isText = (value) => typeof value === 'string' && value.length > 0;

function option(value, text) {
  const el = document.createElement('option');
  el.value = value;
  el.textContent = text;
  return el;
}

/** Adds the fields to `container`; returns [input, rule, key] triples for the form's checks. */
export function renderFields(container, fields, lang, t) {
  container.replaceChildren();
  const out = [];
  for (const field of Array.isArray(fields) ? fields : []) {
    const label = (lang === 'cy' && field.label_cy) || field.label;
    const id = `field-${field.key}`;
    const wrap = document.createElement('div');
    wrap.className = 'field';
    const labelEl = document.createElement('label');
    labelEl.htmlFor = id;
    labelEl.textContent = field.required ? label : `${label} ${t.optional}`;
    let input;
    if (field.type === 'select') {
      input = document.createElement('select');
      input.append(option('', t.choose));
      for (const choice of field.options || []) input.append(option(choice, choice));
    } else {
      input = document.createElement('input');
      input.type = field.type === 'email' ? 'email' : field.type === 'tel' ? 'tel' : 'text';
      input.maxLength = 500;
      if (field.type === 'email') input.autocomplete = 'email';
      if (field.type === 'tel') input.autocomplete = 'tel';
    }
    input.id = id;
    input.name = field.key;
    if (field.required) input.required = true;
    const error = document.createElement('p');
    error.id = `${id}-error`;
    error.className = 'field-error';
    error.hidden = true;
    wrap.append(labelEl, input, error);
    container.append(wrap);
    const rule = () => {
      const value = input.value.trim();
      if (!value) return field.required ? `${t.fieldMissing} ${label}` : '';
      if (field.type === 'email' && !EMAIL.test(value)) return t.emailInvalid;
      if (field.type === 'tel' && (!TEL.test(value) || value.replace(/\D/g, '').length < 7)) return t.telInvalid;
      return '';
    };
    out.push([input, rule, field.key]);
  }
  return out;
}

/**
 * The site's departments from /widget/config (`[{key, name, name_cy, available, open,
 * opens_at}]`, in the site's order), keeping only well-formed entries.
 */
export function parseDepartments(list) {
  return (Array.isArray(list) ? list : [])
    .filter((d) => d && isText(d.key) && isText(d.name))
    .map((d) => ({
      key: d.key,
      name: d.name,
      name_cy: isText(d.name_cy) ? d.name_cy : '',
      available: d.available !== false,
      open: d.open !== false,
      opens_at: isText(d.opens_at) ? d.opens_at : null,
    }));
}

/** A department's name in the widget's language. */
export const departmentName = (department, lang) => (lang === 'cy' && department.name_cy) || department.name;

/**
 * Offers the departments in `select` (inside `wrap`, shown only with two or more): a blank
 * choice and one option per department, keeping the visitor's choice when it can still be made.
 * With `onlyAvailable`, departments that cannot chat now are disabled and say why ("(closed)" or
 * "(no one available)").
 */
export function offerDepartments(wrap, select, departments, lang, t, onlyAvailable) {
  wrap.hidden = departments.length < 2;
  if (departments.length < 2) {
    select.replaceChildren();
    fieldError(select, '');
    return;
  }
  const chosen = select.value;
  select.replaceChildren(option('', t.choose));
  for (const department of departments) {
    const name = departmentName(department, lang);
    const el = option(department.key, name);
    if (onlyAvailable && !department.available) {
      el.disabled = true;
      el.textContent = `${name} ${department.open ? t.departmentBusy : t.departmentClosed}`;
    }
    select.append(el);
  }
  const keep = departments.some((d) => d.key === chosen && (d.available || !onlyAvailable));
  select.value = keep ? chosen : '';
}
