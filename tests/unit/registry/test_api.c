/* Registry API through its request handler (wl_registry_http) on a temporary database:
 * routing (404, 405 + Allow), the authorization flag (401), POST /api/registry validation
 * naming the field, upsert semantics (verified, completions and created_at kept), lookup by
 * either hash in any case, DELETE blocking both swarm hashes with events, the blocklist and
 * unblock, verify, and live swarm figures (max of the v1 and truncated-v2 swarms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regtest.h"
#include "wl/hex.h"

static json_int_t jint(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  assert_true(json_is_integer(v));
  return json_integer_value(v);
}

/* ---- routing and auth ------------------------------------------------------------------------ */

static void routing(void **state) {
  struct rt *t = *state;
  struct wl_reg_reply rep;
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry/nope", NULL, NULL, true, 404),
                         "/api/registry/nope"));
  rt_error(t, "GET", "/api/registry/", NULL, NULL, true, 404);
  rt_error(t, "GET", "/api/blocklistx", NULL, NULL, true, 404);

  rt_req(t, "PUT", "/api/registry", "", NULL, 0, true, &rep);
  assert_int_equal(rep.status, 405);
  assert_string_equal(rt_header(&rep, "Allow"), "GET, HEAD, POST, DELETE, OPTIONS");
  wl_reg_reply_release(&rep);
  rt_req(t, "POST", "/api/registry/search", "", NULL, 0, true, &rep);
  assert_int_equal(rep.status, 405);
  assert_string_equal(rt_header(&rep, "Allow"), "GET, HEAD, OPTIONS");
  json_t *j = rt_json(&rep);
  assert_non_null(strstr(rt_jstr(j, "error"), "POST"));
  json_decref(j);
  wl_reg_reply_release(&rep);
  rt_req(t, "GET", "/api/registry/verify", "", NULL, 0, true, &rep);
  assert_int_equal(rep.status, 405);
  assert_string_equal(rt_header(&rep, "Allow"), "POST, OPTIONS");
  wl_reg_reply_release(&rep);
  rt_req(t, "OPTIONS", "/api/registry/torrent", "", NULL, 0, false, &rep);
  assert_int_equal(rep.status, 204);
  assert_int_equal(rep.body.len, 0);
  assert_string_equal(rt_header(&rep, "Allow"), "GET, HEAD, POST, OPTIONS");
  wl_reg_reply_release(&rep);
  /* HEAD answers as GET (the gateway drops the body) */
  rt_req(t, "HEAD", "/api/registry/search", "", NULL, 0, false, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "0");
  wl_reg_reply_release(&rep);
}

static void auth(void **state) {
  struct rt *t = *state;
  char h[65], q[200];
  rt_hash(h, 64, 1);
  snprintf(q, sizeof q, "info_hash=%s&verified=true", h);
  const char *body = "{\"info_hash\":\"" "0123456789012345678901234567890123456789" "\",\"name\":\"x\"}";
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry", NULL, body, false, 401), "X-Weightless-Key"));
  rt_error(t, "DELETE", "/api/registry", q, NULL, false, 401);
  rt_error(t, "POST", "/api/registry/verify", q, NULL, false, 401);
  rt_error(t, "POST", "/api/registry/torrent", NULL, "d4:infode", false, 401);
  rt_error(t, "GET", "/api/blocklist", NULL, NULL, false, 401);
  rt_error(t, "DELETE", "/api/blocklist", q, NULL, false, 401);
  /* nothing was written */
  assert_int_equal(t->reg.nentries, 0);
  assert_int_equal(t->nev, 0);
  /* reads need no key */
  rt_error(t, "GET", "/api/registry", q, NULL, false, 404);
  rt_error(t, "GET", "/api/registry/meta", q, NULL, false, 404);
  rt_error(t, "GET", "/api/registry/torrent", q, NULL, false, 404);
}

/* ---- POST /api/registry ---------------------------------------------------------------------- */

