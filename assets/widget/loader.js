// Parley widget loader, embedded on the organisation's pages with
//   <script src="https://APPLIANCE/widget.js" data-site="SITE_KEY" async></script>
// Asks the appliance whether this page's origin may show the chat for that site; if so, adds a
// launcher button and an iframe served by the appliance. It sets no cookies and uses no storage
// on the host page's origin: everything else lives inside the iframe. The site's theme (from the
// same config) gives the launcher its colour and text, and the iframe its title. The outcome is
// written to <html data-parley-widget="ready|refused"> and, when refused, the console says why.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__parleyWidget) return;
  window.__parleyWidget = true;
  var base = new URL(script.src).origin;
  var site = script.getAttribute('data-site') || '';
  var lang = script.getAttribute('data-lang') || document.documentElement.lang || 'en';
  lang = lang.toLowerCase().indexOf('cy') === 0 ? 'cy' : 'en';
  var label = lang === 'cy' ? 'Sgwrsio â ni' : 'Chat with us';
  // Theme colours are "#rrggbb" with at least 4.5:1 contrast against white (checked by the
  // appliance when saved); anything else keeps the default.
  var COLOUR = /^#[0-9a-fA-F]{6}$/;
  var DEFAULT_COLOUR = '#005ea5';

  function refuse(reason) {
    document.documentElement.setAttribute('data-parley-widget', 'refused');
    console.error('Parley chat widget not started: ' + reason);
  }

  /** A theme text in the page's language only (`key_cy` in Welsh), or '' for the default. */
  function themeText(theme, key) {
    var value = theme[lang === 'cy' ? key + '_cy' : key];
    return typeof value === 'string' && value.trim() ? value : '';
  }

  function mount(theme) {
    theme = theme && typeof theme === 'object' ? theme : {};
    var colour = typeof theme.colour === 'string' && COLOUR.test(theme.colour) ? theme.colour : DEFAULT_COLOUR;
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = themeText(theme, 'launcher') || label;
    button.setAttribute('aria-expanded', 'false');
    button.style.cssText = 'position:fixed;right:1rem;bottom:1rem;z-index:2147483646;padding:.75rem 1.25rem;' +
      'font:600 1rem system-ui,sans-serif;color:#fff;border:2px solid #fff;border-radius:2rem;cursor:pointer';
    button.style.setProperty('background', colour);

    var frame = document.createElement('iframe');
    frame.title = themeText(theme, 'title') || label;
    // The page and its referrer go to the iframe (not to any storage) so operators can see where
    // the visitor started the chat.
    frame.src = base + '/widget/?site=' + encodeURIComponent(site) + '&lang=' + lang +
      '&page=' + encodeURIComponent(window.location.href.slice(0, 1000)) +
      '&ref=' + encodeURIComponent(document.referrer.slice(0, 1000));
    frame.hidden = true;
    frame.style.cssText = 'position:fixed;right:1rem;bottom:4.5rem;z-index:2147483646;width:min(22rem,calc(100vw - 2rem));' +
      'height:min(34rem,calc(100vh - 6rem));border:1px solid #0b0c0c;border-radius:.5rem;background:#fff';

    button.addEventListener('click', function () {
      frame.hidden = !frame.hidden;
      button.setAttribute('aria-expanded', String(!frame.hidden));
      if (!frame.hidden) frame.focus();
    });
    document.body.appendChild(frame);
    document.body.appendChild(button);
    document.documentElement.setAttribute('data-parley-widget', 'ready');
  }

  fetch(base + '/widget/config?site=' + encodeURIComponent(site), { credentials: 'omit' })
    .then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) return refuse(body.message || 'the appliance refused site "' + site + '"');
        var own = window.location.origin === base;
        if (!own && (body.origins || []).indexOf(window.location.origin) === -1) {
          return refuse('this page (' + window.location.origin + ') is not one of the origins allowed for site "' + site +
            '". An administrator can add it under Administration → Sites.');
        }
        mount(body.theme);
      });
    })
    .catch(function () {
      refuse('cannot reach the chat appliance at ' + base + ' (check the address in the embed snippet and the page\'s Content-Security-Policy)');
    });
})();
