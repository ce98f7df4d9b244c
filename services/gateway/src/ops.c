/* /health and /metrics. Health pings the registry (which runs SELECT 1) and an announce worker
 * (which answers only when its Redis connection is up), both within 1 s. Metrics render the
 * gateway's own counters plus figures fetched from the workers and the registry with a short
 * timeout and cached for a second, so a slow backend never stalls a scrape of /metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl_proto.h"

static const char *const route_names[R_COUNT] = {"announce", "scrape", "health", "metrics",
                                                 "api", "ui", "other"};
static const double lat_bounds[LAT_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                               0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

void wl_metrics_observe(struct gw *gw, enum route r, int status, double seconds) {
  struct metrics *m = &gw->m;
  int cls = status / 100;
  if (cls < 1 || cls > 5) cls = 5;
  m->requests[r][cls]++;
  m->lat_sum[r] += seconds;
  int b = 0;
  while (b < LAT_BUCKETS && seconds > lat_bounds[b]) b++;
  m->lat_bucket[r][b]++;
}

/* ---- health ---------------------------------------------------------------------------------- */

struct health {
  struct conn *c;
  int pending;
  bool reg_ok, ann_ok;
  char reg_detail[128], ann_detail[128];
};

static void health_done(struct health *h) {
  struct conn *c = h->c;
  if (!wl_http_breq_done(c)) {
    free(h);
    return;
  }
  if (h->reg_ok && h->ann_ok) {
    wl_http_respond(c, 200, "text/plain", NULL, "OK", 2);
  } else {
    char body[400];
    int n = snprintf(body, sizeof body, "Database unreachable\n%s%s%s\n",
                     h->reg_ok ? "" : h->reg_detail, !h->reg_ok && !h->ann_ok ? "; " : "",
                     h->ann_ok ? "" : h->ann_detail);
    wl_http_respond(c, 503, "text/plain", NULL, body, (size_t)n);
  }
  free(h);
}

static void health_reply(struct breq *r, int result, const void *msg, size_t len) {
  struct health *h = r->arg;
  bool reg = r->bk == BK_REGISTRY;
  bool *ok = reg ? &h->reg_ok : &h->ann_ok;
  char *detail = reg ? h->reg_detail : h->ann_detail;
  const char *who = reg ? "registry" : "redis";
  if (result < 0) {
    snprintf(detail, 128, reg ? "registry: no answer within 1 s"
                              : "redis: no announce worker answered within 1 s");
  } else {
    struct wl_proto_in in;
    struct wl_msg_pong p;
    if (wl_proto_in_init(&in, msg, len) == 0 && wl_proto_decode_pong(&in, &p) == 0) {
      *ok = p.ok;
      if (!p.ok) snprintf(detail, 128, "%s: %.*s", who, (int)p.detail_len, p.detail);
    } else {
      snprintf(detail, 128, "%s: bad answer", who);
    }
    wl_proto_in_release(&in);
  }
  if (--h->pending == 0) health_done(h);
}

void wl_ops_health(struct conn *c) {
  struct gw *gw = c->gw;
  struct health *h = calloc(1, sizeof *h);
  if (h == NULL) return wl_http_json_error(c, 500, "out of memory");
  h->c = c;
  struct wl_buf b;
  wl_buf_init(&b, 64);
  wl_proto_encode_ping(&b);
  h->pending = 2;
  struct breq *r1 = wl_backend_call(gw, BK_REGISTRY, b.data, b.len, 1000, health_reply, h);
  if (r1 == NULL) {
    snprintf(h->reg_detail, 128, "registry: too many requests in flight");
    h->pending--;
  }
  struct breq *r2 = wl_backend_call(gw, BK_ANNOUNCE, b.data, b.len, 1000, health_reply, h);
  if (r2 == NULL) {
    snprintf(h->ann_detail, 128, "redis: too many requests in flight");
    h->pending--;
  }
  wl_buf_release(&b);
  c->waiting = true; /* health_done releases it */
  if (h->pending == 0) {
    health_done(h);
  }
}

/* ---- metrics --------------------------------------------------------------------------------- */

static void render_metrics(struct conn *c);

static void fetch_done(struct gw *gw) {
  struct metrics *m = &gw->m;
  m->fetching = false;
  m->cache_time_ms = wl_now_ms();
  struct conn *w = m->waiters;
  m->waiters = NULL;
  while (w) {
    struct conn *next = w->next_waiter;
    if (wl_http_breq_done(w)) render_metrics(w);
    w = next;
  }
}