static void post_validation(void **state) {
  struct rt *t = *state;
  const char *ih = "\"info_hash\":\"0123456789abcdef0123456789abcdef01234567\"";
  char body[600];
#define BAD(json, needle)                                                                   \
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry", NULL, json, true, 400), needle))
  BAD("", "Empty body");
  BAD("{", "Invalid JSON");
  BAD("[1,2]", "object");
  BAD("\"x\"", "object");
  BAD("{\"name\":\"x\"}", "Missing info_hash");
  BAD("{\"info_hash\":\"abc123\",\"name\":\"x\"}", "info_hash");
  BAD("{\"info_hash\":\"0123456789abcdef0123456789abcdef0123456\",\"name\":\"x\"}", "info_hash");
  BAD("{\"info_hash\":\"0123456789abcdef0123456789abcdef0123456g\",\"name\":\"x\"}", "info_hash");
  BAD("{\"info_hash\":42,\"name\":\"x\"}", "info_hash");
  snprintf(body, sizeof body, "{%s}", ih);
  BAD(body, "Missing name");
  snprintf(body, sizeof body, "{%s,\"name\":7}", ih);
  BAD(body, "Invalid name");
  snprintf(body, sizeof body, "{%s,\"name\":\"\"}", ih);
  BAD(body, "Invalid name");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"description\":[]}", ih);
  BAD(body, "Invalid description");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"publisher\":1}", ih);
  BAD(body, "Invalid publisher");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"license\":true}", ih);
  BAD(body, "Invalid license");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"category\":{}}", ih);
  BAD(body, "Invalid category");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"tags\":[\"a\"]}", ih);
  BAD(body, "Invalid tags");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"size\":-1}", ih);
  BAD(body, "Invalid size");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"size\":\"12\"}", ih);
  BAD(body, "Invalid size");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"size\":1.5}", ih);
  BAD(body, "Invalid size");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"name\":\"y\"}", ih);
  BAD(body, "Invalid JSON");
  snprintf(body, sizeof body, "{%s,\"name\":\"a\\u0000b\"}", ih);
  BAD(body, "Invalid JSON");
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"v1_info_hash\":\"0123\"}", ih);
  BAD(body, "Invalid v1_info_hash");
  /* v1_info_hash only for a hybrid (64-digit info_hash) */
  snprintf(body, sizeof body, "{%s,\"name\":\"x\",\"v1_info_hash\":\"%040d\"}", ih, 5);
  BAD(body, "hybrid");
  /* a long publisher */
  char *big = malloc(2000);
  snprintf(big, 2000, "{%s,\"name\":\"x\",\"publisher\":\"%0300d\"}", ih, 0);
  BAD(big, "publisher");
  free(big);
#undef BAD
  /* over 1 MiB: 413 (the gateway refuses it first; the registry does not trust that) */
  size_t n = (1 << 20) + 10;
  char *huge = malloc(n + 1);
  memset(huge, ' ', n);
  huge[n] = '\0';
  memcpy(huge, "{\"info_hash\":\"0123456789abcdef0123456789abcdef01234567\",\"name\":\"x\"}", 68);
  struct wl_reg_reply rep;
  rt_req(t, "POST", "/api/registry", NULL, huge, n, true, &rep);
  assert_int_equal(rep.status, 413);
  wl_reg_reply_release(&rep);
  free(huge);
  assert_int_equal(t->reg.nentries, 0);
}

