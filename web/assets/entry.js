// The entry page ("/entry/<info_hash>"): the registry entry, its live swarm figures (refreshed
// while the page is visible), the magnet link with a copy button, the .torrent download, and
// the torrent's metadata from /api/registry/meta with a collapsible file tree. Trees with many
// files render each folder's children only when it is first opened.
import { getJSON, ApiError, describeError } from './api.js';
import {
  h, srOnly, icon, humanSize, exactBytes, formatCount, isInfoHash, magnetLink, splitTags, VERSION_LABELS, entryVersion,
} from './util.js';
import { verifiedBadge, entryStats } from './search.js';

const REFRESH_MS = 15000;
const OPEN_ALL_MAX_FILES = 200; // above this only the top level starts open
const CHILDREN_MAX = 500; // per folder before a "show all" button

export function entryView(ctx, hashParam) {
  const el = h('article', { class: 'entry', 'data-state': 'loading', 'aria-busy': 'true' });
  const back = h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
    h('a', { href: '/', class: 'back' }, '← Search the registry'));
  let ctrl = new AbortController();
  let timer = null;
  let statsBox = null;
  let updated = null;

  const loading = () => [back, h('div', { class: 'notice-slot' },
    h('p', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading the entry…')),
  h('h1', { class: 'sr-only', tabindex: '-1', 'data-autofocus': true }, 'Registry entry')];
  ctx.setTitle('Entry');
  el.append(...loading());

  // back to the search the person came from, with its query and page
  if (ctx.lastSearch) back.firstChild.setAttribute('href', ctx.lastSearch);

  async function load() {
    if (!isInfoHash(hashParam)) {
      fail(new ApiError(400, 'not an info hash'), `“${hashParam}” is not an info hash: one is 40 (v1) or 64 (v2) hexadecimal characters.`);
      return;
    }
    const hash = hashParam.toLowerCase();
    const metaP = getJSON(`/api/registry/meta?info_hash=${hash}`, { signal: ctrl.signal }).catch((e) => e);
    let entry;
    try {
      ({ data: entry } = await getJSON(`/api/registry?info_hash=${hash}`, { signal: ctrl.signal }));
      if (!entry || typeof entry !== 'object' || typeof entry.info_hash !== 'string') throw new ApiError(200, 'the entry answer has no info_hash');
    } catch (e) {
      if (e.name === 'AbortError') return;
      fail(e, e.status === 404 ? `No registry entry has the info hash ${hash}. It may have been removed, or the link is wrong.` : null);
      return;
    }
    renderEntry(entry);
    let meta = await metaP;
    // the page may have been opened by the v1 hash; meta is keyed on the entry's info_hash
    if (meta instanceof Error && meta.status === 404 && entry.info_hash !== hash) {
      meta = await getJSON(`/api/registry/meta?info_hash=${encodeURIComponent(entry.info_hash)}`, { signal: ctrl.signal }).catch((e) => e);
    }
    if (meta instanceof Error && meta.name === 'AbortError') return;
    renderMeta(entry, meta);
    el.dataset.state = 'ready';
    el.setAttribute('aria-busy', 'false');
    ctx.settleScroll();
    timer = setInterval(refresh, REFRESH_MS);
  }

  function retryLoad() {
    ctrl = new AbortController();
    el.dataset.state = 'loading';
    el.setAttribute('aria-busy', 'true');
    el.replaceChildren(...loading());
    el.querySelector('h1').focus({ preventScroll: true });
    load();
  }

  function fail(err, detailOverride) {
    const { title, detail } = describeError(err, 'this entry');
    const heading = err.status === 404 ? 'Entry not found' : err.status === 400 ? 'Not a valid info hash' : title;
    ctx.setTitle(heading);
    el.dataset.state = 'error';
    el.dataset.status = String(err.status ?? '');
    el.setAttribute('aria-busy', 'false');
    const retry = err.status === 404 || err.status === 400 ? null
      : h('button', { type: 'button', class: 'button', onclick: retryLoad }, 'Retry');
    el.replaceChildren(back, h('div', { class: 'notice error', role: 'alert' },
      h('h1', { tabindex: '-1', 'data-autofocus': true }, heading),
      h('p', null, detailOverride || detail),
      h('p', { class: 'notice-actions' }, retry, h('a', { class: 'button subtle', href: '/' }, 'Search the registry'))));
    const h1 = el.querySelector('h1');
    if (document.activeElement === document.getElementById('main') || document.activeElement === document.body) h1.focus({ preventScroll: true });
  }

  function renderEntry(e) {
    ctx.setTitle(e.name);
    const focusWasHere = el.contains(document.activeElement);
    const magnet = magnetLink(e, location.origin);
    const meta = [];
    if (e.publisher) meta.push(h('a', { class: 'chip publisher', href: `/?${new URLSearchParams({ publisher: e.publisher })}` }, srOnly('Publisher: '), e.publisher));
    if (e.category) meta.push(h('a', { class: 'chip category', href: `/?${new URLSearchParams({ category: e.category })}` }, srOnly('Category: '), e.category));
    if (e.license) meta.push(h('span', { class: 'chip license', title: 'Licence' }, srOnly('Licence: '), e.license));
    const tags = splitTags(e.tags).map((t) => h('li', null, h('a', { class: 'tag', href: `/?${new URLSearchParams({ tag: t })}` }, `#${t}`)));

    const magnetInput = h('input', { id: 'magnet', class: 'magnet', type: 'text', readonly: true, value: magnet, 'aria-label': 'Magnet link', spellcheck: 'false' });
    const copyStatus = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite', id: 'copy-status' });
    const copyBtn = h('button', { type: 'button', class: 'button', id: 'copy-magnet' }, icon('copy'), h('span', null, 'Copy'));
    copyBtn.addEventListener('click', () => copy(magnet, magnetInput, copyBtn, copyStatus));
    magnetInput.addEventListener('focus', () => magnetInput.select());

    const download = h('a', {
      class: 'button primary', id: 'download', href: `/api/registry/torrent?info_hash=${encodeURIComponent(e.info_hash)}`,
      download: `${safeFilename(e.name)}.torrent`, hidden: true,
    }, icon('download'), 'Download .torrent');
    const openMagnet = h('a', { class: 'button', id: 'open-magnet', href: magnet }, icon('magnet'), 'Open in torrent client');

    statsBox = h('div', { class: 'live' }, entryStats(e));
    updated = h('p', { class: 'updated' }, 'Live swarm figures, refreshed every 15 s.');

    el.replaceChildren(back,
      h('header', { class: 'entry-head' },
        h('div', { class: 'title-row' },
          h('h1', { tabindex: '-1', 'data-autofocus': true, id: 'entry-name' }, e.name || '(unnamed)'),
          e.verified ? verifiedBadge() : null),
        meta.length ? h('p', { class: 'meta' }, meta) : null,
        tags.length ? h('ul', { class: 'tags', 'aria-label': 'Tags' }, tags) : null),
      h('div', { class: 'actions' }, download, openMagnet),
      h('section', { class: 'panel magnet-panel', 'aria-labelledby': 'magnet-h' },
        h('h2', { id: 'magnet-h' }, 'Magnet link'),
        h('div', { class: 'copy-row' }, magnetInput, copyBtn),
        copyStatus),
      h('section', { class: 'panel', 'aria-labelledby': 'swarm-h' },
        h('h2', { id: 'swarm-h' }, 'Swarm'), statsBox, updated),
      h('section', { class: 'panel description', 'aria-labelledby': 'desc-h' },
        h('h2', { id: 'desc-h' }, 'Description'),
        e.description ? h('p', { class: 'description-text', id: 'description' }, e.description)
          : h('p', { class: 'muted', id: 'description' }, 'No description was given.')),
      h('section', { class: 'panel torrent', id: 'torrent', 'aria-labelledby': 'torrent-h', 'aria-busy': 'true' },
        h('h2', { id: 'torrent-h' }, 'Torrent'),
        h('p', { class: 'loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Loading the file list…')));
    if (focusWasHere || document.activeElement === document.getElementById('main')) {
      el.querySelector('h1').focus({ preventScroll: true });
    }
  }

  function renderMeta(entry, meta) {
    const box = el.querySelector('#torrent');
    const download = el.querySelector('#download');
    box.setAttribute('aria-busy', 'false');
    const head = h('h2', { id: 'torrent-h' }, 'Torrent');
    const kind = entryVersion(entry);
    const hashes = [
      row(kind === 'v1' ? 'Info hash (v1, SHA-1)' : 'Info hash (v2, SHA-256)',
        h('code', { class: 'hash', id: 'info-hash' }, entry.info_hash), null, null, null, 'wide'),
      kind === 'hybrid' ? row('Info hash (v1, SHA-1)', h('code', { class: 'hash', id: 'v1-info-hash' }, entry.v1_info_hash), null, null, null, 'wide') : null,
    ];
    if (meta instanceof Error) {
      const none = meta.status === 404;
      box.replaceChildren(head,
        h('dl', { class: 'facts' }, row('Version', VERSION_LABELS[kind], 'version', kind), hashes),
        none ? h('p', { class: 'notice empty', id: 'no-torrent' }, 'No .torrent file is stored for this entry, so there is no file list or download; the magnet link still works.')
          : h('div', { class: 'notice error', role: 'alert' }, h('h3', null, describeError(meta, 'the torrent metadata').title),
            h('p', null, describeError(meta, 'the torrent metadata').detail)));
      return;
    }
    const m = meta.data || {};
    const files = Array.isArray(m.files) ? m.files : [];
    download.hidden = false;
    const version = m.version && VERSION_LABELS[m.version] ? m.version : kind;
    box.replaceChildren(head,
      h('dl', { class: 'facts' },
        row('Version', VERSION_LABELS[version], 'version', version),
        row('Piece size', humanSize(m.piece_length), 'piece-length', null, exactBytes(m.piece_length)),
        row('Pieces', formatCount(m.piece_count), 'piece-count'),
        row('Total size', humanSize(m.total_size), 'total-size', null, exactBytes(m.total_size)),
        row('Files', formatCount(files.length), 'file-count'),
        hashes),
      fileTree(m.name || entry.name, files));
  }

  async function refresh() {
    if (document.visibilityState !== 'visible' || !statsBox) return;
    try {
      const { data } = await getJSON(`/api/registry?info_hash=${hashParam.toLowerCase()}`, { signal: ctrl.signal });
      statsBox.replaceChildren(entryStats(data));
      updated.textContent = `Live swarm figures, updated ${new Date().toLocaleTimeString()}.`;
    } catch (e) {
      if (e.name !== 'AbortError') updated.textContent = `Could not refresh the swarm figures (${describeError(e).title.toLowerCase()}); showing the last known ones.`;
    }
  }

  load();
  return {
    kind: 'entry',
    el,
    update() {},
    destroy() {
      ctrl.abort();
      clearInterval(timer);
    },
  };
}

function row(label, value, id, dataValue, title, cls) {
  return h('div', { class: `fact ${cls || ''}` }, h('dt', null, label),
    h('dd', { id: id ? `fact-${id}` : null, 'data-value': dataValue, title }, value));
}

function safeFilename(name) {
  return String(name || 'download').replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 200) || 'download';
}

async function copy(text, input, btn, status) {
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      ok = true;
    }
  } catch {
    ok = false;
  }
  if (!ok) {
    // plain-http origins other than localhost have no async clipboard: select and execCommand
    input.focus();
    input.select();
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  status.textContent = ok ? 'Magnet link copied to the clipboard.' : 'Copying was refused by the browser: the link is selected, press Ctrl+C (⌘C) to copy it.';
  btn.lastChild.textContent = ok ? 'Copied' : 'Copy';
  btn.dataset.copied = ok ? 'true' : 'false';
  clearTimeout(btn._t);
  btn._t = setTimeout(() => {
    btn.lastChild.textContent = 'Copy';
  }, 2500);
}

