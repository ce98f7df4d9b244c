// The search page ("/"). Its state (q, category, publisher, tag, sort, page) lives in the query
// string: typing updates it after a pause (one history entry per burst of typing, replaced as
// the words grow), while sort, page and filter links push new entries, so Back retraces them.
// Requests that are overtaken by newer ones are aborted and their answers ignored.
import { getJSON, ApiError, describeError } from './api.js';
import { h, srOnly, icon, humanSize, exactBytes, formatCount, dateParts, splitTags } from './util.js';

export const PAGE_SIZE = 20;
const DEBOUNCE_MS = 250;
const CACHE_MS = 30000; // answers reused on back/forward so the page and its scroll come back at once
const SORTS = [
  ['created_at', 'Newest'],
  ['completions', 'Most completed'],
  ['seeders', 'Most seeded'],
];
const TEXT = ['q', 'category', 'publisher', 'tag'];
const cache = new Map();
const seen = { category: new Set(), publisher: new Set(), tag: new Set() };

export function readState(search = location.search) {
  const p = new URLSearchParams(search);
  const sort = p.get('sort');
  const page = Number.parseInt(p.get('page') || '1', 10);
  return {
    q: (p.get('q') || '').trim(),
    category: (p.get('category') || '').trim(),
    publisher: (p.get('publisher') || '').trim(),
    tag: (p.get('tag') || '').trim(),
    sort: SORTS.some(([k]) => k === sort) ? sort : 'created_at',
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

export function stateURL(s) {
  const p = new URLSearchParams();
  for (const k of TEXT) if (s[k]) p.set(k, s[k]);
  if (s.sort !== 'created_at') p.set('sort', s.sort);
  if (s.page > 1) p.set('page', String(s.page));
  const qs = p.toString();
  return qs ? `/?${qs}` : '/';
}

export function apiURL(s) {
  const p = new URLSearchParams();
  if (s.q) p.set('q', s.q);
  if (s.category) p.set('category', s.category);
  if (s.publisher) p.set('publisher', s.publisher);
  if (s.tag) p.set('tags', s.tag);
  p.set('sort', s.sort);
  p.set('limit', String(PAGE_SIZE));
  p.set('offset', String((s.page - 1) * PAGE_SIZE));
  return `/api/registry/search?${p}`;
}

const same = (a, b) => stateURL(a) === stateURL(b);
const hasFilters = (s) => TEXT.some((k) => s[k]);

function filterURL(base, key, value) {
  return stateURL({ ...base, [key]: value, page: 1 });
}

export function searchView(ctx) {
  let state = readState();
  let ctrl = null;
  let seq = 0;
  let debounce = null;
  let busyTimer = null;

  const input = (id, label, placeholder, list) => h('input', {
    id, name: id, type: id === 'q' ? 'search' : 'text', placeholder, autocomplete: 'off',
    spellcheck: 'false', list, 'aria-label': label, value: state[id],
  });
  const q = input('q', 'Search by name', 'Search models, datasets, tools…');
  // arriving on the search page focuses its box, except on touch screens (no surprise keyboard)
  if (window.matchMedia('(pointer: fine)').matches) q.setAttribute('data-autofocus', '');
  q.setAttribute('enterkeyhint', 'search');
  const category = input('category', 'Category (exact)', 'any category', 'dl-category');
  const publisher = input('publisher', 'Publisher (exact)', 'any publisher', 'dl-publisher');
  const tag = input('tag', 'Tag contains', 'any tag', 'dl-tag');
  const sort = h('select', { id: 'sort', name: 'sort' },
    SORTS.map(([k, label]) => h('option', { value: k }, label)));
  sort.value = state.sort;
  const lists = {
    category: h('datalist', { id: 'dl-category' }),
    publisher: h('datalist', { id: 'dl-publisher' }),
    tag: h('datalist', { id: 'dl-tag' }),
  };
  const clearBtn = h('button', { type: 'button', class: 'button subtle', id: 'clear' }, 'Clear');
  const field = (label, el, cls) => h('label', { class: `field ${cls || ''}` }, h('span', { class: 'field-label' }, label), el);

  const form = h('form', { class: 'controls', role: 'search', id: 'search-form' },
    h('div', { class: 'searchbox' },
      h('label', { for: 'q', class: 'sr-only' }, 'Search the registry by name'),
      h('span', { class: 'searchbox-icon' }, icon('search')),
      q,
      h('kbd', { class: 'hint', 'aria-hidden': 'true', title: 'Press / to search' }, '/')),
    h('div', { class: 'filters' },
      field('Category', category),
      field('Publisher', publisher),
      field('Tag', tag),
      field('Sort by', sort),
      h('div', { class: 'field actions' }, clearBtn)),
    Object.values(lists));

  const status = h('p', { class: 'result-count', id: 'result-count', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const results = h('ol', { class: 'results', id: 'results', 'aria-labelledby': 'results-heading' });
  const notice = h('div', { class: 'notice-slot', id: 'search-notice' });
  const pager = h('nav', { class: 'pager', id: 'pager', 'aria-label': 'Result pages' });
  const el = h('section', { class: 'search', 'data-state': 'loading' },
    h('h1', { class: 'sr-only', id: 'results-heading', tabindex: '-1', 'data-autofocus': !q.hasAttribute('data-autofocus') }, 'Registry search'),
    form, status, notice, results, pager);

  function fromInputs() {
    return {
      q: q.value.trim(), category: category.value.trim(), publisher: publisher.value.trim(),
      tag: tag.value.trim(), sort: sort.value, page: 1,
    };
  }

  function toInputs() {
    for (const [k, inp] of [['q', q], ['category', category], ['publisher', publisher], ['tag', tag]]) {
      if (inp.value.trim() !== state[k]) inp.value = state[k];
    }
    sort.value = state.sort;
  }

  // typing: replace the history entry made by the same burst of typing, else push one.
  function commit({ typing }) {
    clearTimeout(debounce);
    debounce = null;
    const next = fromInputs();
    if (same(next, state)) return;
    state = next;
    const url = stateURL(state);
    if (typing && history.state && history.state.typing) ctx.navigate(url, { replace: true, state: { typing: true } });
    else ctx.navigate(url, { state: { typing } });
    load({ useCache: false }); // the router's update() sees the state unchanged and does nothing
  }

  for (const inp of [q, category, publisher, tag]) {
    inp.addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => commit({ typing: true }), DEBOUNCE_MS);
    });
  }
  q.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && q.value) {
      e.preventDefault();
      q.value = '';
      commit({ typing: false });
    }
  });
  sort.addEventListener('change', () => commit({ typing: false }));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    commit({ typing: true });
  });
  clearBtn.addEventListener('click', () => {
    for (const inp of [q, category, publisher, tag]) inp.value = '';
    sort.value = 'created_at';
    commit({ typing: false });
    q.focus();
  });

  function setBusy(on) {
    clearTimeout(busyTimer);
    results.setAttribute('aria-busy', on ? 'true' : 'false');
    if (!on) {
      el.classList.remove('is-loading');
      return;
    }
    // show the loading state only if the answer is slow, so fast answers do not flicker
    busyTimer = setTimeout(() => {
      el.classList.add('is-loading');
      if (!results.children.length) {
        notice.replaceChildren(h('p', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Searching the registry…'));
      } else {
        status.textContent = 'Searching…';
      }
    }, 150);
  }

  async function load({ useCache }) {
    const url = apiURL(state);
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    const my = ++seq;
    const hit = cache.get(url);
    ctx.setTitle(state.q ? `“${state.q}”` : '');
    if (useCache && hit && Date.now() - hit.at < CACHE_MS) {
      setBusy(false);
      render(hit, url);
      ctx.settleScroll();
      return;
    }
    el.dataset.state = 'loading';
    setBusy(true);
    try {
      const { data, headers } = await getJSON(url, { signal: ctrl.signal });
      if (my !== seq) return;
      if (!Array.isArray(data)) throw new ApiError(200, 'the search answer is not a list of entries');
      let total = Number.parseInt(headers.get('X-Total-Count') || '', 10);
      if (!Number.isFinite(total) || total < 0) {
        // header hidden (e.g. cross-origin without Expose-Headers): assume one more page while full
        total = (state.page - 1) * PAGE_SIZE + data.length + (data.length === PAGE_SIZE ? 1 : 0);
      }
      const r = { data, total, at: Date.now() };
      cache.set(url, r);
      if (cache.size > 50) cache.delete(cache.keys().next().value);
      setBusy(false);
      render(r, url);
      ctx.settleScroll();
    } catch (e) {
      if (e.name === 'AbortError' || my !== seq) return;
      setBusy(false);
      renderError(e);
    }
  }

  function render({ data, total }, url) {
    el.dataset.api = url;
    delete el.dataset.status;
    notice.replaceChildren();
    for (const e of data) remember(e);
    results.replaceChildren(...data.map((e) => resultItem(e, state)));
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    renderPager(pages);
    if (data.length) {
      const first = (state.page - 1) * PAGE_SIZE + 1;
      const last = first + data.length - 1;
      status.textContent = total <= PAGE_SIZE
        ? `${formatCount(total)} ${total === 1 ? 'entry' : 'entries'}`
        : `Showing ${formatCount(first)}–${formatCount(last)} of ${formatCount(total)} entries · page ${state.page} of ${pages}`;
      el.dataset.state = 'ready';
      return;
    }
    el.dataset.state = 'empty';
    status.textContent = total ? `${formatCount(total)} entries` : 'No entries';
    if (total > 0) {
      notice.replaceChildren(emptyBox('There is nothing on this page',
        `Page ${state.page} is past the last page of results (page ${pages}).`,
        h('a', { class: 'button', href: stateURL({ ...state, page: pages }) }, `Go to page ${pages}`)));
    } else if (hasFilters(state)) {
      notice.replaceChildren(emptyBox('No entries match',
        `Nothing in the registry matches ${describeFilters(state)}.`,
        h('a', { class: 'button', href: '/' }, 'Clear the search')));
    } else {
      notice.replaceChildren(emptyBox('The registry is empty',
        'Nothing has been registered yet. Entries appear here once a torrent is registered through POST /api/registry or POST /api/registry/torrent.'));
    }
  }

  function renderError(err) {
    el.dataset.state = 'error';
    el.dataset.status = String(err.status ?? '');
    const { title, detail } = describeError(err, 'search results');
    status.textContent = 'Search failed';
    results.replaceChildren();
    pager.replaceChildren();
    const retry = h('button', { type: 'button', class: 'button' }, 'Retry');
    retry.addEventListener('click', () => load({ useCache: false }));
    notice.replaceChildren(h('div', { class: 'notice error', role: 'alert' },
      h('h2', null, title), h('p', null, detail), h('p', null, retry)));
  }

  function renderPager(pages) {
    pager.replaceChildren();
    if (pages <= 1 || state.page > pages) return; // past the end: the notice links back
    const cur = state.page;
    const link = (p, label, extra = {}) => h('a', {
      href: stateURL({ ...state, page: p }), class: `page ${extra.cls || ''}`, rel: extra.rel,
      'aria-label': extra.aria || `Page ${p}`, 'aria-current': p === cur && !extra.rel ? 'page' : null,
      'data-page': String(p),
    }, label);
    const items = [];
    items.push(cur > 1 ? link(cur - 1, '← Previous', { rel: 'prev', cls: 'prev', aria: 'Previous page' })
      : h('span', { class: 'page prev disabled', 'aria-hidden': 'true' }, '← Previous'));
    const nums = new Set([1, pages, cur - 2, cur - 1, cur, cur + 1, cur + 2].filter((p) => p >= 1 && p <= pages));
    let prev = 0;
    for (const p of [...nums].sort((a, b) => a - b)) {
      if (p - prev > 1) items.push(h('span', { class: 'page gap', 'aria-hidden': 'true' }, '…'));
      items.push(link(p, String(p)));
      prev = p;
    }
    items.push(cur < pages ? link(cur + 1, 'Next →', { rel: 'next', cls: 'next', aria: 'Next page' })
      : h('span', { class: 'page next disabled', 'aria-hidden': 'true' }, 'Next →'));
    pager.append(h('ul', null, items.map((i) => h('li', null, i))));
  }

  function remember(e) {
    const add = (k, v) => {
      if (!v || seen[k].has(v) || seen[k].size > 200) return;
      seen[k].add(v);
      lists[k].append(h('option', { value: v }));
    };
    add('category', e.category);
    add('publisher', e.publisher);
    for (const t of splitTags(e.tags)) add('tag', t);
  }
  for (const k of Object.keys(seen)) for (const v of seen[k]) lists[k].append(h('option', { value: v }));

  load({ useCache: true });

  return {
    kind: 'search',
    el,
    update({ pop }) {
      clearTimeout(debounce); // typing not yet searched for belongs to the page being left
      const next = readState();
      if (same(next, state) && !pop) return;
      const pageChanged = next.page !== state.page;
      state = next;
      toInputs();
      if (pageChanged && !pop) {
        window.scrollTo(0, 0);
        status.focus({ preventScroll: true }); // the clicked page link is about to be replaced
      }
      load({ useCache: pop });
    },
    destroy() {
      clearTimeout(debounce);
      clearTimeout(busyTimer);
      if (ctrl) ctrl.abort();
    },
  };
}

function describeFilters(s) {
  const parts = [];
  if (s.q) parts.push(`the name “${s.q}”`);
  if (s.category) parts.push(`category “${s.category}”`);
  if (s.publisher) parts.push(`publisher “${s.publisher}”`);
  if (s.tag) parts.push(`a tag containing “${s.tag}”`);
  return parts.join(', ');
}

function emptyBox(title, text, action) {
  return h('div', { class: 'notice empty' }, h('h2', null, title), h('p', null, text), action && h('p', null, action));
}

export function verifiedBadge() {
  return h('span', { class: 'badge verified', title: 'Verified by the registry’s administrators' },
    icon('check'), 'Verified');
}

function stat(label, value, cls, title) {
  return h('div', { class: `stat ${cls || ''}` }, h('dt', null, label), h('dd', { title }, value));
}

/** Seeders, leechers, completions, size and date of an entry, as a <dl>. */
export function entryStats(e) {
  const d = dateParts(e.created_at);
  return h('dl', { class: 'stats' },
    stat('Seeders', formatCount(e.seeders ?? 0), `seeders ${e.seeders > 0 ? 'live' : ''}`),
    stat('Leechers', formatCount(e.leechers ?? 0), 'leechers'),
    stat('Completed', formatCount(e.completions ?? 0), 'completions'),
    stat('Size', humanSize(e.size), 'size', exactBytes(e.size)),
    stat('Created', d ? h('time', { datetime: d.iso, title: d.full }, d.date) : '—', 'created'));
}

function resultItem(e, state) {
  const href = `/entry/${encodeURIComponent(e.info_hash)}`;
  const meta = [];
  if (e.publisher) meta.push(h('a', { class: 'chip publisher', href: filterURL(state, 'publisher', e.publisher), title: `Only entries by ${e.publisher}` }, srOnly('Publisher: '), e.publisher));
  if (e.category) meta.push(h('a', { class: 'chip category', href: filterURL(state, 'category', e.category), title: `Only the ${e.category} category` }, srOnly('Category: '), e.category));
  if (e.license) meta.push(h('span', { class: 'chip license', title: 'Licence' }, srOnly('Licence: '), e.license));
  const tags = splitTags(e.tags).map((t) => h('li', null,
    h('a', { class: 'tag', href: filterURL(state, 'tag', t), title: `Entries tagged ${t}` }, `#${t}`)));
  return h('li', { class: 'result', 'data-hash': e.info_hash },
    h('div', { class: 'result-head' },
      h('h2', { class: 'result-title' }, h('a', { class: 'result-link', href }, e.name || '(unnamed)')),
      e.verified ? verifiedBadge() : null),
    meta.length ? h('p', { class: 'meta' }, meta) : null,
    tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, tags) : null,
    entryStats(e));
}