static void stats_reply(struct breq *r, int result, const void *msg, size_t len) {
  struct gw *gw = r->gw;
  struct metrics *m = &gw->m;
  if (result == 0) {
    struct wl_proto_in in;
    struct wl_msg_stats_rep s;
    if (wl_proto_in_init(&in, msg, len) == 0 && wl_proto_decode_stats_rep(&in, &s) == 0) {
      for (size_t i = 0; i < s.n; i++) {
        const struct wl_stat_pair *p = &s.pairs[i];
#define IS(lit) (p->name_len == sizeof(lit) - 1 && memcmp(p->name, lit, sizeof(lit) - 1) == 0)
        if (IS("active_peers")) m->active_peers = p->value;
        else if (IS("swarms")) m->swarms = p->value;
        else if (IS("registered_torrents")) m->registered = p->value;
        else if (IS("stats_apply_lag_ms")) m->stats_lag_ms = p->value;
#undef IS
      }
    }
    wl_proto_in_release(&in);
  }
  if (--m->fetch_pending == 0) fetch_done(gw);
}

static void fetch_stats(struct gw *gw) {
  struct metrics *m = &gw->m;
  struct wl_buf b;
  wl_buf_init(&b, 64);
  wl_proto_encode_stats(&b);
  m->fetching = true;
  m->fetch_pending = 2;
  if (!wl_backend_call(gw, BK_ANNOUNCE, b.data, b.len, 300, stats_reply, NULL)) m->fetch_pending--;
  if (!wl_backend_call(gw, BK_REGISTRY, b.data, b.len, 300, stats_reply, NULL)) m->fetch_pending--;
  wl_buf_release(&b);
  if (m->fetch_pending == 0) fetch_done(gw);
}

