/* Bencoding (wl/bencode.h): the strict decoder and the encoder.
 *
 * The decoder faces hostile input (torrent uploads, tracker answers in tests). It is one
 * iterative pass over the bytes with an explicit stack of open containers, so nesting costs no C
 * stack. Memory is the node array plus the stack, both grown geometrically: the node array never
 * past min(max_nodes, n/2 + 1) entries (every value takes at least two input bytes), the stack
 * never past max_depth frames. Nothing is ever allocated from a length read in the input: a
 * string's declared length is checked against the bytes that remain before it is used.
 *
 * Error offsets point at the first byte that cannot belong to a valid document ("i05e": 2, the
 * '5'; "i-0e": 2; "ie": 1; trailing data: its first byte; input that ends early: n), except
 * errors about a string's declared length ("5:abc", "05:x"), which point at the string's first
 * byte, and limit errors, which point at the value that went over the limit.
 *
 * The encoder appends whole tokens: each call either appends everything or leaves the buffer
 * as it was. */
#include "wl/bencode.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

enum { DEFAULT_MAX_DEPTH = 64, DEFAULT_MAX_NODES = 1000000 };

/* One open container. */
struct frame {
  uint32_t node;     /* index of the list or dict */
  uint32_t last_key; /* dict: index of the previous key, or UINT32_MAX */
  bool want_value;   /* dict: a key was read, its value comes next */
};

struct parser {
  const uint8_t *p;
  size_t n;
  size_t pos;
  uint32_t max_depth;
  uint32_t max_nodes;
  unsigned flags;

  struct wl_bnode *nodes;
  uint32_t nnodes;
  uint32_t cap;

  struct frame *stack;
  uint32_t depth;
  uint32_t stack_cap;

  struct wl_bencode_error *err;
};

static int fail(struct parser *ps, int code, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *ps, int code, size_t offset, const char *fmt, ...) {
  if (ps->err != NULL) {
    va_list ap;
    ps->err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(ps->err->reason, sizeof ps->err->reason, fmt, ap);
    va_end(ap);
  }
  return code;
}

static bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Describes byte c for an error message: 'x' when printable, else 0xNN. */
static void describe_byte(char *dst, size_t cap, uint8_t c) {
  if (c >= 0x20 && c < 0x7f && c != '\'')
    snprintf(dst, cap, "'%c'", c);
  else
    snprintf(dst, cap, "0x%02x", c);
}

/* Appends a node at ps->pos; returns its index through *idx. */
static int new_node(struct parser *ps, enum wl_bnode_type type, uint32_t *idx) {
  if (ps->nnodes >= ps->max_nodes)
    return fail(ps, WL_ETOOBIG, ps->pos, "more than %u values", (unsigned)ps->max_nodes);
  if (ps->nnodes == ps->cap) {
    /* Every value takes at least two bytes ("0:", "le", "i0e"), so n/2 + 1 bounds the count. */
    uint64_t bound = (uint64_t)ps->n / 2 + 1;
    uint64_t ncap = ps->cap ? (uint64_t)ps->cap * 2 : 16;
    if (ncap > ps->max_nodes) ncap = ps->max_nodes;
    if (ncap > bound) ncap = bound;
    if (ncap <= ps->cap) ncap = (uint64_t)ps->cap + 1;
    if (ncap > SIZE_MAX / sizeof *ps->nodes) return fail(ps, WL_ENOMEM, ps->pos, "out of memory");
    struct wl_bnode *nn = realloc(ps->nodes, (size_t)ncap * sizeof *nn);
    if (nn == NULL) return fail(ps, WL_ENOMEM, ps->pos, "out of memory");
    ps->nodes = nn;
    ps->cap = (uint32_t)ncap;
  }
  struct wl_bnode *nd = &ps->nodes[ps->nnodes];
  memset(nd, 0, sizeof *nd);
  nd->type = type;
  nd->start = ps->pos;
  *idx = ps->nnodes++;
  return 0;
}