static void upsert_keeps_verified_completions_created(void **state) {
  struct rt *t = *state;
  char ih[65], up[65], body[1024], q[200];
  rt_hash(ih, 64, 7);
  for (int i = 0; i < 64; i++) up[i] = (char)(ih[i] >= 'a' ? ih[i] - 32 : ih[i]);
  up[64] = '\0';
  /* created from an upper-case hash, stored lowercase; unknown fields ignored */
  snprintf(body, sizeof body,
           "{\"info_hash\":\"%s\",\"name\":\"Llama Weights\",\"description\":\"d\","
           "\"publisher\":\"meta\",\"license\":\"MIT\",\"size\":1048576,\"category\":\"models\","
           "\"tags\":\"llm,fp16\",\"verified\":true,\"completions\":99,\"whatever\":[1]}",
           up);
  struct wl_reg_reply rep;
  rt_req(t, "POST", "/api/registry", NULL, body, strlen(body), true, &rep);
  assert_int_equal(rep.status, 201);
  json_t *j = rt_json(&rep);
  assert_string_equal(rt_jstr(j, "status"), "created");
  json_decref(j);
  wl_reg_reply_release(&rep);
  assert_int_equal(t->reg.nentries, 1);
  /* a REGISTERED_EVENT for the truncated v2 swarm */
  assert_int_equal(t->nev, 1);
  assert_int_equal(t->ev[0].type, WL_MSG_REGISTERED_EVENT);
  assert_true(t->ev[0].on);
  uint8_t raw[32];
  wl_hex_decode(raw, ih, 32);
  assert_memory_equal(t->ev[0].hash, raw, 20);

  j = rt_get(t, up);
  assert_non_null(j);
  assert_string_equal(rt_jstr(j, "info_hash"), ih);
  assert_string_equal(rt_jstr(j, "name"), "Llama Weights");
  assert_string_equal(rt_jstr(j, "description"), "d");
  assert_string_equal(rt_jstr(j, "publisher"), "meta");
  assert_string_equal(rt_jstr(j, "license"), "MIT");
  assert_string_equal(rt_jstr(j, "category"), "models");
  assert_string_equal(rt_jstr(j, "tags"), "llm,fp16");
  assert_int_equal(jint(j, "size"), 1048576);
  assert_true(json_is_false(json_object_get(j, "verified"))); /* not settable by POST */
  assert_int_equal(jint(j, "completions"), 0);
  assert_int_equal(jint(j, "seeders"), 0);
  assert_int_equal(jint(j, "leechers"), 0);
  assert_string_equal(rt_jstr(j, "created_at"), "2026-01-01T00:00:00.000Z");
  assert_null(json_object_get(j, "v1_info_hash"));
  json_decref(j);

  /* verify it, give it completions, then upsert: those and created_at stay */
  snprintf(q, sizeof q, "info_hash=%s&verified=true", ih);
  rt_req(t, "POST", "/api/registry/verify", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  struct wl_swarm_stat s = {.seeders = 3, .leechers = 1, .completions = 12};
  memcpy(s.hash, raw, 20);
  assert_int_equal(wl_registry_apply_stats(&t->reg, &s, 1), 0);
  rt_clock += 60000;
  t->nev = 0;
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"Llama Weights v2\",\"size\":5}", ih);
  rt_req(t, "POST", "/api/registry", NULL, body, strlen(body), true, &rep);
  assert_int_equal(rep.status, 201);
  j = rt_json(&rep);
  assert_string_equal(rt_jstr(j, "status"), "updated");
  json_decref(j);
  wl_reg_reply_release(&rep);
  assert_int_equal(t->nev, 0); /* same swarms: no event */
  assert_int_equal(t->reg.nentries, 1);
  j = rt_get(t, ih);
  assert_string_equal(rt_jstr(j, "name"), "Llama Weights v2");
  assert_true(json_is_true(json_object_get(j, "verified")));
  assert_int_equal(jint(j, "completions"), 12);
  assert_int_equal(jint(j, "seeders"), 3);
  assert_int_equal(jint(j, "size"), 5);
  assert_string_equal(rt_jstr(j, "created_at"), "2026-01-01T00:00:00.000Z");
  /* every other field is the request's: unset ones are gone */
  assert_null(json_object_get(j, "description"));
  assert_null(json_object_get(j, "publisher"));
  assert_null(json_object_get(j, "tags"));
  json_decref(j);
}

static void lookup(void **state) {
  struct rt *t = *state;
  char ih[65], v1[41], v1up[41], body[400];
  rt_hash(ih, 64, 11);
  rt_hash(v1, 40, 12);
  for (int i = 0; i <= 40; i++) v1up[i] = (char)(v1[i] >= 'a' ? v1[i] - 32 : v1[i]);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"hy\"}", ih, v1up);
  assert_int_equal(rt_post(t, body), 201);
  assert_int_equal(t->nev, 2); /* both swarms registered */
  json_t *j = rt_get(t, v1up);
  assert_non_null(j);
  assert_string_equal(rt_jstr(j, "info_hash"), ih);
  assert_string_equal(rt_jstr(j, "v1_info_hash"), v1);
  json_decref(j);
  /* an upsert by the v1 hash updates the hybrid, keeps its identity */
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"renamed\"}", v1);
  assert_int_equal(rt_post(t, body), 201);
  j = rt_get(t, ih);
  assert_string_equal(rt_jstr(j, "name"), "renamed");
  assert_string_equal(rt_jstr(j, "v1_info_hash"), v1); /* kept without v1_info_hash in the body */
  json_decref(j);
  assert_int_equal(t->reg.nentries, 1);
  /* the v1 hash of another entry: 409 */
  char other[65];
  rt_hash(other, 64, 13);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"x\"}", other, v1);
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry", NULL, body, true, 409), v1));

  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", "", NULL, false, 400), "Missing info_hash"));
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", "info_hash=", NULL, false, 400), "Missing info_hash"));
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", "info_hash=abc", NULL, false, 400), "Malformed info_hash"));
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", "info_hash=%zz", NULL, false, 400), "percent"));
  char q[200];
  snprintf(q, sizeof q, "info_hash=%s&info_hash=%s", ih, ih);
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", q, NULL, false, 400), "more than once"));
  rt_hash(other, 40, 99);
  snprintf(q, sizeof q, "info_hash=%s", other);
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry", q, NULL, false, 404), other));
}

/* ---- DELETE, the blocklist, unblock ------------------------------------------------------------ */

