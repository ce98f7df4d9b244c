/* /announce and /scrape: query parsing per BEP 3/7/23/48 and API.md, one bus message to an
 * announce worker, and the bencoded answer. Every malformed parameter gets HTTP 200 with a
 * bencoded failure reason naming it. Binary values decode %XX only ('+' is 0x2B). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wl/bencode.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl/query.h"
#include "tracker_parse.h"
#include "wl_proto.h"

void wl_tracker_fail(struct conn *c, const char *reason) {
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "failure reason");
  wl_benc_strz(b, reason);
  wl_benc_end(b);
  c->gw->m.failures_announce++;
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

/* Answers the announce of c from a worker's ANNOUNCE_REP (or the error of the bus call). */
static void announce_answer(struct conn *c, int result, const void *reply, size_t len) {
  if (result == WL_ETIMEOUT) {
    wl_tracker_fail(c, "Tracker busy: no announce worker answered in time, please retry");
    return;
  }
  if (result < 0) {
    wl_tracker_fail(c, "Tracker unavailable, please retry later");
    return;
  }
  struct wl_proto_in in;
  struct wl_msg_announce_rep rep;
  int rv = wl_proto_in_init(&in, reply, len);
  if (rv == 0) rv = wl_proto_decode_announce_rep(&in, &rep);
  if (rv < 0) {
    WL_WARN("gateway", "bad announce reply from a worker: %s", in.reason);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, "Tracker error, please retry later");
    return;
  }
  if (rep.failure_len) {
    char reason[1100];
    snprintf(reason, sizeof reason, "%.*s", (int)rep.failure_len, rep.failure);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, reason);
    return;
  }
  const struct wl_config *cfg = c->gw->cfg;
  bool compact = c->ann_compact, no_peer_id = c->ann_no_peer_id;
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "complete");
  wl_benc_int(b, (int64_t)rep.complete);
  wl_benc_strz(b, "incomplete");
  wl_benc_int(b, (int64_t)rep.incomplete);
  wl_benc_strz(b, "interval");
  wl_benc_int(b, cfg->announce_interval);
  wl_benc_strz(b, "min interval");
  wl_benc_int(b, cfg->min_interval);
  wl_benc_strz(b, "peers");
  if (compact) {
    wl_benc_str(b, rep.peers, rep.peers_len);
    if (rep.peers6_len) {
      wl_benc_strz(b, "peers6");
      wl_benc_str(b, rep.peers6, rep.peers6_len);
    }
  } else {
    /* BEP 3 dictionary model: both families in one list */
    size_t n4 = rep.peers_len / 6, n6 = rep.peers6_len / 18;
    wl_benc_list_begin(b);
    for (size_t i = 0; i < n4 + n6; i++) {
      char ip[INET6_ADDRSTRLEN];
      const uint8_t *p = i < n4 ? rep.peers + 6 * i : rep.peers6 + 18 * (i - n4);
      size_t alen = i < n4 ? 4 : 16;
      inet_ntop(alen == 4 ? AF_INET : AF_INET6, p, ip, sizeof ip);
      wl_benc_dict_begin(b);
      wl_benc_strz(b, "ip");
      wl_benc_strz(b, ip);
      if (!no_peer_id && rep.peer_ids_len) {
        wl_benc_strz(b, "peer id");
        wl_benc_str(b, rep.peer_ids + 20 * i, 20);
      }
      wl_benc_strz(b, "port");
      wl_benc_int(b, p[alen] << 8 | p[alen + 1]);
      wl_benc_end(b);
    }
    wl_benc_end(b);
  }
  wl_benc_end(b);
  wl_proto_in_release(&in);
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

