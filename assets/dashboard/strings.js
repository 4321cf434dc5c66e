// Strings of the staff dashboard (live chats, stored chats, offline requests), one table per
// language (the dashboard is English-only so far; a `cy` table goes beside `en` when it is
// translated). `{key}` is filled in by `format`.

const en = {
  queueEmpty: 'No visitors waiting',
  queueMore: 'and {n} more waiting: they appear here as the first ones are taken',
  queueMoreOne: 'and 1 more waiting: they appear here as the first ones are taken',
  accept: 'Accept',
  acceptWho: ' chat with {name}',
  accepting: 'Accepting…',
  site: 'Site: {site}',
  waited: 'Waiting {time}',
  seconds: '{s} s',
  minutes: '{m} min {s} s',
  hours: '{h} h {m} min',
  messagesWith: 'Messages with {name}',
  replyTo: 'Reply to {name}',
  replyHint: 'Enter sends. Shift and Enter adds a new line. Type / and a shortcut to use a canned response.',
  send: 'Send',
  closeChat: 'Close chat',
  removeTab: 'Remove this tab',
  ended: 'This chat has ended.',
  typing: '{name} is typing…',
  unread: ' unread',
  you: 'You',
  visitor: 'Visitor',
  operator: 'Operator',
  system: 'Notice',
  sending: 'sending…',
  messageMissing: 'Type a message first',
  messageTooLong: 'Messages must be 4,000 characters or fewer',
  connecting: 'Connecting to live chat…',
  connected: 'Live chat connected.',
  reconnecting: 'Live chat connection lost. Reconnecting…',
  newVisitor: 'New visitor waiting: {name}',
  newMessage: 'New message from {name}',
  chatEnded: 'The chat with {name} has ended.',
  taken: 'Another operator accepted that chat first.',
  notConnected: 'Not connected to live chat. Try again in a moment.',
  tooFast: 'Too many actions at once. Trying again shortly.',
  failed: 'Something went wrong with the last action.',

  // Departments ("teams") on queue entries, chat tabs and headings, and the queue filter.
  team: 'Team: {team}',
  tabTeam: ', team ',
  queueFilter: 'Show visitors for',
  allTeams: 'All teams',
  queueEmptyTeam: 'No visitors waiting for this team ({n} waiting for other teams)',
  queueFiltered: 'Showing {shown} of {n} waiting visitors.',
  queueUnfiltered: 'Showing all {n} waiting visitors.',

  // Internal notes beside each chat (notes.js): staff only, never sent to the visitor.
  notesTitle: 'Internal notes — the visitor does not see these',
  notesNone: 'No notes yet.',
  noteLabel: 'New internal note',
  addNote: 'Add note',
  noteSaving: 'saving…',
  noteNotSaved: 'Not saved: the chat ended first.',
  noteMissing: 'Type a note first',
  noteTooLong: 'Notes must be 4,000 characters or fewer',

  // Handing a chat to a colleague (transfer.js).
  transferTitle: 'Transfer this chat',
  transferTo: 'Colleague’s user name',
  transferToHint: 'The user name they sign in with. They must have the dashboard open.',
  transferNote: 'Note for your colleague (optional)',
  transferNoteHint: 'Kept with the internal notes. The visitor does not see it.',
  transfer: 'Transfer',
  transferring: 'Transferring…',
  transferWhoMissing: 'Enter your colleague’s user name',
  chatTransferred: 'Chat transferred to {name}',
  transferredToYou: '{from} transferred the chat with {name} to you',
  transferredEnded: 'You transferred this chat to {name}.',
  transferFailed: 'The transfer did not go through. Try again.',
  transferUnconfirmed: 'The connection was lost before the transfer was confirmed. If this chat is still open once live chat reconnects, try again.',
  transferKind: 'Transfer to',
  transferKindUser: 'A colleague',
  transferKindTeam: 'A team’s queue',
  transferTeam: 'Team',
  transferTeamHint: 'The chat goes back to the queue for that team, with your note. The visitor is told they are waiting again.',
  chooseTeam: '— choose a team —',
  teamClosed: '{name} (closed)',
  teamUnavailable: '{name} (nobody available)',
  transferTeamMissing: 'Choose a team',
  chatTransferredTeam: 'Chat sent to the queue for {team}',
  transferredEndedTeam: 'You sent this chat to the queue for {team}.',

  // Visitor details beside each chat (visitor.js).
  visitorDetails: 'Visitor details',
  visitorWaiting: 'Loading the visitor’s details…',
  visitorName: 'Name',
  visitorPage: 'Started the chat on',
  visitorReferrer: 'Came from',
  notKnown: 'Not known',
  opensInNewTab: 'Opens in a new browser tab',
  earlierChats: 'Earlier chats',
  noEarlierChats: 'No earlier chats',
  earlierChatOf: ' of the earlier chat started {started}',
  earlierTranscriptTitle: 'Earlier chat started {started}',
  transcriptEmpty: 'This chat has no messages.',
  closeTranscript: 'Close transcript',

  // Canned responses in the reply box (canned.js).
  cannedList: 'Canned responses',
  cannedShared: 'shared',
  cannedMatches: '{n} canned responses match. Up and Down arrows choose, Enter or Tab inserts, Escape closes.',
  cannedMatchesOne: '1 canned response matches. Enter or Tab inserts it, Escape closes.',
  cannedInserted: 'Canned response /{shortcut} inserted.',

  // Availability (#availability); the button's label stays "Available", aria-pressed says whether.
  availableNow: 'Your status: available for new chats.',
  awayNow: 'Your status: away. If no other operator is available, new visitors are offered the leave-a-message form.',
  availabilityChanging: 'Updating your status…',
  availabilityOffline: 'Not connected. Your status is sent when live chat reconnects.',
  maxChatsWrong: 'Enter a whole number from 1 to 20',
  maxChatsSaved: 'You will be offered up to {n} chats at once.',
  maxChatsSavedOne: 'You will be offered 1 chat at a time.',

  // Requests to the staff API (api.js).
  unreachable: 'The server could not be reached. Check your connection and try again.',
  requestFailed: 'The request failed ({status}).',
  signedOut: 'Your session has ended. Reload the page to sign in again.',

  // Stored chats (history.js).
  searching: 'Searching…',
  found: '{n} chats found, newest first.',
  foundOne: '1 chat found.',
  foundNone: '0 chats found.',
  foundMax: 'Showing the newest {n} chats. Narrow the filters to find older ones.',
  dateIncomplete: 'Enter a full date, or clear the date field.',
  datesReversed: 'The From date must be on or before the To date.',
  notTaken: 'None',
  noTeam: 'None',
  notRated: 'Not rated',
  statusQueued: 'Queued',
  statusActive: 'Active',
  statusClosed: 'Closed',
  viewTranscript: 'View transcript',
  viewTranscriptOf: ' of the chat with {name}, {started}',
  loadingTranscript: 'Loading the transcript…',
  transcriptTitle: 'Transcript: chat with {name}, {started}',
  transcriptShown: 'Transcript loaded: {n} messages.',

  // Offline requests (offline.js).
  loadingRequests: 'Loading offline requests…',
  requestsShown: '{n} offline requests.',
  requestsShownOne: '1 offline request.',
  requestsShownNone: '0 offline requests.',
  email: 'E-mail',
  siteLabel: 'Site',
  received: 'Received',
  doneAt: 'Marked as done',
  markDone: 'Mark as done',
  markDoneWho: ' (message from {name})',
  markingDone: 'Marking as done…',
  markedDone: 'Marked as done',
  alreadyDone: 'Someone else has already marked that request as done.',
  teamLabel: 'Team',
  assignedTo: 'Assigned to',
  nobody: 'Nobody',
  repliedAt: 'Replied by e-mail',
  userOption: '{name} ({username})',
  assignTo: 'Assign to',
  assign: 'Assign',
  assignWho: ' (message from {name})',
  assignMe: 'Assign to me',
  assigning: 'Assigning…',
  assignedToName: 'Message from {name} assigned to {user}',
  unassigned: 'Message from {name} assigned to nobody',
  assignedElsewhere: 'Message from {name} assigned to {user}, so it is no longer in your list',
  unassignedElsewhere: 'Message from {name} assigned to nobody, so it is no longer in your list',
  replyByEmail: 'Reply by e-mail to {name}',
  replyByEmailHint: 'Sent to {email} from the appliance’s own address; the request is then marked as done.',
  sendReply: 'Send reply',
  sendReplyWho: ' to {name}',
  sendingReply: 'Sending…',
  replyMissing: 'Type your reply first',
  replyTooLong: 'Replies must be 4,000 characters or fewer',
  replyQueued: 'Reply queued for sending',
  mailFallback: 'Write to {email} with your e-mail program instead',
  // Sign-in and "Your account" (account.js)
  signInMissing: 'Enter your user name and password.',
  totpNeeded: 'Enter the six-digit code from your authenticator app, or a recovery code.',
  passwordRequired: 'Before you continue, choose a new password.',
  totpRequired: 'Your role needs two-factor sign-in. Set up an authenticator app to continue.',
  passwordMissing: 'Enter your current password and a new one.',
  passwordMismatch: 'The two new passwords are different. Type the same password twice.',
  passwordChanged: 'Password changed. You stay signed in here; your other sessions have ended.',
  totpDirectory: 'Your account signs in through the organisation’s directory, which handles two-factor sign-in.',
  totpOn: 'Two-factor sign-in is on. Recovery codes left: {left}.',
  totpOff: 'Two-factor sign-in is off.',
  totpCodeFormat: 'Enter the six digits the app shows.',
  thisSession: 'This browser',
  endSession: 'End',
  endSessionWho: 'End the session of {agent} signed in {at}',
  sessionEnded: 'Session ended.',
};

export const STRINGS = { en };

export function strings() {
  return STRINGS[document.documentElement.lang] || en;
}

/** Fills `{key}` placeholders from `values`. */
export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

const dateTimeFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short' });

/** An RFC 3339 time as a local date and time, e.g. "23 Nov 2026, 10:15" ('' if unreadable). */
export function dateTime(at) {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
}

/** A conversation status (queued, active, closed) in words. */
export function statusLabel(t, status) {
  return { queued: t.statusQueued, active: t.statusActive, closed: t.statusClosed }[status] || String(status ?? '');
}

/** A department from a frame or the API (`{key, name}` or null) as its name ('' for none). */
export function teamName(department) {
  if (!department || typeof department !== 'object') return '';
  const name = typeof department.name === 'string' && department.name ? department.name : department.key;
  return typeof name === 'string' ? name : '';
}

/** How long since `since` (an RFC 3339 time), e.g. "3 min 05 s". */
export function elapsed(t, since) {
  const total = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000)) || 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  if (h) return format(t.hours, { h, m: String(m).padStart(2, '0') });
  if (m) return format(t.minutes, { m, s });
  return format(t.seconds, { s: total });
}
