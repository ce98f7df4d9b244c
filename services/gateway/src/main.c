/* wl-gateway: the HTTP front of Weightless. Configuration from the environment (libcommon's
 * table); SIGTERM/SIGINT stop accepting, let in-flight requests finish, and exit. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/log.h"

static void on_stop_timer(uv_timer_t *t) { uv_stop(t->loop); }

static void on_check(uv_check_t *h) { wl_tracker_flush(h->data); }

/* Second phase of a stop: close the listener and idle connections; the loop ends when the
 * requests in flight are answered, or after the backend timeout at the latest. */
static void on_grace_over(uv_timer_t *t) {
  struct gw *gw = t->data;
  wl_http_stop(gw);
  uv_close((uv_handle_t *)t, NULL);
  uv_timer_init(gw->loop, &gw->stop_timer);
  uv_timer_start(&gw->stop_timer, on_stop_timer, (uint64_t)gw->cfg->backend_timeout_ms + 500, 0);
  uv_unref((uv_handle_t *)&gw->stop_timer);
  uv_unref((uv_handle_t *)&gw->q.async);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct gw *gw = h->data;
  if (gw->stopping) return;
  gw->stopping = true; /* every answer from now on says Connection: close */
  WL_INFO("gateway", "signal %d: stopping", signum);
  uv_signal_stop(&gw->sigterm);
  uv_signal_stop(&gw->sigint);
  uv_unref((uv_handle_t *)&gw->sigterm);
  uv_unref((uv_handle_t *)&gw->sigint);
  /* First phase: keep accepting for 250 ms, so that connections already queued in the kernel
   * when the signal came are served rather than reset by closing the listener. */
  uv_timer_init(gw->loop, &gw->grace_timer);
  gw->grace_timer.data = gw;
  uv_timer_start(&gw->grace_timer, on_grace_over, 250, 0);
}

int main(int argc, char **argv) {
  struct wl_config cfg;
  char err[256];
  if (argc > 1) {
    fprintf(stderr, "usage: wl-gateway (configured through WL_* environment variables)\n");
    return 2;
  }
  if (wl_config_load(&cfg, err, sizeof err) < 0) {
    fprintf(stderr, "wl-gateway: invalid configuration: %s\n", err);
    return 2;
  }
  enum wl_log_level lvl;
  if (wl_log_parse_level(cfg.log_level, &lvl) < 0) {
    fprintf(stderr, "wl-gateway: invalid configuration: WL_LOG_LEVEL: expected debug, info, warn or error\n");
    return 2;
  }
  wl_log_set_level(lvl);
  signal(SIGPIPE, SIG_IGN);

  struct gw *gw = calloc(1, sizeof *gw);
  if (!gw) return 1;
  gw->cfg = &cfg;
  gw->loop = uv_default_loop();
  wl_buf_init(&gw->scratch, 64u << 20);
  gw->scrape_hashes = malloc(20 * (size_t)cfg.scrape_max);
  if (!gw->scrape_hashes) return 1;
  if (wl_uvnng_init(&gw->q, gw->loop) < 0) return 1;
  gw->web = wl_static_load(*cfg.web_dir ? cfg.web_dir : WL_DEFAULT_WEB_DIR);
  gw->proxies = wl_proxies_parse(cfg.trusted_proxies, err, sizeof err);
  if (gw->proxies == NULL && *cfg.trusted_proxies) {
    fprintf(stderr, "wl-gateway: invalid configuration: WL_TRUSTED_PROXIES: %s\n", err);
    return 2;
  }
  gw->rl = wl_ratelimit_new(&cfg);
  if (cfg.rate_limit_rps > 0 && !gw->rl) return 1;
  if (wl_backend_start(gw) < 0) return 1;
  if (wl_http_listen(gw) < 0) return 1;
  /* after each loop iteration's I/O callbacks: send the announces they parsed, as one batch */
  uv_check_init(gw->loop, &gw->batch_check);
  gw->batch_check.data = gw;
  uv_check_start(&gw->batch_check, on_check);
  uv_unref((uv_handle_t *)&gw->batch_check);
  uv_timer_init(gw->loop, &gw->batch_timer);
  gw->batch_timer.data = gw;
  uv_signal_init(gw->loop, &gw->sigterm);
  uv_signal_init(gw->loop, &gw->sigint);
  gw->sigterm.data = gw->sigint.data = gw;
  uv_signal_start(&gw->sigterm, on_signal, SIGTERM);
  uv_signal_start(&gw->sigint, on_signal, SIGINT);
  uv_run(gw->loop, UV_RUN_DEFAULT);
  wl_backend_stop(gw);
  WL_INFO("gateway", "stopped");
  return 0;
}