/* "i" [-] digits "e" at ps->pos. */
static int parse_int(struct parser *ps, uint32_t idx) {
  const uint8_t *p = ps->p;
  size_t n = ps->n;
  size_t q = ps->pos + 1;
  bool neg = false;
  if (q < n && p[q] == '-') {
    neg = true;
    q++;
  }
  if (q >= n) return fail(ps, WL_EPARSE, n, "input ends inside an integer");
  if (!is_digit(p[q])) {
    char b[8];
    describe_byte(b, sizeof b, p[q]);
    if (p[q] == 'e') return fail(ps, WL_EPARSE, q, "integer has no digits");
    return fail(ps, WL_EPARSE, q, "unexpected byte %s in integer", b);
  }
  if (p[q] == '0') {
    if (neg) return fail(ps, WL_EPARSE, q, "negative zero in integer");
    if (q + 1 < n && is_digit(p[q + 1]))
      return fail(ps, WL_EPARSE, q + 1, "leading zero in integer");
  }
  /* Magnitude limit: 2^63 - 1, or 2^63 for a negative value. */
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  uint64_t u = 0;
  while (q < n && is_digit(p[q])) {
    uint64_t d = (uint64_t)(p[q] - '0');
    if (u > (limit - d) / 10) return fail(ps, WL_EPARSE, q, "integer overflows 64 bits");
    u = u * 10 + d;
    q++;
  }
  if (q >= n) return fail(ps, WL_EPARSE, n, "input ends inside an integer");
  if (p[q] != 'e') {
    char b[8];
    describe_byte(b, sizeof b, p[q]);
    return fail(ps, WL_EPARSE, q, "unexpected byte %s in integer", b);
  }
  struct wl_bnode *nd = &ps->nodes[idx];
  if (neg)
    nd->ival = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
  else
    nd->ival = (int64_t)u;
  nd->end = q + 1;
  ps->pos = q + 1;
  return 0;
}

/* length ":" bytes at ps->pos (a digit). */
static int parse_str(struct parser *ps, uint32_t idx) {
  const uint8_t *p = ps->p;
  size_t n = ps->n;
  size_t start = ps->pos;
  size_t q = start;
  size_t len = 0;
  if (p[q] == '0' && q + 1 < n && is_digit(p[q + 1]))
    return fail(ps, WL_EPARSE, start, "leading zero in string length");
  bool over = false; /* the length already exceeds the input: stop counting (no overflow) */
  while (q < n && is_digit(p[q])) {
    size_t d = (size_t)(p[q] - '0');
    if (over || len > n / 10 || len * 10 + d > n)
      over = true;
    else
      len = len * 10 + d;
    q++;
  }
  if (q >= n) return fail(ps, WL_EPARSE, n, "input ends inside a string length");
  if (p[q] != ':') {
    char b[8];
    describe_byte(b, sizeof b, p[q]);
    return fail(ps, WL_EPARSE, q, "expected ':' after string length, got %s", b);
  }
  q++;
  if (over)
    return fail(ps, WL_EPARSE, start, "string length exceeds the remaining %zu bytes", n - q);
  if (len > n - q)
    return fail(ps, WL_EPARSE, start, "string length %zu exceeds the remaining %zu bytes", len,
                n - q);
  struct wl_bnode *nd = &ps->nodes[idx];
  nd->str = p + q;
  nd->slen = len;
  nd->end = q + len;
  ps->pos = q + len;
  return 0;
}

static int push(struct parser *ps, uint32_t idx) {
  if (ps->depth >= ps->max_depth)
    return fail(ps, WL_EDEPTH, ps->pos, "nesting deeper than %u", (unsigned)ps->max_depth);
  if (ps->depth == ps->stack_cap) {
    uint32_t ncap = ps->stack_cap ? ps->stack_cap * 2 : 8;
    if (ncap > ps->max_depth || ncap < ps->stack_cap) ncap = ps->max_depth;
    struct frame *ns = realloc(ps->stack, (size_t)ncap * sizeof *ns);
    if (ns == NULL) return fail(ps, WL_ENOMEM, ps->pos, "out of memory");
    ps->stack = ns;
    ps->stack_cap = ncap;
  }
  struct frame *f = &ps->stack[ps->depth++];
  f->node = idx;
  f->last_key = UINT32_MAX;
  f->want_value = false;
  return 0;
}

