/* The registry HTTP API (API.md "Registry" and "Beyond the seed"): one REG_HTTP request from
 * the gateway in, one status + headers + body out. Routing by path and method (404 for an
 * unknown /api/registry* path, 405 with Allow for a wrong method), the authorization flag set
 * by the gateway (401 on write routes without it), query-string decoding, and the reply
 * helpers shared by the route handlers in entries.c, search.c and torrents.c.
 *
 * Query strings: only the parameters a route knows are read; unknown ones are ignored. Values
 * are percent-decoded with '+' read as a space (HTML forms and URLSearchParams encode spaces
 * so), must be UTF-8 without NUL, and a parameter given twice is a 400: which one was meant is
 * a guess this API does not make. An empty value counts as absent. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl/query.h"

const char *const wl__reg_param_names[P_COUNT] = {
    [P_INFO_HASH] = "info_hash", [P_Q] = "q",
    [P_CATEGORY] = "category",   [P_PUBLISHER] = "publisher",
    [P_TAGS] = "tags",           [P_SORT] = "sort",
    [P_LIMIT] = "limit",         [P_OFFSET] = "offset",
    [P_REASON] = "reason",       [P_VERIFIED] = "verified",
    [P_NAME] = "name",           [P_DESCRIPTION] = "description",
    [P_LICENSE] = "license",
};

/* ---- replies ----------------------------------------------------------------------------- */

void wl_reg_reply_init(struct wl_reg_reply *r) {
  memset(r, 0, sizeof *r);
  r->status = 500;
  r->content_type = "application/json";
  wl_buf_init(&r->body, WL_REG_REPLY_MAX);
}

void wl_reg_reply_release(struct wl_reg_reply *r) { wl_buf_release(&r->body); }

void wl__reply_json(struct wl_reg_reply *r, unsigned status, const char *json) {
  wl_buf_reset(&r->body);
  r->status = status;
  r->content_type = "application/json";
  wl_buf_appends(&r->body, json);
}

void wl__reply_error(struct wl_reg_reply *r, unsigned status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  wl_buf_reset(&r->body);
  r->status = status;
  r->content_type = "application/json";
  r->nheaders = 0;
  struct wl_jw w;
  wl__jw_init(&w, &r->body);
  wl__jw_obj_open(&w);
  wl__jw_kstr(&w, "error", msg);
  wl__jw_obj_close(&w);
}

void wl__reply_header(struct wl_reg_reply *r, const char *name, const char *fmt, ...) {
  if (r->nheaders >= WL_REG_HEADERS_MAX) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->headers[r->nheaders].value, WL_REG_HEADER_VALUE_MAX, fmt, ap);
  va_end(ap);
  r->headers[r->nheaders].name = name;
  r->nheaders++;
}

void wl__reply_internal(struct wl_reg_reply *r, int rv) {
  if (rv == WL_ETOOBIG)
    wl__reply_error(r, 500, "The answer is too large for the registry to send.");
  else if (rv == WL_ENOMEM)
    wl__reply_error(r, 503, "The registry is out of memory; try again later.");
  else
    wl__reply_error(r, 503, "Registry database error; try again later.");
}

/* ---- query strings ---------------------------------------------------------------------- */

static void query_release(struct wl_reg_query *q) {
  free(q->store);
  q->store = NULL;
}

