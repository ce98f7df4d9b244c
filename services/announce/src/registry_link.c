/* The worker's link to the registry: a local copy of the blocklist (and, in curated mode, of
 * the registered hashes) so checking them costs no Redis call and no bus hop; swarm figures
 * pushed to the registry at most once per WL_STATS_INTERVAL_MS; and the once-a-second sweep of
 * idle swarms.
 *
 * The copy is a snapshot (BLOCKLIST_GET on the registry's req/rep socket) taken at start and
 * whenever the event subscription (re)connects, kept current by BLOCK_EVENT and
 * REGISTERED_EVENT on the registry's pub socket. An event that races a snapshot is applied after
 * it, so the newest state wins. */
#include <stdio.h>
#include <string.h>

#include "wl/error.h"
#include "wl/hex.h"
#include "wl/log.h"
#include "worker.h"

enum { REASON_MAX = 96 };

static void request_snapshot(struct worker *w);

/* ---- events ------------------------------------------------------------------------------- */

static void apply_event(struct worker *w, const void *p, size_t n) {
  struct wl_proto_in in;
  int rv = wl_proto_in_init(&in, p, n);
  if (rv == 0 && in.type == WL_MSG_BLOCK_EVENT) {
    struct wl_msg_block_event ev;
    rv = wl_proto_decode_block_event(&in, &ev);
    if (rv == 0 && ev.blocked) {
      char *reason = wl_hashmap_put(&w->blocked, ev.hash, NULL);
      if (reason) {
        size_t l = ev.reason_len < REASON_MAX - 1 ? ev.reason_len : REASON_MAX - 1;
        memcpy(reason, ev.reason, l);
        reason[l] = '\0';
      }
      wl_hashmap_remove(&w->dirty, ev.hash);
      wl_swarm_drop(&w->store, ev.hash); /* every worker does it; the script is idempotent */
    } else if (rv == 0) {
      wl_hashmap_remove(&w->blocked, ev.hash);
    }
  } else if (rv == 0 && in.type == WL_MSG_REGISTERED_EVENT) {
    struct wl_msg_registered_event ev;
    rv = wl_proto_decode_registered_event(&in, &ev);
    if (rv == 0 && ev.registered)
      wl_hashmap_put(&w->registered, ev.hash, NULL);
    else if (rv == 0)
      wl_hashmap_remove(&w->registered, ev.hash);
  } else if (rv == 0) {
    rv = WL_EPROTO;
    snprintf(in.reason, sizeof in.reason, "unexpected %s", wl_msg_name(in.type));
  }
  if (rv < 0) WL_WARN("announce", "ignoring a bad registry event: %s", in.reason);
  wl_proto_in_release(&in);
}

static void on_sub_loop(struct wl_uvnng_item *item) {
  struct worker *w = (struct worker *)((char *)item - offsetof(struct worker, sub_item));
  if (w->sub_msg) {
    apply_event(w, nng_msg_body(w->sub_msg), nng_msg_len(w->sub_msg));
    nng_msg_free(w->sub_msg);
    w->sub_msg = NULL;
  }
  if (!w->stopping) nng_recv_aio(w->sub, w->sub_aio);
}

static void on_sub(void *arg) {
  struct worker *w = arg;
  int rv = nng_aio_result(w->sub_aio);
  if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
  w->sub_msg = rv == 0 ? nng_aio_get_msg(w->sub_aio) : NULL;
  wl_uvnng_post(&w->q, &w->sub_item, on_sub_loop);
}

static void on_pipe_loop(struct wl_uvnng_item *item) {
  struct worker *w = (struct worker *)((char *)item - offsetof(struct worker, pipe_item));
  w->resnapshot = true;
  request_snapshot(w);
}

/* NNG thread: the subscription just (re)connected; events may have been missed. */
static void on_sub_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
  struct worker *w = arg;
  (void)p;
  (void)ev;
  wl_uvnng_post(&w->q, &w->pipe_item, on_pipe_loop);
}

/* ---- snapshot ----------------------------------------------------------------------------- */

