/* The gateway's registry client: an NNG req socket that dials the registry. Every call takes a
 * pooled request object with its own NNG context and aio (many in flight, no allocation per
 * call after warm-up). The send completion starts the receive on the NNG thread; only the
 * final completion is handed to the loop, through the uvnng queue. Calls for the announce
 * workers go to the announce bus (abus.c). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#include <nng/protocol/reqrep0/req.h>
#include "wl/error.h"
#include "wl/log.h"

enum { POOL_MAX = 65536 };

static void breq_loop(struct wl_uvnng_item *item) {
  struct breq *r = (struct breq *)(void *)((char *)item - offsetof(struct breq, item));
  struct gw *gw = r->gw;
  struct backend *b = &gw->reg;
  int rv = 0;
  if (r->result == NNG_ETIMEDOUT) {
    rv = WL_ETIMEOUT;
    gw->m.backend_timeouts[r->bk]++;
  } else if (r->result != 0) {
    rv = WL_EBACKEND;
    gw->m.backend_errors[r->bk]++;
  }
  const void *body = r->reply ? nng_msg_body(r->reply) : NULL;
  size_t len = r->reply ? nng_msg_len(r->reply) : 0;
  r->fn(r, rv, body, len);
  if (r->reply) nng_msg_free(r->reply);
  r->reply = NULL;
  r->next_free = b->free;
  b->free = r;
}

static void breq_cb(void *arg) {
  struct breq *r = arg;
  int rv = nng_aio_result(r->aio);
  if (r->sending) {
    r->sending = false;
    if (rv == 0) {
      nng_ctx_recv(r->ctx, r->aio);
      return;
    }
    nng_msg_free(nng_aio_get_msg(r->aio));
    r->reply = NULL;
  } else {
    r->reply = rv == 0 ? nng_aio_get_msg(r->aio) : NULL;
  }
  r->result = rv;
  wl_uvnng_post(&r->gw->q, &r->item, breq_loop);
}

struct breq *wl_backend_call(struct gw *gw, enum backend_id bk, const void *msg, size_t len,
                             int timeout_ms, breq_fn fn, void *arg) {
  if (bk == BK_ANNOUNCE) return wl_abus_call(gw, msg, len, timeout_ms, fn, arg);
  struct backend *b = &gw->reg;
  struct breq *r = b->free;
  if (r) {
    b->free = r->next_free;
  } else {
    if (b->total >= POOL_MAX) return NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->gw = gw;
    r->bk = bk;
    if (nng_ctx_open(&r->ctx, b->sock) != 0 || nng_aio_alloc(&r->aio, breq_cb, r) != 0) {
      free(r);
      return NULL;
    }
    r->next_all = b->all;
    b->all = r;
    b->total++;
  }
  nng_msg *m;
  if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, msg, len) != 0) {
    r->next_free = b->free;
    b->free = r;
    return NULL;
  }
  r->fn = fn;
  r->arg = arg;
  r->sending = true;
  r->reply = NULL;
  nng_aio_set_msg(r->aio, m);
  /* The timeout covers waiting for a worker to be connected as well as the answer. */
  nng_aio_set_timeout(r->aio, timeout_ms);
  nng_ctx_send(r->ctx, r->aio);
  return r;
}

/* Connected peers, on NNG's threads. A pipe counts from ADD_POST (usable) to its REM_POST, by
 * id: NNG sends REM_POST for every pipe that had ADD_PRE, also for one closed before ADD_POST
 * (a peer killed while it connects), so plain counting of ADD_POST and REM_POST drifted below
 * the truth, and the gateway then took a live registry for gone (503 for ever). */
static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  struct backend *b = arg;
  uint32_t id = nng_pipe_id(p);
  pthread_mutex_lock(&b->mu);
  if (ev == NNG_PIPE_EV_ADD_POST) {
    if (b->nids < (int)(sizeof b->ids / sizeof b->ids[0])) b->ids[b->nids++] = id;
  } else if (ev == NNG_PIPE_EV_REM_POST) {
    for (int i = 0; i < b->nids; i++) {
      if (b->ids[i] == id) {
        b->ids[i] = b->ids[--b->nids];
        break;
      }
    }
  }
  __atomic_store_n(&b->pipes, b->nids, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&b->mu);
}

int wl_backend_start(struct gw *gw) {
  char url[600];
  struct backend *b = &gw->reg;
  pthread_mutex_init(&b->mu, NULL);
  if (nng_req0_open(&b->sock) != 0) return WL_ENOMEM;
  nng_setopt_size(b->sock, NNG_OPT_RECVMAXSZ, 128u << 20);
  nng_setopt_ms(b->sock, NNG_OPT_RECONNMINT, 50);
  nng_setopt_ms(b->sock, NNG_OPT_RECONNMAXT, 1000);
  nng_setopt_ms(b->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  nng_pipe_notify(b->sock, NNG_PIPE_EV_ADD_POST, on_pipe, b);
  nng_pipe_notify(b->sock, NNG_PIPE_EV_REM_POST, on_pipe, b);
  int rv = wl_abus_start(gw);
  if (rv < 0) return rv;
  rv = wl_config_endpoint(gw->cfg, gw->cfg->registry_bus, "registry.ipc", url, sizeof url);
  if (rv < 0) return rv;
  rv = nng_dial(b->sock, url, NULL, NNG_FLAG_NONBLOCK);
  if (rv != 0) {
    WL_ERROR("gateway", "cannot dial the registry at %s: %s", url, nng_strerror(rv));
    return WL_EIO;
  }
  return 0;
}

void wl_backend_stop(struct gw *gw) {
  wl_abus_stop(gw);
  struct backend *b = &gw->reg;
  nng_close(b->sock); /* no pipe events after this */
  /* The loop has ended: calls still in flight are aborted by the close. Wait for each aio's
   * callback (nng_aio_stop), then free what it holds; their loop hand-offs are never run. */
  struct breq *r = b->all;
  while (r) {
    struct breq *next = r->next_all;
    nng_aio_stop(r->aio);
    if (r->reply) nng_msg_free(r->reply);
    nng_msg *m = nng_aio_get_msg(r->aio);
    if (r->sending && m) nng_msg_free(m);
    nng_aio_free(r->aio);
    free(r);
    r = next;
  }
  b->all = b->free = NULL;
  pthread_mutex_destroy(&b->mu);
}
