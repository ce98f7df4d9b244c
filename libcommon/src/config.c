/* Configuration table (wl/config.h). One row per variable: name, type, bounds, default, field.
 * Parsed once at start; the struct is read-only afterwards. */
#include "wl/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_DOUBLE };

struct cfg_var {
  const char *name;
  enum cfg_type type;
  size_t off;
  int64_t min, max;
  const char *def;
  const char *help;
};

#define OFF(f) offsetof(struct wl_config, f)
static const struct cfg_var vars[] = {
    {"WL_HTTP_ADDR", CFG_STR, OFF(http_addr), 0, 0, "0.0.0.0:8080",
     "HTTP listen address; [::]:PORT is dual-stack"},
    {"WL_DATA_DIR", CFG_STR, OFF(data_dir), 0, 0, "./var", "all state: Redis, SQLite, bus sockets"},
    {"WL_REDIS_URL", CFG_STR, OFF(redis_url), 0, 0, "",
     "redis://host:port or unix:///path; empty = <data>/redis.sock (private redis-server)"},
    {"WL_REDIS_SENTINELS", CFG_STR, OFF(redis_sentinels), 0, 0, "",
     "host:port,... of Redis Sentinels; when set, the primary is asked of them"},
    {"WL_REDIS_MASTER_NAME", CFG_STR, OFF(redis_master_name), 0, 0, "mymaster",
     "Sentinel master name"},
    {"WL_ANNOUNCE_BUS", CFG_STR, OFF(announce_bus), 0, 0, "",
     "NNG address the gateway listens on for workers; empty = ipc://<data>/announce.ipc"},
    {"WL_REGISTRY_BUS", CFG_STR, OFF(registry_bus), 0, 0, "",
     "NNG address of the registry's req/rep socket; empty = ipc://<data>/registry.ipc"},
    {"WL_EVENTS_BUS", CFG_STR, OFF(events_bus), 0, 0, "",
     "NNG address of the registry's event publisher; empty = ipc://<data>/events.ipc"},
    {"WL_STATS_BUS", CFG_STR, OFF(stats_bus), 0, 0, "",
     "NNG address where the registry pulls swarm figures; empty = ipc://<data>/stats.ipc"},
    {"WL_WEB_DIR", CFG_STR, OFF(web_dir), 0, 0, "", "web UI files; empty = the built-in path"},
    {"WL_ANNOUNCE_INTERVAL", CFG_INT, OFF(announce_interval), 10, 86400, "1800",
     "announce interval, seconds"},
    {"WL_MIN_INTERVAL", CFG_INT, OFF(min_interval), 1, 86400, "900",
     "min interval, seconds (capped at the interval)"},
    {"WL_PEER_TTL", CFG_INT, OFF(peer_ttl), 0, 7 * 86400, "0",
     "seconds before a silent peer expires; 0 = 2 x interval + 60"},
    {"WL_NUMWANT_DEFAULT", CFG_INT, OFF(numwant_default), 0, 1000, "50",
     "peers returned when numwant is absent"},
    {"WL_NUMWANT_MAX", CFG_INT, OFF(numwant_max), 1, 1000, "200", "cap on numwant"},
    {"WL_PEER_SAMPLE_MS", CFG_INT, OFF(peer_sample_ms), 0, 60000, "2000",
     "how long a worker answers a big swarm from one peer sample; 0 = sample every announce"},
    {"WL_SCRAPE_MAX", CFG_INT, OFF(scrape_max), 1, 1000, "64", "info_hashes per scrape"},
    {"WL_ALLOW_IP_PARAM", CFG_BOOL, OFF(allow_ip_param), 0, 1, "0",
     "honour the ip/ipv4/ipv6 announce parameters"},
    {"WL_REQUIRE_REGISTERED", CFG_BOOL, OFF(require_registered), 0, 1, "0",
     "curated mode: only registered hashes may be announced"},
    {"WL_ANNOUNCE_WORKERS", CFG_INT, OFF(announce_workers), 1, 256, "2",
     "announce worker processes started by make run"},
    {"WL_WORKER_INFLIGHT", CFG_INT, OFF(worker_inflight), 1, 65536, "256",
     "requests one worker keeps in flight"},
    {"TRACKER_SECRET", CFG_STR, OFF(tracker_secret), 0, 0, "",
     "HMAC key of passkeys; set = passkeys required"},
    {"REGISTRY_KEY", CFG_STR, OFF(registry_key), 0, 0, "",
     "X-Weightless-Key for registry writes; empty = unprotected"},
    {"WL_RATE_LIMIT_RPS", CFG_DOUBLE, OFF(rate_limit_rps), 0, 1000000, "5",
     "token bucket refill per client IP per second; 0 disables limiting"},
    {"WL_RATE_LIMIT_BURST", CFG_INT, OFF(rate_limit_burst), 1, 1000000, "10", "bucket size"},
    {"WL_RATE_LIMIT_TABLE", CFG_INT, OFF(rate_limit_table), 16, 100000000, "1000000",
     "most client IPs tracked at once"},
    {"WL_TRUSTED_PROXIES", CFG_STR, OFF(trusted_proxies), 0, 0, "",
     "CIDR list whose X-Forwarded-For is believed"},
    {"WL_CORS_ORIGINS", CFG_STR, OFF(cors_origins), 0, 0, "", "comma list of origins or *"},
    {"WL_MAX_CONNECTIONS", CFG_INT, OFF(max_connections), 1, 1000000, "10000",
     "open HTTP connections"},
    {"WL_MAX_CONNECTIONS_PER_IP", CFG_INT, OFF(max_conn_per_ip), 1, 1000000, "256",
     "open HTTP connections per client IP"},
    {"WL_IDLE_TIMEOUT", CFG_INT, OFF(idle_timeout), 1, 86400, "60",
     "seconds an idle keep-alive connection stays open"},
    {"WL_HEADER_TIMEOUT", CFG_INT, OFF(header_timeout), 1, 3600, "10",
     "seconds a client has to send a request's headers"},
    {"WL_BACKEND_TIMEOUT_MS", CFG_INT, OFF(backend_timeout_ms), 10, 600000, "5000",
     "how long the gateway waits for a worker or the registry"},
    {"WL_TORRENT_MAX", CFG_INT, OFF(torrent_max), 1024, 1LL << 30, "67108864",
     "largest .torrent accepted, bytes"},
    {"WL_LOG_LEVEL", CFG_STR, OFF(log_level), 0, 0, "info", "debug, info, warn or error"},
    {"WL_STATS_INTERVAL_MS", CFG_INT, OFF(stats_interval_ms), 50, 60000, "1000",
     "how often workers push swarm figures to the registry"},
};
#undef OFF

