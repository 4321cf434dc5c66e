// "Data requests" on the administration page (#gdpr), for the DPO and administrators: subject
// access and erasure requests. The form #gdpr-form (#gdpr-by: email, phone, name, visitor or
// conversation; #gdpr-value, described by #gdpr-value-hint, which follows #gdpr-by; #gdpr-search)
// asks POST /api/v1/gdpr/search {by, value}; the server audits every search. The answer goes in
// #gdpr-results: one article.gdpr-subject[data-subject] per data subject, its heading
// h3#gdpr-subject-<id> ("Data subject {id}") and names and e-mail addresses, then three groups,
// each an h4 with its count and a small table (or "None."): Chats (table.gdpr-chats, each row
// with button.view-transcript, which shows GET /api/v1/conversations/{conversation}/messages in
// #gdpr-transcript and moves the focus to its heading #gdpr-transcript-title;
// #gdpr-transcript-close closes it), Offline messages (table.gdpr-offline) and Queued e-mails
// (table.gdpr-mails). No subject: #gdpr-empty. For the DPO only, button.erase-subject per subject
// shows the inline form form.gdpr-erase: textarea#gdpr-reason-<id> (required, 1 to 500
// characters), button.confirm-erase and button.cancel-erase (Escape cancels too). It POSTs
// /api/v1/gdpr/subjects/{id}/erase {reason}, says what was erased in #gdpr-status and takes the
// subject off the results. Administrators see the note #gdpr-dpo-only instead. Problems with the
// reason go to #gdpr-reason-<id>-error, others to #gdpr-error (both role=alert), outcomes to
// #gdpr-status (role=status). Text from the server goes in with textContent only.
// Every subject also gets div.gdpr-export: links a.export-download[data-format] (json, csv, xlsx,
// pdf) to GET /api/v1/gdpr/subjects/{id}/export?format=… (the cookie suffices; the browser saves
// the attachment), and form.gdpr-send — select#gdpr-send-format-<id> (json, csv, pdf as text),
// select#gdpr-send-to-<id> (their known addresses) and button.send-export — which POSTs
// /api/v1/gdpr/subjects/{id}/export/email {format, email}. Without a known address the form is
// replaced by a note. The server audits every export.
// With gdpr.store, button.correct-subject shows form.gdpr-correct (rectification):
// #gdpr-correct-{name,email,phone}-<id>, only what is filled in changes; button.confirm-correct
// PATCHes /api/v1/gdpr/subjects/{id} and the subject's entry is redrawn from the answer (the audit
// log keeps fingerprints of the old and new values, never the values); button.cancel-correct or
// Escape closes it. With audit.view, button.access-report toggles table.gdpr-access: who has seen
// or handled this person's data (GET /api/v1/gdpr/subjects/{id}/access, itself audited).
import { apiGet, apiSend } from '/dashboard/api.js';
import { element, setText, showFieldMessage, timeElement, transcriptLine } from '/dashboard/dom.js';
import { removeEntry } from '/dashboard/listing.js';
import { dateTime, format, statusLabel } from '/dashboard/strings.js';
import { button } from './fields.js';

const KINDS = ['email', 'phone', 'name', 'visitor', 'conversation'];
const INPUT_MODES = { email: 'email', phone: 'tel' };
const MAX_REASON = 500;
const EXPORT_FORMATS = ['json', 'csv', 'xlsx', 'pdf'];
/** The outbox sends plain text: the PDF and XLSX become readable text in the mail. */
const SEND_FORMATS = ['pdf', 'json', 'csv'];
/** Subject ids become parts of element ids, so only plain ones are shown. */
const SUBJECT = /^[A-Za-z0-9_-]{1,64}$/;

const list = (value) => (Array.isArray(value) ? value : []);
const count = (value) => Number(value) || 0;

