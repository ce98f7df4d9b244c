/* libFuzzer target: the gateway's HTTP request glue (services/gateway/src/http.c: the
 * http-parser callbacks, limits, pipelining, the pending buffer and the answer/next-request
 * cycle), fed arbitrary bytes in arbitrary chunks. http.c is included here with its libuv
 * calls redirected to fakes (writes complete later, at once, or half at once and half later),
 * and the router replaced by one that answers every request, so one input is a whole
 * connection's life. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

static uv_write_cb pending_write_cb;
static uv_write_t *pending_write_req;

static int fake_timer_start(uv_timer_t *t, uv_timer_cb cb, uint64_t a, uint64_t b) {
  (void)t, (void)cb, (void)a, (void)b;
  return 0;
}
static int fake_timer_stop(uv_timer_t *t) { (void)t; return 0; }
static int fake_read_stop(uv_stream_t *s) { (void)s; return 0; }
static int fake_read_start(uv_stream_t *s, uv_alloc_cb a, uv_read_cb r) {
  (void)s, (void)a, (void)r;
  return 0;
}
static int fake_write(uv_write_t *req, uv_stream_t *s, const uv_buf_t *bufs, unsigned n,
                      uv_write_cb cb) {
  (void)s;
  for (unsigned i = 0; i < n; i++)
    if (bufs[i].len && !bufs[i].base) abort();
  /* completes after the caller returns (as libuv would), from the harness loop */
  pending_write_cb = cb;
  pending_write_req = req;
  return 0;
}
/* wl_uv_write_now: takes nothing, everything or half, as the input's first byte says (so the
 * answer completes later, at once, or partly at once and the rest later) */
static int try_mode;
static int fake_write_now(uv_stream_t *s, uv_buf_t *b) {
  (void)s;
  if (b->len && !b->base) abort();
  if (try_mode == 0 || b->len < 2) return 1;
  if (try_mode == 1) return 0;
  *b = uv_buf_init(b->base + b->len / 2, b->len - b->len / 2);
  return 1;
}
static void fake_close(uv_handle_t *h, uv_close_cb cb) {
  (void)h, (void)cb; /* the harness frees the connection */
}

#define uv_timer_start fake_timer_start
#define uv_timer_stop fake_timer_stop
#define uv_read_stop fake_read_stop
#define uv_read_start fake_read_start
#define uv_write fake_write
#define wl_uv_write_now fake_write_now
#define uv_close fake_close
#include "http.c"
#undef uv_timer_start
#undef uv_timer_stop
#undef uv_read_stop
#undef uv_read_start
#undef uv_write
#undef wl_uv_write_now
#undef uv_close

/* The router: answer every request, as the real one does, with a small body. */
void wl_route(struct conn *c) { wl_http_respond(c, 200, "text/plain", NULL, "ok", 2); }
void wl_metrics_observe(struct gw *gw, enum route r, int status, double seconds) {
  (void)gw, (void)r, (void)status, (void)seconds;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct wl_config cfg;
  static struct gw gw;
  static char rbuf[READ_BUF];
  if (!gw.cfg) {
    char err[200];
    if (wl_config_load(&cfg, err, sizeof err) < 0) abort();
    gw.cfg = &cfg;
    gw.rbuf = rbuf;
  }
  struct conn *c = calloc(1, sizeof *c);
  conn_init(c, &gw);
  /* the first byte sets the chunk size the bytes arrive in, and how answers are written */
  size_t chunk = size ? (size_t)data[0] % 64 + 1 : 1;
  try_mode = size ? data[0] / 64 % 3 : 0;
  size_t off = size ? 1 : 0;
  while (!c->closing) {
    if (pending_write_cb) {
      uv_write_cb cb = pending_write_cb;
      pending_write_cb = NULL;
      cb(pending_write_req, 0);
      continue;
    }
    if (off >= size) break;
    size_t n = size - off < chunk ? size - off : chunk;
    if (!c->busy) {
      memcpy(rbuf, data + off, n);
      feed(c, rbuf, n);
    } else {
      feed(c, (const char *)data + off, n); /* goes to pending */
    }
    off += n;
  }
  pending_write_cb = NULL;
  c->closes = 0;
  c->waiting = false;
  conn_free(c);
  return 0;
}