static int parse_one(const struct cfg_var *v, const char *s, struct wl_config *cfg, char *err,
                     size_t errlen) {
  char *base = (char *)cfg + v->off;
  char *end = NULL;
  switch (v->type) {
  case CFG_STR:
    *(const char **)base = s;
    return 0;
  case CFG_BOOL:
    if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
      *(bool *)base = true;
      return 0;
    }
    if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || !*s) {
      *(bool *)base = false;
      return 0;
    }
    snprintf(err, errlen, "%s: expected 0 or 1, got \"%s\"", v->name, s);
    return WL_EINVAL;
  case CFG_INT: {
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
      snprintf(err, errlen, "%s: expected an integer, got \"%s\"", v->name, s);
      return WL_EINVAL;
    }
    if (x < v->min || x > v->max) {
      snprintf(err, errlen, "%s: %lld is out of range %lld..%lld", v->name, x,
               (long long)v->min, (long long)v->max);
      return WL_EINVAL;
    }
    *(int64_t *)base = x;
    return 0;
  }
  case CFG_DOUBLE: {
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || *end || !(x >= (double)v->min && x <= (double)v->max)) {
      snprintf(err, errlen, "%s: expected a number in %lld..%lld, got \"%s\"", v->name,
               (long long)v->min, (long long)v->max, s);
      return WL_EINVAL;
    }
    *(double *)base = x;
    return 0;
  }
  }
  return WL_EINVAL;
}

int wl_config_load(struct wl_config *cfg, char *err, size_t errlen) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    int rv = parse_one(&vars[i], vars[i].def, cfg, err, errlen);
    if (rv < 0) return rv;
    const char *s = getenv(vars[i].name);
    if (s == NULL) continue;
    rv = parse_one(&vars[i], s, cfg, err, errlen);
    if (rv < 0) return rv;
  }
  if (cfg->min_interval > cfg->announce_interval) cfg->min_interval = cfg->announce_interval;
  if (cfg->peer_ttl == 0) cfg->peer_ttl = 2 * cfg->announce_interval + 60;
  if (cfg->numwant_default > cfg->numwant_max) cfg->numwant_default = cfg->numwant_max;
  if (!*cfg->data_dir) {
    snprintf(err, errlen, "WL_DATA_DIR: must not be empty");
    return WL_EINVAL;
  }
  return 0;
}

void wl_config_describe(void (*line)(void *arg, const char *text), void *arg) {
  char tmp[512];
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
    snprintf(tmp, sizeof tmp, "%-26s default \"%s\": %s", vars[i].name, vars[i].def,
             vars[i].help);
    line(arg, tmp);
  }
}

int wl_config_endpoint(const struct wl_config *cfg, const char *val, const char *file, char *out,
                       size_t outlen) {
  int n;
  if (val && *val)
    n = snprintf(out, outlen, "%s", val);
  else
    n = snprintf(out, outlen, "ipc://%s/%s", cfg->data_dir, file);
  return n < 0 || (size_t)n >= outlen ? WL_ETOOBIG : 0;
}
