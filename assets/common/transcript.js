// One conversation's message list (an <ol>): messages in seq order, each seq shown once, and
// messages still waiting for their `ack` shown greyed at the end. Text always goes in with
// textContent. `lastSeq` is the highest seq up to which nothing is missing: the value to send in
// `resume`/`join`. The server sends a conversation's seqs in order without gaps on one
// connection (docs/protocol.md, "Message order and resuming"), so this is also the highest seq
// seen; counting only what is contiguous keeps a replay complete even if that ever failed.
// Shared by the widget and the dashboard: served at /common/ on both listeners.

const KINDS = ['visitor', 'operator', 'system'];

export class Transcript {
  /**
   * @param {HTMLOListElement} list
   * @param {{author: (m: object) => string, time: (at: string) => string, sending: string,
   *   self: string}} labels — `self` is our own side's author kind ('visitor' or 'operator')
   */
  constructor(list, labels) {
    this.list = list;
    this.labels = labels;
    this.clear();
  }

  clear() {
    this.seen = new Set();
    this.lastSeq = 0;
    this.pending = new Map();
    this.list.replaceChildren();
  }

  /** Whether `seq` is already shown (or before the point we resumed from). */
  has(seq) {
    return seq <= this.lastSeq || this.seen.has(seq);
  }

  /** Shows a message event; false when it was a duplicate. */
  add(message) {
    const seq = Number(message.seq);
    if (!Number.isInteger(seq) || seq < 1 || this.has(seq)) return false;
    const mine = this.pending.get(message.id);
    if (mine) {
      // Our own message, replayed before its ack arrived: the event replaces the greyed copy.
      mine.remove();
      this.pending.delete(message.id);
    }
    this.place(this.item(message), seq);
    this.mark(seq);
    return true;
  }

  /** Shows a message of ours that the server has not confirmed yet. */
  addPending(id, text, author) {
    if (this.pending.has(id)) return;
    const li = this.item({ author: this.labels.self, mine: true, name: author, text, at: '' });
    li.classList.add('pending');
    const state = document.createElement('span');
    state.className = 'state';
    state.textContent = this.labels.sending;
    li.append(state);
    this.pending.set(id, li);
    this.list.append(li);
    this.scroll(true);
  }

  /** The server stored our message `id` as `seq`. */
  ack(id, seq) {
    const li = this.pending.get(id);
    if (!li) return;
    this.pending.delete(id);
    if (this.has(seq)) {
      li.remove();
      return;
    }
    li.classList.remove('pending');
    li.querySelector('.state')?.remove();
    const time = li.querySelector('time');
    const now = new Date().toISOString();
    time.dateTime = now;
    time.textContent = this.labels.time(now);
    li.dataset.seq = String(seq);
    this.place(li, seq);
    this.mark(seq);
  }

  mark(seq) {
    this.seen.add(seq);
    while (this.seen.has(this.lastSeq + 1)) {
      this.seen.delete(this.lastSeq + 1);
      this.lastSeq += 1;
    }
  }

  item(message) {
    const li = document.createElement('li');
    const kind = KINDS.includes(message.author) ? message.author : 'system';
    li.className = `msg msg-${kind}${message.mine ? ' self' : ''}`;
    if (message.seq) li.dataset.seq = String(message.seq);
    const author = document.createElement('span');
    author.className = 'author';
    author.textContent = message.mine ? message.name : this.labels.author(message);
    const time = document.createElement('time');
    time.dateTime = message.at || '';
    time.textContent = message.at ? this.labels.time(message.at) : '';
    const text = document.createElement('span');
    text.className = 'text';
    text.textContent = String(message.text ?? '');
    li.append(author, ' ', time, text);
    return li;
  }

  /** Inserts before the first item with a higher seq or still pending. */
  place(li, seq) {
    let before = null;
    for (const other of this.list.children) {
      if (other !== li && (!other.dataset.seq || Number(other.dataset.seq) > seq)) {
        before = other;
        break;
      }
    }
    const atEnd = this.atEnd();
    this.list.insertBefore(li, before);
    this.scroll(atEnd);
  }

  /** Whether the list is scrolled to (nearly) its end, so new items should stay in view. */
  atEnd() {
    const list = this.list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  }

  scroll(follow) {
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }
}
