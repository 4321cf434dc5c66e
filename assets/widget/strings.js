// Every string the widget shows, one table per language. `{name}`, `{n}`, `{day}` and `{time}`
// are filled in by `format`. Keys used in index.html through data-t="key" are marked (page). A
// site's theme may replace `title` and `intro` (its own title and greeting, see widget.js).

const en = {
  title: 'Chat with us', // page
  connecting: 'Connecting…',
  ready: 'Connected.',
  offline: 'Chat is not available right now. Trying again…',
  reconnecting: 'Connection lost. Reconnecting…',
  privacy: 'Privacy notice', // page
  intro: 'Tell us your name and your question, and an adviser will reply here.', // page
  nameLabel: 'Your name', // page
  questionLabel: 'Your question', // page
  basisPublicTask: 'We use your details to answer your enquiry, as part of our public task. No consent is needed to chat; see our ', // page
  basisLegitimateInterests: 'We use your details to answer your enquiry, in our legitimate interests. No consent is needed to chat; see our ',
  consentLink: 'privacy notice', // page
  consentAfter: '.', // page
  consentLabel: 'I agree to my details being used to answer my enquiry, as described in the privacy notice', // page
  marketingLabel: 'You may contact me about related services (optional; you can withdraw this at any time)', // page
  startChat: 'Start chat', // page
  nameMissing: 'Enter your name',
  nameTooLong: 'Your name must be 100 characters or fewer',
  questionMissing: 'Enter your question',
  questionTooLong: 'Your question must be 4,000 characters or fewer',
  consentMissing: 'Tick the box to agree before you start the chat',
  startFailed: 'The chat could not be started. Check your details and try again.',
  chatTitle: 'Conversation', // page
  messagesLabel: 'Messages', // page
  starting: 'Starting your chat…',
  waiting: 'Waiting for an adviser…',
  queue: 'You are number {n} in the queue',
  chattingWith: 'You are chatting with {name}',
  typing: '{name} is typing…',
  typingAnon: 'The adviser is typing…',
  you: 'You',
  adviser: 'Adviser',
  system: 'Notice',
  sending: 'sending…',
  replyLabel: 'Your message', // page
  replyHint: 'Press Enter to send, or Shift and Enter for a new line.', // page
  send: 'Send', // page
  endChat: 'End chat', // page
  messageMissing: 'Type a message first',
  messageTooLong: 'Your message must be 4,000 characters or fewer',
  tooFast: 'You are sending messages too quickly. Please wait a moment.',
  failed: 'Something went wrong. Please try again.',
  ended: 'This chat has ended', // page
  newChat: 'Start a new chat', // page
  rateLegend: 'How would you rate this chat?', // page
  rate1: '1 – very poor', // page
  rate2: '2 – poor', // page
  rate3: '3 – average', // page
  rate4: '4 – good', // page
  rate5: '5 – very good', // page
  rateComment: 'Comment (optional)', // page
  rateSend: 'Send rating', // page
  rateMissing: 'Choose a rating from 1 to 5',
  rateThanks: 'Thank you for your feedback.',
  offlineTitle: 'Leave us a message', // page
  offlineIntro: 'No adviser is available right now. Leave a message and we will reply by e-mail.', // page
  emailLabel: 'Your e-mail address', // page
  offlineMessageLabel: 'Your message', // page
  offlineSend: 'Send message', // page
  offlineThanks: 'Thank you. We have your message and will reply by e-mail.', // page
  emailMissing: 'Enter your e-mail address',
  emailInvalid: 'Enter an e-mail address like name@example.org',
  mailLegend: 'E-mail me a copy of this chat', // page
  mailLabel: 'E-mail address', // page
  mailSend: 'Send transcript', // page
  mailSent: 'The transcript is on its way.',
  mailFailed: 'The transcript could not be sent.',
  optional: '(optional)',
  choose: 'Choose…',
  fieldMissing: 'Enter',
  telInvalid: 'Enter a phone number, using digits, spaces and + only',
  departmentLabel: 'Which team do you need?', // page
  offlineDepartmentLabel: 'Which team is your message for?', // page
  departmentMissing: 'Choose the team you need',
  departmentClosed: '(closed)',
  departmentBusy: '(no one available)',
  departmentUnknown: 'That team cannot take chats here. Choose a team from the list and try again.',
  departmentOffline: 'No one in that team can chat right now. Leave a message and we will reply by e-mail.',
  opensAgain: "We're open again on {day} at {time}",
  // For browsers whose Intl has no names in the widget's language (see offline.js).
  weekdays: ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'],
  months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'],
  rememberLabel: 'Remember this device for a year, so advisers can see my earlier chats (sets a cookie; optional)', // page
  forget: 'Forget this device', // page
  forgotten: 'This device is no longer remembered.',
};