/* ---- batching: the announces (and scrapes) parsed in one loop iteration travel as one bus
 * message ----------------------------------------------------------------------------------
 * Every bus message costs thread and process wake-ups on both sides (~20 µs each on these
 * machines), whatever it carries. So while a message of announces is out with a worker, the
 * open batch is held and keeps filling: it goes when that reply comes back (the next loop
 * iteration's check), when it is full (WL_ANNOUNCE_BATCH_MAX: under heavy load full batches
 * go out without waiting, to every worker in parallel), or after BATCH_HOLD_MS at the latest.
 * An idle tracker sends at once; a busy one sends fewer, bigger messages (measured on 2 cores,
 * 64 connections: 4 announces per message without the hold, 7-15 with it, and ~20% less CPU
 * per announce over the whole stack). The cap was 2 ms; 1 ms cut the p99 at half of peak
 * (1,000 swarms, 10,000 announces/s paced) from 4.1-4.7 to 3.6-4.1 ms, with no change in CPU
 * per announce at full load (50.4-54.2 against 52.2-52.9 µs, alternating runs).
 * A batch of fewer than BATCH_HOLD_MIN announces at the end of a loop iteration is not held:
 * that is a gateway under moderate load, where holding saved no CPU and cost latency. With the
 * announce bus on the loops, in two pairs of quick `make bench` runs (1,000 swarms) the p50 at
 * half of peak went from 1.72 and 1.71 ms to 1.13 and 1.15, the p99 from 6.13 and 6.55 to 5.26
 * and 5.81, and the CPU per announce at full load stayed where it was (39.8 and 41.2 µs
 * against 38.3 and 40.6; with no hold at all it was 45.4). */

enum { BATCH_HOLD_MS = 1, BATCH_HOLD_MIN = 3 };

struct ann_batch {
  struct ann_batch *next_free;
  uint64_t opened_ms;
  size_t n;
  struct conn *conns[WL_ANNOUNCE_BATCH_MAX];
  bool scrape[WL_ANNOUNCE_BATCH_MAX]; /* the item is a SCRAPE, else an ANNOUNCE */
  size_t end[WL_ANNOUNCE_BATCH_MAX]; /* end offset of each encoded ANNOUNCE in msgs */
  struct wl_buf msgs;
};

static void batch_release(struct gw *gw, struct ann_batch *b) {
  b->n = 0;
  wl_buf_reset(&b->msgs);
  b->next_free = gw->batch_free;
  gw->batch_free = b;
}

static void scrape_answer(struct conn *c, int result, const void *reply, size_t len);

static void item_answer(struct conn *c, bool scrape, int result, const void *reply, size_t len) {
  if (scrape)
    scrape_answer(c, result, reply, len);
  else
    announce_answer(c, result, reply, len);
}

static void single_reply(struct breq *r, int result, const void *reply, size_t len) {
  struct conn *c = r->arg;
  r->gw->ann_inflight--;
  if (wl_http_breq_done(c)) item_answer(c, c->scrape_item, result, reply, len);
}

static void batch_reply(struct breq *r, int result, const void *reply, size_t len) {
  struct ann_batch *b = r->arg;
  r->gw->ann_inflight--;
  struct wl_proto_in in;
  struct wl_msg_batch rep = {0};
  int rv = result;
  if (rv == 0) {
    rv = wl_proto_in_init(&in, reply, len);
    if (rv == 0) rv = wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH_REP, &rep);
    if (rv == 0 && rep.n != b->n) rv = WL_EPROTO;
    if (rv < 0) WL_WARN("gateway", "bad batch reply from a worker: %s", in.reason);
  }
  for (size_t i = 0; i < b->n; i++) {
    if (!wl_http_breq_done(b->conns[i])) continue;
    if (rv < 0)
      item_answer(b->conns[i], b->scrape[i], result < 0 ? result : WL_EPROTO, NULL, 0);
    else
      item_answer(b->conns[i], b->scrape[i], 0, rep.parts[i].p, rep.parts[i].n);
  }
  if (result == 0) wl_proto_in_release(&in);
  batch_release(r->gw, b);
}

static void on_batch_timer(uv_timer_t *t) { wl_tracker_flush(t->data); }

