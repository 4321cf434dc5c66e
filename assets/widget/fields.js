// The site's extra pre-chat fields (set by administrators per site): rendered into the form
// between the name and the question, checked in the page, sent as `answers`.
import { EMAIL } from '/common/composer.js';

const TEL = /^[0-9 +()-]+$/;

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
      const blank = document.createElement('option');
      blank.value = '';
      blank.textContent = t.choose;
      input.append(blank);
      for (const option of field.options || []) {
        const el = document.createElement('option');
        el.value = option;
        el.textContent = option;
        input.append(el);
      }
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
