/* /api/registry*, /api/blocklist: forwarded to the registry as one REG_HTTP message. The
 * gateway checks REGISTRY_KEY (constant time) and caps the body; the registry owns routing,
 * validation and JSON. A registry that is down or slow answers 503. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl_proto.h"

bool wl_registry_key_ok(struct conn *c) {
  const char *want = c->gw->cfg->registry_key;
  if (want == NULL || *want == '\0') return true;
  size_t len;
  const char *got = wl_http_header(c, H_KEY, &len);
  size_t wl = strlen(want);
  if (got == NULL || len != wl) return false;
  return CRYPTO_memcmp(got, want, wl) == 0;
}

static void reply(struct breq *r, int result, const void *msg, size_t len) {
  struct conn *c = r->arg;
  if (!wl_http_breq_done(c)) return;
  if (result < 0) {
    wl_http_json_error(c, 503, result == WL_ETIMEOUT ? "registry unavailable: it did not answer in time"
                                                     : "registry unavailable");
    return;
  }
  struct wl_proto_in in;
  struct wl_msg_reg_http_rep rep;
  int rv = wl_proto_in_init(&in, msg, len);
  if (rv == 0 && in.type == WL_MSG_ERROR) {
    int64_t code;
    const char *text;
    size_t tl;
    if (wl_proto_decode_error(&in, &code, &text, &tl) == 0)
      WL_WARN("gateway", "registry refused a request: %.*s", (int)tl, text);
    wl_proto_in_release(&in);
    wl_http_json_error(c, 502, "registry error");
    return;
  }
  if (rv == 0) rv = wl_proto_decode_reg_http_rep(&in, &rep);
  if (rv < 0) {
    WL_WARN("gateway", "bad reply from the registry: %s", in.reason);
    wl_proto_in_release(&in);
    wl_http_json_error(c, 502, "registry error");
    return;
  }
  struct wl_buf h;
  wl_buf_init(&h, 64 * 1024);
  for (size_t i = 0; i < rep.nheaders; i++) {
    wl_buf_append(&h, rep.headers[i].name, rep.headers[i].name_len);
    wl_buf_appends(&h, ": ");
    wl_buf_append(&h, rep.headers[i].value, rep.headers[i].value_len);
    wl_buf_appends(&h, "\r\n");
  }
  wl_buf_appendc(&h, 0);
  char ctype[300];
  snprintf(ctype, sizeof ctype, "%.*s", (int)rep.content_type_len, rep.content_type);
  wl_http_respond(c, (int)rep.status, ctype[0] ? ctype : NULL, (const char *)h.data, rep.body,
                  rep.body_len);
  wl_buf_release(&h);
  wl_proto_in_release(&in);
}

void wl_registry_forward(struct conn *c, const char *path, size_t plen, const char *query,
                         size_t qlen) {
  struct gw *gw = c->gw;
  /* No registry connected: answer at once rather than queue the request until it returns
   * (NNG would hold it, up to the backend timeout). */
  if (__atomic_load_n(&gw->reg.pipes, __ATOMIC_RELAXED) <= 0) {
    gw->m.backend_errors[BK_REGISTRY]++;
    wl_http_json_error(c, 503, "registry unavailable: it is not running or not reachable");
    return;
  }
  size_t hl;
  const char *host = wl_http_header(c, H_HOST, &hl);
  char base[600];
  snprintf(base, sizeof base, "http://%.*s", host ? (int)(hl < 500 ? hl : 500) : 9,
           host ? host : "localhost");
  const char *method = http_method_str((enum http_method)c->parser.method);
  struct wl_msg_reg_http m = {
      .method = method, .method_len = strlen(method),
      .path = path, .path_len = plen,
      .query = query, .query_len = qlen,
      .body = c->body.data, .body_len = c->body.len,
      .flags = wl_registry_key_ok(c) ? WL_REG_AUTHORIZED : 0,
      .base_url = base, .base_url_len = strlen(base),
  };
  struct wl_buf b;
  wl_buf_init(&b, (size_t)gw->cfg->torrent_max + 64 * 1024);
  if (wl_proto_encode_reg_http(&b, &m) < 0) {
    wl_buf_release(&b);
    wl_http_json_error(c, 413, "request too large");
    return;
  }
  c->waiting = wl_backend_call(gw, BK_REGISTRY, b.data, b.len, (int)gw->cfg->backend_timeout_ms,
                            reply, c);
  wl_buf_release(&b);
  if (!c->waiting) wl_http_json_error(c, 503, "registry unavailable: too many requests in flight");
}
