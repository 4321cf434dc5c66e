// The pre-chat field editor of the site form (#site-form): the site's extra fields (asked after
// the name, before the question) in the list #site-fields, one li.prechat-field each: a fieldset
// "Extra field n" with #site-field-n-key, #site-field-n-label, #site-field-n-label-cy,
// #site-field-n-type (text, email, tel, select), the checkbox #site-field-n-required and, for
// type select only, #site-field-n-options (one choice a line); then button.field-up,
// button.field-down and button.field-remove. #site-field-add adds a field (at most 10). Ids
// follow the position (n from 1), so a move or removal renumbers them; the focus follows the
// moved field. Checks mirror check_fields in src/service/prechat.rs; the server decides.
// Also the small builders the administration page shares: button(), checkbox() and rowActions().
import { element } from '/dashboard/dom.js';
import { format } from '/dashboard/strings.js';

const MAX_FIELDS = 10;
const MAX_LABEL = 100;
const MAX_OPTIONS = 50;
const KEY = /^[a-z0-9_]{1,32}$/;
const RESERVED = ['name', 'question'];
const TYPES = [
  ['text', 'fieldTypeText'],
  ['email', 'fieldTypeEmail'],
  ['tel', 'fieldTypeTel'],
  ['select', 'fieldTypeSelect'],
];

/** A button with visible `label` and, for screen readers, `more` naming what it acts on. */
export function button(className, label, more) {
  const node = element('button', className, label);
  node.type = 'button';
  if (more) node.append(element('span', 'visually-hidden', more));
  return node;
}

/** A div.checkbox with a checkbox `id` (with `value`, when given) and its visible label. */
export function checkbox(id, value, label, checked) {
  const box = element('div', 'checkbox');
  const input = element('input');
  input.type = 'checkbox';
  input.id = id;
  if (value !== undefined) input.value = value;
  input.checked = Boolean(checked);
  const text = element('label', '', label);
  text.htmlFor = id;
  box.append(input, text);
  return box;
}

/**
 * The actions cell of a row (`kind` "site" or "department", `key` its key): button.edit-<kind>,
 * button.delete-<kind>, and the inline button.confirm-delete-<kind> and
 * button.cancel-delete-<kind> with the note `warning`. `who` has the hidden texts edit, delete,
 * confirm and cancel. `onAsk()` runs when Delete is pressed; `onDelete()` resolves to true when
 * the row stays (the delete failed).
 */
export function rowActions(t, { kind, key, who, warning, onEdit, onAsk, onDelete }) {
  const cell = element('td');
  const box = element('div', 'row-actions');
  const edit = button(`edit-${kind} secondary`, t.edit, who.edit);
  const remove = button(`delete-${kind} secondary`, t.delete, who.delete);
  const confirm = button(`confirm-delete-${kind} danger`, t.confirmDelete, who.confirm);
  const keep = button(`cancel-delete-${kind} secondary`, t.cancel, who.cancel);
  const note = element('p', 'confirm-note', warning);
  note.id = `${kind}-${key}-delete-note`;
  confirm.setAttribute('aria-describedby', note.id);
  for (const node of [confirm, keep, note]) node.hidden = true;
  box.append(edit, remove, confirm, keep, note);
  cell.append(box);

  const deleting = () => confirm.getAttribute('aria-disabled') === 'true';
  const asking = (on) => {
    remove.hidden = on;
    for (const node of [confirm, keep, note]) node.hidden = !on;
  };
  edit.addEventListener('click', onEdit);
  remove.addEventListener('click', () => {
    onAsk();
    asking(true);
    confirm.focus();
  });
  keep.addEventListener('click', () => {
    if (deleting()) return;
    asking(false);
    remove.focus();
  });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !confirm.hidden && !deleting()) {
      asking(false);
      remove.focus();
    }
  });
  confirm.addEventListener('click', async () => {
    if (deleting()) return;
    for (const node of [confirm, keep]) node.setAttribute('aria-disabled', 'true');
    confirm.firstChild.textContent = t.deleting;
    const stays = await onDelete();
    for (const node of [confirm, keep]) node.removeAttribute('aria-disabled');
    confirm.firstChild.textContent = t.confirmDelete;
    if (stays && box.isConnected) {
      asking(false);
      remove.focus();
    }
  });
  return cell;
}

