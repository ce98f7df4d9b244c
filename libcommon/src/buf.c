/* Capped growable buffer (wl/buf.h). Growth doubles, never past max. */
#include "wl/buf.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

void wl_buf_init(struct wl_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void wl_buf_release(struct wl_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

int wl_buf_reserve(struct wl_buf *b, size_t extra) {
  if (extra > b->max || b->len > b->max - extra) return WL_ETOOBIG;
  size_t need = b->len + extra;
  if (need <= b->cap) return 0;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < need) ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  if (ncap > b->max) ncap = b->max;
  uint8_t *p = realloc(b->data, ncap ? ncap : 1);
  if (p == NULL) return WL_ENOMEM;
  b->data = p;
  b->cap = ncap;
  return 0;
}

int wl_buf_append(struct wl_buf *b, const void *p, size_t n) {
  if (n == 0) return 0;
  int rv = wl_buf_reserve(b, n);
  if (rv < 0) return rv;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int wl_buf_appendc(struct wl_buf *b, uint8_t c) { return wl_buf_append(b, &c, 1); }

int wl_buf_appends(struct wl_buf *b, const char *s) { return wl_buf_append(b, s, strlen(s)); }

int wl_buf_appendf(struct wl_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return WL_EINVAL;
  if ((size_t)n < sizeof tmp) return wl_buf_append(b, tmp, (size_t)n);
  int rv = wl_buf_reserve(b, (size_t)n + 1);
  if (rv < 0) return rv;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

size_t wl_fmt_u64(char *dst, uint64_t v) {
  char tmp[WL_U64_DIGITS];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  size_t n = sizeof tmp - i;
  memcpy(dst, tmp + i, n);
  dst[n] = '\0';
  return n;
}

int wl_buf_append_u64(struct wl_buf *b, uint64_t v) {
  char tmp[WL_U64_DIGITS + 1];
  return wl_buf_append(b, tmp, wl_fmt_u64(tmp, v));
}

int wl_buf_append_i64(struct wl_buf *b, int64_t v) {
  if (v >= 0) return wl_buf_append_u64(b, (uint64_t)v);
  int rv = wl_buf_appendc(b, '-');
  if (rv < 0) return rv;
  rv = wl_buf_append_u64(b, (uint64_t)0 - (uint64_t)v);
  if (rv < 0) b->len--;
  return rv;
}
