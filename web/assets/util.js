// Small helpers shared by the views: building DOM elements without HTML parsing, and pure
// formatting (sizes, counts, dates, info hashes, magnet links). One module rather than two to
// keep a first page load within the gateway's rate-limit burst. Nothing in the UI assigns
// innerHTML: every string becomes a text node or an attribute value set through setAttribute, so
// registry text (names, descriptions and tags are user-supplied) can never turn into markup.

/** h('a', {href: '/', class: 'x', onclick: fn}, 'text', childNode, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
  return el;
}

/** A screen-reader-only text, for icons and terse visual labels. */
export function srOnly(text) {
  return h('span', { class: 'sr-only' }, text);
}

const ICONS = {
  search: 'M10.5 4a6.5 6.5 0 1 0 0 13a6.5 6.5 0 1 0 0-13z M15.5 15.5L21 21',
  download: 'M12 3v12 M7 10l5 5 5-5 M4 20h16',
  magnet: 'M5 3h4v8a3 3 0 0 0 6 0V3h4v8a7 7 0 0 1-14 0z M5 7h4 M15 7h4',
  file: 'M6 2.5h8l4.5 4.5v14.5H6z M14 2.5V7h4.5',
  check: 'M4.5 12.5l5 5 10-11',
  copy: 'M9 9h11v11H9z M5 15H4V4h11v1',
};

/** A decorative 24×24 line icon (aria-hidden) drawn in currentColor. */
export function icon(name) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS(NS, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

// --- formatting (no DOM) -------------------------------------------------------------------

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** 1536 -> "1.5 KiB"; binary units, at most three significant figures. */
export function humanSize(n) {
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${n} B`;
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (Math.round(v) >= 1024 && i < UNITS.length - 1) { // 1023.9 KiB reads better as 1 MiB
    v /= 1024;
    i++;
  }
  const digits = v < 10 ? 2 : v < 100 ? 1 : 0;
  const s = new Intl.NumberFormat('en-US', { maximumFractionDigits: digits }).format(v);
  return `${s} ${UNITS[i]}`;
}

/** 1234567 -> "1,234,567 bytes" (for tooltips next to humanSize). */
export function exactBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '';
  return `${formatCount(n)} bytes`;
}

export function formatCount(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return new Intl.NumberFormat('en-US').format(n);
}

/** RFC 3339 -> { iso, date: "Jan 5, 2026", full: local date and time, relative: "3 days ago" } */
export function dateParts(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return null;
  const d = new Date(t);
  const date = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(d);
  const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' }).format(d);
  return { iso: d.toISOString(), date, full, relative: relativeTime(t, now) };
}

export function relativeTime(t, now = Date.now()) {
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const s = (t - now) / 1000;
  const abs = Math.abs(s);
  const DAY = 86400;
  const units = [ // [below this many seconds, use this unit, of this many seconds]
    [60, 'second', 1], [3600, 'minute', 60], [DAY, 'hour', 3600], [7 * DAY, 'day', DAY],
    [30 * DAY, 'week', 7 * DAY], [365 * DAY, 'month', 30.44 * DAY], [Infinity, 'year', 365.25 * DAY],
  ];
  const [, unit, div] = units.find(([below]) => abs < below);
  return rtf.format(Math.round(s / div), unit);
}

const HEX40 = /^[0-9a-f]{40}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** A v1 (40 hex) or v2 (64 hex) info hash, any case. */
export function isInfoHash(s) {
  return typeof s === 'string' && (HEX40.test(s.toLowerCase()) || HEX64.test(s.toLowerCase()));
}

/** Kind of an entry from its hashes: "hybrid", "v1" or "v2". */
export function entryVersion(entry) {
  const ih = String(entry.info_hash || '').toLowerCase();
  if (entry.v1_info_hash && String(entry.v1_info_hash).toLowerCase() !== ih) return 'hybrid';
  return HEX40.test(ih) ? 'v1' : 'v2';
}

export const VERSION_LABELS = {
  hybrid: 'Hybrid (v1 + v2)',
  v1: 'v1 (BEP 3)',
  v2: 'v2 (BEP 52)',
};

/**
 * The magnet link of API.md: hybrid -> xt=urn:btih:{v1}&xt=urn:btmh:1220{info_hash};
 * v1-only -> btih alone; v2-only -> btmh alone. dn and tr are percent-encoded
 * (encodeURIComponent), the announce URL is the page's origin + "/announce".
 */
export function magnetLink(entry, origin) {
  const ih = String(entry.info_hash || '').toLowerCase();
  let v1 = entry.v1_info_hash ? String(entry.v1_info_hash).toLowerCase() : '';
  if (v1 === ih) v1 = ''; // a v1-only entry that repeats its hash
  const parts = [];
  if (v1) parts.push(`xt=urn:btih:${v1}`, `xt=urn:btmh:1220${ih}`);
  else if (HEX40.test(ih)) parts.push(`xt=urn:btih:${ih}`);
  else parts.push(`xt=urn:btmh:1220${ih}`);
  if (entry.name) parts.push(`dn=${encodeURIComponent(entry.name)}`);
  parts.push(`tr=${encodeURIComponent(`${origin}/announce`)}`);
  return `magnet:?${parts.join('&')}`;
}

/** "llm, weights,,fp16" -> ["llm", "weights", "fp16"] */
export function splitTags(tags) {
  if (typeof tags !== 'string') return [];
  return tags.split(',').map((t) => t.trim()).filter(Boolean);
}