static void apply_snapshot(struct worker *w, nng_msg *msg) {
  struct wl_proto_in in;
  struct wl_msg_blocklist_rep rep;
  int rv = wl_proto_in_init(&in, nng_msg_body(msg), nng_msg_len(msg));
  if (rv == 0) rv = wl_proto_decode_blocklist_rep(&in, &rep);
  if (rv < 0) {
    WL_WARN("announce", "bad blocklist snapshot from the registry: %s", in.reason);
    wl_proto_in_release(&in);
    return;
  }
  wl_hashmap_clear(&w->blocked);
  wl_hashmap_clear(&w->registered);
  for (size_t i = 0; i < rep.n; i++) {
    char *reason = wl_hashmap_put(&w->blocked, rep.hashes + 20 * i, NULL);
    if (reason == NULL) continue;
    if (rep.reasons) /* an older registry sends none */
      snprintf(reason, REASON_MAX, "%.*s", (int)rep.reasons[i].n, rep.reasons[i].p);
    else
      snprintf(reason, REASON_MAX, "%s", "removed by the operator");
  }
  for (size_t i = 0; i < rep.nreg; i++) wl_hashmap_put(&w->registered, rep.registered + 20 * i, NULL);
  w->have_snapshot = true;
  WL_INFO("announce", "blocklist snapshot: %zu blocked, %zu registered", rep.n, rep.nreg);
  wl_proto_in_release(&in);
}

static void on_reg_loop(struct wl_uvnng_item *item) {
  struct worker *w = (struct worker *)((char *)item - offsetof(struct worker, reg_item));
  w->snapshot_pending = false;
  if (w->reg_result == 0 && w->reg_msg) {
    apply_snapshot(w, w->reg_msg);
  }
  if (w->reg_msg) nng_msg_free(w->reg_msg);
  w->reg_msg = NULL;
  if (w->resnapshot && !w->stopping) request_snapshot(w);
}

static void on_reg(void *arg) {
  struct worker *w = arg;
  int rv = nng_aio_result(w->reg_aio);
  if (w->reg_sending) {
    w->reg_sending = false;
    if (rv == 0) {
      nng_recv_aio(w->reg, w->reg_aio);
      return;
    }
    nng_msg_free(nng_aio_get_msg(w->reg_aio));
  }
  w->reg_result = rv;
  w->reg_msg = rv == 0 ? nng_aio_get_msg(w->reg_aio) : NULL;
  if (rv == NNG_ECLOSED) return;
  wl_uvnng_post(&w->q, &w->reg_item, on_reg_loop);
}

static void request_snapshot(struct worker *w) {
  if (w->snapshot_pending || w->stopping) return;
  struct wl_buf b;
  wl_buf_init(&b, 64);
  nng_msg *msg = NULL;
  if (wl_proto_encode_blocklist_get(&b) < 0 || nng_msg_alloc(&msg, 0) != 0 ||
      nng_msg_append(msg, b.data, b.len) != 0) {
    wl_buf_release(&b);
    if (msg) nng_msg_free(msg);
    return;
  }
  wl_buf_release(&b);
  w->resnapshot = false;
  w->snapshot_pending = true;
  nng_aio_set_msg(w->reg_aio, msg);
  nng_aio_set_timeout(w->reg_aio, 5000);
  w->reg_sending = true;
  nng_send_aio(w->reg, w->reg_aio); /* then on_reg starts the receive */
}

/* ---- timers ------------------------------------------------------------------------------- */

/* Dials the registry at url in the background, redialing 50 ms to 1 s after a lost connection. */
static int dial(nng_socket s, const char *url) {
  nng_setopt_ms(s, NNG_OPT_RECONNMINT, 50);
  nng_setopt_ms(s, NNG_OPT_RECONNMAXT, 1000);
  return nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK) == 0 ? 0 : WL_EINVAL;
}

/* The push socket of the figures. Unbuffered: a push succeeds only when a connection to the
 * registry is ready to take it, so a missing one shows at once (the figures stay dirty). */