static bool hold_batch(struct gw *gw, const struct ann_batch *b) {
  return gw->ann_inflight > 0 && b->n >= BATCH_HOLD_MIN && b->n < WL_ANNOUNCE_BATCH_MAX &&
         uv_now(gw->loop) - b->opened_ms < BATCH_HOLD_MS;
}

void wl_tracker_flush(struct gw *gw) {
  struct ann_batch *b = gw->batch_open;
  if (b == NULL || b->n == 0) return;
  if (hold_batch(gw, b)) {
    if (!uv_is_active((uv_handle_t *)&gw->batch_timer))
      uv_timer_start(&gw->batch_timer, on_batch_timer, BATCH_HOLD_MS, 0);
    return;
  }
  uv_timer_stop(&gw->batch_timer);
  gw->batch_open = NULL;
  gw->m.bus_announce_msgs++;
  int timeout = (int)gw->cfg->backend_timeout_ms;
  if (b->n == 1) {
    struct conn *c = b->conns[0];
    c->scrape_item = b->scrape[0];
    bool sent = wl_backend_call(gw, BK_ANNOUNCE, b->msgs.data, b->msgs.len, timeout, single_reply,
                                c) != NULL;
    batch_release(gw, b);
    if (sent) gw->ann_inflight++;
    else if (wl_http_breq_done(c)) wl_tracker_fail(c, "Tracker overloaded, please retry later");
    return;
  }
  struct wl_msg_part parts[WL_ANNOUNCE_BATCH_MAX];
  for (size_t i = 0; i < b->n; i++) {
    size_t start = i ? b->end[i - 1] : 0;
    parts[i].p = b->msgs.data + start;
    parts[i].n = b->end[i] - start;
  }
  struct wl_buf *m = &gw->scratch;
  wl_buf_reset(m);
  if (wl_proto_encode_batch(m, WL_MSG_ANNOUNCE_BATCH, parts, b->n) < 0 ||
      wl_backend_call(gw, BK_ANNOUNCE, m->data, m->len, timeout, batch_reply, b) == NULL) {
    for (size_t i = 0; i < b->n; i++)
      if (wl_http_breq_done(b->conns[i]))
        wl_tracker_fail(b->conns[i], "Tracker overloaded, please retry later");
    batch_release(gw, b);
    return;
  }
  gw->ann_inflight++;
}

/* The open batch, created if there is none; NULL when out of memory. */
static struct ann_batch *batch_get(struct gw *gw) {
  struct ann_batch *b = gw->batch_open;
  if (b == NULL) {
    b = gw->batch_free;
    if (b) {
      gw->batch_free = b->next_free;
    } else {
      b = calloc(1, sizeof *b);
      if (b == NULL) return NULL;
      wl_buf_init(&b->msgs, 1 << 20);
    }
    b->n = 0;
    b->opened_ms = uv_now(gw->loop);
    gw->batch_open = b;
  }
  return b;
}

/* The message just encoded at the end of the open batch's buffer is c's item. It goes at the
 * end of this loop iteration (wl_tracker_flush from the gateway's uv_check handle) unless
 * held (see above), or now when the batch is full. */
static void batch_commit(struct gw *gw, struct ann_batch *b, struct conn *c, bool scrape) {
  b->end[b->n] = b->msgs.len;
  b->scrape[b->n] = scrape;
  b->conns[b->n++] = c;
  c->waiting = true;
  if (b->n == WL_ANNOUNCE_BATCH_MAX) wl_tracker_flush(gw);
}

static int batch_add(struct conn *c, const struct wl_msg_announce *a) {
  struct ann_batch *b = batch_get(c->gw);
  if (b == NULL) return WL_ENOMEM;
  size_t mark = b->msgs.len;
  int rv = wl_proto_encode_announce(&b->msgs, a);
  if (rv < 0) {
    b->msgs.len = mark;
    return rv;
  }
  batch_commit(c->gw, b, c, false);
  return 0;
}

