// Widget app inside the iframe: connects to the visitor websocket and reports the state.
const STRINGS = {
  en: { title: 'Chat with us', connecting: 'Connecting…', ready: 'Connected. Live chat is being set up on this site.', offline: 'Chat is not available right now.', privacy: 'Privacy notice' },
  cy: { title: 'Sgwrsio â ni', connecting: 'Yn cysylltu…', ready: 'Wedi cysylltu. Mae sgwrsio byw yn cael ei baratoi ar y wefan hon.', offline: 'Nid yw sgwrsio ar gael ar hyn o bryd.', privacy: 'Hysbysiad preifatrwydd' },
};
const params = new URLSearchParams(window.location.search);
const lang = params.get('lang') === 'cy' ? 'cy' : 'en';
const t = STRINGS[lang];
document.documentElement.lang = lang;
document.getElementById('title').textContent = t.title;
document.getElementById('privacy').textContent = t.privacy;
const status = document.getElementById('status');
status.textContent = t.connecting;

const socket = new WebSocket(`wss://${window.location.host}/ws/visitor`);
socket.addEventListener('message', (event) => {
  const frame = JSON.parse(event.data);
  if (frame.type === 'hello') status.textContent = t.ready;
});
socket.addEventListener('close', () => { status.textContent = t.offline; });
