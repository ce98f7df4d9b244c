/* Passkey issuing and per-user accounting. POST /api/passkeys (REGISTRY_KEY-protected) mints
 * "{user_id}.{hex HMAC-SHA256(TRACKER_SECRET, user_id)}"; GET /api/users?user_id= reads the
 * uploaded/downloaded totals that the announce scripts keep in Redis (through a worker). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/hex.h"
#include "wl/query.h"
#include "wl_proto.h"

void wl_users_passkey(struct conn *c) {
  const struct wl_config *cfg = c->gw->cfg;
  if (!wl_registry_key_ok(c)) return wl_http_json_error(c, 401, "missing or wrong X-Weightless-Key");
  if (!cfg->tracker_secret || !*cfg->tracker_secret)
    return wl_http_json_error(c, 409, "passkeys are off: TRACKER_SECRET is not set on the server");
  json_error_t jerr;
  json_t *root = json_loadb((const char *)c->body.data, c->body.len, 0, &jerr);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    return wl_http_json_error(c, 400, "body must be a JSON object with user_id");
  }
  json_t *u = json_object_get(root, "user_id");
  if (!json_is_string(u) || !wl_passkey_user_valid(json_string_value(u), json_string_length(u))) {
    json_decref(root);
    return wl_http_json_error(c, 400, "user_id must be 1-64 characters of A-Z a-z 0-9 _ -");
  }
  const char *user = json_string_value(u);
  size_t ul = json_string_length(u);
  uint8_t mac[32];
  unsigned maclen = 0;
  HMAC(EVP_sha256(), cfg->tracker_secret, (int)strlen(cfg->tracker_secret),
       (const unsigned char *)user, ul, mac, &maclen);
  char hex[65], body[200];
  wl_hex_encode(hex, mac, 32);
  int n = snprintf(body, sizeof body, "{\"passkey\":\"%.*s.%s\"}", (int)ul, user, hex);
  json_decref(root);
  wl_http_respond(c, 200, "application/json", NULL, body, (size_t)n);
}


static void user_reply(struct breq *r, int result, const void *msg, size_t len) {
  struct conn *c = r->arg;
  if (!wl_http_breq_done(c)) return;
  if (result < 0) return wl_http_json_error(c, 503, "swarm store unavailable");
  struct wl_proto_in in;
  struct wl_msg_user_rep u;
  int rv = wl_proto_in_init(&in, msg, len);
  if (rv == 0) rv = wl_proto_decode_user_rep(&in, &u);
  wl_proto_in_release(&in);
  if (rv < 0) return wl_http_json_error(c, 503, "swarm store unavailable");
  if (!u.found) return wl_http_json_error(c, 404, "no announces recorded for this user_id");
  char body[300];
  int n;
  if (u.downloaded)
    n = snprintf(body, sizeof body,
                 "{\"user_id\":\"%s\",\"uploaded\":%llu,\"downloaded\":%llu,\"ratio\":%.4f}",
                 c->ann_user, (unsigned long long)u.uploaded, (unsigned long long)u.downloaded,
                 (double)u.uploaded / (double)u.downloaded);
  else /* no download yet: ratio is undefined, reported as null */
    n = snprintf(body, sizeof body,
                 "{\"user_id\":\"%s\",\"uploaded\":%llu,\"downloaded\":0,\"ratio\":null}",
                 c->ann_user, (unsigned long long)u.uploaded);
  wl_http_respond(c, 200, "application/json", NULL, body, (size_t)n);
}

void wl_users_get(struct conn *c, const char *query, size_t qlen) {
  struct wl_query_iter it;
  const char *k, *v;
  size_t kl, vl;
  char user[200];
  ssize_t ul = -1;
  wl_query_init(&it, query, qlen);
  while (wl_query_next(&it, &k, &kl, &v, &vl))
    if (wl_query_key_is(k, kl, "user_id") && vl < sizeof user)
      ul = wl_pct_decode((uint8_t *)user, v, vl);
  if (ul < 0) return wl_http_json_error(c, 400, "missing user_id");
  if (!wl_passkey_user_valid(user, (size_t)ul))
    return wl_http_json_error(c, 400, "user_id must be 1-64 characters of A-Z a-z 0-9 _ -");
  memcpy(c->ann_user, user, (size_t)ul);
  c->ann_user[ul] = '\0';
  struct wl_buf b;
  wl_buf_init(&b, 256);
  wl_proto_encode_user_get(&b, user, (size_t)ul);
  c->waiting = wl_backend_call(c->gw, BK_ANNOUNCE, b.data, b.len, 1000, user_reply, c);
  wl_buf_release(&b);
  if (!c->waiting) wl_http_json_error(c, 503, "swarm store unavailable");
}