/* Decodes the parameters of want (a bitmask of wl_reg_param) from raw. 0, or a 400 in rep. */
static int query_parse(struct wl_reg_query *q, const char *raw, size_t n, unsigned want,
                       struct wl_reg_reply *rep) {
  memset(q, 0, sizeof *q);
  q->store = malloc(n + P_COUNT);
  if (q->store == NULL) {
    wl__reply_internal(rep, WL_ENOMEM);
    return WL_ENOMEM;
  }
  char *out = q->store;
  struct wl_query_iter it;
  const char *k, *v;
  size_t kl, vl;
  wl_query_init(&it, raw, n);
  while (wl_query_next(&it, &k, &kl, &v, &vl)) {
    int p = -1;
    for (int i = 0; i < P_COUNT; i++)
      if ((want & (1u << i)) && wl_query_key_is(k, kl, wl__reg_param_names[i])) p = i;
    if (p < 0) continue;
    const char *name = wl__reg_param_names[p];
    if (q->v[p] != NULL) {
      wl__reply_error(rep, 400, "Parameter %s is given more than once.", name);
      return WL_EINVAL;
    }
    for (size_t i = 0; i < vl; i++) out[i] = v[i] == '+' ? ' ' : v[i];
    ssize_t dl = wl_pct_decode((uint8_t *)out, out, vl);
    if (dl < 0) {
      wl__reply_error(rep, 400, "Parameter %s is not properly percent-encoded.", name);
      return WL_EINVAL;
    }
    if (memchr(out, '\0', (size_t)dl) || !wl__utf8_valid(out, (size_t)dl)) {
      wl__reply_error(rep, 400, "Parameter %s must be UTF-8 text without NUL bytes.", name);
      return WL_EINVAL;
    }
    out[dl] = '\0';
    if (dl == 0) { /* "x=" is as if absent, but still counts as given */
      q->v[p] = "";
      q->len[p] = 0;
      out += 1;
      continue;
    }
    q->v[p] = out;
    q->len[p] = (size_t)dl;
    out += dl + 1;
  }
  for (int i = 0; i < P_COUNT; i++)
    if (q->v[i] != NULL && q->len[i] == 0) q->v[i] = NULL;
  return 0;
}

int wl__param_hash(const struct wl_reg_query *q, struct wl_reg_hash *h, struct wl_reg_reply *rep) {
  if (q->v[P_INFO_HASH] == NULL) {
    wl__reply_error(rep, 400, "Missing info_hash: give the torrent's 40- or 64-digit hex info hash.");
    return WL_EINVAL;
  }
  if (wl__registry_hash_parse(h, q->v[P_INFO_HASH], q->len[P_INFO_HASH]) < 0) {
    wl__reply_error(rep, 400,
                    "Malformed info_hash: expected 40 (v1 SHA-1) or 64 (v2 SHA-256) hex digits.");
    return WL_EINVAL;
  }
  return 0;
}

int wl__param_count(const struct wl_reg_query *q, enum wl_reg_param p, int64_t def, int64_t max,
                    int64_t *out, struct wl_reg_reply *rep) {
  const char *s = q->v[p];
  *out = def;
  if (s == NULL) return 0;
  int64_t v = 0;
  for (size_t i = 0; i < q->len[p]; i++) {
    if (s[i] < '0' || s[i] > '9') {
      wl__reply_error(rep, 400, "Invalid %s: expected a non-negative integer, got \"%.40s\".",
                      wl__reg_param_names[p], s);
      return WL_EINVAL;
    }
    if (v < INT64_MAX / 10) v = v * 10 + (s[i] - '0'); /* saturate: "offset=1e30" is past the end */
    else v = INT64_MAX;
  }
  *out = v > max ? max : v;
  return 0;
}

int wl__param_text(const struct wl_reg_query *q, enum wl_reg_param p, size_t max,
                   const char **out, struct wl_reg_reply *rep) {
  *out = q->v[p];
  if (*out && q->len[p] > max) {
    wl__reply_error(rep, 400, "Parameter %s is too long: at most %zu bytes.",
                    wl__reg_param_names[p], max);
    return WL_EINVAL;
  }
  return 0;
}

/* ---- routing ----------------------------------------------------------------------------- */

enum method { M_GET = 1, M_HEAD = 2, M_POST = 4, M_DELETE = 8, M_OPTIONS = 16, M_OTHER = 32 };
enum route_id { R_ENTRY, R_SEARCH, R_TORRENT, R_META, R_VERIFY, R_BLOCKLIST };