/** Wires the section for `session` (the DPO or an administrator). */
export function gdprSection(t, session) {
  const byId = (id) => document.getElementById(id);
  const heading = byId('gdpr-title');
  const form = byId('gdpr-form');
  const by = byId('gdpr-by');
  const valueInput = byId('gdpr-value');
  const hint = byId('gdpr-value-hint');
  const search = byId('gdpr-search');
  const error = byId('gdpr-error');
  const statusLine = byId('gdpr-status');
  const empty = byId('gdpr-empty');
  const results = byId('gdpr-results');
  const panel = byId('gdpr-transcript');
  const title = byId('gdpr-transcript-title');
  const lines = byId('gdpr-transcript-lines');
  const noLines = byId('gdpr-transcript-empty');
  const granted = session.permissions ?? [];
  const dpo = granted.includes('gdpr.delete');
  const canCorrect = granted.includes('gdpr.store');
  const canSeeAccess = granted.includes('audit.view');
  let searchNo = 0;
  let transcriptNo = 0;
  let opener = null; // the "View transcript" button of the transcript shown
  let shownSubject = null; // whose transcript is shown

  byId('gdpr-dpo-only').hidden = dpo;

  const say = (text) => setText(statusLine, text);
  const showError = (message, field) => showFieldMessage(error, message, [valueInput], field);

  function showHint() {
    const kind = KINDS.includes(by.value) ? by.value : KINDS[0];
    hint.textContent = t.gdprHints[kind];
    valueInput.inputMode = INPUT_MODES[kind] || 'text';
  }
  by.addEventListener('change', showHint);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    runSearch();
  });
  byId('gdpr-transcript-close').addEventListener('click', () => closeTranscript(true));

  async function runSearch() {
    const kind = KINDS.includes(by.value) ? by.value : KINDS[0];
    const value = valueInput.value.trim();
    if (!value) return showError(t.gdprValueMissing, valueInput);
    showError('');
    const mine = ++searchNo;
    say(t.searching);
    results.setAttribute('aria-busy', 'true');
    try {
      const answer = await apiSend(t, 'POST', '/api/v1/gdpr/search', session.csrf_token, { by: kind, value });
      if (mine !== searchNo) return;
      show(list(answer?.subjects));
    } catch (e) {
      if (mine !== searchNo) return;
      // What is on show would not be the answer to what the form now asks.
      show([], false);
      say('');
      showError(e.message, e.code === 'invalid' ? valueInput : undefined);
    } finally {
      if (mine === searchNo) results.removeAttribute('aria-busy');
    }
  }

  /** Shows the subjects found; `answered` is false when the search failed. */
  function show(subjects, answered = true) {
    closeTranscript(false);
    const found = subjects.filter((s) => SUBJECT.test(String(s?.subject ?? '')));
    results.replaceChildren(...found.map(article));
    empty.hidden = !answered || found.length > 0;
    if (!answered) return;
    const n = found.length;
    say(n === 0 ? t.gdprFoundNone : n === 1 ? t.gdprFoundOne : format(t.gdprFound, { n }));
  }

  function detail(dl, term, values) {
    const texts = list(values).map(String).filter(Boolean);
    dl.append(element('dt', '', term), element('dd', '', texts.length ? texts.join(', ') : t.gdprNoneRecorded));
  }

  function article(subject) {
    const id = String(subject.subject);
    const node = element('article', 'gdpr-subject');
    node.dataset.subject = id;
    const headingId = `gdpr-subject-${id}`;
    node.setAttribute('aria-labelledby', headingId);
    const h3 = element('h3', '', format(t.gdprSubject, { id }));
    h3.id = headingId;
    const details = element('dl', 'details');
    if (typeof subject.public_id === 'string') detail(details, t.gdprPublicId, [subject.public_id]);
    detail(details, t.gdprNames, subject.names);
    detail(details, t.gdprEmails, subject.emails);
    const chats = list(subject.conversations).filter((c) => typeof c?.conversation === 'string');
    const requests = list(subject.offline_requests).filter((r) => r && typeof r === 'object');
    const mails = list(subject.mails).filter((m) => m && typeof m === 'object');
    node.append(
      h3,
      details,
      ...group(`${headingId}-chats`, t.gdprChats, 'gdpr-chats', [t.gdprStarted, t.siteLabel, t.gdprStatus, t.gdprMessages], chats, (c) =>
        chatRow(c, id),
      ),
      ...group(`${headingId}-offline`, t.gdprOffline, 'gdpr-offline', [t.gdprReceived, t.gdprReference, t.gdprStatus], requests, offlineRow),
      ...group(`${headingId}-mails`, t.gdprMails, 'gdpr-mails', [t.gdprQueued, t.gdprKind, t.gdprStatus], mails, mailRow),
    );
    node.append(exportControls(id, list(subject.emails).map(String).filter(Boolean)));
    if (canCorrect) node.append(correctControls(node, id));
    if (canSeeAccess) node.append(accessControls(id));
    if (dpo) node.append(eraseControls(node, id));
    return node;
  }

  /**
   * Wires a form shown in place of button `open`: `open` shows it and focuses `first`; `keep`
   * (Cancel) or Escape hides it, clears it and its problem (`fail('')`), and returns the focus
   * to `open`. On submit, `check()` returns the request (or null, having said what is wrong with
   * `fail`); `send(request)` then runs with both buttons disabled and `submit` saying `working`.
   * Returns `asking(on)`, which shows (true) or hides (false) the form.
   */
  function inlineForm({ open, form, keep, submit, working, first, fail, check, send }) {
    const label = submit.firstChild.textContent;
    const busy = () => submit.getAttribute('aria-disabled') === 'true';
    const asking = (on) => {
      open.hidden = on;
      form.hidden = !on;
    };
    const stop = () => {
      if (busy()) return;
      fail('');
      form.reset();
      asking(false);
      open.focus();
    };
    open.addEventListener('click', () => {
      showError('');
      asking(true);
      first.focus();
    });
    keep.addEventListener('click', stop);
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') stop();
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy()) return;
      const request = check();
      if (request === null) return;
      fail('');
      for (const b of [submit, keep]) b.setAttribute('aria-disabled', 'true');
      submit.firstChild.textContent = working;
      try {
        await send(request);
      } finally {
        for (const b of [submit, keep]) b.removeAttribute('aria-disabled');
        submit.firstChild.textContent = label;
      }
    });
    return asking;
  }

  /** A labelled input `id` for the correction form. */
  function textInput(id, label, type) {
    const field = element('div', 'field');
    const labelNode = element('label', '', label);
    labelNode.htmlFor = id;
    const node = element('input');
    node.id = id;
    node.type = type;
    node.autocomplete = 'off';
    node.spellcheck = false;
    field.append(labelNode, node);
    return [field, node];
  }

  /** div.gdpr-correct-area: button.correct-subject and the rectification form it shows. */
  function correctControls(node, subject) {
    const who = format(t.gdprWho, { subject });
    const open = button('correct-subject secondary', t.gdprCorrect, who);
    const formNode = element('form', 'gdpr-correct');
    formNode.noValidate = true;
    formNode.hidden = true;
    const titleId = `gdpr-correct-${subject}-title`;
    formNode.setAttribute('aria-labelledby', titleId);
    const formTitle = element('h4', '', format(t.gdprCorrectTitle, { subject }));
    formTitle.id = titleId;
    const hintNode = element('p', 'hint', t.gdprCorrectHint);
    const [nameField, name] = textInput(`gdpr-correct-name-${subject}`, t.gdprCorrectName, 'text');
    name.maxLength = 100;
    const [emailField, email] = textInput(`gdpr-correct-email-${subject}`, t.gdprCorrectEmail, 'email');
    email.maxLength = 320;
    const [phoneField, phone] = textInput(`gdpr-correct-phone-${subject}`, t.gdprCorrectPhone, 'tel');
    phone.maxLength = 40;
    const fields = [name, email, phone];
    const problem = element('p', 'error');
    problem.id = `gdpr-correct-${subject}-error`;
    problem.setAttribute('role', 'alert');
    problem.hidden = true;
    const inline = element('div', 'inline-fields');
    inline.append(nameField, emailField, phoneField);
    const save = button('confirm-correct', t.gdprCorrectSave, who);
    save.type = 'submit';
    const keep = button('cancel-correct secondary', t.cancel, format(t.gdprCancelCorrectWho, { subject }));
    const actions = element('div', 'form-actions');
    actions.append(save, keep);
    formNode.append(formTitle, hintNode, inline, problem, actions);

    const fail = (message, field) => showFieldMessage(problem, message, fields, field);
    const check = () => {
      const change = {};
      for (const [key, field] of [['name', name], ['email', email], ['phone', phone]]) {
        const value = field.value.trim();
        if (value) change[key] = value;
      }
      if (!Object.keys(change).length) {
        fail(t.gdprCorrectNothing, name);
        return null;
      }
      if (change.email && !/^[^@\s]+@[^@\s]+$/.test(change.email)) {
        fail(t.gdprCorrectBadEmail, email);
        return null;
      }
      return change;
    };
    const send = async (change) => {
      try {
        const path = `/api/v1/gdpr/subjects/${encodeURIComponent(subject)}`;
        const answer = await apiSend(t, 'PATCH', path, session.csrf_token, change);
        if (shownSubject === subject) closeTranscript(false);
        const fresh = answer?.subject && SUBJECT.test(String(answer.subject.subject ?? '')) ? article(answer.subject) : null;
        if (fresh) {
          node.replaceWith(fresh);
          fresh.querySelector('.correct-subject')?.focus();
        } else {
          asking(false);
        }
        say(format(t.gdprCorrected, { subject }));
      } catch (e) {
        const field = e.code === 'invalid' ? (/mail/i.test(e.message) ? email : /phone/i.test(e.message) ? phone : name) : undefined;
        fail(e.message, field);
      }
    };
    const asking = inlineForm({ open, form: formNode, keep, submit: save, working: t.gdprCorrecting, first: name, fail, check, send });
    const area = element('div', 'gdpr-correct-area');
    area.append(open, formNode);
    return area;
  }

  /** div.gdpr-access-area: button.access-report toggles the list of who has seen this data. */
  function accessControls(subject) {
    const area = element('div', 'gdpr-access-area');
    const toggle = button('access-report secondary', t.gdprAccessShow, format(t.gdprWho, { subject }));
    toggle.setAttribute('aria-expanded', 'false');
    const panel = element('div', 'gdpr-access');
    panel.id = `gdpr-access-${subject}`;
    panel.hidden = true;
    toggle.setAttribute('aria-controls', panel.id);
    toggle.addEventListener('click', async () => {
      if (toggle.getAttribute('aria-disabled') === 'true') return;
      if (!panel.hidden) {
        panel.hidden = true;
        toggle.setAttribute('aria-expanded', 'false');
        return;
      }
      showError('');
      toggle.setAttribute('aria-disabled', 'true');
      say(t.gdprAccessLoading);
      try {
        const entries = list(await apiGet(t, `/api/v1/gdpr/subjects/${encodeURIComponent(subject)}/access`)).filter(
          (e) => e && typeof e === 'object',
        );
        const headingId = `${panel.id}-title`;
        const h4 = element('h4', '', format(t.gdprAccessTitle, { subject, n: entries.length }));
        h4.id = headingId;
        if (!entries.length) {
          panel.replaceChildren(h4, element('p', 'gdpr-none', t.gdprNone));
        } else {
          const table = element('table', 'results gdpr-access-table');
          table.setAttribute('aria-labelledby', headingId);
          const head = element('tr');
          for (const text of [t.gdprAccessWhen, t.gdprAccessWho, t.gdprAccessWhat, t.gdprAccessDetails]) {
            const th = element('th', '', text);
            th.scope = 'col';
            head.append(th);
          }
          const thead = element('thead');
          thead.append(head);
          const tbody = element('tbody');
          tbody.append(
            ...entries.map((e) => {
              const what = element('td');
              what.append(element('code', '', String(e.action ?? '')));
              return timedRow(e.at, element('td', '', String(e.actor ?? '')), what, element('td', '', String(e.details ?? '–')));
            }),
          );
          table.append(thead, tbody);
          const wrap = element('div', 'table-wrap');
          wrap.append(table);
          panel.replaceChildren(h4, wrap);
        }
        panel.hidden = false;
        toggle.setAttribute('aria-expanded', 'true');
        say(format(t.gdprAccessShown, { n: entries.length }));
      } catch (e) {
        say('');
        showError(e.message);
      } finally {
        toggle.removeAttribute('aria-disabled');
      }
    });
    area.append(toggle, panel);
    return area;
  }

  /** An h4 "{label} ({n})" and a table of `items` (or "None."); chats get an actions column. */
  function group(id, label, className, columns, items, row) {
    const h4 = element('h4', '', format(label, { n: items.length }));
    h4.id = id;
    if (!items.length) return [h4, element('p', 'gdpr-none', t.gdprNone)];
    const table = element('table', `results ${className}`);
    table.setAttribute('aria-labelledby', id);
    const head = element('tr');
    for (const text of columns) {
      const th = element('th', '', text);
      th.scope = 'col';
      head.append(th);
    }
    if (className === 'gdpr-chats') {
      const th = element('th');
      th.scope = 'col';
      th.append(element('span', 'visually-hidden', t.gdprActions));
      head.append(th);
    }
    const thead = element('thead');
    thead.append(head);
    const tbody = element('tbody');
    tbody.append(...items.map(row));
    table.append(thead, tbody);
    const wrap = element('div', 'table-wrap');
    wrap.append(table);
    return [h4, wrap];
  }

  /** A row whose first cell (a row header) is the time `at`. */
  function timedRow(at, ...cells) {
    const tr = element('tr');
    const when = element('th');
    when.scope = 'row';
    when.append(timeElement(at));
    tr.append(when, ...cells);
    return tr;
  }

  const labelled = (labels, value) => labels[value] ?? String(value ?? '');

  function chatRow(chat, subject) {
    const started = dateTime(chat.started_at);
    const view = button('view-transcript secondary', t.viewTranscript, format(t.gdprViewTranscriptOf, { started, subject }));
    view.addEventListener('click', () => openTranscript(chat, subject, started, view));
    const action = element('td');
    action.append(view);
    const tr = timedRow(
      chat.started_at,
      element('td', '', String(chat.site ?? '')),
      element('td', '', statusLabel(t, chat.status)),
      element('td', 'number', String(count(chat.messages))),
      action,
    );
    tr.dataset.conversation = chat.conversation;
    return tr;
  }

  function offlineRow(request) {
    return timedRow(
      request.received_at,
      element('td', '', String(request.id ?? '')),
      element('td', '', labelled(t.gdprOfflineStates, request.status)),
    );
  }

  function mailRow(mail) {
    return timedRow(
      mail.queued_at,
      element('td', '', labelled(t.gdprMailKinds, mail.kind)),
      element('td', '', labelled(t.gdprMailStates, mail.status)),
    );
  }

  async function openTranscript(chat, subject, started, view) {
    const mine = ++transcriptNo;
    opener = view;
    shownSubject = subject;
    showError('');
    title.textContent = format(t.gdprTranscriptTitle, { subject, started });
    lines.replaceChildren();
    noLines.hidden = true;
    panel.hidden = false;
    panel.setAttribute('aria-busy', 'true');
    say(t.loadingTranscript);
    try {
      const messages = list(await apiGet(t, `/api/v1/conversations/${encodeURIComponent(chat.conversation)}/messages`));
      if (mine !== transcriptNo) return;
      lines.replaceChildren(...messages.map((message) => transcriptLine(t, message)));
      noLines.hidden = messages.length > 0;
      say(format(t.transcriptShown, { n: messages.length }));
      title.focus();
    } catch (e) {
      if (mine !== transcriptNo) return;
      closeTranscript(false);
      say('');
      showError(e.message);
    } finally {
      if (mine === transcriptNo) panel.removeAttribute('aria-busy');
    }
  }

  /** Hides the transcript; `returnFocus` puts the focus back on the button that opened it. */
  function closeTranscript(returnFocus) {
    transcriptNo += 1;
    const hadFocus = panel.contains(document.activeElement);
    panel.hidden = true;
    panel.removeAttribute('aria-busy');
    lines.replaceChildren();
    if (returnFocus || hadFocus) (opener?.isConnected ? opener : search).focus();
    opener = null;
    shownSubject = null;
  }

  /** A labelled select `id` of `options` ([value, text]). */
  function select(id, label, options) {
    const field = element('div', 'field');
    const labelNode = element('label', '', label);
    labelNode.htmlFor = id;
    const input = element('select');
    input.id = id;
    for (const [value, text] of options) {
      const option = element('option', '', text);
      option.value = value;
      input.append(option);
    }
    field.append(labelNode, input);
    return [field, input];
  }

  /** div.gdpr-export: download links for the four formats and the form that e-mails the export. */
  function exportControls(subject, emails) {
    const area = element('div', 'gdpr-export');
    const titleId = `gdpr-export-${subject}-title`;
    area.setAttribute('role', 'group');
    area.setAttribute('aria-labelledby', titleId);
    const h4 = element('h4', '', t.gdprExportTitle);
    h4.id = titleId;
    const links = element('ul', 'gdpr-export-links');
    for (const kind of EXPORT_FORMATS) {
      const a = element('a', 'export-download', t.gdprFormats[kind]);
      a.href = `/api/v1/gdpr/subjects/${encodeURIComponent(subject)}/export?format=${kind}`;
      a.setAttribute('download', `parley-subject-${subject}.${kind}`);
      a.dataset.format = kind;
      a.append(element('span', 'visually-hidden', format(t.gdprWho, { subject })));
      const item = element('li');
      item.append(a);
      links.append(item);
    }
    area.append(h4, element('p', 'hint', t.gdprExportHint), links);
    if (!emails.length) {
      area.append(element('p', 'gdpr-no-address', t.gdprNoAddress));
      return area;
    }
    const form = element('form', 'gdpr-send');
    form.noValidate = true;
    const [formatField, formatInput] = select(
      `gdpr-send-format-${subject}`,
      t.gdprSendFormat,
      SEND_FORMATS.map((f) => [f, t.gdprSendFormats[f]]),
    );
    const [toField, toInput] = select(`gdpr-send-to-${subject}`, t.gdprSendTo, emails.map((e) => [e, e]));
    const send = button('send-export secondary', t.gdprSend, format(t.gdprWho, { subject }));
    send.type = 'submit';
    const fields = element('div', 'inline-fields');
    fields.append(formatField, toField);
    const actions = element('div', 'form-actions');
    actions.append(send);
    form.append(fields, actions);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (send.getAttribute('aria-disabled') === 'true') return;
      showError('');
      send.setAttribute('aria-disabled', 'true');
      send.firstChild.textContent = t.gdprSending;
      try {
        const path = `/api/v1/gdpr/subjects/${encodeURIComponent(subject)}/export/email`;
        await apiSend(t, 'POST', path, session.csrf_token, { format: formatInput.value, email: toInput.value });
        say(format(t.gdprSent, { email: toInput.value }));
      } catch (e) {
        say('');
        showError(e.message);
      } finally {
        send.removeAttribute('aria-disabled');
        send.firstChild.textContent = t.gdprSend;
      }
    });
    area.append(form);
    return area;
  }

  /** div.gdpr-erase-area: the DPO's button.erase-subject and the confirmation form it shows. */
  function eraseControls(node, subject) {
    const who = format(t.gdprWho, { subject });
    const erase = button('erase-subject secondary', t.gdprErase, who);
    const id = `gdpr-reason-${subject}`;
    const confirmForm = element('form', 'gdpr-erase');
    confirmForm.noValidate = true;
    confirmForm.hidden = true;
    confirmForm.setAttribute('aria-labelledby', `${id}-title`);
    const formTitle = element('h4', '', format(t.gdprEraseTitle, { subject }));
    formTitle.id = `${id}-title`;
    const warning = element('p', 'confirm-note', t.gdprEraseWarning);
    warning.id = `${id}-warning`;
    const field = element('div', 'field wide');
    const label = element('label', '', t.gdprReason);
    label.htmlFor = id;
    const input = element('textarea');
    input.id = id;
    input.name = 'reason';
    input.rows = 3;
    input.required = true;
    input.maxLength = MAX_REASON;
    const reasonHint = element('p', 'hint', t.gdprReasonHint);
    reasonHint.id = `${id}-hint`;
    input.setAttribute('aria-describedby', `${reasonHint.id} ${warning.id}`);
    const problem = element('p', 'error');
    problem.id = `${id}-error`;
    problem.setAttribute('role', 'alert');
    problem.hidden = true;
    field.append(label, input, reasonHint, problem);
    const confirm = button('confirm-erase danger', t.gdprConfirmErase, who);
    confirm.type = 'submit';
    const keep = button('cancel-erase secondary', t.cancel, format(t.gdprCancelWho, { subject }));
    const actions = element('div', 'form-actions');
    actions.append(confirm, keep);
    confirmForm.append(formTitle, warning, field, actions);

    const fail = (message) => showFieldMessage(problem, message, [input], message ? input : null);
    const check = () => {
      const reason = input.value.trim();
      if (!reason) {
        fail(t.gdprReasonMissing);
        return null;
      }
      if ([...reason].length > MAX_REASON) {
        fail(t.gdprReasonTooLong);
        return null;
      }
      return reason;
    };
    const send = async (reason) => {
      try {
        const path = `/api/v1/gdpr/subjects/${encodeURIComponent(subject)}/erase`;
        const done = await apiSend(t, 'POST', path, session.csrf_token, { reason });
        if (done?.awaiting_second_approver) {
          // privacy.erasure_second_approver: another person with the erasure permission must confirm.
          asking(false);
          erase.focus();
          say(format(t.gdprErasureRequested, { subject }));
          return;
        }
        const erased = done?.erased ?? {};
        dropSubject(node, subject);
        say(format(t.gdprErased, { chats: count(erased.conversations), offline: count(erased.offline_requests), mails: count(erased.mails) }));
      } catch (e) {
        if (e.code === 'unknown_subject') {
          dropSubject(node, subject);
          say(format(t.gdprAlreadyErased, { subject }));
        } else {
          fail(e.message);
        }
      }
    };
    const asking = inlineForm({ open: erase, form: confirmForm, keep, submit: confirm, working: t.gdprErasing, first: input, fail, check, send });
    const area = element('div', 'gdpr-erase-area');
    area.append(erase, confirmForm);
    return area;
  }

  /** Takes an erased subject off the results (and its transcript off the page). */
  function dropSubject(node, subject) {
    if (shownSubject === subject) closeTranscript(false);
    removeEntry(node, ['.erase-subject', '.view-transcript'], heading);
  }

  showHint();
}