const lines = (text) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

const chars = (text) => [...text].length;

/**
 * Wires the editor: `list` (the ol), `add` (the add button), `none` (shown when there are no
 * fields), `keyHint` (id of the key hint), `say` (status line) and `showError(message, input)`.
 * Returns `{ set(fields), value(), check(), inputs(), inputFor(message) }`.
 */
export function fieldsEditor(t, { list, add, none, keyHint, say, showError }) {
  /** The fields as typed: like the API's, but `options` is the textarea's text. */
  const read = () =>
    [...list.children].map((li) => {
      const get = (name) => li.querySelector(`[data-name="${name}"]`);
      return {
        key: get('key').value,
        label: get('label').value,
        label_cy: get('label-cy').value,
        type: get('type').value,
        required: get('required').checked,
        options: get('options').value,
      };
    });

  function render(drafts) {
    list.replaceChildren(...drafts.map((draft, i) => row(draft, i, drafts.length)));
    none.hidden = drafts.length > 0;
    if (drafts.length >= MAX_FIELDS) add.setAttribute('aria-disabled', 'true');
    else add.removeAttribute('aria-disabled');
  }

  /** A labelled control in a div.field; `name` is its part of the id and its data-name. */
  function labelled(n, name, control, label) {
    const wrap = element('div', 'field');
    control.id = `site-field-${n}-${name}`;
    control.dataset.name = name;
    const text = element('label', '', label);
    text.htmlFor = control.id;
    wrap.append(text, control);
    return wrap;
  }

  function textInput(value, max) {
    const input = element('input');
    input.value = value;
    input.maxLength = max;
    input.autocomplete = 'off';
    return input;
  }

  function row(draft, i, count) {
    const n = i + 1;
    const li = element('li', 'prechat-field');
    const set = element('fieldset', 'group');
    set.append(element('legend', '', format(t.fieldLegend, { n })));

    const key = textInput(draft.key, 32);
    key.spellcheck = false;
    key.setAttribute('aria-describedby', keyHint);
    const type = element('select');
    for (const [value, label] of TYPES) {
      const option = element('option', '', t[label]);
      option.value = value;
      type.append(option);
    }
    type.value = TYPES.some(([value]) => value === draft.type) ? draft.type : 'text';
    const required = checkbox(`site-field-${n}-required`, undefined, t.fieldRequired, draft.required);
    required.querySelector('input').dataset.name = 'required';
    const options = element('textarea');
    options.rows = 4;
    options.value = draft.options;
    const optionsField = labelled(n, 'options', options, t.fieldOptions);
    optionsField.classList.add('wide');
    optionsField.hidden = type.value !== 'select';
    type.addEventListener('change', () => {
      optionsField.hidden = type.value !== 'select';
    });

    const inline = element('div', 'inline-fields');
    inline.append(
      labelled(n, 'key', key, t.fieldKey),
      labelled(n, 'type', type, t.fieldType),
      labelled(n, 'label', textInput(draft.label, MAX_LABEL), t.fieldLabel),
      labelled(n, 'label-cy', textInput(draft.label_cy, MAX_LABEL), t.fieldLabelCy),
    );
    const actions = element('div', 'form-actions');
    const who = format(t.fieldWho, { n });
    if (i > 0) actions.append(moveButton('field-up', t.moveUp, who, i, i - 1));
    if (i < count - 1) actions.append(moveButton('field-down', t.moveDown, who, i, i + 1));
    const remove = button('field-remove secondary', t.remove, who);
    remove.addEventListener('click', () => removeField(i));
    actions.append(remove);
    set.append(inline, required, optionsField, actions);
    li.append(set);
    return li;
  }

  function moveButton(className, label, who, from, to) {
    const node = button(`${className} secondary`, label, who);
    node.addEventListener('click', () => {
      const drafts = read();
      drafts.splice(to, 0, ...drafts.splice(from, 1));
      render(drafts);
      const moved = list.children[to];
      (moved.querySelector(`.${className}`) || moved.querySelector('.field-up, .field-down')).focus();
      say(format(t.fieldMoved, { n: to + 1 }));
    });
    return node;
  }

  function removeField(i) {
    const drafts = read();
    drafts.splice(i, 1);
    render(drafts);
    const next = list.children[i] || list.children[i - 1];
    (next ? next.querySelector('.field-remove') : add).focus();
    say(t.fieldRemoved);
  }

  add.addEventListener('click', () => {
    const drafts = read();
    if (drafts.length >= MAX_FIELDS) return showError(t.tooManyFields);
    drafts.push({ key: '', label: '', label_cy: '', type: 'text', required: false, options: '' });
    render(drafts);
    showError('');
    list.lastElementChild.querySelector('[data-name="key"]').focus();
    say(format(t.fieldAdded, { n: drafts.length }));
  });

  /** The first problem as `{ message, input }`, or null when the fields look right. */
  function check() {
    const drafts = read();
    if (drafts.length > MAX_FIELDS) return { message: t.tooManyFields };
    const seen = new Set();
    for (const [i, draft] of drafts.entries()) {
      const n = i + 1;
      const at = (name) => list.children[i].querySelector(`[data-name="${name}"]`);
      const key = draft.key.trim();
      const label = draft.label.trim();
      if (!key) return { message: format(t.fieldKeyMissing, { n }), input: at('key') };
      if (!KEY.test(key) || RESERVED.includes(key)) return { message: format(t.fieldKeyInvalid, { n }), input: at('key') };
      if (seen.has(key)) return { message: format(t.fieldKeyTwice, { n, key }), input: at('key') };
      seen.add(key);
      if (!label) return { message: format(t.fieldLabelMissing, { n }), input: at('label') };
      if (chars(label) > MAX_LABEL) return { message: format(t.fieldLabelTooLong, { n }), input: at('label') };
      if (chars(draft.label_cy.trim()) > MAX_LABEL) return { message: format(t.fieldLabelTooLong, { n }), input: at('label-cy') };
      if (draft.type === 'select') {
        const options = lines(draft.options);
        if (!options.length) return { message: format(t.fieldOptionsMissing, { n }), input: at('options') };
        if (options.length > MAX_OPTIONS || options.some((o) => chars(o) > MAX_LABEL)) {
          return { message: format(t.fieldOptionsTooMany, { n }), input: at('options') };
        }
      }
    }
    return null;
  }

  return {
    /** Fills the editor from a site's `fields` (from GET /api/v1/sites). */
    set(fields) {
      render(
        fields
          .filter((f) => typeof f?.key === 'string')
          .map((f) => ({
            key: f.key,
            label: String(f.label ?? ''),
            label_cy: typeof f.label_cy === 'string' ? f.label_cy : '',
            type: String(f.type ?? 'text'),
            required: Boolean(f.required),
            options: Array.isArray(f.options) ? f.options.map(String).join('\n') : '',
          })),
      );
    },
    /** The fields in the shape of the API (`Field` in src/service/prechat.rs). */
    value() {
      return read().map((draft) => {
        const field = { key: draft.key.trim(), label: draft.label.trim(), type: draft.type, required: draft.required };
        const labelCy = draft.label_cy.trim();
        if (labelCy) field.label_cy = labelCy;
        if (draft.type === 'select') field.options = lines(draft.options);
        return field;
      });
    },
    check,
    /** Every control of the editor (to clear aria-invalid). */
    inputs: () => [...list.querySelectorAll('input, select, textarea')],
    /** The key input of the field whose key the server's `message` names in backquotes. */
    inputFor(message) {
      return [...list.querySelectorAll('[data-name="key"]')].find((input) => input.value && message.includes(`\`${input.value.trim()}\``));
    },
  };
}