#define BIT(p) (1u << (p))
static const struct route {
  const char *path;
  unsigned methods; /* allowed */
  unsigned auth;    /* of those, the ones that need the key */
  const char *allow;
  unsigned params; /* query parameters read */
} routes[] = {
    [R_ENTRY] = {"/api/registry", M_GET | M_HEAD | M_POST | M_DELETE, M_POST | M_DELETE,
                 "GET, HEAD, POST, DELETE, OPTIONS", BIT(P_INFO_HASH) | BIT(P_REASON)},
    [R_SEARCH] = {"/api/registry/search", M_GET | M_HEAD, 0, "GET, HEAD, OPTIONS",
                  BIT(P_Q) | BIT(P_CATEGORY) | BIT(P_PUBLISHER) | BIT(P_TAGS) | BIT(P_SORT) |
                      BIT(P_LIMIT) | BIT(P_OFFSET)},
    [R_TORRENT] = {"/api/registry/torrent", M_GET | M_HEAD | M_POST, M_POST,
                   "GET, HEAD, POST, OPTIONS",
                   BIT(P_INFO_HASH) | BIT(P_NAME) | BIT(P_DESCRIPTION) | BIT(P_PUBLISHER) |
                       BIT(P_LICENSE) | BIT(P_CATEGORY) | BIT(P_TAGS)},
    [R_META] = {"/api/registry/meta", M_GET | M_HEAD, 0, "GET, HEAD, OPTIONS", BIT(P_INFO_HASH)},
    [R_VERIFY] = {"/api/registry/verify", M_POST, M_POST, "POST, OPTIONS",
                  BIT(P_INFO_HASH) | BIT(P_VERIFIED)},
    /* API.md: everything beyond the seed is key-protected, the blocklist listing included */
    [R_BLOCKLIST] = {"/api/blocklist", M_GET | M_HEAD | M_DELETE, M_GET | M_HEAD | M_DELETE,
                     "GET, HEAD, DELETE, OPTIONS", BIT(P_INFO_HASH) | BIT(P_LIMIT) | BIT(P_OFFSET)},
};

static unsigned method_of(const char *m, size_t n) {
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(m, lit, n) == 0)
  if (IS("GET")) return M_GET;
  if (IS("HEAD")) return M_HEAD;
  if (IS("POST")) return M_POST;
  if (IS("DELETE")) return M_DELETE;
  if (IS("OPTIONS")) return M_OPTIONS;
#undef IS
  return M_OTHER;
}

void wl_registry_http(struct wl_registry *reg, const struct wl_msg_reg_http *req,
                      struct wl_reg_reply *rep) {
  int r = -1;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strlen(routes[i].path) == req->path_len &&
        memcmp(routes[i].path, req->path, req->path_len) == 0)
      r = (int)i;
  if (r < 0) {
    wl__reply_error(rep, 404, "No such registry endpoint: %.*s.",
                    (int)(req->path_len < 200 ? req->path_len : 200), req->path);
    return;
  }
  const struct route *rt = &routes[r];
  unsigned m = method_of(req->method, req->method_len);
  if (m == M_OPTIONS) {
    wl_buf_reset(&rep->body);
    rep->status = 204;
    rep->content_type = "";
    wl__reply_header(rep, "Allow", "%s", rt->allow);
    return;
  }
  if (!(rt->methods & m)) {
    wl__reply_error(rep, 405, "Method %.*s is not allowed on %s; use %s.",
                    (int)(req->method_len < 16 ? req->method_len : 16), req->method, rt->path,
                    rt->allow);
    wl__reply_header(rep, "Allow", "%s", rt->allow);
    return;
  }
  if ((rt->auth & m) && !(req->flags & WL_REG_AUTHORIZED)) {
    wl__reply_error(rep, 401, "Missing or wrong X-Weightless-Key: this request needs the registry key.");
    return;
  }
  struct wl_reg_query q;
  if (query_parse(&q, req->query, req->query_len, rt->params, rep) < 0) goto out;
  switch (r) {
  case R_ENTRY:
    if (m == M_POST)
      wl__registry_post(reg, req->body, req->body_len, rep);
    else if (m == M_DELETE)
      wl__registry_delete(reg, &q, rep);
    else
      wl__registry_get(reg, &q, rep);
    break;
  case R_SEARCH:
    wl__registry_search(reg, &q, rep);
    break;
  case R_TORRENT:
    if (m == M_POST)
      wl__registry_torrent_post(reg, &q, req->body, req->body_len, rep);
    else
      wl__registry_torrent_get(reg, &q, rep);
    break;
  case R_META:
    wl__registry_meta(reg, &q, rep);
    break;
  case R_VERIFY:
    wl__registry_verify(reg, &q, rep);
    break;
  case R_BLOCKLIST:
    if (m == M_DELETE)
      wl__registry_unblock(reg, &q, rep);
    else
      wl__registry_blocklist(reg, &q, rep);
    break;
  }
out:
  query_release(&q);
  /* Whatever went wrong inside, never leave a transaction open for the next request. */
  if (!sqlite3_get_autocommit(reg->db)) {
    WL_WARN("registry", "a request left a transaction open; rolling it back");
    wl__registry_rollback(reg);
  }
}
