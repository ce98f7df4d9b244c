/* The worker's side of the announce bus: an NNG rep socket dialed to the gateway, with
 * WL_WORKER_INFLIGHT contexts each receiving one request at a time. Receive completions run on
 * NNG threads and are handed to the loop through the uvnng queue (one wake-up per burst); the
 * reply is sent from the loop with an async send, whose completion starts the next receive
 * directly on the NNG thread. */
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"
#include "wl/log.h"
#include "worker.h"

static void job_process(struct wl_uvnng_item *item);

static void job_cb(void *arg) {
  struct job *j = arg;
  struct worker *w = j->w;
  int rv = nng_aio_result(j->aio);
  if (j->sending) {
    j->sending = false;
    __atomic_sub_fetch(&w->busy, 1, __ATOMIC_RELEASE);
    if (rv != 0) nng_msg_free(nng_aio_get_msg(j->aio));
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
  } else {
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    if (rv != 0) {
      WL_WARN("announce", "bus receive failed: %s", nng_strerror(rv));
    } else {
      j->req = nng_aio_get_msg(j->aio);
      __atomic_add_fetch(&w->busy, 1, __ATOMIC_RELAXED);
      wl_uvnng_post(&w->q, &j->item, job_process);
      return;
    }
  }
  nng_ctx_recv(j->ctx, j->aio);
}

/* Sends j->out as the reply and frees the request. Loop thread. */
void wl_job_reply(struct job *j) {
  nng_msg *msg;
  wl_proto_in_release(&j->in);
  if (j->req) {
    nng_msg_free(j->req);
    j->req = NULL;
  }
  if (nng_msg_alloc(&msg, 0) != 0 || nng_msg_append(msg, j->out.data, j->out.len) != 0) {
    WL_ERROR("announce", "out of memory building a reply");
    __atomic_sub_fetch(&j->w->busy, 1, __ATOMIC_RELEASE);
    nng_ctx_recv(j->ctx, j->aio);
    return;
  }
  j->sending = true;
  nng_aio_set_msg(j->aio, msg);
  nng_ctx_send(j->ctx, j->aio);
}

static void reply_error(struct job *j, int64_t code, const char *text) {
  wl_buf_reset(&j->out);
  wl_proto_encode_error(&j->out, code, text);
  wl_job_reply(j);
}

static void job_process(struct wl_uvnng_item *item) {
  struct job *j = (struct job *)item;
  struct worker *w = j->w;
  wl_buf_reset(&j->out);
  int rv = wl_proto_in_init(&j->in, nng_msg_body(j->req), nng_msg_len(j->req));
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

int wl_bus_start(struct worker *w) {
  char url[600];
  int rv = wl_config_endpoint(w->cfg, w->cfg->announce_bus, "announce.ipc", url, sizeof url);
  if (rv < 0) return rv;
  if (nng_rep0_open(&w->rep) != 0) return WL_ENOMEM;
  nng_setopt_ms(w->rep, NNG_OPT_RECONNMINT, 50);
  nng_setopt_ms(w->rep, NNG_OPT_RECONNMAXT, 1000);
  nng_setopt_size(w->rep, NNG_OPT_RECVMAXSZ, 1 << 20);
  w->njobs = (size_t)w->cfg->worker_inflight;
  w->jobs = calloc(w->njobs, sizeof *w->jobs);
  if (w->jobs == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < w->njobs; i++) {
    struct job *j = &w->jobs[i];
    j->w = w;
    wl_buf_init(&j->out, 16 << 20);
    wl_buf_init(&j->tmp, 8 << 20);
    wl_buf_init(&j->tmp6, 8 << 20);
    for (int k = 0; k < 4; k++) wl_buf_init(&j->lists[k], 8 << 20);
    for (int k = 0; k < WL_ANNOUNCE_BATCH_MAX; k++) wl_buf_init(&j->part[k], 8 << 20);
    msgpack_unpacked_init(&j->in.up);
    if (nng_ctx_open(&j->ctx, w->rep) != 0 || nng_aio_alloc(&j->aio, job_cb, j) != 0)
      return WL_ENOMEM;
  }
  /* Non-blocking dial: keeps retrying in the background until the gateway listens. */
  rv = nng_dial(w->rep, url, NULL, NNG_FLAG_NONBLOCK);
  if (rv != 0) {
    WL_ERROR("announce", "cannot dial %s: %s", url, nng_strerror(rv));
    return WL_EIO;
  }
  for (size_t i = 0; i < w->njobs; i++) nng_ctx_recv(w->jobs[i].ctx, w->jobs[i].aio);
  WL_INFO("announce", "dialing the gateway at %s with %zu requests in flight", url, w->njobs);
  return 0;
}

int wl_bus_busy(struct worker *w) { return __atomic_load_n(&w->busy, __ATOMIC_ACQUIRE); }

void wl_bus_stop(struct worker *w) {
  /* Closing the socket aborts every pending receive (NNG_ECLOSED); requests already being
   * served finish on the loop but their replies cannot be sent: the gateway's req socket
   * resends them to another worker (at-least-once delivery). */
  nng_close(w->rep);
  for (size_t i = 0; i < w->njobs; i++) {
    nng_aio_stop(w->jobs[i].aio);
  }
}

void wl_bus_release(struct worker *w) {
  for (size_t i = 0; i < w->njobs; i++) {
    struct job *j = &w->jobs[i];
    nng_aio_free(j->aio);
    wl_proto_in_release(&j->in);
    if (j->req) nng_msg_free(j->req);
    wl_buf_release(&j->out);
    wl_buf_release(&j->tmp);
    wl_buf_release(&j->tmp6);
    for (int k = 0; k < 4; k++) wl_buf_release(&j->lists[k]);
    for (int k = 0; k < WL_ANNOUNCE_BATCH_MAX; k++) wl_buf_release(&j->part[k]);
  }
  free(w->jobs);
  w->jobs = NULL;
  w->njobs = 0;
}
