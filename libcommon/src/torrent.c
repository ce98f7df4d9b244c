/* .torrent parsing and validation (wl/torrent.h): v1, v2 and hybrid, info hashes over the exact
 * bytes of the info dict.
 *
 * Workload: one call per registry upload or CLI invocation, on files of a few KiB to tens of
 * MiB (v2 piece layers), written by anyone. The bencoded document is decoded once; the file list
 * is then built from it with every length, count and path checked before use. Paths are copied
 * into one string buffer per list (capped), never one allocation per file. The first problem
 * found is reported as "<field>: <what is wrong>", the field spelled as in the file
 * ("info.files[3].path[1]"); strings from the input are quoted with anything but printable
 * ASCII escaped, so a reason is always safe to put in a JSON answer or a log line. */
#include "wl/torrent.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/bencode.h"
#include "wl/buf.h"
#include "wl/error.h"

/* One file of a list under construction; the path is at str.data + off. */
struct ent {
  size_t off;
  size_t plen;
  uint64_t length;
  uint64_t offset; /* v1: byte offset in the concatenated content, padding included */
  bool pad;
};

struct flist {
  struct ent *e;
  size_t n, cap;
  size_t nreal;      /* entries that are not pad files */
  struct wl_buf str; /* NUL-terminated paths */
  uint64_t total;    /* real files */
  uint64_t padding;  /* pad files */
};

struct ctx {
  const struct wl_bdoc *doc;
  char *err;
  size_t errlen;
  uint64_t piece_length;
  char path[WL_TORRENT_MAX_PATH + 1]; /* v2 walk: the directory being visited */
};

