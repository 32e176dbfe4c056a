// The operator console: hash routes, one page module each; data only through the authorised /api endpoints.
import { explain, get, token } from './api.js';
import { append, h, message } from './dom.js';
import { buildsPage } from './builds.js';
import { deadLetterPage, deadLettersPage } from './dead-letters.js';
import { enrollmentsPage, sagaPage } from './enrollments.js';
import { eventsPage } from './events.js';
import { processorsPage } from './processors.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const signout = document.getElementById('signout');
let timers = [];

const ROUTES = [
  [/^#\/processors$/, processorsPage, 'Processors'],
  [/^#\/dead-letters\/(.+)$/, deadLetterPage, 'Dead letter'],
  [/^#\/dead-letters(?:\?(.*))?$/, deadLettersPage, 'Dead letters', 'query'],
  [/^#\/enrollments\/([^?]+)$/, sagaPage, 'Enrollment'],
  [/^#\/enrollments(?:\?(.*))?$/, enrollmentsPage, 'Enrollments', 'query'],
  [/^#\/events(?:\/(.+))?$/, eventsPage, 'Event lookup'],
  [/^#\/builds$/, buildsPage, 'Replay builds'],
];

const ctx = {
  go: (hash) => {
    if (location.hash === hash) void render();
    else location.hash = hash;
  },
  /** A refresh that stops when the page changes; a failed refresh says so on the page and keeps trying. */
  every: (ms, fn) => {
    const id = setInterval(() => {
      Promise.resolve(fn()).catch((e) => showError(e));
    }, ms);
    timers.push(id);
  },
  focusMain: () => main.focus(),
};

function showError(e) {
  const old = main.querySelector('.message.error.refresh');
  const m = message(explain(e), true);
  m.classList.add('refresh');
  if (old) old.replaceWith(m);
  else main.prepend(m);
  if (e?.status === 401) signOut();
}

function signOut() {
  token.clear();
  location.hash = '';
  void render();
}

function signInPage(view, note) {
  const area = h('textarea', { id: 'token', name: 'token', rows: 4, required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    { 'aria-label': 'Sign in' },
    h('label', { for: 'token' }, 'Admin token (a JWT; kept for this browser tab only)', area),
    h('p', { class: 'muted' }, 'For a local stack: npm run token -- --sub USR-ADMIN-001 --role admin'),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  const out = h('div', {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    token.set(area.value.trim());
    try {
      await get('/api/v1/ops/processors'); // an admin-only endpoint: proves the token before any page shows
      location.hash = '#/processors';
      await render();
    } catch (err) {
      token.clear();
      out.replaceChildren(message(explain(err), true));
    }
  });
  append(view, h('h1', {}, 'Sign in'), note ? message(note, true) : null, form, out);
  area.focus();
}

async function render() {
  for (const t of timers) clearInterval(t);
  timers = [];
  const view = h('div', {});
  main.replaceChildren(view);
  const signedIn = Boolean(token.get());
  nav.hidden = !signedIn;
  signout.hidden = !signedIn;
  if (!signedIn) return signInPage(view);
  const hash = location.hash || '#/processors';
  const route = ROUTES.find(([re]) => re.test(hash));
  for (const a of nav.querySelectorAll('a')) {
    const here = hash.startsWith(a.getAttribute('href').split('?')[0]);
    if (here) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!route) {
    append(view, message(`No page ${hash}.`, true));
    return;
  }
  const [re, page, title, kind] = route;
  document.title = `${title} — School events console`;
  const arg = hash.match(re)?.[1];
  try {
    // A query string stays encoded (the page parses it); an id in the path is decoded.
    await page(view, ctx, arg === undefined || kind === 'query' ? arg : decodeURIComponent(arg));
  } catch (e) {
    append(view, message(explain(e), true));
    if (e?.status === 401) signOut();
  }
  main.setAttribute('aria-busy', 'false');
}

signout.addEventListener('click', signOut);
window.addEventListener('hashchange', () => {
  void render().then(() => main.focus());
});
void render();
