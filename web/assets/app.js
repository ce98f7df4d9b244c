// Entry point and router. The gateway answers "/" and "/entry/<info_hash>" with index.html, so
// the page routes on location.pathname: "/" is the search page (its state lives in the query
// string), "/entry/<hash>" an entry page. Links are real <a href>s (they open in new tabs and
// work without this script's help); same-page navigations go through history.pushState and
// popstate re-renders, so bookmarks and the back button behave.
import { h } from './util.js';
import { searchView } from './search.js';
import { entryView } from './entry.js';

const main = document.getElementById('main');
let view = null;
let pendingScroll = null;

if ('scrollRestoration' in history) history.scrollRestoration = 'manual';

const ctx = {
  navigate,
  lastSearch: null, // the last search page shown, for the entry page's way back
  setTitle(t) {
    document.title = t ? `${t} · Weightless` : 'Weightless · registry';
  },
  /** Views call this once their content is on screen: restores the scroll of a back/forward. */
  settleScroll() {
    if (pendingScroll === null) return;
    window.scrollTo(0, pendingScroll);
    pendingScroll = null;
  },
};

function rememberScroll() {
  const st = history.state && typeof history.state === 'object' ? history.state : {};
  history.replaceState({ ...st, scrollY: window.scrollY }, '');
}

/** Go to an in-app URL. opts.replace: replace the current history entry; opts.state: its state. */
export function navigate(url, { replace = false, state = {} } = {}) {
  if (replace) {
    history.replaceState({ ...state, scrollY: 0 }, '', url);
  } else {
    rememberScroll();
    history.pushState({ ...state, scrollY: 0 }, '', url);
  }
  route({ pop: false });
}

function isAppPath(pathname) {
  return pathname === '/' || /^\/entry\/[^/]+$/.test(pathname);
}

function mount(v, { pop }) {
  if (view) view.destroy();
  view = v;
  main.replaceChildren(v.el);
  if (!pop) {
    window.scrollTo(0, 0);
    const target = v.el.querySelector('[data-autofocus]') || main;
    target.focus({ preventScroll: true });
  }
}

function route({ pop }) {
  pendingScroll = pop ? Number(history.state?.scrollY) || 0 : null;
  const path = location.pathname;
  const m = path.match(/^\/entry\/([^/]+)$/);
  if (path === '/') {
    ctx.lastSearch = path + location.search;
    if (view && view.kind === 'search') view.update({ pop });
    else mount(searchView(ctx), { pop });
  } else if (m) {
    let hash;
    try {
      hash = decodeURIComponent(m[1]);
    } catch {
      hash = m[1];
    }
    mount(entryView(ctx, hash), { pop });
  } else {
    mount(notFoundView(), { pop });
  }
}

function notFoundView() {
  ctx.setTitle('Page not found');
  const el = h('section', { class: 'notice', 'data-state': 'error' },
    h('h1', { tabindex: '-1', 'data-autofocus': true }, 'Page not found'),
    h('p', null, 'This address is not a page of the registry browser.'),
    h('p', null, h('a', { href: '/' }, 'Search the registry')));
  return { kind: 'notfound', el, update() {}, destroy() {} };
}

// Same-origin links to the app's own pages are handled here, unless the user asked for a new
// tab or window (modifier keys, middle button) or the link is a download.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.hasAttribute('download') || (a.target && a.target !== '_self')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !isAppPath(url.pathname)) return;
  if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
  e.preventDefault();
  if (url.pathname + url.search === location.pathname + location.search) return;
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => route({ pop: true }));

// "/" focuses the search box from anywhere (as on GitHub and MDN).
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const t = e.target;
  if (t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
  e.preventDefault();
  if (location.pathname !== '/') navigate('/');
  const q = document.getElementById('q');
  if (q) {
    q.focus();
    q.select();
  }
});

const ann = document.getElementById('announce-url');
if (ann) ann.textContent = `${location.origin}/announce`;

route({ pop: true });
document.documentElement.dataset.ready = 'true';
