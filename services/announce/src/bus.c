/* The worker's side of the announce bus: one connection dialed to the gateway's listener
 * (WL_ANNOUNCE_BUS; wl/uvlink.h), read and answered on the worker's loop. It says HELLO first;
 * each REQ frame takes one of WL_WORKER_INFLIGHT jobs, whose REP goes back with the same id.
 * With every job busy the connection is paused, so a flood waits in the socket, not in memory.
 * A lost gateway is dialed again (50 ms, doubling to 1 s); replies of requests that came on
 * the lost connection are dropped (the gateway sent them to another worker). On SIGTERM the
 * worker says BYE: the gateway sends nothing new, and the drain in main.c waits for the jobs
 * in flight. */
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"
#include "wl/log.h"
#include "worker.h"

enum { REDIAL_MIN_MS = 50, REDIAL_MAX_MS = 1000 };

static void job_process(struct job *j);
static void dial(struct worker *w);

static void job_free(struct job *j) {
  struct worker *w = j->w;
  w->busy--;
  j->next_free = w->free_jobs;
  w->free_jobs = j;
  if (w->link.paused) wl_uvlink_resume(&w->link);
}

/* Sends j->out as the reply and frees the job. */
void wl_job_reply(struct job *j) {
  struct worker *w = j->w;
  wl_proto_in_release(&j->in);
  if (w->bus_state == BUS_UP && j->link_gen == w->link_gen) {
    int rv = wl_uvlink_send(&w->link, WL_FRAME_REP, j->id, j->out.data, j->out.len);
    if (rv < 0 && rv != WL_ECLOSED) /* closing: the gateway sends it again elsewhere */
      WL_ERROR("announce", "cannot send a reply of %zu bytes", j->out.len);
  }
  job_free(j);
}

static void reply_error(struct job *j, int64_t code, const char *text) {
  wl_buf_reset(&j->out);
  wl_proto_encode_error(&j->out, code, text);
  wl_job_reply(j);
}

static void job_process(struct job *j) {
  struct worker *w = j->w;
  wl_buf_reset(&j->out);
  int rv = wl_proto_in_init(&j->in, j->req.data, j->req.len);
  if (rv < 0) {
    WL_WARN("announce", "malformed request on the bus: %s", j->in.reason);
    reply_error(j, WL_EPROTO, j->in.reason);
    return;
  }
  switch (j->in.type) {
  case WL_MSG_PING: {
    /* In curated mode a worker without the registry's snapshot refuses every announce, so it
     * is not ready (and /health says so) until it has one. */
    bool redis = wl_swarm_ready(&w->store);
    bool snapshot = !w->cfg->require_registered || w->have_snapshot;
    wl_proto_encode_pong(&j->out, "announce", redis && snapshot,
                         !redis ? "Redis unreachable"
                         : !snapshot ? "waiting for the registry's list of registered torrents"
                                     : "");
    wl_job_reply(j);
    return;
  }
  case WL_MSG_ANNOUNCE:
    rv = wl_proto_decode_announce(&j->in, &j->ann);
    if (rv < 0) break;
    w->announces++;
    wl_swarm_announce(&w->store, j);
    return;
  case WL_MSG_ANNOUNCE_BATCH: {
    struct wl_msg_batch b;
    rv = wl_proto_decode_batch(&j->in, WL_MSG_ANNOUNCE_BATCH, &b);
    if (rv < 0) break;
    w->announces += b.n;
    wl_swarm_announce_batch(&w->store, j, &b);
    return;
  }
  case WL_MSG_SCRAPE: {
    struct wl_msg_scrape m;
    rv = wl_proto_decode_scrape(&j->in, &m);
    if (rv < 0) break;
    w->scrapes++;
    wl_swarm_scrape(&w->store, j, &m);
    return;
  }
  case WL_MSG_STATS:
    wl_swarm_stats(&w->store, j);
    return;
  case WL_MSG_USER_GET: {
    const char *user;
    size_t ulen;
    rv = wl_proto_decode_user_get(&j->in, &user, &ulen);
    if (rv < 0) break;
    wl_swarm_user(&w->store, j, user, ulen);
    return;
  }
  default:
    snprintf(j->in.reason, sizeof j->in.reason, "unexpected message %s", wl_msg_name(j->in.type));
    break;
  }
  WL_WARN("announce", "bad request on the bus: %s", j->in.reason);
  reply_error(j, WL_EPROTO, j->in.reason);
}

static bool on_frame(struct wl_uvlink *l, const struct wl_frame *f) {
  struct worker *w = l->data;
  if (f->kind != WL_FRAME_REQ) {
    WL_WARN("announce", "the gateway sent a bus frame of kind %u: reconnecting", f->kind);
    wl_uvlink_close(l);
    return true;
  }
  struct job *j = w->free_jobs;
  if (j == NULL) return false; /* paused until a job is free */
  wl_buf_reset(&j->req);
  if (wl_buf_append(&j->req, f->p, f->n) < 0) {
    WL_ERROR("announce", "out of memory for a request of %zu bytes: reconnecting", f->n);
    wl_uvlink_close(l);
    return true;
  }
  w->free_jobs = j->next_free;
  w->busy++;
  j->id = f->id;
  j->link_gen = w->link_gen;
  job_process(j);
  return true;
}

