/* The gateway's side of the announce bus: a libuv listener (ipc:// or tcp://, WL_ANNOUNCE_BUS)
 * that announce workers dial, frames of wl/frame.h on each connection, all on the gateway's
 * loop (wl/uvlink.h says why this is not NNG). `--scale announce=N` needs no configuration:
 * a worker that connects and says HELLO takes requests at once.
 *
 * A request goes to the ready worker with the fewest requests in flight. It is kept until
 * answered, so that it can be sent again: at once to another worker when its worker's
 * connection closes (a worker killed loses nothing), and after RESEND_MS to another worker when
 * its worker does not answer (a hung worker). The first answer wins, from whichever worker; no
 * worker gets the same request twice. Delivery is at least once, as with NNG's req resends
 * before: a hung worker that comes back runs what it had. A worker that stops says BYE first:
 * it gets nothing new and answers what it has, so a scale-down resends nothing. With no worker
 * connected, requests wait for one until their deadline. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/log.h"

enum {
  SLOTS = 65536,        /* requests in flight at most (ids carry the slot in 16 bits) */
  RESEND_MS = 2000,     /* an unanswered request goes to another worker after this */
  TICK_MS = 50,         /* granularity of deadlines and resends */
  REPLY_MAX = 128 << 20 /* a worker's answer (a full scrape, the stats) */
};

struct wlink {
  struct wl_uvlink l; /* first: the link's data is the wlink */
  struct gw *gw;
  struct wlink *next, **pprev;
  bool hello, bye;
  int inflight;
};

static bool worker_ready(const struct wlink *k) { return k->hello && !k->bye && !k->l.closing; }

/* r's worker or one of the workers it was sent to before. */
static bool had(const struct breq *r, const struct wlink *k) {
  if (k == r->link) return true;
  for (int i = 0; i < r->nslow; i++)
    if (r->slow[i] == k) return true;
  return false;
}

/* The ready worker with the fewest requests in flight (round robin among equals) that does not
 * have r yet. */
static struct wlink *pick(struct abus *ab, const struct breq *r) {
  int least = -1, ties = 0;
  for (struct wlink *k = ab->links; k; k = k->next) {
    if (!worker_ready(k) || had(r, k)) continue;
    if (least < 0 || k->inflight < least) {
      least = k->inflight;
      ties = 0;
    }
    if (k->inflight == least) ties++;
  }
  if (least < 0) return NULL;
  int nth = (int)(ab->rr++ % (uint32_t)ties);
  for (struct wlink *k = ab->links; k; k = k->next)
    if (worker_ready(k) && !had(r, k) && k->inflight == least && nth-- == 0) return k;
  return NULL;
}

/* r ends: the workers it was sent to before no longer count it. */
static void forget_slow(struct breq *r) {
  for (int i = 0; i < r->nslow; i++) r->slow[i]->inflight--;
  r->nslow = 0;
}

/* k goes away (and its count with it): r forgets it. */
static void drop_slow(struct breq *r, const struct wlink *k) {
  for (int i = 0; i < r->nslow; i++)
    if (r->slow[i] == k) r->slow[i--] = r->slow[--r->nslow];
}

/* Sends r to a worker, or leaves it waiting for one (r->link NULL).
 * On a resend (r->link set: unanswered for RESEND_MS) the worker that had r joins r->slow: it
 * may still answer (the first answer wins, see on_frame), and r stays in its count until r
 * ends, so new requests go to the others. No worker gets r twice: on its ordered connection a
 * second copy could only be read after the first, answering nothing sooner and running the
 * announce twice (a `completed` counted twice). With no other worker ready, or BUS_SLOW_MAX
 * earlier workers remembered already, r stays where it is and is looked at again after
 * RESEND_MS. A worker that said BYE is not remembered: it is never picked again. */
static void dispatch(struct abus *ab, struct breq *r, uint64_t now) {
  struct wlink *prev = r->link;
  struct wlink *k = pick(ab, r);
  if (prev && worker_ready(prev) && (k == NULL || r->nslow == BUS_SLOW_MAX)) {
    r->resend_ms = now + RESEND_MS;
    return;
  }
  if (prev && !prev->l.closing && r->nslow < BUS_SLOW_MAX)
    r->slow[r->nslow++] = prev;
  else if (prev)
    prev->inflight--;
  r->link = NULL;
  if (k == NULL) return;
  if (wl_uvlink_send(&k->l, WL_FRAME_REQ, r->id, r->msg.data, r->msg.len) < 0) return;
  r->link = k;
  k->inflight++;
  r->resend_ms = now + RESEND_MS;
  if (r->sent) ab->resent++;
  r->sent = true;
}