const cy = {
  title: 'Sgwrsio â ni',
  connecting: 'Yn cysylltu…',
  ready: 'Wedi cysylltu.',
  offline: 'Nid yw sgwrsio ar gael ar hyn o bryd. Yn ceisio eto…',
  reconnecting: 'Mae’r cysylltiad wedi’i golli. Yn ailgysylltu…',
  privacy: 'Hysbysiad preifatrwydd',
  intro: 'Rhowch eich enw a’ch cwestiwn i ni, a bydd cynghorydd yn ateb yma.',
  nameLabel: 'Eich enw',
  questionLabel: 'Eich cwestiwn',
  basisPublicTask: 'Rydym yn defnyddio eich manylion i ateb eich ymholiad, fel rhan o’n tasg gyhoeddus. Nid oes angen caniatâd i sgwrsio; gweler ein ',
  basisLegitimateInterests: 'Rydym yn defnyddio eich manylion i ateb eich ymholiad, er ein buddiannau dilys. Nid oes angen caniatâd i sgwrsio; gweler ein ',
  consentLink: 'hysbysiad preifatrwydd',
  consentAfter: '.',
  consentLabel: 'Rwy’n cytuno i’m manylion gael eu defnyddio i ateb fy ymholiad, fel y disgrifir yn yr hysbysiad preifatrwydd',
  marketingLabel: 'Cewch gysylltu â mi am wasanaethau cysylltiedig (dewisol; gallaf dynnu hyn yn ôl unrhyw bryd)',
  startChat: 'Dechrau sgwrs',
  nameMissing: 'Rhowch eich enw',
  nameTooLong: 'Rhaid i’ch enw fod yn 100 nod neu lai',
  questionMissing: 'Rhowch eich cwestiwn',
  questionTooLong: 'Rhaid i’ch cwestiwn fod yn 4,000 nod neu lai',
  consentMissing: 'Ticiwch y blwch i gytuno cyn i chi ddechrau’r sgwrs',
  startFailed: 'Nid oedd modd dechrau’r sgwrs. Gwiriwch eich manylion a rhowch gynnig arall arni.',
  chatTitle: 'Sgwrs',
  messagesLabel: 'Negeseuon',
  starting: 'Yn dechrau eich sgwrs…',
  waiting: 'Yn aros am gynghorydd…',
  queue: 'Rydych chi’n rhif {n} yn y ciw',
  chattingWith: 'Mae {name} yn sgwrsio â chi',
  typing: 'Mae {name} yn teipio…',
  typingAnon: 'Mae’r cynghorydd yn teipio…',
  you: 'Chi',
  adviser: 'Cynghorydd',
  system: 'Hysbysiad',
  sending: 'yn anfon…',
  replyLabel: 'Eich neges',
  replyHint: 'Pwyswch Enter i anfon, neu Shift ac Enter am linell newydd.',
  send: 'Anfon',
  endChat: 'Gorffen y sgwrs',
  messageMissing: 'Teipiwch neges yn gyntaf',
  messageTooLong: 'Rhaid i’ch neges fod yn 4,000 nod neu lai',
  tooFast: 'Rydych chi’n anfon negeseuon yn rhy gyflym. Arhoswch am eiliad.',
  failed: 'Aeth rhywbeth o’i le. Rhowch gynnig arall arni.',
  ended: 'Mae’r sgwrs hon wedi dod i ben',
  newChat: 'Dechrau sgwrs newydd',
  rateLegend: 'Sut fyddech chi’n sgorio’r sgwrs hon?',
  rate1: '1 – gwael iawn',
  rate2: '2 – gwael',
  rate3: '3 – cymedrol',
  rate4: '4 – da',
  rate5: '5 – da iawn',
  rateComment: 'Sylw (dewisol)',
  rateSend: 'Anfon sgôr',
  rateMissing: 'Dewiswch sgôr o 1 i 5',
  rateThanks: 'Diolch am eich adborth.',
  offlineTitle: 'Gadewch neges i ni',
  offlineIntro: 'Does dim cynghorydd ar gael ar hyn o bryd. Gadewch neges a byddwn yn ateb drwy e-bost.',
  emailLabel: 'Eich cyfeiriad e-bost',
  offlineMessageLabel: 'Eich neges',
  offlineSend: 'Anfon neges',
  offlineThanks: 'Diolch. Mae eich neges gyda ni a byddwn yn ateb drwy e-bost.',
  emailMissing: 'Rhowch eich cyfeiriad e-bost',
  emailInvalid: 'Rhowch gyfeiriad e-bost fel enw@enghraifft.org',
  mailLegend: 'Anfon copi o’r sgwrs hon ataf drwy e-bost',
  mailLabel: 'Cyfeiriad e-bost',
  mailSend: 'Anfon trawsgrifiad',
  mailSent: 'Mae’r trawsgrifiad ar ei ffordd.',
  mailFailed: 'Nid oedd modd anfon y trawsgrifiad.',
  optional: '(dewisol)',
  choose: 'Dewiswch…',
  fieldMissing: 'Rhowch',
  telInvalid: 'Rhowch rif ffôn, gan ddefnyddio digidau, bylchau a + yn unig',
  departmentLabel: 'Pa dîm sydd ei angen arnoch chi?',
  offlineDepartmentLabel: 'I ba dîm mae eich neges?',
  departmentMissing: 'Dewiswch y tîm sydd ei angen arnoch chi',
  departmentClosed: '(ar gau)',
  departmentBusy: '(neb ar gael)',
  departmentUnknown: 'Ni all y tîm hwnnw gymryd sgyrsiau yma. Dewiswch dîm o’r rhestr a rhowch gynnig arall arni.',
  departmentOffline: 'Does neb yn y tîm hwnnw ar gael i sgwrsio ar hyn o bryd. Gadewch neges a byddwn yn ateb drwy e-bost.',
  // {day} is "ddydd Llun 24 Tachwedd" (the weekday mutated after "eto"), see offline.js.
  opensAgain: 'Byddwn ar agor eto {day} am {time}',
  weekdays: ['dydd Sul', 'dydd Llun', 'dydd Mawrth', 'dydd Mercher', 'dydd Iau', 'dydd Gwener', 'dydd Sadwrn'],
  months: ['Ionawr', 'Chwefror', 'Mawrth', 'Ebrill', 'Mai', 'Mehefin', 'Gorffennaf', 'Awst', 'Medi', 'Hydref', 'Tachwedd', 'Rhagfyr'],
  rememberLabel: 'Cofio’r ddyfais hon am flwyddyn, fel y gall cynghorwyr weld fy sgyrsiau blaenorol (mae’n gosod cwci; dewisol)',
  forget: 'Anghofio’r ddyfais hon',
  forgotten: 'Nid yw’r ddyfais hon yn cael ei chofio mwyach.',
};

export const STRINGS = { en, cy };

/** Fills `{key}` placeholders from `values`. */
export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}