static int tfail(struct ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tfail(struct ctx *c, int code, const char *fmt, ...) {
  if (c->err != NULL && c->errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Writes s[0..n) for a message: printable ASCII kept, the rest as \xNN, cut at ~48 bytes. */
static const char *quote(char *dst, size_t cap, const void *s, size_t n) {
  const uint8_t *p = s;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (o + 8 >= cap || i >= 48) {
      snprintf(dst + o, cap - o, "...");
      return dst;
    }
    if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '\'')
      dst[o++] = (char)p[i];
    else
      o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", p[i]);
  }
  dst[o] = '\0';
  return dst;
}

static const char *type_name(enum wl_bnode_type t) {
  switch (t) {
  case WL_BNODE_INT:
    return "an integer";
  case WL_BNODE_STR:
    return "a string";
  case WL_BNODE_LIST:
    return "a list";
  case WL_BNODE_DICT:
    return "a dict";
  }
  return "?";
}

static const struct wl_bnode *node(const struct ctx *c, uint32_t i) { return &c->doc->nodes[i]; }

/* Finds key in dict d. *out is the value's index, or UINT32_MAX when absent and optional.
 * field names the dict for messages ("info", "info.files[3]"). */
static int get(struct ctx *c, uint32_t d, const char *field, const char *key,
               enum wl_bnode_type type, bool required, uint32_t *out) {
  int64_t v = wl_bdict_gets(c->doc, d, key);
  *out = UINT32_MAX;
  if (v < 0) {
    if (required) return tfail(c, WL_EPARSE, "%s.%s: missing", field, key);
    return 0;
  }
  if (node(c, (uint32_t)v)->type != type)
    return tfail(c, WL_EPARSE, "%s.%s: expected %s, got %s", field, key, type_name(type),
                 type_name(node(c, (uint32_t)v)->type));
  *out = (uint32_t)v;
  return 0;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

/* Checks one path component (or the name). what names it for the message. */
static int check_component(struct ctx *c, const char *what, const uint8_t *s, size_t n) {
  char q[80];
  if (n == 0) return tfail(c, WL_EPARSE, "%s: an empty name is not allowed", what);
  if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
    return tfail(c, WL_EPARSE, "%s: '%s' is not allowed", what, quote(q, sizeof q, s, n));
  if (memchr(s, '/', n) != NULL)
    return tfail(c, WL_EPARSE, "%s: '/' is not allowed in a name ('%s')", what,
                 quote(q, sizeof q, s, n));
  if (memchr(s, '\0', n) != NULL)
    return tfail(c, WL_EPARSE, "%s: NUL is not allowed in a name ('%s')", what,
                 quote(q, sizeof q, s, n));
  if (!utf8_valid(s, n))
    return tfail(c, WL_EPARSE, "%s: not valid UTF-8 ('%s')", what, quote(q, sizeof q, s, n));
  if (n > WL_TORRENT_MAX_PATH)
    return tfail(c, WL_ETOOBIG, "%s: longer than %d bytes", what, WL_TORRENT_MAX_PATH);
  return 0;
}

/* Every dict in the info subtree: keys sorted and unique. */
static int check_canonical(struct ctx *c, uint32_t info) {
  uint32_t end = node(c, info)->next;
  char q1[80], q2[80];
  for (uint32_t i = info; i < end; i++) {
    const struct wl_bnode *d = node(c, i);
    if (d->type != WL_BNODE_DICT || d->count < 2) continue;
    uint32_t k = i + 1;
    const struct wl_bnode *prev = NULL;
    for (uint32_t j = 0; j < d->count; j++) {
      const struct wl_bnode *key = node(c, k);
      if (prev != NULL) {
        size_t m = prev->slen < key->slen ? prev->slen : key->slen;
        int cmp = m ? memcmp(prev->str, key->str, m) : 0;
        if (cmp == 0) cmp = prev->slen < key->slen ? -1 : prev->slen > key->slen;
        if (cmp == 0)
          return tfail(c, WL_EPARSE, "info: duplicate key '%s' at byte %zu",
                       quote(q1, sizeof q1, key->str, key->slen), key->start);
        if (cmp > 0)
          return tfail(c, WL_EPARSE,
                       "info: keys not in sorted order at byte %zu ('%s' after '%s'); the "
                       "info dict must be canonical bencoding",
                       key->start, quote(q1, sizeof q1, key->str, key->slen),
                       quote(q2, sizeof q2, prev->str, prev->slen));
      }
      prev = key;
      k = node(c, k + 1)->next;
    }
  }
  return 0;
}

static void flist_init(struct flist *l) {
  memset(l, 0, sizeof *l);
  wl_buf_init(&l->str, WL_TORRENT_MAX_PATH_BYTES);
}

static void flist_release(struct flist *l) {
  free(l->e);
  wl_buf_release(&l->str);
  memset(l, 0, sizeof *l);
}

/* Adds an entry whose path is the pieces[0..npieces) joined with '/'. */
static int flist_add(struct ctx *c, struct flist *l, const char *field, const uint8_t **parts,
                     const size_t *plens, size_t nparts, uint64_t length, bool pad) {
  if (l->n >= WL_TORRENT_MAX_FILES)
    return tfail(c, WL_ETOOBIG, "%s: more than %d files", field, WL_TORRENT_MAX_FILES);
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 16;
    if (ncap > WL_TORRENT_MAX_FILES) ncap = WL_TORRENT_MAX_FILES;
    struct ent *ne = realloc(l->e, ncap * sizeof *ne);
    if (ne == NULL) return tfail(c, WL_ENOMEM, "%s: out of memory", field);
    l->e = ne;
    l->cap = ncap;
  }
  size_t plen = 0;
  for (size_t i = 0; i < nparts; i++) plen += plens[i] + (i > 0);
  if (plen > WL_TORRENT_MAX_PATH)
    return tfail(c, WL_ETOOBIG, "%s: path longer than %d bytes", field, WL_TORRENT_MAX_PATH);
  int rv = wl_buf_reserve(&l->str, plen + 1);
  if (rv == WL_ETOOBIG)
    return tfail(c, rv, "%s: the file paths together exceed %zu bytes", field,
                 (size_t)WL_TORRENT_MAX_PATH_BYTES);
  if (rv < 0) return tfail(c, rv, "%s: out of memory", field);
  size_t off = l->str.len;
  for (size_t i = 0; i < nparts; i++) {
    if (i > 0) wl_buf_appendc(&l->str, '/');
    wl_buf_append(&l->str, parts[i], plens[i]);
  }
  wl_buf_appendc(&l->str, '\0');

  /* Lengths are each <= MAX_TOTAL and so are the sums: no overflow. */
  uint64_t sum = l->total + l->padding;
  if (length > WL_TORRENT_MAX_TOTAL || sum > WL_TORRENT_MAX_TOTAL - length)
    return tfail(c, WL_ETOOBIG, "%s: the total length exceeds %llu bytes", field,
                 (unsigned long long)WL_TORRENT_MAX_TOTAL);
  struct ent *e = &l->e[l->n++];
  e->off = off;
  e->plen = plen;
  e->length = length;
  e->offset = sum;
  e->pad = pad;
  if (pad) {
    l->padding += length;
  } else {
    l->total += length;
    l->nreal++;
  }
  return 0;
}

static const char *flist_path(const struct flist *l, size_t i) {
  return (const char *)l->str.data + l->e[i].off;
}

static int get_length(struct ctx *c, uint32_t d, const char *field, uint64_t *out) {
  uint32_t v;
  int rv = get(c, d, field, "length", WL_BNODE_INT, true, &v);
  if (rv < 0) return rv;
  int64_t len = node(c, v)->ival;
  if (len < 0) return tfail(c, WL_EPARSE, "%s.length: negative (%lld)", field, (long long)len);
  if ((uint64_t)len > WL_TORRENT_MAX_TOTAL)
    return tfail(c, WL_ETOOBIG, "%s.length: %lld bytes is over the limit of %llu", field,
                 (long long)len, (unsigned long long)WL_TORRENT_MAX_TOTAL);
  *out = (uint64_t)len;
  return 0;
}

/* v1 "files": a list of {length, path: [components], attr?}. */
static int parse_v1_files(struct ctx *c, uint32_t files, struct flist *l) {
  const struct wl_bnode *fl = node(c, files);
  int rv;
  if (fl->count == 0) return tfail(c, WL_EPARSE, "info.files: empty list");
  if (fl->count > WL_TORRENT_MAX_FILES)
    return tfail(c, WL_ETOOBIG, "info.files: %u files, more than %d", (unsigned)fl->count,
                 WL_TORRENT_MAX_FILES);
  l->e = malloc((size_t)fl->count * sizeof *l->e);
  if (l->e == NULL) return tfail(c, WL_ENOMEM, "info.files: out of memory");
  l->cap = fl->count;

  /* Component pointers for one path; a path has at most WL_TORRENT_MAX_PATH / 2 + 1 parts. */
  enum { MAXPARTS = WL_TORRENT_MAX_PATH / 2 + 1 };
  const uint8_t **parts = malloc(MAXPARTS * sizeof *parts);
  size_t *plens = malloc(MAXPARTS * sizeof *plens);
  if (parts == NULL || plens == NULL) {
    rv = tfail(c, WL_ENOMEM, "info.files: out of memory");
    goto out_free;
  }

  uint32_t i = files + 1;
  for (uint32_t k = 0; k < fl->count; k++, i = node(c, i)->next) {
    char field[64], what[96];
    snprintf(field, sizeof field, "info.files[%u]", (unsigned)k);
    if (node(c, i)->type != WL_BNODE_DICT) {
      rv = tfail(c, WL_EPARSE, "%s: expected a dict, got %s", field, type_name(node(c, i)->type));
      goto out_free;
    }
    uint64_t length;
    rv = get_length(c, i, field, &length);
    if (rv < 0) goto out_free;
    uint32_t path, attr;
    rv = get(c, i, field, "path", WL_BNODE_LIST, true, &path);
    if (rv < 0) goto out_free;
    rv = get(c, i, field, "attr", WL_BNODE_STR, false, &attr);
    if (rv < 0) goto out_free;
    uint32_t np = node(c, path)->count;
    if (np == 0) {
      rv = tfail(c, WL_EPARSE, "%s.path: empty list", field);
      goto out_free;
    }
    if (np > MAXPARTS) {
      rv = tfail(c, WL_ETOOBIG, "%s.path: longer than %d bytes", field, WL_TORRENT_MAX_PATH);
      goto out_free;
    }
    uint32_t j = path + 1;
    for (uint32_t m = 0; m < np; m++, j = node(c, j)->next) {
      snprintf(what, sizeof what, "%s.path[%u]", field, (unsigned)m);
      if (node(c, j)->type != WL_BNODE_STR) {
        rv = tfail(c, WL_EPARSE, "%s: expected a string, got %s", what,
                   type_name(node(c, j)->type));
        goto out_free;
      }
      rv = check_component(c, what, node(c, j)->str, node(c, j)->slen);
      if (rv < 0) goto out_free;
      parts[m] = node(c, j)->str;
      plens[m] = node(c, j)->slen;
    }
    bool pad = false;
    if (attr != UINT32_MAX && memchr(node(c, attr)->str, 'p', node(c, attr)->slen) != NULL)
      pad = true;
    if (np == 2 && plens[0] == 4 && memcmp(parts[0], ".pad", 4) == 0) pad = true;
    rv = flist_add(c, l, field, parts, plens, np, length, pad);
    if (rv < 0) goto out_free;
  }
  rv = 0;

out_free:
  free(parts);
  free(plens);
  return rv;
}

/* Order of two paths, component by component ('/' sorts before every other byte), so that a
 * path is directly followed by the paths below it. */
static int path_cmp(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
    if (x == '/') x = 1;
    if (y == '/') y = 1;
    if (x != y) return x < y ? -1 : 1;
    if (x == 0) return 0;
  }
}