void wl_tracker_announce(struct conn *c, const char *passkey, size_t passkey_len,
                         const char *query, size_t qlen) {
  struct gw *gw = c->gw;
  const struct wl_config *cfg = gw->cfg;
  struct wl_msg_announce a;
  char reason[160];
  gw->m.announces++;
  const char *user = "";
  size_t ulen = 0;
  if (wl_passkey_check(cfg, passkey, passkey_len, &user, &ulen, reason, sizeof reason) < 0) {
    wl_tracker_fail(c, reason);
    return;
  }
  bool compact, no_peer_id;
  const char *why = wl_announce_parse(cfg, query, qlen, c->ip, c->ip_len, &a, &compact,
                                      &no_peer_id, reason, sizeof reason);
  if (why) return wl_tracker_fail(c, why);
  a.user_id = user;
  a.user_id_len = ulen;
  c->ann_compact = compact;
  c->ann_no_peer_id = no_peer_id;
  if (batch_add(c, &a) < 0) wl_tracker_fail(c, "Tracker overloaded, please retry later");
}

/* ---- scrape ---------------------------------------------------------------------------------- */

/* Scrapes travel in the announce batches (a scrape alone cost a bus message of its own, four
 * times opentracker's CPU per scrape in `make bench`). */
static void scrape_answer(struct conn *c, int result, const void *reply, size_t len) {
  if (result < 0) {
    wl_tracker_fail(c, result == WL_ETIMEOUT ? "Tracker busy: no announce worker answered in time, please retry"
                                             : "Tracker unavailable, please retry later");
    return;
  }
  struct wl_proto_in in;
  struct wl_msg_scrape_rep rep;
  int rv = wl_proto_in_init(&in, reply, len);
  if (rv == 0) rv = wl_proto_decode_scrape_rep(&in, &rep);
  if (rv < 0 || rep.failure_len) {
    char reason[1100];
    if (rv < 0) snprintf(reason, sizeof reason, "Tracker error, please retry later");
    else snprintf(reason, sizeof reason, "%.*s", (int)rep.failure_len, rep.failure);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, reason);
    return;
  }
  /* files keys must be sorted: the request's hashes were sorted before sending */
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "files");
  wl_benc_dict_begin(b);
  for (size_t i = 0; i < rep.n; i++) {
    wl_benc_str(b, rep.files[i].hash, 20);
    wl_benc_dict_begin(b);
    wl_benc_strz(b, "complete");
    wl_benc_int(b, (int64_t)rep.files[i].complete);
    wl_benc_strz(b, "downloaded");
    wl_benc_int(b, (int64_t)rep.files[i].downloaded);
    wl_benc_strz(b, "incomplete");
    wl_benc_int(b, (int64_t)rep.files[i].incomplete);
    wl_benc_end(b);
  }
  wl_benc_end(b);
  wl_benc_end(b);
  wl_proto_in_release(&in);
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

void wl_tracker_scrape(struct conn *c, const char *passkey, size_t passkey_len,
                       const char *query, size_t qlen) {
  struct gw *gw = c->gw;
  const struct wl_config *cfg = gw->cfg;
  char reason[160];
  const char *user;
  size_t ulen;
  gw->m.scrapes++;
  if (wl_passkey_check(cfg, passkey, passkey_len, &user, &ulen, reason, sizeof reason) < 0) {
    wl_tracker_fail(c, reason);
    return;
  }
  /* gw->scrape_hashes has room for WL_SCRAPE_MAX hashes, allocated once at start */
  size_t n = 0;
  const char *why = wl_scrape_parse(cfg, query, qlen, gw->scrape_hashes, &n, reason, sizeof reason);
  if (why) return wl_tracker_fail(c, why);
  struct wl_msg_scrape m = {.hashes = gw->scrape_hashes, .n = n};
  struct ann_batch *b = batch_get(gw);
  if (b == NULL) return wl_tracker_fail(c, "Tracker overloaded, please retry later");
  size_t mark = b->msgs.len;
  if (wl_proto_encode_scrape(&b->msgs, &m) < 0) {
    b->msgs.len = mark;
    return wl_tracker_fail(c, "Tracker error");
  }
  batch_commit(gw, b, c, true);
}
