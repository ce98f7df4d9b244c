/* wl-announce: a stateless announce worker. Run as many as you like; each dials the gateway's
 * announce bus and the registry, and talks to Redis. Configuration comes from the environment
 * (libcommon config table). SIGTERM/SIGINT: stop taking requests, finish, exit. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"
#include "wl/log.h"
#include "worker.h"

static void finish_stop(struct worker *w) {
  uv_timer_stop(&w->drain_timer);
  uv_close((uv_handle_t *)&w->drain_timer, NULL);
  wl_bus_stop(w);
  wl_reglink_stop(w);
  wl_swarm_close(&w->store);
  uv_signal_stop(&w->sigterm);
  uv_signal_stop(&w->sigint);
  uv_close((uv_handle_t *)&w->sigterm, NULL);
  uv_close((uv_handle_t *)&w->sigint, NULL);
  wl_uvnng_close(&w->q);
}

/* Graceful stop: keep answering until no request has been in flight for 200 ms (the gateway,
 * stopped first, sends no more), at most 5 s; then close. */
static void on_drain(uv_timer_t *t) {
  struct worker *w = t->data;
  w->drain_quiet = wl_bus_busy(w) == 0 ? w->drain_quiet + 1 : 0;
  if (w->drain_quiet >= 4 || uv_now(w->loop) - w->drain_started > 5000) finish_stop(w);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct worker *w = h->data;
  if (w->stopping) return;
  w->stopping = true;
  WL_INFO("announce", "signal %d: finishing requests in flight, then stopping", signum);
  wl_bus_bye(w);
  w->drain_started = uv_now(w->loop);
  uv_timer_init(w->loop, &w->drain_timer);
  w->drain_timer.data = w;
  uv_timer_start(&w->drain_timer, on_drain, 50, 50);
}

int main(int argc, char **argv) {
  struct wl_config cfg;
  char err[256];
  if (argc > 1) {
    fprintf(stderr, "usage: wl-announce (configured through WL_* environment variables)\n");
    return 2;
  }
  if (wl_config_load(&cfg, err, sizeof err) < 0) {
    fprintf(stderr, "wl-announce: invalid configuration: %s\n", err);
    return 2;
  }
  enum wl_log_level lvl;
  if (wl_log_parse_level(cfg.log_level, &lvl) < 0) {
    fprintf(stderr, "wl-announce: invalid configuration: WL_LOG_LEVEL: expected debug, info, warn or error\n");
    return 2;
  }
  wl_log_set_level(lvl);
  signal(SIGPIPE, SIG_IGN);

  struct worker w;
  memset(&w, 0, sizeof w);
  w.cfg = &cfg;
  w.loop = uv_default_loop();
  int rv = wl_uvnng_init(&w.q, w.loop);
  if (rv < 0) goto out;
  uv_signal_init(w.loop, &w.sigterm);
  uv_signal_init(w.loop, &w.sigint);
  w.sigterm.data = w.sigint.data = &w;
  uv_signal_start(&w.sigterm, on_signal, SIGTERM);
  uv_signal_start(&w.sigint, on_signal, SIGINT);

  rv = wl_swarm_init(&w.store, &w);
  if (rv < 0) {
    WL_ERROR("announce", "cannot start the Redis client: %s", wl_strerror(rv));
    goto out;
  }
  rv = wl_reglink_start(&w);
  if (rv < 0) {
    WL_ERROR("announce", "cannot start the registry link: %s", wl_strerror(rv));
    goto out;
  }
  rv = wl_bus_start(&w);
  if (rv < 0) {
    WL_ERROR("announce", "cannot start the announce bus: %s", wl_strerror(rv));
    goto out;
  }
  WL_INFO("announce", "worker ready");
  uv_run(w.loop, UV_RUN_DEFAULT);
  WL_INFO("announce", "stopped after %llu announces, %llu scrapes",
          (unsigned long long)w.announces, (unsigned long long)w.scrapes);
  uv_loop_close(w.loop);
  wl_reglink_release(&w);
  wl_bus_release(&w);
  wl_swarm_release(&w.store);
  return 0;
out:
  return 1;
}
