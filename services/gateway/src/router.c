/* Request routing: rate limit first, then the tracker, operations, registry API and web UI
 * paths. Unknown paths answer 404 JSON (BitTorrent clients and probes rely on it, so there is
 * no catch-all to the UI), known paths with a wrong method 405 with Allow. */
#include <string.h>

#include "gateway.h"
#include "wl/log.h"

static bool is(const char *p, size_t n, const char *s) {
  return n == strlen(s) && memcmp(p, s, n) == 0;
}

static bool prefix(const char *p, size_t n, const char *s) {
  size_t l = strlen(s);
  return n >= l && memcmp(p, s, l) == 0;
}

/* "/announce", "/announce/", "/announce/{pk}", "/announce/{pk}/" -> true, passkey span */
static bool tracker_path(const char *p, size_t n, const char *base, const char **pk, size_t *pkl) {
  size_t bl = strlen(base);
  if (!prefix(p, n, base)) return false;
  if (n == bl) {
    *pk = NULL;
    *pkl = 0;
    return true;
  }
  if (p[bl] != '/') return false;
  const char *s = p + bl + 1;
  size_t sl = n - bl - 1;
  if (sl && s[sl - 1] == '/') sl--;
  if (memchr(s, '/', sl)) return false;
  *pk = sl ? s : NULL;
  *pkl = sl;
  return true;
}

static bool method_get(struct conn *c) {
  return c->parser.method == HTTP_GET || c->parser.method == HTTP_HEAD;
}

static void not_allowed(struct conn *c, const char *allow) {
  char hdr[96];
  snprintf(hdr, sizeof hdr, "Allow: %s\r\n", allow);
  const char body[] = "{\"error\":\"method not allowed on this path\"}";
  wl_http_respond(c, 405, "application/json", hdr, body, sizeof body - 1);
}

static void preflight(struct conn *c) {
  const char *hdr =
      "Access-Control-Allow-Methods: GET, POST, DELETE, OPTIONS\r\n"
      "Access-Control-Allow-Headers: Content-Type, X-Weightless-Key\r\n"
      "Access-Control-Max-Age: 600\r\n";
  wl_http_respond(c, 204, NULL, hdr, "", 0);
}

void wl_route(struct conn *c) {
  struct gw *gw = c->gw;
  const char *url = (const char *)c->url.data;
  size_t ulen = c->url.len;
  const char *q = memchr(url, '?', ulen);
  size_t plen = q ? (size_t)(q - url) : ulen;
  const char *query = q ? q + 1 : "";
  size_t qlen = q ? ulen - plen - 1 : 0;
  const char *pk;
  size_t pkl;
  /* strip a fragment, which clients should not send but some do */
  const char *hash = memchr(query, '#', qlen);
  if (hash) qlen = (size_t)(hash - query);

  bool is_announce = tracker_path(url, plen, "/announce", &pk, &pkl);
  bool is_scrape = !is_announce && tracker_path(url, plen, "/scrape", &pk, &pkl);
  c->route = is_announce ? R_ANNOUNCE
             : is_scrape ? R_SCRAPE
             : is(url, plen, "/health") ? R_HEALTH
             : is(url, plen, "/metrics") ? R_METRICS
             : prefix(url, plen, "/api/") ? R_REGISTRY
             : R_OTHER;

  wl_proxies_client_ip(gw->proxies, c);
  /* The web UI's own files are served from memory and a first page load is ~9 requests:
   * they take no token, so opening the UI does not eat a client's tracker or API budget. */
  if (method_get(c) && (is(url, plen, "/") || prefix(url, plen, "/assets/") ||
                        prefix(url, plen, "/entry/")) &&
      wl_static_serve(c, url, plen)) {
    c->route = R_UI;
    return;
  }
  if (gw->rl && !wl_ratelimit_take(gw->rl, c->ip, c->ip_len, wl_now_ms())) {
    gw->m.rate_limited++;
    if (is_announce) {
      wl_tracker_fail(c, "Rate limit exceeded. Please slow down.");
    } else {
      const char body[] = "{\"error\":\"rate limit exceeded, please slow down\"}";
      wl_http_respond(c, 429, "application/json", "Retry-After: 1\r\n", body, sizeof body - 1);
    }
    return;
  }

  if (c->parser.method == HTTP_OPTIONS && *gw->cfg->cors_origins) {
    preflight(c);
    return;
  }
  if (is_announce || is_scrape) {
    if (!method_get(c)) return not_allowed(c, "GET, HEAD");
    if (is_announce)
      wl_tracker_announce(c, pk, pkl, query, qlen);
    else
      wl_tracker_scrape(c, pk, pkl, query, qlen);
    return;
  }
  if (c->route == R_HEALTH) {
    if (!method_get(c)) return not_allowed(c, "GET, HEAD");
    return wl_ops_health(c);
  }
  if (c->route == R_METRICS) {
    if (!method_get(c)) return not_allowed(c, "GET, HEAD");
    return wl_ops_metrics(c);
  }
  if (is(url, plen, "/api/passkeys")) {
    if (c->parser.method != HTTP_POST) return not_allowed(c, "POST");
    return wl_users_passkey(c);
  }
  if (is(url, plen, "/api/users")) {
    if (!method_get(c)) return not_allowed(c, "GET, HEAD");
    return wl_users_get(c, query, qlen);
  }
  if (is(url, plen, "/api/registry") || prefix(url, plen, "/api/registry/") ||
      is(url, plen, "/api/blocklist")) {
    wl_registry_forward(c, url, plen, query, qlen);
    return;
  }
  if (method_get(c) && wl_static_serve(c, url, plen)) {
    c->route = R_UI;
    return;
  }
  const char body[] = "{\"error\":\"not found\"}";
  wl_http_respond(c, 404, "application/json", NULL, body, sizeof body - 1);
}