static int push_open(struct worker *w) {
  if (nng_push0_open(&w->push) != 0) return WL_ENOMEM;
  nng_setopt_int(w->push, NNG_OPT_SENDBUF, 0);
  return dial(w->push, w->stats_url);
}

/* Figures that found no connection for PUSH_REOPEN_TICKS ticks in a row: the registry is down,
 * or this socket's connection attempts are stuck (a restart of the registry at the wrong moment
 * can leave an NNG dialer that never connects again while the other workers' do). Either way a
 * fresh socket costs nothing, so the worker opens one, and says so. */
enum { PUSH_REOPEN_TICKS = 5 };

static void push_failed(struct worker *w, int rv) {
  if (w->stopping || ++w->push_failures % PUSH_REOPEN_TICKS != 0) return;
  if (w->push_failures == PUSH_REOPEN_TICKS || w->push_failures % (12 * PUSH_REOPEN_TICKS) == 0)
    WL_WARN("announce", "swarm figures of %zu swarms have not reached the registry at %s for %d "
            "tries (%s); kept, and the connection is opened again",
            w->dirty.n, w->stats_url, w->push_failures, nng_strerror(rv));
  nng_close(w->push);
  if (push_open(w) < 0) WL_ERROR("announce", "cannot open the swarm figures socket again");
}

static void on_stats_timer(uv_timer_t *t) {
  struct worker *w = t->data;
  if (w->unnoted > 0) {
    WL_WARN("announce", "%llu swarm figures were not noted: %zu swarms already wait for the "
            "registry (the most one push carries); their next announces report them",
            (unsigned long long)w->unnoted, w->dirty.n);
    w->unnoted = 0;
  }
  if (w->dirty.n == 0) return;
  struct wl_swarm_stat *s = malloc(w->dirty.n * sizeof *s);
  if (s == NULL) return;
  size_t n = 0, it = 0;
  const uint8_t *key;
  void *val;
  while (wl_hashmap_next(&w->dirty, &it, &key, &val)) {
    const uint64_t *v = val;
    memcpy(s[n].hash, key, 20);
    s[n].seeders = v[0];
    s[n].leechers = v[1];
    s[n].completions = v[2];
    s[n].observed_us = v[3];
    n++;
  }
  struct wl_buf b;
  wl_buf_init(&b, 64u << 20);
  nng_msg *msg = NULL;
  int rv = wl_proto_encode_swarm_stats(&b, s, n);
  free(s);
  if (rv == 0 && nng_msg_alloc(&msg, 0) == 0 && nng_msg_append(msg, b.data, b.len) == 0) {
    rv = nng_sendmsg(w->push, msg, NNG_FLAG_NONBLOCK);
    if (rv == 0) {
      msg = NULL;
      wl_hashmap_clear(&w->dirty);
      if (w->push_failures >= PUSH_REOPEN_TICKS)
        WL_INFO("announce", "swarm figures reach the registry again");
      w->push_failures = 0;
    } else { /* kept for the next tick */
      push_failed(w, rv);
    }
  }
  if (msg) nng_msg_free(msg);
  wl_buf_release(&b);
}

static void on_sweep_timer(uv_timer_t *t) {
  struct worker *w = t->data;
  wl_swarm_sweep(&w->store);
  if (!w->have_snapshot) request_snapshot(w);
}

/* ---- public ------------------------------------------------------------------------------- */