static void metric(struct wl_buf *b, const char *name, const char *type, const char *help) {
  wl_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_metrics(struct conn *c) {
  struct gw *gw = c->gw;
  struct metrics *m = &gw->m;
  struct wl_buf b;
  wl_buf_init(&b, 1 << 20);
  metric(&b, "tracker_announces_total", "counter", "Total number of announce requests handled");
  wl_buf_appendf(&b, "tracker_announces_total %llu\n", (unsigned long long)m->announces);
  metric(&b, "tracker_announce_bus_messages_total", "counter",
         "Bus messages that carried announces and scrapes to the workers (requests per message: the batching)");
  wl_buf_appendf(&b, "tracker_announce_bus_messages_total %llu\n",
                 (unsigned long long)m->bus_announce_msgs);
  metric(&b, "tracker_scrapes_total", "counter", "Total number of scrape requests handled");
  wl_buf_appendf(&b, "tracker_scrapes_total %llu\n", (unsigned long long)m->scrapes);
  metric(&b, "tracker_active_peers", "gauge", "Current number of active peers in memory");
  wl_buf_appendf(&b, "tracker_active_peers %lld\n", (long long)(m->active_peers > 0 ? m->active_peers : 0));
  metric(&b, "tracker_registered_torrents", "gauge", "Total number of torrents in registry");
  wl_buf_appendf(&b, "tracker_registered_torrents %lld\n", (long long)(m->registered > 0 ? m->registered : 0));
  /* The seed names this gauge with a _total suffix, which Prometheus reserves for counters:
   * keep the name, typed untyped (promtool accepts it, Prometheus treats it as a gauge), and
   * expose the same figure under a proper gauge name too. */
  metric(&b, "tracker_swarms_total", "untyped", "Total number of active swarms");
  wl_buf_appendf(&b, "tracker_swarms_total %lld\n", (long long)(m->swarms > 0 ? m->swarms : 0));
  metric(&b, "tracker_swarms", "gauge", "Active swarms (swarms with at least one live peer)");
  wl_buf_appendf(&b, "tracker_swarms %lld\n", (long long)(m->swarms > 0 ? m->swarms : 0));
  metric(&b, "tracker_announce_failures_total", "counter",
         "Announce and scrape answers that were a bencoded failure reason");
  wl_buf_appendf(&b, "tracker_announce_failures_total %llu\n", (unsigned long long)m->failures_announce);
  metric(&b, "tracker_http_requests_total", "counter", "HTTP requests by route and status class");
  static const char *cls[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (int r = 0; r < R_COUNT; r++)
    for (int k = 1; k <= 5; k++)
      if (m->requests[r][k])
        wl_buf_appendf(&b, "tracker_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                       route_names[r], cls[k], (unsigned long long)m->requests[r][k]);
  metric(&b, "tracker_rate_limited_total", "counter", "Requests refused by the rate limiter");
  wl_buf_appendf(&b, "tracker_rate_limited_total %llu\n", (unsigned long long)m->rate_limited);
  uint64_t rl_entries, rl_untracked;
  wl_ratelimit_stats(gw->rl, &rl_entries, &rl_untracked);
  metric(&b, "tracker_rate_limit_table_entries", "gauge", "Client addresses in the rate-limit table");
  wl_buf_appendf(&b, "tracker_rate_limit_table_entries %llu\n", (unsigned long long)rl_entries);
  metric(&b, "tracker_rate_limit_untracked_total", "counter",
         "Requests served without a bucket because the rate-limit table was full of active addresses");
  wl_buf_appendf(&b, "tracker_rate_limit_untracked_total %llu\n", (unsigned long long)rl_untracked);
  metric(&b, "tracker_http_request_duration_seconds", "histogram",
         "Time from the start of a request to its answer, by route");
  for (int r = 0; r < R_COUNT; r++) {
    uint64_t cum = 0, total = 0;
    for (int k = 0; k <= LAT_BUCKETS; k++) total += m->lat_bucket[r][k];
    if (total == 0) continue;
    for (int k = 0; k < LAT_BUCKETS; k++) {
      cum += m->lat_bucket[r][k];
      wl_buf_appendf(&b, "tracker_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                     route_names[r], lat_bounds[k], (unsigned long long)cum);
    }
    wl_buf_appendf(&b, "tracker_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                   route_names[r], (unsigned long long)total);
    wl_buf_appendf(&b, "tracker_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                   route_names[r], m->lat_sum[r]);
    wl_buf_appendf(&b, "tracker_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                   route_names[r], (unsigned long long)total);
  }
  static const char *svc[] = {"announce", "registry"};
  metric(&b, "tracker_backend_errors_total", "counter", "Failed calls to a backend service");
  for (int i = 0; i < 2; i++)
    wl_buf_appendf(&b, "tracker_backend_errors_total{service=\"%s\"} %llu\n", svc[i],
                   (unsigned long long)m->backend_errors[i]);
  metric(&b, "tracker_backend_timeouts_total", "counter", "Backend calls that timed out");
  for (int i = 0; i < 2; i++)
    wl_buf_appendf(&b, "tracker_backend_timeouts_total{service=\"%s\"} %llu\n", svc[i],
                   (unsigned long long)m->backend_timeouts[i]);
  metric(&b, "tracker_announce_workers_connected", "gauge",
         "Announce workers connected to this gateway and taking requests");
  wl_buf_appendf(&b, "tracker_announce_workers_connected %d\n", gw->abus.ready);
  metric(&b, "tracker_announce_bus_resent_total", "counter",
         "Announce bus requests sent again to another worker (a worker died, hung or was slow)");
  wl_buf_appendf(&b, "tracker_announce_bus_resent_total %llu\n",
                 (unsigned long long)gw->abus.resent);
  metric(&b, "tracker_registry_stats_lag_seconds", "gauge",
         "How old the swarm figures last applied by the registry were");
  wl_buf_appendf(&b, "tracker_registry_stats_lag_seconds %.3f\n",
                 m->stats_lag_ms > 0 ? (double)m->stats_lag_ms / 1000.0 : 0.0);
  metric(&b, "tracker_http_connections", "gauge", "Open HTTP connections");
  wl_buf_appendf(&b, "tracker_http_connections %zu\n", gw->nconns);
  metric(&b, "tracker_http_connections_refused_total", "counter",
         "Connections refused because of the connection caps");
  wl_buf_appendf(&b, "tracker_http_connections_refused_total %llu\n",
                 (unsigned long long)m->connections_refused);
  wl_http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, b.data, b.len);
  wl_buf_release(&b);
}

void wl_ops_metrics(struct conn *c) {
  struct gw *gw = c->gw;
  struct metrics *m = &gw->m;
  if (wl_now_ms() - m->cache_time_ms < 1000 && !m->fetching) {
    render_metrics(c);
    return;
  }
  /* wait for the (short) fetch with the other waiters */
  c->next_waiter = m->waiters;
  m->waiters = c;
  c->waiting = true; /* released by fetch_done */
  if (!m->fetching) fetch_stats(gw);
}
