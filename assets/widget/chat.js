// Chat view: the transcript, the adviser's typing indicator, the reply box and "End chat".
import { Transcript } from '/common/transcript.js';
import { composer } from '/common/composer.js';
import { format } from './strings.js';

/** An adviser who stops typing without saying so (a lost frame) stops showing after this. */
const TYPING_SHOWN_MS = 10000;

/** Wires #chat-view. Callbacks: onSend(text) → '' or an error, onTyping(active), onEnd(). */
export function chatView(t, lang, { onSend, onTyping, onEnd }) {
  const view = document.getElementById('chat-view');
  const form = document.getElementById('reply-form');
  const reply = document.getElementById('reply');
  const typing = document.getElementById('typing');
  const clock = new Intl.DateTimeFormat(lang === 'cy' ? 'cy-GB' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  const transcript = new Transcript(document.getElementById('messages'), {
    self: 'visitor',
    sending: t.sending,
    author: (m) => (m.author === 'visitor' ? t.you : m.author === 'operator' ? m.name || t.adviser : t.system),
    time: (at) => {
      const date = new Date(at);
      return Number.isNaN(date.getTime()) ? '' : clock.format(date);
    },
  });
  const box = composer(form, reply, document.getElementById('reply-error'), {
    onSend,
    onTyping,
    strings: { empty: t.messageMissing, tooLong: t.messageTooLong },
  });
  document.getElementById('end-chat').addEventListener('click', onEnd);
  let typingTimer = null;

  /** Shows or hides "<name> is typing…". */
  function showTyping(name, active) {
    clearTimeout(typingTimer);
    const text = !active ? '' : name ? format(t.typing, { name }) : t.typingAnon;
    if (typing.textContent !== text) typing.textContent = text;
    if (active) typingTimer = setTimeout(() => showTyping(null, false), TYPING_SHOWN_MS);
  }

  return {
    transcript,
    showTyping,
    open() {
      view.hidden = false;
      form.hidden = false;
      box.setEnabled(true);
    },
    /** Leaves the chat view, emptied for the next chat. */
    close() {
      view.hidden = true;
      transcript.clear();
      showTyping(null, false);
      reply.value = '';
    },
    /** The chat has ended: the transcript stays, the reply box goes. */
    end() {
      box.setEnabled(false);
      form.hidden = true;
      showTyping(null, false);
    },
    focus() {
      reply.focus();
    },
  };
}
