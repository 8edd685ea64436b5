// The dashboard shell: login, connection screen, navigation and hash routing.
//
// Pages are ES modules in ./pages/<name>.js defining <so-page-name>; the shell imports a page on
// first visit, creates the element, sets `el.hub = hub` and appends it (README.md has the contract).

import { Hub } from './hub.js';
import { h, render } from './util.js';

export const ROUTES = [
  { name: 'dashboard', title: 'Dashboard', key: '1' },
  { name: 'drives', title: 'Drives', key: '2' },
  { name: 'automations', title: 'Automations', key: '3' },
  { name: 'jobs', title: 'Jobs', key: '4' },
  { name: 'assets', title: 'Assets', key: '5' },
  { name: 'clip', title: 'Clip Assist', key: '6' },
  { name: 'overlays', title: 'Overlays', key: '7' },
  { name: 'reports', title: 'Reports', key: '8' },
  { name: 'settings', title: 'Settings', key: '9' },
  { name: 'wizard', title: 'First run', key: '0' },
];

const hub = new Hub();
window.hub = hub; // for the console and for tests
const app = document.getElementById('app');
let main = null;
let currentRoute = null;
let banner = null;

// -- theme -----------------------------------------------------------------------------------
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  try {
    localStorage.setItem('so-theme', theme);
  } catch {
    /* storage refused: the choice lasts this visit */
  }
}

function storedTheme() {
  try {
    return localStorage.getItem('so-theme') || 'dark';
  } catch {
    return 'dark';
  }
}

// -- login -----------------------------------------------------------------------------------
async function isLoggedIn() {
  // /auth/session answers 200 with or without a session (no failed request on the login page).
  const response = await fetch('/auth/session', { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new Error(`the hub answered HTTP ${response.status}`);
  return (await response.json()).authenticated;
}

function showLogin(message = '') {
  app.setAttribute('aria-busy', 'false');
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    required: true,
    placeholder: 'paste your token or login link',
  });
  const status = h('p', { class: 'error', role: 'alert' }, message);
  const form = h(
    'form',
    {
      class: 'login card',
      onsubmit: async (ev) => {
        ev.preventDefault();
        let token = input.value.trim();
        const match = token.match(/[?&]token=([^&#\s]+)/);
        if (match) token = decodeURIComponent(match[1]);
        status.textContent = '';
        // The login link's endpoint swaps the token for an HttpOnly session cookie; the token is
        // not stored anywhere by this page.
        const response = await fetch(`/auth/login?token=${encodeURIComponent(token)}`, {
          credentials: 'same-origin',
          redirect: 'manual',
        });
        input.value = '';
        if (response.type === 'opaqueredirect' || response.ok) {
          start();
        } else {
          const body = await response.json().catch(() => ({}));
          status.textContent = body.message || `login failed (HTTP ${response.status})`;
        }
      },
    },
    h('h1', {}, 'StreamOps'),
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    h(
      'p',
      { class: 'hint' },
      'Open the login link printed by the hub on its first run, or create a token with ',
      h('code', {}, 'streamops token create NAME'),
      '.',
    ),
    status,
  );
  render(app, form);
  input.focus();
}

// -- unreachable screen ----------------------------------------------------------------------
function showBanner(text) {
  if (!banner) {
    banner = h('div', { class: 'unreachable', role: 'alert', id: 'unreachable' });
    document.body.append(banner);
  }
  render(banner, h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('strong', {}, 'Hub unreachable — reconnecting'), h('span', {}, text));
  document.body.classList.add('offline');
}

function hideBanner() {
  banner?.remove();
  banner = null;
  document.body.classList.remove('offline');
}

hub.addEventListener('reconnecting', (ev) => {
  const { attempt, delay } = ev.detail;
  showBanner(`attempt ${attempt}, next try in ${(delay / 1000).toFixed(1)} s`);
});
hub.addEventListener('connection', (ev) => {
  if (ev.detail.connected) {
    hideBanner();
    document.body.dataset.connected = 'true';
  } else {
    document.body.dataset.connected = 'false';
    showBanner('connection lost');
  }
});
hub.addEventListener('auth-invalid', () => {
  // The session ended (revoked token, expired cookie): back to the login form.
  hub.close();
  hideBanner();
  shellBuilt = false;
  showLogin('Your session has ended: log in again.');
});

// -- layout and routing ----------------------------------------------------------------------
let shellBuilt = false;

function buildShell() {
  const nav = h(
    'nav',
    { class: 'sidebar', 'aria-label': 'Pages' },
    h('div', { class: 'brand' }, h('img', { src: '/icon.svg', alt: '', width: 22, height: 22 }), 'StreamOps'),
    h(
      'ul',
      {},
      ROUTES.map((r) =>
        h('li', {}, h('a', { href: `#/${r.name}`, dataset: { route: r.name }, title: `${r.title} (Alt+${r.key})` }, r.title)),
      ),
    ),
    h(
      'div',
      { class: 'nav-foot' },
      h(
        'button',
        {
          type: 'button',
          id: 'theme-toggle',
          onclick: () => applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'),
        },
        'Light / dark',
      ),
      h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' });
            location.reload();
          },
        },
        'Log out',
      ),
    ),
  );
  main = h('main', { id: 'main', tabindex: '-1' });
  render(app, nav, main);
  app.setAttribute('aria-busy', 'false');
  shellBuilt = true;
}

function routeName() {
  const name = (location.hash.match(/^#\/([a-z_-]+)/) || [])[1];
  return ROUTES.some((r) => r.name === name) ? name : 'dashboard';
}

async function showRoute() {
  if (!shellBuilt) return;
  const name = routeName();
  if (name === currentRoute && main.firstElementChild) return;
  currentRoute = name;
  for (const a of document.querySelectorAll('nav a[data-route]')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const route = ROUTES.find((r) => r.name === name);
  document.title = `${route.title} · StreamOps`;
  const tag = `so-page-${name}`;
  try {
    if (!customElements.get(tag)) await import(`./pages/${name}.js`);
  } catch (err) {
    if (currentRoute !== name) return;
    render(main, h('div', { class: 'card' }, h('h1', {}, route.title), h('p', { class: 'error' }, `This page could not be loaded: ${err.message}`)));
    return;
  }
  if (currentRoute !== name) return; // the user moved on while the module loaded
  const el = document.createElement(tag);
  el.hub = hub;
  render(main, el);
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', showRoute);
window.addEventListener('keydown', (ev) => {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const route = ROUTES.find((r) => r.key === ev.key);
  if (route) {
    ev.preventDefault();
    location.hash = `#/${route.name}`;
  }
});

// -- start -----------------------------------------------------------------------------------
async function start() {
  applyTheme(storedTheme());
  let loggedIn;
  try {
    loggedIn = await isLoggedIn();
  } catch {
    showBanner('the hub does not answer');
    setTimeout(start, 2000);
    return;
  }
  hideBanner();
  if (!loggedIn) {
    showLogin();
    return;
  }
  buildShell();
  currentRoute = null;
  await hub.connect();
  if (!location.hash) {
    // First run: send the user to the wizard until it has been completed once.
    const done = await hub.api('GET', '/api/settings').then(
      (s) => s.settings?.find((x) => x.key === 'frontend.wizard_done')?.value,
      () => true,
    );
    location.replace(done ? '#/dashboard' : '#/wizard');
  }
  showRoute();
}

start();