/* Bytewise order of two strings, a shorter prefix first. */
static int key_cmp(const struct wl_bnode *a, const struct wl_bnode *b) {
  size_t m = a->slen < b->slen ? a->slen : b->slen;
  int c = m ? memcmp(a->str, b->str, m) : 0;
  if (c != 0) return c;
  return a->slen < b->slen ? -1 : a->slen > b->slen;
}

/* Records that value idx is complete inside the innermost open container. */
static int complete(struct parser *ps, uint32_t idx) {
  struct frame *f = &ps->stack[ps->depth - 1];
  struct wl_bnode *c = &ps->nodes[f->node];
  if (c->type == WL_BNODE_LIST) {
    c->count++;
    return 0;
  }
  if (f->want_value) {
    c->count++;
    f->want_value = false;
    return 0;
  }
  /* idx is a key (the caller checked it is a string). */
  if ((ps->flags & WL_BENCODE_STRICT_KEYS) && f->last_key != UINT32_MAX) {
    int cmp = key_cmp(&ps->nodes[f->last_key], &ps->nodes[idx]);
    if (cmp == 0) return fail(ps, WL_EPARSE, ps->nodes[idx].start, "duplicate dict key");
    if (cmp > 0) return fail(ps, WL_EPARSE, ps->nodes[idx].start, "dict keys not sorted");
  }
  f->last_key = idx;
  f->want_value = true;
  return 0;
}

static int parse(struct parser *ps) {
  int rv;
  if (ps->n == 0) return fail(ps, WL_EPARSE, 0, "empty input");
  do {
    if (ps->pos >= ps->n) {
      const char *what = ps->nodes[ps->stack[ps->depth - 1].node].type == WL_BNODE_LIST
                             ? "list"
                             : "dict";
      return fail(ps, WL_EPARSE, ps->n, "input ends inside a %s", what);
    }
    uint8_t ch = ps->p[ps->pos];
    struct frame *top = ps->depth ? &ps->stack[ps->depth - 1] : NULL;
    bool in_dict = top != NULL && ps->nodes[top->node].type == WL_BNODE_DICT;
    if (top != NULL && ch == 'e') {
      if (in_dict && top->want_value)
        return fail(ps, WL_EPARSE, ps->pos, "dict key without a value");
      struct wl_bnode *c = &ps->nodes[top->node];
      uint32_t idx = top->node;
      c->end = ps->pos + 1;
      c->next = ps->nnodes;
      ps->pos++;
      ps->depth--;
      if (ps->depth == 0) break;
      rv = complete(ps, idx);
      if (rv < 0) return rv;
      continue;
    }
    if (in_dict && !top->want_value && !is_digit(ch)) {
      char b[8];
      describe_byte(b, sizeof b, ch);
      return fail(ps, WL_EPARSE, ps->pos, "dict key is not a string (starts with %s)", b);
    }
    uint32_t idx;
    if (ch == 'i') {
      rv = new_node(ps, WL_BNODE_INT, &idx);
      if (rv < 0) return rv;
      rv = parse_int(ps, idx);
    } else if (is_digit(ch)) {
      rv = new_node(ps, WL_BNODE_STR, &idx);
      if (rv < 0) return rv;
      rv = parse_str(ps, idx);
    } else if (ch == 'l' || ch == 'd') {
      if (ps->depth >= ps->max_depth)
        return fail(ps, WL_EDEPTH, ps->pos, "nesting deeper than %u", (unsigned)ps->max_depth);
      rv = new_node(ps, ch == 'l' ? WL_BNODE_LIST : WL_BNODE_DICT, &idx);
      if (rv < 0) return rv;
      rv = push(ps, idx);
      if (rv < 0) return rv;
      ps->pos++;
      continue;
    } else {
      char b[8];
      describe_byte(b, sizeof b, ch);
      return fail(ps, WL_EPARSE, ps->pos, "unexpected byte %s where a value should start", b);
    }
    if (rv < 0) return rv;
    ps->nodes[idx].next = idx + 1;
    if (ps->depth == 0) break;
    rv = complete(ps, idx);
    if (rv < 0) return rv;
  } while (ps->depth > 0);
  if (ps->pos != ps->n)
    return fail(ps, WL_EPARSE, ps->pos, "%zu bytes of trailing data after the value",
                ps->n - ps->pos);
  return 0;
}