static void on_redial(uv_timer_t *t) { dial(t->data); }

static void redial_later(struct worker *w) {
  w->bus_state = BUS_IDLE;
  if (w->stopping) return;
  uv_timer_start(&w->redial, on_redial, w->redial_ms, 0);
  w->redial_ms = w->redial_ms * 2 > REDIAL_MAX_MS ? REDIAL_MAX_MS : w->redial_ms * 2;
}

static void on_link_close(struct wl_uvlink *l, const char *why) {
  struct worker *w = l->data;
  if (!w->stopping)
    WL_WARN("announce", "lost the gateway at %s (%s); dialing again", w->bus_url,
            why ? why : "closed");
  w->link_gen++; /* replies of requests in flight are dropped: the gateway resends them */
  w->redial_ms = REDIAL_MIN_MS;
  redial_later(w);
}

static void on_dialed(struct wl_uvlink *l, int status) {
  struct worker *w = l->data;
  if (status < 0) {
    if (w->dial_failures++ % 30 == 0 && !w->stopping)
      WL_INFO("announce", "cannot reach the gateway at %s yet (%s); retrying", w->bus_url,
              uv_strerror(status));
    redial_later(w);
    return;
  }
  w->bus_state = BUS_UP;
  w->dial_failures = 0;
  w->redial_ms = REDIAL_MIN_MS;
  w->link_gen++;
  wl_uvlink_send(l, WL_FRAME_HELLO, 0, WL_FRAME_HELLO_TEXT, strlen(WL_FRAME_HELLO_TEXT));
  if (w->stopping) wl_bus_bye(w);
  WL_INFO("announce", "connected to the gateway at %s", w->bus_url);
}

static void dial(struct worker *w) {
  if (w->stopping) return;
  w->bus_state = BUS_DIALING;
  if (wl_uvlink_connect(&w->link, w->loop, &w->bus_addr, on_dialed) < 0) {
    WL_WARN("announce", "cannot dial %s", w->bus_url);
    redial_later(w);
  }
}

int wl_bus_start(struct worker *w) {
  char why[200];
  int rv = wl_config_endpoint(w->cfg, w->cfg->announce_bus, "announce.ipc", w->bus_url,
                              sizeof w->bus_url);
  if (rv < 0) return rv;
  if (wl_uvaddr_parse(w->bus_url, &w->bus_addr, why, sizeof why) < 0) {
    WL_ERROR("announce", "WL_ANNOUNCE_BUS: %s", why);
    return WL_EINVAL;
  }
  w->njobs = (size_t)w->cfg->worker_inflight;
  w->jobs = calloc(w->njobs, sizeof *w->jobs);
  if (w->jobs == NULL) return WL_ENOMEM;
  for (size_t i = w->njobs; i-- > 0;) {
    struct job *j = &w->jobs[i];
    j->w = w;
    wl_buf_init(&j->req, WL_FRAME_REQ_MAX);
    wl_buf_init(&j->out, 16 << 20);
    wl_buf_init(&j->tmp, 8 << 20);
    wl_buf_init(&j->tmp6, 8 << 20);
    for (int k = 0; k < 4; k++) wl_buf_init(&j->lists[k], 8 << 20);
    for (int k = 0; k < WL_ANNOUNCE_BATCH_MAX; k++) wl_buf_init(&j->part[k], 8 << 20);
    msgpack_unpacked_init(&j->in.up);
    j->next_free = w->free_jobs;
    w->free_jobs = j;
  }
  wl_uvlink_init(&w->link, WL_FRAME_REQ_MAX, on_frame, on_link_close, w);
  uv_timer_init(w->loop, &w->redial);
  w->redial.data = w;
  w->redial_ms = REDIAL_MIN_MS;
  dial(w);
  WL_INFO("announce", "dialing the gateway at %s with %zu requests in flight", w->bus_url,
          w->njobs);
  return 0;
}

int wl_bus_busy(struct worker *w) { return w->busy; }

void wl_bus_bye(struct worker *w) {
  /* once: on the signal, or on a connection made while stopping */
  if (w->bus_state == BUS_UP) wl_uvlink_send(&w->link, WL_FRAME_BYE, 0, NULL, 0);
}

void wl_bus_stop(struct worker *w) {
  /* Requests that come after the BYE and the drain are not answered: the gateway sends them
   * again to another worker when the connection closes (at-least-once delivery). */
  uv_timer_stop(&w->redial);
  uv_close((uv_handle_t *)&w->redial, NULL);
  if (w->bus_state != BUS_IDLE) wl_uvlink_close(&w->link);
}

void wl_bus_release(struct worker *w) {
  for (size_t i = 0; i < w->njobs; i++) {
    struct job *j = &w->jobs[i];
    wl_proto_in_release(&j->in);
    wl_buf_release(&j->req);
    wl_buf_release(&j->out);
    wl_buf_release(&j->tmp);
    wl_buf_release(&j->tmp6);
    for (int k = 0; k < 4; k++) wl_buf_release(&j->lists[k]);
    for (int k = 0; k < WL_ANNOUNCE_BATCH_MAX; k++) wl_buf_release(&j->part[k]);
  }
  free(w->jobs);
  w->jobs = NULL;
  w->njobs = 0;
  wl_uvlink_release(&w->link);
}