static void delete_blocks_both_hashes(void **state) {
  struct rt *t = *state;
  char ih[65], v1[41], body[400], q[300];
  uint8_t rih[32], rv1[20];
  rt_hash(ih, 64, 21);
  rt_hash(v1, 40, 22);
  wl_hex_decode(rih, ih, 32);
  wl_hex_decode(rv1, v1, 20);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"gone\"}", ih, v1);
  assert_int_equal(rt_post(t, body), 201);
  t->nev = 0;

  snprintf(q, sizeof q, "info_hash=%s&reason=dmca+takedown", v1); /* by the v1 hash, '+' = space */
  struct wl_reg_reply rep;
  rt_req(t, "DELETE", "/api/registry", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  json_t *j = rt_json(&rep);
  assert_string_equal(rt_jstr(j, "status"), "deleted");
  json_decref(j);
  wl_reg_reply_release(&rep);
  assert_int_equal(t->reg.nentries, 0);
  assert_null(rt_get(t, ih));
  /* events: both swarms blocked with the reason, then both unregistered */
  assert_int_equal(t->nev, 4);
  int blocked = 0, unreg = 0;
  for (size_t i = 0; i < t->nev; i++) {
    const struct rt_event *e = &t->ev[i];
    assert_true(memcmp(e->hash, rv1, 20) == 0 || memcmp(e->hash, rih, 20) == 0);
    if (e->type == WL_MSG_BLOCK_EVENT) {
      assert_true(e->on);
      assert_string_equal(e->reason, "dmca takedown");
      assert_int_equal(unreg, 0); /* blocks come first */
      blocked++;
    } else {
      assert_false(e->on);
      unreg++;
    }
  }
  assert_int_equal(blocked, 2);
  assert_int_equal(unreg, 2);

  /* re-registering either hash is refused */
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry", NULL, body, true, 409), "dmca takedown"));
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"v1 only\"}", v1);
  rt_error(t, "POST", "/api/registry", NULL, body, true, 409);
  /* a hash with no entry is blocked all the same */
  char lone[41];
  rt_hash(lone, 40, 23);
  snprintf(q, sizeof q, "info_hash=%s", lone);
  t->nev = 0;
  rt_clock += 1000;
  rt_req(t, "DELETE", "/api/registry", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  assert_int_equal(t->nev, 1);
  assert_string_equal(t->ev[0].reason, "removed by the operator");
  rt_error(t, "DELETE", "/api/registry", "", NULL, true, 400);
  rt_error(t, "DELETE", "/api/registry", "info_hash=xyz", NULL, true, 400);

  /* the listing: two groups, newest first */
  rt_req(t, "GET", "/api/blocklist", NULL, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "2");
  j = rt_json(&rep);
  assert_int_equal(json_array_size(j), 2);
  assert_string_equal(rt_jstr(json_array_get(j, 0), "info_hash"), lone);
  assert_null(json_object_get(json_array_get(j, 0), "v1_info_hash"));
  json_t *g = json_array_get(j, 1);
  assert_string_equal(rt_jstr(g, "info_hash"), ih);
  assert_string_equal(rt_jstr(g, "v1_info_hash"), v1);
  assert_string_equal(rt_jstr(g, "reason"), "dmca takedown");
  assert_non_null(rt_jstr(g, "blocked_at"));
  json_decref(j);
  wl_reg_reply_release(&rep);
  /* BLOCKLIST_GET: three swarm hashes */
  assert_int_equal(wl__registry_count_blocked(&t->reg), 3);

  /* unblock the hybrid by its v2 hash: both swarms */
  snprintf(q, sizeof q, "info_hash=%s", ih);
  t->nev = 0;
  rt_req(t, "DELETE", "/api/blocklist", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  j = rt_json(&rep);
  assert_string_equal(rt_jstr(j, "status"), "unblocked");
  json_decref(j);
  wl_reg_reply_release(&rep);
  assert_int_equal(t->nev, 2);
  assert_int_equal(t->ev[0].type, WL_MSG_BLOCK_EVENT);
  assert_false(t->ev[0].on);
  assert_int_equal(wl__registry_count_blocked(&t->reg), 1);
  rt_error(t, "DELETE", "/api/blocklist", q, NULL, true, 404);
  /* and it can be registered again */
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"back\"}", ih, v1);
  assert_int_equal(rt_post(t, body), 201);
  /* paging of the listing */
  rt_req(t, "GET", "/api/blocklist", "limit=0", NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "1");
  assert_int_equal(rep.body.len, 2);
  wl_reg_reply_release(&rep);
  rt_error(t, "GET", "/api/blocklist", "offset=-1", NULL, true, 400);
}