int wl_bencode_parse(const uint8_t *p, size_t n, const struct wl_bencode_limits *lim,
                     struct wl_bdoc *doc, struct wl_bencode_error *err) {
  struct parser ps;
  memset(&ps, 0, sizeof ps);
  ps.p = p;
  ps.n = n;
  ps.err = err;
  ps.max_depth = lim ? lim->max_depth : DEFAULT_MAX_DEPTH;
  ps.max_nodes = lim ? lim->max_nodes : DEFAULT_MAX_NODES;
  ps.flags = lim ? lim->flags : 0;
  memset(doc, 0, sizeof *doc);
  if (err != NULL) {
    err->offset = 0;
    err->reason[0] = '\0';
  }
  if (p == NULL && n != 0) return fail(&ps, WL_EINVAL, 0, "no input");

  int rv = parse(&ps);
  free(ps.stack);
  if (rv < 0) goto out_free_nodes;
  doc->nodes = ps.nodes;
  doc->n = ps.nnodes;
  doc->input = p;
  doc->input_len = n;
  return 0;

out_free_nodes:
  free(ps.nodes);
  return rv;
}

void wl_bdoc_release(struct wl_bdoc *doc) {
  if (doc == NULL) return;
  free(doc->nodes);
  doc->nodes = NULL;
  doc->n = 0;
}

int64_t wl_bdict_get(const struct wl_bdoc *doc, uint32_t d, const char *key, size_t klen) {
  if (doc == NULL || d >= doc->n || doc->nodes[d].type != WL_BNODE_DICT) return -1;
  uint32_t i = d + 1;
  for (uint32_t k = 0; k < doc->nodes[d].count; k++) {
    const struct wl_bnode *kn = &doc->nodes[i];
    uint32_t v = i + 1; /* keys are strings: their subtree is one node */
    if (kn->slen == klen && (klen == 0 || memcmp(kn->str, key, klen) == 0)) return v;
    i = doc->nodes[v].next;
  }
  return -1;
}

/* ---- encoder ---- */

int wl_benc_int(struct wl_buf *b, int64_t v) {
  char tmp[WL_U64_DIGITS + 3]; /* i - digits e (wl_fmt_u64 ends with a NUL, where e goes) */
  size_t n = 0;
  tmp[n++] = 'i';
  if (v < 0) tmp[n++] = '-';
  n += wl_fmt_u64(tmp + n, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
  tmp[n++] = 'e';
  return wl_buf_append(b, tmp, n);
}

int wl_benc_str(struct wl_buf *b, const void *p, size_t n) {
  char tmp[WL_U64_DIGITS + 1];
  size_t hl = wl_fmt_u64(tmp, n);
  tmp[hl++] = ':';
  if (n > SIZE_MAX - hl) return WL_ETOOBIG;
  int rv = wl_buf_reserve(b, hl + n);
  if (rv < 0) return rv;
  /* Both fit now: reserve guaranteed the room. */
  rv = wl_buf_append(b, tmp, hl);
  if (rv < 0) return rv;
  return wl_buf_append(b, p, n);
}

int wl_benc_strz(struct wl_buf *b, const char *s) { return wl_benc_str(b, s, strlen(s)); }

int wl_benc_list_begin(struct wl_buf *b) { return wl_buf_appendc(b, 'l'); }

int wl_benc_dict_begin(struct wl_buf *b) { return wl_buf_appendc(b, 'd'); }

int wl_benc_end(struct wl_buf *b) { return wl_buf_appendc(b, 'e'); }
