/* Configuration: every WL_* variable of API.md (and REGISTRY_KEY, TRACKER_SECRET) as one table
 * (name, type, bounds, default), parsed once at start into an immutable struct shared by all
 * services, so `make run` can hand one environment to the whole stack. An invalid value stops
 * the service with a message naming the variable (redis createIntConfig). */
#ifndef WL_CONFIG_H
#define WL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wl_config {
  /* network */
  const char *http_addr;      /* WL_HTTP_ADDR "0.0.0.0:8080" */
  const char *data_dir;       /* WL_DATA_DIR "./var" */
  const char *redis_url;      /* WL_REDIS_URL "" = unix socket <data>/redis.sock */
  const char *redis_sentinels;   /* WL_REDIS_SENTINELS "" host:port,... */
  const char *redis_master_name; /* WL_REDIS_MASTER_NAME "mymaster" */
  const char *announce_bus;   /* WL_ANNOUNCE_BUS "" = ipc://<data>/announce.ipc */
  const char *registry_bus;   /* WL_REGISTRY_BUS "" = ipc://<data>/registry.ipc */
  const char *events_bus;     /* WL_EVENTS_BUS "" = ipc://<data>/events.ipc */
  const char *stats_bus;      /* WL_STATS_BUS "" = ipc://<data>/stats.ipc */
  const char *web_dir;        /* WL_WEB_DIR "" = the source tree's web/ */
  /* tracker */
  int64_t announce_interval;  /* WL_ANNOUNCE_INTERVAL 1800 */
  int64_t min_interval;       /* WL_MIN_INTERVAL 900 */
  int64_t peer_ttl;           /* WL_PEER_TTL 0 = 2*interval+60 */
  int64_t numwant_default;    /* WL_NUMWANT_DEFAULT 50 */
  int64_t numwant_max;        /* WL_NUMWANT_MAX 200 */
  int64_t peer_sample_ms;     /* WL_PEER_SAMPLE_MS 2000 */
  int64_t scrape_max;         /* WL_SCRAPE_MAX 64 */
  bool allow_ip_param;        /* WL_ALLOW_IP_PARAM 0 */
  bool require_registered;    /* WL_REQUIRE_REGISTERED 0 */
  int64_t announce_workers;   /* WL_ANNOUNCE_WORKERS 2 (used by the launcher) */
  int64_t worker_inflight;    /* WL_WORKER_INFLIGHT 256 */
  /* access */
  const char *tracker_secret; /* TRACKER_SECRET "" = passkeys optional */
  const char *registry_key;   /* REGISTRY_KEY "" = writes unprotected */
  double rate_limit_rps;      /* WL_RATE_LIMIT_RPS 5 (0 disables) */
  int64_t rate_limit_burst;   /* WL_RATE_LIMIT_BURST 10 */
  int64_t rate_limit_table;   /* WL_RATE_LIMIT_TABLE 1000000 */
  const char *trusted_proxies; /* WL_TRUSTED_PROXIES "" */
  const char *cors_origins;   /* WL_CORS_ORIGINS "" */
  /* HTTP limits */
  int64_t max_connections;    /* WL_MAX_CONNECTIONS 10000 */
  int64_t max_conn_per_ip;    /* WL_MAX_CONNECTIONS_PER_IP 256 */
  int64_t idle_timeout;       /* WL_IDLE_TIMEOUT 60 s */
  int64_t header_timeout;     /* WL_HEADER_TIMEOUT 10 s */
  int64_t backend_timeout_ms; /* WL_BACKEND_TIMEOUT_MS 5000 */
  int64_t torrent_max;        /* WL_TORRENT_MAX 64 MiB */
  /* misc */
  const char *log_level;      /* WL_LOG_LEVEL "info" */
  int64_t stats_interval_ms;  /* WL_STATS_INTERVAL_MS 1000 */
};

/* Reads the environment into *cfg (strings point into the environment, or at static defaults)
 * and derives the defaults that depend on other values. On an invalid value returns WL_EINVAL
 * and writes "WL_X: why" to err. */
int wl_config_load(struct wl_config *cfg, char *err, size_t errlen);

/* One line per variable, "NAME=value (default ...)", for --help and README. */
void wl_config_describe(void (*line)(void *arg, const char *text), void *arg);

/* Derived endpoint: writes "ipc://<data_dir>/<file>" when val is empty, else val. */
int wl_config_endpoint(const struct wl_config *cfg, const char *val, const char *file, char *out,
                       size_t outlen);

#endif