int wl_reglink_start(struct worker *w) {
  char url[600];
  if (wl_hashmap_init(&w->blocked, REASON_MAX, 10000000) < 0 ||
      wl_hashmap_init(&w->registered, 0, 100000000) < 0 ||
      wl_hashmap_init(&w->dirty, 4 * sizeof(uint64_t), WL_STATS_BATCH_MAX) < 0)
    return WL_ENOMEM;

  if (nng_sub0_open(&w->sub) != 0 || nng_req0_open(&w->reg) != 0) return WL_ENOMEM;
  nng_setopt(w->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
  nng_setopt_size(w->sub, NNG_OPT_RECVMAXSZ, 1 << 20);
  nng_setopt_size(w->reg, NNG_OPT_RECVMAXSZ, 512u << 20);
  nng_setopt_ms(w->reg, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  nng_pipe_notify(w->sub, NNG_PIPE_EV_ADD_POST, on_sub_pipe, w);
  if (nng_aio_alloc(&w->sub_aio, on_sub, w) != 0 || nng_aio_alloc(&w->reg_aio, on_reg, w) != 0)
    return WL_ENOMEM;

  if (wl_config_endpoint(w->cfg, w->cfg->events_bus, "events.ipc", url, sizeof url) < 0 ||
      dial(w->sub, url) < 0)
    goto bad_url;
  if (wl_config_endpoint(w->cfg, w->cfg->registry_bus, "registry.ipc", url, sizeof url) < 0 ||
      dial(w->reg, url) < 0)
    goto bad_url;
  if (wl_config_endpoint(w->cfg, w->cfg->stats_bus, "stats.ipc", url, sizeof url) < 0) goto bad_url;
  snprintf(w->stats_url, sizeof w->stats_url, "%s", url); /* push_failed opens it again */
  if (push_open(w) < 0) goto bad_url;
  nng_recv_aio(w->sub, w->sub_aio);

  uv_timer_init(w->loop, &w->stats_timer);
  uv_timer_init(w->loop, &w->sweep_timer);
  w->stats_timer.data = w->sweep_timer.data = w;
  uv_timer_start(&w->stats_timer, on_stats_timer, (uint64_t)w->cfg->stats_interval_ms,
                 (uint64_t)w->cfg->stats_interval_ms);
  uv_timer_start(&w->sweep_timer, on_sweep_timer, 1000, 1000);
  request_snapshot(w);
  return 0;
bad_url:
  WL_ERROR("announce", "cannot dial the registry bus address %s", url);
  return WL_EINVAL;
}

void wl_reglink_stop(struct worker *w) {
  uv_timer_stop(&w->stats_timer);
  on_stats_timer(&w->stats_timer); /* last figures */
  uv_timer_stop(&w->sweep_timer);
  uv_close((uv_handle_t *)&w->stats_timer, NULL);
  uv_close((uv_handle_t *)&w->sweep_timer, NULL);
  nng_close(w->sub);
  nng_close(w->reg);
  nng_close(w->push);
  nng_aio_stop(w->sub_aio);
  nng_aio_stop(w->reg_aio);
}

const char *wl_reglink_refusal(struct worker *w, const uint8_t hash[20], char *tmp, size_t tmplen) {
  const char *reason = wl_hashmap_get(&w->blocked, hash);
  if (reason) {
    snprintf(tmp, tmplen, "This torrent is blocked on this tracker: %s", reason);
    return tmp;
  }
  if (w->cfg->require_registered) {
    if (!w->have_snapshot) return "Registry unavailable: cannot check that this torrent is registered";
    if (!wl_hashmap_get(&w->registered, hash)) return "Torrent is not registered with this tracker";
  }
  return NULL;
}

void wl_reglink_note_swarm(struct worker *w, const uint8_t hash[20], uint64_t seeders,
                           uint64_t leechers, uint64_t completions, uint64_t observed_us) {
  uint64_t *v = wl_hashmap_put(&w->dirty, hash, NULL);
  if (v == NULL) { /* batch full: the next announce of this swarm reports it (logged) */
    w->unnoted++;
    return;
  }
  if (observed_us < v[3]) return; /* pipelined replies arrive in order; keep the newest anyway */
  v[0] = seeders;
  v[1] = leechers;
  v[2] = completions;
  v[3] = observed_us;
}

void wl_reglink_release(struct worker *w) {
  nng_aio_free(w->sub_aio);
  nng_aio_free(w->reg_aio);
  if (w->sub_msg) nng_msg_free(w->sub_msg);
  if (w->reg_msg) nng_msg_free(w->reg_msg);
  wl_hashmap_release(&w->blocked);
  wl_hashmap_release(&w->registered);
  wl_hashmap_release(&w->dirty);
}