// --- the file tree -----------------------------------------------------------------------

function buildTree(files) {
  const root = { name: '', path: '', dirs: new Map(), files: [], size: 0, count: 0 };
  for (const f of files) {
    const len = Number(f.length) || 0;
    const parts = String(f.path ?? '').split('/').filter(Boolean);
    if (!parts.length) parts.push('(unnamed)');
    let node = root;
    node.size += len;
    node.count++;
    for (const part of parts.slice(0, -1)) {
      let d = node.dirs.get(part);
      if (!d) {
        d = { name: part, path: node.path ? `${node.path}/${part}` : part, dirs: new Map(), files: [], size: 0, count: 0 };
        node.dirs.set(part, d);
      }
      d.size += len;
      d.count++;
      node = d;
    }
    node.files.push({ name: parts[parts.length - 1], path: parts.join('/'), size: len });
  }
  return root;
}

const byName = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

function fileItem(f) {
  return h('li', { class: 'file', 'data-path': f.path, 'data-size': String(f.size) },
    h('span', { class: 'node' },
      icon('file'),
      h('span', { class: 'name' }, f.name),
      h('span', { class: 'size', title: exactBytes(f.size) }, humanSize(f.size))));
}

function dirItem(d, openAll, open = openAll) {
  const ul = h('ul', { class: 'tree-children' });
  const details = h('details', { open },
    h('summary', { class: 'node' },
      h('span', { class: 'chevron', 'aria-hidden': 'true' }),
      h('span', { class: 'name' }, `${d.name}/`),
      h('span', { class: 'count' }, `${formatCount(d.count)} ${d.count === 1 ? 'file' : 'files'}`),
      h('span', { class: 'size', title: exactBytes(d.size) }, humanSize(d.size))),
    ul);
  let filled = false;
  details.fill = () => {
    if (filled) return;
    filled = true;
    fillChildren(ul, d, openAll);
  };
  if (open) details.fill();
  details.addEventListener('toggle', () => {
    if (details.open) details.fill();
  });
  return h('li', { class: 'dir', 'data-path': d.path, 'data-size': String(d.size) }, details);
}

