/* Framed messages on a byte stream (wl/frame.h). */
#include "wl/frame.h"

#include <stdio.h>
#include <string.h>

#include "wl/error.h"

/* The reader's buffer holds one maximal frame plus one read's worth of the next. */
enum { READ_SLACK = 64 << 10 };

void wl_frame_reader_init(struct wl_frame_reader *r, size_t max_payload) {
  wl_buf_init(&r->in, WL_FRAME_HDR + max_payload + READ_SLACK);
  r->pos = 0;
  r->max_payload = max_payload;
  r->reason[0] = '\0';
}

void wl_frame_reader_release(struct wl_frame_reader *r) {
  wl_buf_release(&r->in);
  r->pos = 0;
}

int wl_frame_reader_space(struct wl_frame_reader *r, size_t want, uint8_t **p, size_t *n) {
  if (r->pos > 0) {
    memmove(r->in.data, r->in.data + r->pos, r->in.len - r->pos);
    r->in.len -= r->pos;
    r->pos = 0;
  }
  size_t room = r->in.max - r->in.len;
  if (room == 0) return WL_ETOOBIG; /* cannot happen: a frame that long fails wl_frame_next */
  if (want > room) want = room;
  int rv = wl_buf_reserve(&r->in, want);
  if (rv < 0) return rv;
  *p = r->in.data + r->in.len;
  *n = r->in.cap - r->in.len < room ? r->in.cap - r->in.len : room;
  return 0;
}

void wl_frame_reader_commit(struct wl_frame_reader *r, size_t n) { r->in.len += n; }

int wl_frame_reader_feed(struct wl_frame_reader *r, const void *p, size_t n) {
  const uint8_t *s = p;
  while (n > 0) {
    uint8_t *dst;
    size_t room;
    int rv = wl_frame_reader_space(r, n, &dst, &room);
    if (rv < 0) return rv;
    size_t k = n < room ? n : room;
    memcpy(dst, s, k);
    wl_frame_reader_commit(r, k);
    s += k;
    n -= k;
  }
  return 0;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

int wl_frame_next(struct wl_frame_reader *r, struct wl_frame *f) {
  size_t avail = r->in.len - r->pos;
  if (avail < WL_FRAME_HDR) return 0;
  const uint8_t *h = r->in.data + r->pos;
  uint32_t n = get_u32(h);
  if (h[4] < WL_FRAME_HELLO || h[4] > WL_FRAME_BYE || h[5] || h[6] || h[7]) {
    snprintf(r->reason, sizeof r->reason,
             "not a Weightless bus frame (header %02x %02x %02x %02x %02x %02x %02x %02x)", h[0],
             h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    return WL_EPROTO;
  }
  if (n > r->max_payload) {
    snprintf(r->reason, sizeof r->reason, "frame of %u bytes, over the limit of %zu", n,
             r->max_payload);
    return WL_EPROTO;
  }
  if (avail - WL_FRAME_HDR < n) return 0;
  f->kind = h[4];
  f->id = get_u32(h + 8);
  f->p = h + WL_FRAME_HDR;
  f->n = n;
  r->pos += WL_FRAME_HDR + n;
  return 1;
}

int wl_frame_append(struct wl_buf *out, enum wl_frame_kind kind, uint32_t id, const void *p,
                    size_t n) {
  if (n > UINT32_MAX) return WL_ETOOBIG;
  int rv = wl_buf_reserve(out, WL_FRAME_HDR + n);
  if (rv < 0) return rv;
  uint8_t *h = out->data + out->len;
  put_u32(h, (uint32_t)n);
  h[4] = (uint8_t)kind;
  h[5] = h[6] = h[7] = 0;
  put_u32(h + 8, id);
  if (n) memcpy(h + WL_FRAME_HDR, p, n);
  out->len += WL_FRAME_HDR + n;
  return 0;
}