static void unlink_req(struct abus *ab, struct breq *r) {
  if (r->prev)
    r->prev->next = r->next;
  else
    ab->inflight = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

/* Ends r: fn runs, then r is free again (its generation moves on). */
static void complete(struct gw *gw, struct breq *r, int rv, const void *body, size_t len) {
  struct abus *ab = &gw->abus;
  unlink_req(ab, r);
  if (r->link) r->link->inflight--;
  r->link = NULL;
  forget_slow(r);
  if (rv == WL_ETIMEOUT) gw->m.backend_timeouts[BK_ANNOUNCE]++; /* rv: 0 or WL_ETIMEOUT */
  r->fn(r, rv, body, len);
  r->id = (r->id & 0xffffu) | ((r->id + 0x10000u) & 0xffff0000u);
  wl_buf_reset(&r->msg);
  r->next_free = ab->free;
  ab->free = r;
}

static void on_tick(uv_timer_t *t);

struct breq *wl_abus_call(struct gw *gw, const void *msg, size_t len, int timeout_ms, breq_fn fn,
                          void *arg) {
  struct abus *ab = &gw->abus;
  struct breq *r = ab->free;
  if (r) {
    ab->free = r->next_free;
  } else {
    if (ab->total >= SLOTS) return NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->gw = gw;
    r->bk = BK_ANNOUNCE;
    r->id = (uint32_t)ab->total;
    wl_buf_init(&r->msg, WL_FRAME_REQ_MAX); /* longer: refused here, not by the worker */
    ab->slots[ab->total++] = r;
  }
  if (wl_buf_append(&r->msg, msg, len) < 0) {
    r->next_free = ab->free;
    ab->free = r;
    return NULL;
  }
  r->fn = fn;
  r->arg = arg;
  uint64_t now = uv_now(gw->loop);
  r->deadline_ms = now + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
  r->link = NULL;
  r->nslow = 0;
  r->sent = false;
  r->prev = NULL;
  r->next = ab->inflight;
  if (ab->inflight) ab->inflight->prev = r;
  ab->inflight = r;
  if (!uv_is_active((uv_handle_t *)&ab->tick)) /* it stops when nothing is in flight */
    uv_timer_start(&ab->tick, on_tick, TICK_MS, TICK_MS);
  dispatch(ab, r, now);
  return r;
}

/* Requests waiting for a worker go now. */
static void dispatch_waiting(struct abus *ab, uint64_t now) {
  for (struct breq *r = ab->inflight; r && ab->ready > 0; r = r->next)
    if (r->link == NULL) dispatch(ab, r, now);
}

static void on_tick(uv_timer_t *t) {
  struct gw *gw = t->data;
  struct abus *ab = &gw->abus;
  uint64_t now = uv_now(gw->loop);
  struct breq *next;
  for (struct breq *r = ab->inflight; r; r = next) {
    next = r->next;
    if (now >= r->deadline_ms) {
      complete(gw, r, WL_ETIMEOUT, NULL, 0);
    } else if (r->link == NULL || now >= r->resend_ms) {
      dispatch(ab, r, now);
    }
  }
  if (ab->inflight == NULL) uv_timer_stop(t);
}

static bool on_frame(struct wl_uvlink *l, const struct wl_frame *f) {
  struct wlink *k = (struct wlink *)l;
  struct gw *gw = k->gw;
  struct abus *ab = &gw->abus;
  if (!k->hello) {
    if (f->kind != WL_FRAME_HELLO || f->n != strlen(WL_FRAME_HELLO_TEXT) ||
        memcmp(f->p, WL_FRAME_HELLO_TEXT, f->n) != 0) {
      WL_WARN("gateway", "refusing a connection on the announce bus: it did not say \"%s\"",
              WL_FRAME_HELLO_TEXT);
      wl_uvlink_close(l);
      return true;
    }
    k->hello = true;
    ab->ready++;
    WL_INFO("gateway", "an announce worker connected (%d ready)", ab->ready);
    dispatch_waiting(ab, uv_now(gw->loop));
    return true;
  }
  switch (f->kind) {
  case WL_FRAME_REP: {
    /* The first answer to a request still open wins, from its worker or one it was taken from
     * (a worker that was slow may still answer first). An answer to a request already answered
     * or timed out carries an older generation in its id, and is dropped. So is one from a
     * worker r does not remember: the 16-bit generation comes round again after 65,536
     * requests in one slot, and only the worker tells such an old answer apart. */
    struct breq *r = (f->id & 0xffffu) < ab->total ? ab->slots[f->id & 0xffffu] : NULL;
    if (r && r->id == f->id && had(r, k)) complete(gw, r, 0, f->p, f->n);
    return true;
  }
  case WL_FRAME_BYE:
    if (!k->bye) {
      k->bye = true;
      ab->ready--;
      WL_INFO("gateway", "an announce worker is stopping: it answers its %d requests in flight "
                         "and gets no more (%d ready)", k->inflight, ab->ready);
    }
    return true;
  default:
    WL_WARN("gateway", "an announce worker sent a frame of kind %u: closing its connection",
            f->kind);
    wl_uvlink_close(l);
    return true;
  }
}

static void on_link_close(struct wl_uvlink *l, const char *why) {
  struct wlink *k = (struct wlink *)l;
  struct gw *gw = k->gw;
  struct abus *ab = &gw->abus;
  *k->pprev = k->next;
  if (k->next) k->next->pprev = k->pprev;
  if (k->hello && !k->bye) ab->ready--;
  int moved = 0;
  uint64_t now = uv_now(gw->loop);
  for (struct breq *r = ab->inflight; r; r = r->next) {
    drop_slow(r, k);
    if (r->link != k) continue;
    if (ab->listening) {
      dispatch(ab, r, now); /* to another worker, or waiting for one */
      moved++;
    } else {
      r->link = NULL; /* stopping: it stays unanswered */
    }
  }
  if (k->hello && ab->listening)
    WL_WARN("gateway", "an announce worker disconnected (%s); its %d requests go to another "
                       "worker, %d ready", why ? why : "closed", moved, ab->ready);
  else if (why && ab->listening)
    WL_WARN("gateway", "announce bus connection closed before HELLO: %s", why);
  wl_uvlink_release(l);
  free(k);
}

static void on_connection(uv_stream_t *server, int status) {
  struct gw *gw = server->data;
  struct abus *ab = &gw->abus;
  if (status < 0) {
    WL_WARN("gateway", "announce bus: accept failed: %s", uv_strerror(status));
    return;
  }
  struct wlink *k = calloc(1, sizeof *k);
  if (k == NULL) {
    WL_ERROR("gateway", "announce bus: out of memory for a worker connection");
    return;
  }
  wl_uvlink_init(&k->l, REPLY_MAX, on_frame, on_link_close, k);
  k->gw = gw;
  k->next = ab->links;
  if (ab->links) ab->links->pprev = &k->next;
  k->pprev = &ab->links;
  ab->links = k;
  int rv = wl_uvlink_accept(&k->l, &ab->ls);
  if (rv == 0) {
    uv_unref(&k->l.u.h);
  } else if (rv == WL_ENOMEM) { /* no stream was made: no on_link_close will come */
    WL_ERROR("gateway", "announce bus: out of memory for a worker connection");
    ab->links = k->next;
    if (k->next) k->next->pprev = &ab->links;
    free(k);
  }
}

int wl_abus_start(struct gw *gw) {
  struct abus *ab = &gw->abus;
  char url[600], why[200];
  int rv = wl_config_endpoint(gw->cfg, gw->cfg->announce_bus, "announce.ipc", url, sizeof url);
  if (rv < 0) return rv;
  struct wl_uvaddr a;
  if (wl_uvaddr_parse(url, &a, why, sizeof why) < 0) {
    WL_ERROR("gateway", "WL_ANNOUNCE_BUS: %s", why);
    return WL_EINVAL;
  }
  ab->slots = calloc(SLOTS, sizeof *ab->slots);
  if (ab->slots == NULL) return WL_ENOMEM;
  if (wl_uvlink_listen(&ab->ls, gw->loop, &a, on_connection, why, sizeof why) < 0) {
    WL_ERROR("gateway", "cannot listen for announce workers on %s: %s", url, why);
    return WL_EIO;
  }
  ab->listening = true;
  ab->ls.u.h.data = gw;
  uv_unref(&ab->ls.u.h); /* the bus never keeps the loop alive: HTTP work does */
  uv_timer_init(gw->loop, &ab->tick);
  ab->tick.data = gw;
  uv_unref((uv_handle_t *)&ab->tick);
  WL_INFO("gateway", "announce workers dial %s", url);
  return 0;
}

void wl_abus_stop(struct gw *gw) {
  struct abus *ab = &gw->abus;
  if (!ab->listening) return;
  /* The loop has ended: requests still in flight are dropped unanswered (their connections are
   * gone); the workers see their connection close. */
  ab->listening = false;
  uv_timer_stop(&ab->tick);
  uv_close((uv_handle_t *)&ab->tick, NULL);
  uv_close(&ab->ls.u.h, NULL);
  for (struct wlink *k = ab->links; k; k = k->next) wl_uvlink_close(&k->l);
  uv_run(gw->loop, UV_RUN_NOWAIT); /* the close callbacks */
  wl_uvlisten_release(&ab->ls);
  for (size_t i = 0; i < ab->total; i++) {
    wl_buf_release(&ab->slots[i]->msg);
    free(ab->slots[i]);
  }
  free(ab->slots);
  ab->slots = NULL;
  ab->total = 0;
}