static int ptr_cmp(const void *pa, const void *pb) {
  return path_cmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* Duplicate paths, and a file that is also a directory of another, in a v1 list. */
static int check_unique(struct ctx *c, const struct flist *l) {
  if (l->nreal < 2) return 0;
  const char **v = malloc(l->nreal * sizeof *v);
  if (v == NULL) return tfail(c, WL_ENOMEM, "info.files: out of memory");
  size_t m = 0;
  for (size_t i = 0; i < l->n; i++)
    if (!l->e[i].pad) v[m++] = flist_path(l, i);
  qsort(v, m, sizeof *v, ptr_cmp);
  int rv = 0;
  char q[80];
  for (size_t i = 0; i + 1 < m; i++) {
    size_t la = strlen(v[i]);
    if (strcmp(v[i], v[i + 1]) == 0) {
      rv = tfail(c, WL_EPARSE, "info.files: '%s' appears twice", quote(q, sizeof q, v[i], la));
      break;
    }
    if (strncmp(v[i], v[i + 1], la) == 0 && v[i + 1][la] == '/') {
      rv = tfail(c, WL_EPARSE, "info.files: '%s' is both a file and a directory",
                 quote(q, sizeof q, v[i], la));
      break;
    }
  }
  free(v);
  return rv;
}

/* The v2 "file tree" below dict d, whose path is c->path[0..plen) (plen 0 at the root). A key
 * maps to a directory (a dict of further keys) or to a file ({"": {length, pieces root}}).
 * Recursion depth is bounded by the decoder's depth limit. */
static int walk_tree(struct ctx *c, uint32_t d, size_t plen, struct flist *l) {
  const struct wl_bnode *dn = node(c, d);
  char q[80], field[128];
  int rv;
  if (dn->count == 0) {
    if (plen == 0) return tfail(c, WL_EPARSE, "info.file tree: empty");
    return tfail(c, WL_EPARSE, "info.file tree['%s']: empty directory",
                 quote(q, sizeof q, c->path, plen));
  }
  uint32_t k = d + 1;
  for (uint32_t j = 0; j < dn->count; j++) {
    const struct wl_bnode *key = node(c, k);
    uint32_t v = k + 1;
    k = node(c, v)->next;
    if (key->slen == 0) /* only at the root: below it, the parent saw the '' key */
      return tfail(c, WL_EPARSE, "info.file tree: a file entry (key '') at the root");
    size_t nlen = plen + (plen > 0) + key->slen;
    if (nlen > WL_TORRENT_MAX_PATH)
      return tfail(c, WL_ETOOBIG, "info.file tree: a path is longer than %d bytes",
                   WL_TORRENT_MAX_PATH);
    snprintf(field, sizeof field, "info.file tree: name '%s'",
             quote(q, sizeof q, key->str, key->slen));
    rv = check_component(c, field, key->str, key->slen);
    if (rv < 0) return rv;
    if (plen > 0) c->path[plen] = '/';
    memcpy(c->path + plen + (plen > 0), key->str, key->slen);
    c->path[nlen] = '\0';
    snprintf(field, sizeof field, "info.file tree['%s']", quote(q, sizeof q, c->path, nlen));

    const struct wl_bnode *vn = node(c, v);
    if (vn->type != WL_BNODE_DICT)
      return tfail(c, WL_EPARSE, "%s: expected a dict, got %s", field, type_name(vn->type));
    int64_t fe = wl_bdict_get(c->doc, v, "", 0);
    if (fe < 0) {
      rv = walk_tree(c, v, nlen, l);
      if (rv < 0) return rv;
      continue;
    }
    if (vn->count != 1)
      return tfail(c, WL_EPARSE, "%s: mixes a file entry (key '') with directory entries",
                   field);
    uint32_t f = (uint32_t)fe;
    if (node(c, f)->type != WL_BNODE_DICT)
      return tfail(c, WL_EPARSE, "%s['']: expected a dict, got %s", field,
                   type_name(node(c, f)->type));
    uint64_t length;
    rv = get_length(c, f, field, &length);
    if (rv < 0) return rv;
    uint32_t root;
    rv = get(c, f, field, "pieces root", WL_BNODE_STR, length > 0, &root);
    if (rv < 0) return rv;
    if (root != UINT32_MAX && node(c, root)->slen != 32)
      return tfail(c, WL_EPARSE, "%s.pieces root: %zu bytes, expected 32", field,
                   node(c, root)->slen);
    const uint8_t *part = (const uint8_t *)c->path;
    size_t partlen = nlen;
    rv = flist_add(c, l, "info.file tree", &part, &partlen, 1, length, false);
    if (rv < 0) return rv;
  }
  c->path[plen] = '\0';
  return 0;
}

/* "piece layers" (outside the info dict): shape only. */
static int check_piece_layers(struct ctx *c, uint32_t pl) {
  const struct wl_bnode *d = node(c, pl);
  uint32_t k = pl + 1;
  for (uint32_t j = 0; j < d->count; j++) {
    const struct wl_bnode *key = node(c, k), *v = node(c, k + 1);
    if (key->slen != 32)
      return tfail(c, WL_EPARSE, "piece layers: a key of %zu bytes, expected 32", key->slen);
    if (v->type != WL_BNODE_STR)
      return tfail(c, WL_EPARSE, "piece layers: expected strings, got %s", type_name(v->type));
    if (v->slen == 0 || v->slen % 32 != 0)
      return tfail(c, WL_EPARSE, "piece layers: a layer of %zu bytes, not a multiple of 32",
                   v->slen);
    k = v->next;
  }
  return 0;
}

static int hash(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out) {
  unsigned int len = 0;
  if (EVP_Digest(p, n, out, &len, md, NULL) != 1) return WL_ENOMEM;
  return 0;
}

/* Moves the entries of l that are not pad files into t (paths pointing into t->strings). */
static int take_files(struct ctx *c, struct flist *l, struct wl_torrent *t) {
  t->files = calloc(l->nreal ? l->nreal : 1, sizeof *t->files);
  if (t->files == NULL) return tfail(c, WL_ENOMEM, "info: out of memory");
  t->strings = (char *)l->str.data;
  l->str.data = NULL;
  wl_buf_release(&l->str);
  size_t m = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->e[i].pad) continue;
    t->files[m].path = t->strings + l->e[i].off;
    t->files[m].length = l->e[i].length;
    m++;
  }
  t->nfiles = m;
  return 0;
}

static uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

int wl_torrent_parse(const uint8_t *p, size_t n, struct wl_torrent *t, char *err, size_t errlen) {
  struct wl_bdoc doc;
  struct flist v1, v2;
  struct ctx *c;
  int rv;
  char q1[80], q2[80];

  memset(t, 0, sizeof *t);
  if (err != NULL && errlen > 0) err[0] = '\0';
  flist_init(&v1);
  flist_init(&v2);
  c = calloc(1, sizeof *c);
  if (c == NULL) {
    if (err != NULL && errlen > 0) snprintf(err, errlen, "torrent: out of memory");
    return WL_ENOMEM;
  }
  c->err = err;
  c->errlen = errlen;
  c->doc = &doc;

  struct wl_bencode_limits lim = {WL_TORRENT_MAX_DEPTH, WL_TORRENT_MAX_VALUES, 0};
  struct wl_bencode_error berr;
  rv = wl_bencode_parse(p, n, &lim, &doc, &berr);
  if (rv < 0) {
    tfail(c, rv, "torrent: malformed bencoding at byte %zu: %s", berr.offset, berr.reason);
    goto out_free_ctx;
  }

  /* Top level: a dict holding "info" exactly once. */
  if (node(c, 0)->type != WL_BNODE_DICT) {
    rv = tfail(c, WL_EPARSE, "torrent: expected a dict at the top level, got %s",
               type_name(node(c, 0)->type));
    goto out_release_doc;
  }
  uint32_t info = UINT32_MAX;
  for (uint32_t k = 1, j = 0; j < node(c, 0)->count; j++) {
    const struct wl_bnode *key = node(c, k);
    if (key->slen == 4 && memcmp(key->str, "info", 4) == 0) {
      if (info != UINT32_MAX) {
        rv = tfail(c, WL_EPARSE, "info: appears twice");
        goto out_release_doc;
      }
      info = k + 1;
    }
    k = node(c, k + 1)->next;
  }
  if (info == UINT32_MAX) {
    rv = tfail(c, WL_EPARSE, "info: missing");
    goto out_release_doc;
  }
  if (node(c, info)->type != WL_BNODE_DICT) {
    rv = tfail(c, WL_EPARSE, "info: expected a dict, got %s", type_name(node(c, info)->type));
    goto out_release_doc;
  }
  rv = check_canonical(c, info);
  if (rv < 0) goto out_release_doc;
  t->info_start = node(c, info)->start;
  t->info_end = node(c, info)->end;

  /* Fields common to v1 and v2. */
  uint32_t name, plen, meta, pieces, priv;
  rv = get(c, info, "info", "name", WL_BNODE_STR, true, &name);
  if (rv < 0) goto out_release_doc;
  rv = check_component(c, "info.name", node(c, name)->str, node(c, name)->slen);
  if (rv < 0) goto out_release_doc;
  rv = get(c, info, "info", "piece length", WL_BNODE_INT, true, &plen);
  if (rv < 0) goto out_release_doc;
  int64_t pl = node(c, plen)->ival;
  if (pl <= 0) {
    rv = tfail(c, WL_EPARSE, "info.piece length: must be positive, got %lld", (long long)pl);
    goto out_release_doc;
  }
  if ((uint64_t)pl > WL_TORRENT_MAX_PIECE_LENGTH) {
    rv = tfail(c, WL_ETOOBIG, "info.piece length: %lld is over the limit of %llu", (long long)pl,
               (unsigned long long)WL_TORRENT_MAX_PIECE_LENGTH);
    goto out_release_doc;
  }
  c->piece_length = (uint64_t)pl;
  rv = get(c, info, "info", "meta version", WL_BNODE_INT, false, &meta);
  if (rv < 0) goto out_release_doc;
  if (meta != UINT32_MAX && node(c, meta)->ival != 2) {
    rv = tfail(c, WL_EPARSE, "info.meta version: unsupported version %lld (only 2 is known)",
               (long long)node(c, meta)->ival);
    goto out_release_doc;
  }
  /* Without "meta version" the torrent is v1 and needs "pieces". */
  rv = get(c, info, "info", "pieces", WL_BNODE_STR, meta == UINT32_MAX, &pieces);
  if (rv < 0) goto out_release_doc;
  rv = get(c, info, "info", "private", WL_BNODE_INT, false, &priv);
  if (rv < 0) goto out_release_doc;
  t->has_v1 = pieces != UINT32_MAX;
  t->has_v2 = meta != UINT32_MAX;
  t->is_private = priv != UINT32_MAX && node(c, priv)->ival != 0;
  t->piece_length = (uint64_t)pl;

  bool v1_single = false;
  if (t->has_v1) {
    size_t plen_bytes = node(c, pieces)->slen;
    if (plen_bytes % 20 != 0) {
      rv = tfail(c, WL_EPARSE, "info.pieces: %zu bytes is not a multiple of 20", plen_bytes);
      goto out_release_doc;
    }
    uint32_t files;
    int64_t lv = wl_bdict_gets(&doc, info, "length");
    int64_t fv = wl_bdict_gets(&doc, info, "files");
    if (lv >= 0 && fv >= 0) {
      rv = tfail(c, WL_EPARSE, "info: has both 'length' (single file) and 'files' (multi-file)");
      goto out_release_doc;
    }
    if (lv < 0 && fv < 0) {
      rv = tfail(c, WL_EPARSE, "info: missing 'length' (single file) or 'files' (multi-file)");
      goto out_release_doc;
    }
    if (lv >= 0) {
      uint64_t len;
      v1_single = true;
      rv = get_length(c, info, "info", &len);
      if (rv < 0) goto out_release_doc;
      const uint8_t *part = node(c, name)->str;
      size_t partlen = node(c, name)->slen;
      rv = flist_add(c, &v1, "info", &part, &partlen, 1, len, false);
      if (rv < 0) goto out_release_doc;
    } else {
      rv = get(c, info, "info", "files", WL_BNODE_LIST, true, &files);
      if (rv < 0) goto out_release_doc;
      rv = parse_v1_files(c, files, &v1);
      if (rv < 0) goto out_release_doc;
    }
    uint64_t all = v1.total + v1.padding;
    uint64_t want = ceil_div(all, (uint64_t)pl);
    t->piece_count = plen_bytes / 20;
    if (all > 0 && t->piece_count != want) {
      rv = tfail(c, WL_EPARSE,
                 "info.pieces: %llu hashes, but %llu bytes at piece length %lld make %llu pieces",
                 (unsigned long long)t->piece_count, (unsigned long long)all, (long long)pl,
                 (unsigned long long)want);
      goto out_release_doc;
    }
  }

  bool v2_single = false;
  if (t->has_v2) {
    if (pl < 16384 || (pl & (pl - 1)) != 0) {
      rv = tfail(c, WL_EPARSE,
                 "info.piece length: %lld must be a power of two of at least 16384 for v2",
                 (long long)pl);
      goto out_release_doc;
    }
    uint32_t tree;
    rv = get(c, info, "info", "file tree", WL_BNODE_DICT, true, &tree);
    if (rv < 0) goto out_release_doc;
    rv = walk_tree(c, tree, 0, &v2);
    if (rv < 0) goto out_release_doc;
    /* A single file at the root of the tree: the torrent is that file (no directory). */
    v2_single = node(c, tree)->count == 1 && v2.n == 1 && strchr(flist_path(&v2, 0), '/') == NULL;
    uint64_t count = 0;
    for (size_t i = 0; i < v2.n; i++) count += ceil_div(v2.e[i].length, (uint64_t)pl);
    if (!t->has_v1) t->piece_count = count;

    int64_t layers = wl_bdict_gets(&doc, 0, "piece layers");
    if (layers >= 0) {
      if (node(c, (uint32_t)layers)->type != WL_BNODE_DICT) {
        rv = tfail(c, WL_EPARSE, "piece layers: expected a dict, got %s",
                   type_name(node(c, (uint32_t)layers)->type));
        goto out_release_doc;
      }
      rv = check_piece_layers(c, (uint32_t)layers);
      if (rv < 0) goto out_release_doc;
    }

    if (t->has_v1) {
      /* Hybrid: the same files, in the same order, each starting on a piece boundary. A file
       * tree of one file cannot say whether it is a single-file torrent or a directory holding
       * one file (libtorrent writes both the same way); the v1 part says which. */
      if (v2.n == 1 && v1.nreal == 1) v2_single = v1_single;
      if (v1_single != v2_single) {
        rv = tfail(c, WL_EPARSE, "hybrid: info.%s is a %s torrent but the file tree is a %s one",
                   v1_single ? "length" : "files", v1_single ? "single-file" : "multi-file",
                   v2_single ? "single-file" : "multi-file");
        goto out_release_doc;
      }
      if (v1.nreal != v2.n) {
        rv = tfail(c, WL_EPARSE, "hybrid: info.files has %zu files but the file tree has %zu",
                   v1.nreal, v2.n);
        goto out_release_doc;
      }
      for (size_t i = 0, j = 0; i < v1.n; i++) {
        const struct ent *a = &v1.e[i];
        if (a->pad) continue;
        const struct ent *b = &v2.e[j];
        const char *pa = flist_path(&v1, i), *pb = flist_path(&v2, j);
        if (a->length != b->length || strcmp(pa, pb) != 0) {
          rv = tfail(c, WL_EPARSE,
                     "hybrid: info.files[%zu] ('%s', %llu bytes) differs from file tree entry "
                     "%zu ('%s', %llu bytes)",
                     i, quote(q1, sizeof q1, pa, a->plen), (unsigned long long)a->length, j,
                     quote(q2, sizeof q2, pb, b->plen), (unsigned long long)b->length);
          goto out_release_doc;
        }
        if (a->length > 0 && a->offset % (uint64_t)pl != 0) {
          rv = tfail(c, WL_EPARSE,
                     "hybrid: info.files[%zu] ('%s') does not start on a piece boundary", i,
                     quote(q1, sizeof q1, pa, a->plen));
          goto out_release_doc;
        }
        j++;
      }
      if (t->piece_count != count) {
        rv = tfail(c, WL_EPARSE,
                   "hybrid: info.pieces has %llu hashes but the file tree makes %llu pieces",
                   (unsigned long long)t->piece_count, (unsigned long long)count);
        goto out_release_doc;
      }
    }
  }

  if (t->has_v1 && !t->has_v2 && !v1_single) {
    rv = check_unique(c, &v1);
    if (rv < 0) goto out_release_doc;
  }
  struct flist *keep = t->has_v2 ? &v2 : &v1;
  if (keep->total == 0) {
    rv = tfail(c, WL_EPARSE, "info: the torrent holds no data (every file is empty)");
    goto out_release_doc;
  }
  t->total_size = keep->total;
  t->padding_size = t->has_v1 ? v1.padding : 0;
  t->single_file = t->has_v2 ? v2_single : v1_single;
  t->version = t->has_v1 && t->has_v2 ? WL_TORRENT_HYBRID : t->has_v2 ? WL_TORRENT_V2
                                                                      : WL_TORRENT_V1;

  size_t info_len = t->info_end - t->info_start;
  if (t->has_v1) {
    rv = hash(EVP_sha1(), p + t->info_start, info_len, t->v1_hash);
    if (rv < 0) {
      tfail(c, rv, "info: SHA-1 failed");
      goto out_release_doc;
    }
  }
  if (t->has_v2) {
    rv = hash(EVP_sha256(), p + t->info_start, info_len, t->v2_hash);
    if (rv < 0) {
      tfail(c, rv, "info: SHA-256 failed");
      goto out_release_doc;
    }
  }

  t->name = strndup((const char *)node(c, name)->str, node(c, name)->slen);
  if (t->name == NULL) {
    rv = tfail(c, WL_ENOMEM, "info.name: out of memory");
    goto out_release_doc;
  }
  rv = take_files(c, keep, t);
  if (rv < 0) goto out_release_doc;
  rv = 0;

out_release_doc:
  wl_bdoc_release(&doc);
out_free_ctx:
  free(c);
  flist_release(&v1);
  flist_release(&v2);
  if (rv < 0) wl_torrent_release(t);
  return rv;
}

void wl_torrent_release(struct wl_torrent *t) {
  if (t == NULL) return;
  free(t->name);
  free(t->files);
  free(t->strings);
  memset(t, 0, sizeof *t);
}

const char *wl_torrent_version_name(enum wl_torrent_version v) {
  switch (v) {
  case WL_TORRENT_V1:
    return "v1";
  case WL_TORRENT_V2:
    return "v2";
  case WL_TORRENT_HYBRID:
    return "hybrid";
  }
  return "unknown";
}