function fillChildren(ul, node, openAll) {
  const dirs = [...node.dirs.values()].sort((a, b) => byName.compare(a.name, b.name));
  const files = [...node.files].sort((a, b) => byName.compare(a.name, b.name));
  const all = [...dirs.map((d) => () => dirItem(d, openAll)), ...files.map((f) => () => fileItem(f))];
  ul.append(...all.slice(0, CHILDREN_MAX).map((make) => make()));
  if (all.length > CHILDREN_MAX) {
    const more = h('li', { class: 'more' }, h('button', { type: 'button', class: 'button subtle' },
      `Show ${formatCount(all.length - CHILDREN_MAX)} more`));
    more.firstChild.addEventListener('click', () => {
      more.replaceWith(...all.slice(CHILDREN_MAX).map((make) => make()));
    });
    ul.append(more);
  }
}

function fileTree(name, files) {
  const section = h('div', { class: 'files', id: 'files' });
  const title = h('h3', null, `Files (${formatCount(files.length)})`);
  if (!files.length) {
    section.append(title, h('p', { class: 'muted' }, 'The torrent lists no files.'));
    return section;
  }
  const tree = buildTree(files);
  const openAll = files.length <= OPEN_ALL_MAX_FILES;
  const single = files.length === 1 && tree.dirs.size === 0 && tree.files[0].name === name;
  const top = h('ul', { class: 'tree', id: 'file-tree', 'aria-label': 'Files of the torrent' });
  if (single) {
    top.append(fileItem(tree.files[0]));
  } else {
    // the torrent's name is the folder that holds every path (API.md: paths exclude it)
    const root = { ...tree, name, path: '' };
    const li = dirItem(root, openAll, true);
    li.classList.add('root');
    top.append(li);
  }
  const expand = h('button', { type: 'button', class: 'button subtle', id: 'expand-all' }, 'Expand all');
  const collapse = h('button', { type: 'button', class: 'button subtle', id: 'collapse-all' }, 'Collapse all');
  expand.addEventListener('click', () => {
    for (let closed = top.querySelectorAll('details:not([open])'); closed.length; closed = top.querySelectorAll('details:not([open])')) {
      closed.forEach((d) => { d.open = true; d.fill?.(); });
    }
  });
  collapse.addEventListener('click', () => {
    top.querySelectorAll('details details[open]').forEach((d) => { d.open = false; });
  });
  section.append(h('div', { class: 'files-head' }, title, single ? null : h('div', { class: 'tree-tools' }, expand, collapse)), top);
  return section;
}
