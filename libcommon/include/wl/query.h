/* URL query strings: iteration over key=value pairs and percent-decoding of binary values.
 * Per API.md, only %XX is decoded: a literal '+' is the byte 0x2B, never a space. */
#ifndef WL_QUERY_H
#define WL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Decodes src[0..n) into dst (capacity >= n). Returns the decoded length, or WL_EPARSE for a
 * '%' not followed by two hex digits. dst may equal src (in-place). */
ssize_t wl_pct_decode(uint8_t *dst, const char *src, size_t n);

struct wl_query_iter {
  const char *p;
  const char *end;
};

static inline void wl_query_init(struct wl_query_iter *it, const char *q, size_t n) {
  it->p = q;
  it->end = q + n;
}

/* Next non-empty pair: key in [*k, *k+*kl), raw (still encoded) value in [*v, *v+*vl); a pair
 * without '=' has an empty value. Returns false at the end. */
bool wl_query_next(struct wl_query_iter *it, const char **k, size_t *kl, const char **v,
                   size_t *vl);

/* True when the raw key [k, k+kl) equals the NUL-terminated name. */
bool wl_query_key_is(const char *k, size_t kl, const char *name);

#endif