static void verify(void **state) {
  struct rt *t = *state;
  char ih[41], q[200], body[200];
  rt_hash(ih, 40, 31);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"v\"}", ih);
  assert_int_equal(rt_post(t, body), 201);
  snprintf(q, sizeof q, "info_hash=%s&verified=true", ih);
  struct wl_reg_reply rep;
  rt_req(t, "POST", "/api/registry/verify", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  json_t *j = rt_get(t, ih);
  assert_true(json_is_true(json_object_get(j, "verified")));
  json_decref(j);
  snprintf(q, sizeof q, "info_hash=%s&verified=false", ih);
  rt_req(t, "POST", "/api/registry/verify", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  j = rt_get(t, ih);
  assert_true(json_is_false(json_object_get(j, "verified")));
  json_decref(j);
  snprintf(q, sizeof q, "info_hash=%s&verified=maybe", ih);
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry/verify", q, NULL, true, 400), "verified"));
  snprintf(q, sizeof q, "info_hash=%s", ih);
  assert_non_null(strstr(rt_error(t, "POST", "/api/registry/verify", q, NULL, true, 400), "Missing verified"));
  rt_hash(ih, 40, 32);
  snprintf(q, sizeof q, "info_hash=%s&verified=true", ih);
  rt_error(t, "POST", "/api/registry/verify", q, NULL, true, 404);
}

/* ---- live figures ---------------------------------------------------------------------------- */

static void swarm_figures(void **state) {
  struct rt *t = *state;
  char ih[65], v1[41], body[300];
  uint8_t rih[32], rv1[20];
  rt_hash(ih, 64, 41);
  rt_hash(v1, 40, 42);
  wl_hex_decode(rih, ih, 32);
  wl_hex_decode(rv1, v1, 20);
  /* figures pushed before the entry exists are shown as soon as it does */
  struct wl_swarm_stat s[2] = {{.seeders = 2, .leechers = 7, .completions = 5},
                               {.seeders = 4, .leechers = 1, .completions = 3}};
  memcpy(s[0].hash, rv1, 20);
  memcpy(s[1].hash, rih, 20);
  assert_int_equal(wl_registry_apply_stats(&t->reg, s, 2), 0);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"fig\"}", ih, v1);
  assert_int_equal(rt_post(t, body), 201);
  json_t *j = rt_get(t, ih);
  assert_int_equal(jint(j, "seeders"), 4);
  assert_int_equal(jint(j, "leechers"), 7);
  assert_int_equal(jint(j, "completions"), 5);
  json_decref(j);
  /* one swarm changes: max again; completions never go down */
  s[1].seeders = 1;
  s[1].leechers = 9;
  s[1].completions = 1;
  assert_int_equal(wl_registry_apply_stats(&t->reg, &s[1], 1), 0);
  j = rt_get(t, v1);
  assert_int_equal(jint(j, "seeders"), 2);
  assert_int_equal(jint(j, "leechers"), 9);
  assert_int_equal(jint(j, "completions"), 5);
  json_decref(j);
  /* both swarms expire from Redis (zeros): peers drop, completions stay */
  s[0].seeders = s[0].leechers = s[0].completions = 0;
  s[1].seeders = s[1].leechers = s[1].completions = 0;
  assert_int_equal(wl_registry_apply_stats(&t->reg, s, 2), 0);
  j = rt_get(t, v1);
  assert_int_equal(jint(j, "seeders"), 0);
  assert_int_equal(jint(j, "leechers"), 0);
  assert_int_equal(jint(j, "completions"), 5);
  json_decref(j);
  /* huge values are clamped, not wrapped */
  s[0].seeders = UINT64_MAX;
  assert_int_equal(wl_registry_apply_stats(&t->reg, s, 1), 0);
  j = rt_get(t, ih);
  assert_true(jint(j, "seeders") > 0);
  json_decref(j);
  /* idle unregistered swarms are dropped after a day; registered ones stay */
  struct wl_swarm_stat u = {.seeders = 0, .leechers = 0, .completions = 8};
  memset(u.hash, 0x5a, 20);
  assert_int_equal(wl_registry_apply_stats(&t->reg, &u, 1), 0);
  rt_clock += 2LL * 24 * 3600 * 1000;
  wl_registry_tick(&t->reg);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(t->reg.db, "SELECT count(*) FROM swarm_stats", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 2);
  sqlite3_finalize(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(routing, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(auth, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(post_validation, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(upsert_keeps_verified_completions_created, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(lookup, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(delete_blocks_both_hashes, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(verify, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(swarm_figures, rt_setup, rt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
