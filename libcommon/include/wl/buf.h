/* A growable byte buffer with a hard cap fixed at init (curl's curlx_dyn). Appends past the cap
 * fail with WL_ETOOBIG and leave the buffer unchanged. */
#ifndef WL_BUF_H
#define WL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct wl_buf {
  uint8_t *data; /* owned; NULL until the first append */
  size_t len;
  size_t cap;
  size_t max; /* hard cap on len */
};

void wl_buf_init(struct wl_buf *b, size_t max);
void wl_buf_release(struct wl_buf *b);
/* Keeps the allocation, forgets the contents. */
static inline void wl_buf_reset(struct wl_buf *b) { b->len = 0; }
int wl_buf_reserve(struct wl_buf *b, size_t extra);
int wl_buf_append(struct wl_buf *b, const void *p, size_t n);
int wl_buf_appendc(struct wl_buf *b, uint8_t c);
int wl_buf_appends(struct wl_buf *b, const char *s);
int wl_buf_appendf(struct wl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wl_buf_append_u64(struct wl_buf *b, uint64_t v);
/* v in decimal into dst (WL_U64_DIGITS + 1 bytes at least), NUL-terminated; returns its length.
 * Cheaper than snprintf on hot paths. */
enum { WL_U64_DIGITS = 20 };
size_t wl_fmt_u64(char *dst, uint64_t v);
int wl_buf_append_i64(struct wl_buf *b, int64_t v);

#endif
