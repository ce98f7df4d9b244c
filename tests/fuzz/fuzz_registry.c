/* libFuzzer target: the registry's JSON bodies and query strings, through its request handler
 * (services/registry/src/api.c) on a temporary SQLite database. The first byte picks the
 * route; the rest is the body (POST) or the query (GET/DELETE). Every answer must be a status
 * the API knows and, for JSON, parse as JSON. The database is opened once per process (the
 * usual libFuzzer setup) and reused, so state built by one input is seen by the next. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

static struct wl_registry reg;
static struct wl_config cfg;
static int ready;

static int setup(void) {
  char dir[] = "/tmp/wl-fuzz-registry-XXXXXX", path[128], err[256];
  if (!mkdtemp(dir)) return -1;
  if (wl_config_load(&cfg, err, sizeof err) < 0) return -1;
  cfg.data_dir = strdup(dir);
  snprintf(path, sizeof path, "%s/registry.db", dir);
  if (wl_registry_open(&reg, &cfg, path, err, sizeof err) < 0) return -1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!ready) {
    if (setup() < 0) abort();
    ready = 1;
  }
  if (size == 0) return 0;
  static const struct { const char *method, *path; int body; } routes[] = {
      {"POST", "/api/registry", 1},          {"POST", "/api/registry/torrent", 1},
      {"GET", "/api/registry/search", 0},    {"GET", "/api/registry", 0},
      {"DELETE", "/api/registry", 0},        {"GET", "/api/registry/meta", 0},
      {"POST", "/api/registry/verify", 0},   {"DELETE", "/api/blocklist", 0},
  };
  const size_t nr = sizeof routes / sizeof routes[0];
  size_t r = data[0] % nr;
  struct wl_msg_reg_http req;
  memset(&req, 0, sizeof req);
  req.method = routes[r].method;
  req.method_len = strlen(req.method);
  req.path = routes[r].path;
  req.path_len = strlen(req.path);
  if (routes[r].body) {
    req.body = data + 1;
    req.body_len = size - 1;
    req.query = "";
  } else {
    req.query = (const char *)data + 1;
    req.query_len = size - 1;
  }
  req.flags = WL_REG_AUTHORIZED;
  req.base_url = "http://localhost:8080";
  req.base_url_len = strlen(req.base_url);
  struct wl_reg_reply rep;
  wl_reg_reply_init(&rep);
  wl_registry_http(&reg, &req, &rep);
  if (rep.status < 200 || rep.status > 599) abort();
  if (rep.content_type && strcmp(rep.content_type, "application/json") == 0) {
    json_error_t e;
    json_t *j = json_loadb((const char *)rep.body.data, rep.body.len, 0, &e);
    if (!j) abort(); /* every JSON answer must be JSON */
    json_decref(j);
  }
  wl_reg_reply_release(&rep);
  return 0;
}
