/* Integration: the registry API through the gateway on the running stack (argv[1] = stack dir,
 * its `env` file written by tests/integration/stack.sh). Every Registry endpoint and status code
 * of API.md (200/201/400/401/404/405/409/413), headers (X-Total-Count, Content-Disposition,
 * Allow), torrent upload/download/meta with a real libtorrent hybrid, a DELETE reaching every
 * announce worker within 1 s (announce refused, scrape leaves it out) and an unblock, live
 * figures from announces on both swarms of a hybrid, /health while the registry hangs,
 * announces while it is down, restart (SIGTERM and SIGKILL) with all data intact, and curated
 * mode (WL_REQUIRE_REGISTERED=1) on a stack of its own.
 *
 * The shared stack is used by other tests too: every hash is random and searches are confined
 * to a publisher of this run. Requests come from many loopback addresses (rate limiting). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"
#include "wl/hex.h"

static struct tu_env env;
static char publisher[64];
static int next_ip = 1;

static const char *ip(void) {
  static char buf[8][32];
  int n = next_ip++;
  char *b = buf[n % 8];
  snprintf(b, 32, "127.41.%d.%d", n / 250 % 250, n % 250 + 1);
  return b;
}

static int64_t now_ms(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One request to the stack e; key: send X-Weightless-Key (NULL: none). */
static long req(const struct tu_env *e, const char *method, const char *path_query, const char *key,
                const void *body, size_t blen, struct tu_resp *r) {
  char url[2048], hk[200];
  const char *hdrs[3] = {NULL, NULL, NULL};
  int h = 0;
  snprintf(url, sizeof url, "%s%s", e->http, path_query);
  if (key) {
    snprintf(hk, sizeof hk, "X-Weightless-Key: %s", key);
    hdrs[h++] = hk;
  }
  if (body && blen)
    hdrs[h++] = strncmp(path_query, "/api/registry/torrent", 21) == 0
                    ? "Content-Type: application/x-bittorrent"
                    : "Content-Type: application/json";
  assert_int_equal(tu_http(method, url, ip(), hdrs, body, blen, r), 0);
  return r->status;
}

static json_t *json_of(const struct tu_resp *r) {
  json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
  if (j == NULL) fail_msg("not JSON: %.*s", (int)r->body.len, (const char *)r->body.data);
  return j;
}

/* Request, status check, JSON content type; returns the parsed body (decref it). */
static json_t *expect(const struct tu_env *e, const char *method, const char *pq, const char *key,
                      const char *body, long status) {
  struct tu_resp r;
  char ct[200];
  req(e, method, pq, key, body, body ? strlen(body) : 0, &r);
  if (r.status != status)
    fail_msg("%s %s: %ld, want %ld: %.*s", method, pq, r.status, status, (int)r.body.len,
             (const char *)r.body.data);
  assert_non_null(tu_header(&r, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "application/json");
  json_t *j = json_of(&r);
  if (status >= 400) assert_true(json_is_string(json_object_get(j, "error")));
  tu_resp_release(&r);
  return j;
}

static void hex_random(char *out, size_t n) {
  uint8_t b[32];
  tu_random_hash(b);
  tu_random_hash(b + 12);
  wl_hex_encode(out, b, n / 2);
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot read %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)n);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return p;
}

/* The failure reason of an announce of hash from a fresh peer, or "" if it succeeded. */
static const char *announce(const struct tu_env *e, const uint8_t hash[20], int n, uint64_t left,
                            const char *event, char *why, size_t wl) {
  struct tu_peer p;
  struct tu_resp r;
  struct tu_benc b;
  tu_peer_init(&p, hash, n, ip());
  p.left = left;
  p.event = event;
  assert_int_equal(tu_announce(e, &p, &r), 0);
  assert_int_equal(r.status, 200);
  assert_true(tu_benc_parse(&b, &r));
  const char *f = tu_failure(&b, why, wl);
  if (f == NULL) snprintf(why, wl, "%s", "");
  tu_benc_release(&b);
  tu_resp_release(&r);
  return why;
}

/* true when a scrape of hash lists it */
static bool scrape_lists(const uint8_t hash[20]) {
  char url[300], h[64];
  struct tu_resp r;
  tu_pct(h, hash, 20);
  snprintf(url, sizeof url, "%s/scrape?info_hash=%s", env.http, h);
  assert_int_equal(tu_http("GET", url, ip(), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 200);
  bool found = false;
  for (size_t i = 0; i + 20 <= r.body.len; i++)
    if (memcmp(r.body.data + i, hash, 20) == 0) found = true;
  tu_resp_release(&r);
  return found;
}

static json_t *get_entry(const struct tu_env *e, const char *h, long status) {
  char pq[200];
  snprintf(pq, sizeof pq, "/api/registry?info_hash=%s", h);
  return expect(e, "GET", pq, NULL, NULL, status);
}

/* ---- every endpoint, every status --------------------------------------------------------- */

static void entries_and_errors(void **state) {
  char ih[65], v1[41], body[1024], pq[300];
  hex_random(ih, 64);
  hex_random(v1, 40);
  const char *key = env.registry_key;
  /* 401: no key, wrong key */
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"x\"}", ih);
  json_decref(expect(&env, "POST", "/api/registry", NULL, body, 401));
  json_decref(expect(&env, "POST", "/api/registry", "wrong-key", body, 401));
  /* 400 naming the field */
  json_t *j = expect(&env, "POST", "/api/registry", key, "{\"info_hash\":\"abc123\",\"name\":\"x\"}", 400);
  assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "info_hash"));
  json_decref(j);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"x\",\"size\":\"big\"}", ih);
  j = expect(&env, "POST", "/api/registry", key, body, 400);
  assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "size"));
  json_decref(j);
  json_decref(expect(&env, "POST", "/api/registry", key, "not json", 400));
  /* 413 over 1 MiB */
  size_t n = (1 << 20) + 100;
  char *huge = malloc(n);
  memset(huge, ' ', n);
  struct tu_resp r;
  req(&env, "POST", "/api/registry", key, huge, n, &r);
  assert_int_equal(r.status, 413);
  tu_resp_release(&r);
  free(huge);

  /* 201 created, then updated; verified/completions/created_at kept */
  snprintf(body, sizeof body,
           "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"Integration Llama\","
           "\"publisher\":\"%s\",\"category\":\"models\",\"tags\":\"llm,fp16\",\"size\":42,"
           "\"license\":\"MIT\",\"description\":\"d\"}",
           ih, v1, publisher);
  j = expect(&env, "POST", "/api/registry", key, body, 201);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "created");
  json_decref(j);
  snprintf(pq, sizeof pq, "/api/registry/verify?info_hash=%s&verified=true", v1);
  json_decref(expect(&env, "POST", pq, NULL, NULL, 401));
  json_decref(expect(&env, "POST", pq, key, NULL, 200));
  json_t *before = get_entry(&env, ih, 200);
  j = expect(&env, "POST", "/api/registry", key, body, 201);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "updated");
  json_decref(j);
  /* any case, either hash */
  char up[65];
  for (int i = 0; i <= 64; i++) up[i] = (char)(ih[i] >= 'a' && ih[i] <= 'f' ? ih[i] - 32 : ih[i]);
  j = get_entry(&env, up, 200);
  assert_string_equal(json_string_value(json_object_get(j, "info_hash")), ih);
  assert_string_equal(json_string_value(json_object_get(j, "v1_info_hash")), v1);
  assert_string_equal(json_string_value(json_object_get(j, "name")), "Integration Llama");
  assert_true(json_is_true(json_object_get(j, "verified")));
  assert_string_equal(json_string_value(json_object_get(j, "created_at")),
                      json_string_value(json_object_get(before, "created_at")));
  assert_int_equal(json_integer_value(json_object_get(j, "size")), 42);
  assert_true(json_is_integer(json_object_get(j, "seeders")));
  assert_true(json_is_integer(json_object_get(j, "leechers")));
  assert_true(json_is_integer(json_object_get(j, "completions")));
  json_decref(j);
  json_decref(before);
  j = get_entry(&env, v1, 200);
  json_decref(j);
  /* GET 400 / 404 */
  json_decref(expect(&env, "GET", "/api/registry", NULL, NULL, 400));
  json_decref(expect(&env, "GET", "/api/registry?info_hash=xyz", NULL, NULL, 400));
  char other[65];
  hex_random(other, 64);
  json_decref(get_entry(&env, other, 404));
  /* verify 400 / 404 */
  snprintf(pq, sizeof pq, "/api/registry/verify?info_hash=%s&verified=perhaps", ih);
  json_decref(expect(&env, "POST", pq, key, NULL, 400));
  snprintf(pq, sizeof pq, "/api/registry/verify?info_hash=%s&verified=false", other);
  json_decref(expect(&env, "POST", pq, key, NULL, 404));
  /* 404 unknown path, 405 + Allow */
  json_decref(expect(&env, "GET", "/api/registry/nothing", NULL, NULL, 404));
  req(&env, "PATCH", "/api/registry/search", NULL, NULL, 0, &r);
  assert_int_equal(r.status, 405);
  char allow[200];
  assert_non_null(tu_header(&r, "Allow", allow, sizeof allow));
  assert_non_null(strstr(allow, "GET"));
  tu_resp_release(&r);
  /* DELETE 401 / 400 */
  snprintf(pq, sizeof pq, "/api/registry?info_hash=%s", ih);
  json_decref(expect(&env, "DELETE", pq, NULL, NULL, 401));
  json_decref(expect(&env, "DELETE", "/api/registry?info_hash=12", key, NULL, 400));
  json_decref(expect(&env, "DELETE", "/api/registry", key, NULL, 400));
}

static void search(void **state) {
  const char *key = env.registry_key;
  char body[1024], pq[400], ih[12][65];
  for (int i = 0; i < 12; i++) {
    hex_random(ih[i], 64);
    snprintf(body, sizeof body,
             "{\"info_hash\":\"%s\",\"name\":\"%s Search Item %d\",\"publisher\":\"%s-s\","
             "\"category\":\"%s\",\"tags\":\"%s\"}",
             ih[i], i % 2 ? "Alpha" : "Beta", i, publisher, i % 3 ? "models" : "datasets",
             i % 4 ? "llm,fp16" : "vision");
    json_decref(expect(&env, "POST", "/api/registry", key, body, 201));
    tu_sleep_ms(2); /* distinct creation times */
  }
  struct tu_resp r;
  char total[32];
  /* a publisher of this run: 12; newest first */
  snprintf(pq, sizeof pq, "/api/registry/search?publisher=%s-s&limit=5", publisher);
  req(&env, "GET", pq, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(tu_header(&r, "X-Total-Count", total, sizeof total), "12");
  json_t *j = json_of(&r);
  assert_int_equal(json_array_size(j), 5);
  assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "info_hash")), ih[11]);
  json_decref(j);
  tu_resp_release(&r);
  /* q (case-insensitive substring, FTS), category, tags, offset */
  snprintf(pq, sizeof pq, "/api/registry/search?publisher=%s-s&q=ALPHA+search&category=models&tags=fp1&offset=1", publisher);
  req(&env, "GET", pq, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  /* odd i, i%3 != 0, i%4 != 0: 1, 5, 7, 11 -> 4 matches, offset 1 -> 3 */
  assert_string_equal(tu_header(&r, "X-Total-Count", total, sizeof total), "4");
  j = json_of(&r);
  assert_int_equal(json_array_size(j), 3);
  assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "info_hash")), ih[7]);
  json_decref(j);
  tu_resp_release(&r);
  /* sorts */
  const char *sorts[] = {"created_at", "completions", "seeders"};
  for (int i = 0; i < 3; i++) {
    snprintf(pq, sizeof pq, "/api/registry/search?publisher=%s-s&sort=%s&limit=1000", publisher, sorts[i]);
    req(&env, "GET", pq, NULL, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    j = json_of(&r);
    assert_int_equal(json_array_size(j), 12);
    json_decref(j);
    tu_resp_release(&r);
  }
  /* nothing: [] */
  j = expect(&env, "GET", "/api/registry/search?q=zzqqxxnothing", NULL, NULL, 200);
  assert_int_equal(json_array_size(j), 0);
  json_decref(j);
  /* 400s */
  json_decref(expect(&env, "GET", "/api/registry/search?limit=abc", NULL, NULL, 400));
  json_decref(expect(&env, "GET", "/api/registry/search?offset=-1", NULL, NULL, 400));
  json_decref(expect(&env, "GET", "/api/registry/search?sort=name", NULL, NULL, 400));
}

static void torrents_and_blocking(void **state) {
  const char *key = env.registry_key;
  char path[1024], pq[400], why[300];
  size_t len;
  /* a hybrid made by libtorrent (tests/data/torrents/make.py) */
  snprintf(path, sizeof path, "%s/tests/data/torrents/good/hybrid_single.torrent", env.src_dir);
  uint8_t *p = read_file(path, &len);
  const char *v1 = "75f49af44f6983c53f3950e0bce2c95c9d8b2574";
  const char *v2 = "c29f5c3b3fa5d42a0229f844251e1a333fcc281659fa5d10a8e6db4b5c45739b";
  /* a previous run of this test on the same stack may have left it blocked */
  snprintf(pq, sizeof pq, "/api/blocklist?info_hash=%s", v2);
  struct tu_resp r;
  req(&env, "DELETE", pq, key, NULL, 0, &r);
  tu_resp_release(&r);

  req(&env, "POST", "/api/registry/torrent", NULL, p, len, &r);
  assert_int_equal(r.status, 401);
  tu_resp_release(&r);
  req(&env, "POST", "/api/registry/torrent", key, "d4:infodee", 10, &r);
  assert_int_equal(r.status, 400);
  json_t *j = json_of(&r);
  assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "Invalid torrent file"));
  json_decref(j);
  tu_resp_release(&r);
  snprintf(pq, sizeof pq, "/api/registry/torrent?publisher=%s-t", publisher);
  req(&env, "POST", pq, key, p, len, &r);
  assert_int_equal(r.status, 201);
  j = json_of(&r);
  assert_string_equal(json_string_value(json_object_get(j, "info_hash")), v2);
  assert_string_equal(json_string_value(json_object_get(j, "v1_info_hash")), v1);
  json_decref(j);
  tu_resp_release(&r);
  /* download: the same bytes, type and file name */
  snprintf(pq, sizeof pq, "/api/registry/torrent?info_hash=%s", v1);
  req(&env, "GET", pq, NULL, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  char h[300];
  assert_string_equal(tu_header(&r, "Content-Type", h, sizeof h), "application/x-bittorrent");
  assert_string_equal(tu_header(&r, "Content-Disposition", h, sizeof h),
                      "attachment; filename=\"one.bin.torrent\"");
  assert_int_equal(r.body.len, len);
  assert_memory_equal(r.body.data, p, len);
  tu_resp_release(&r);
  json_decref(expect(&env, "GET", "/api/registry/torrent", NULL, NULL, 400));
  /* meta */
  snprintf(pq, sizeof pq, "/api/registry/meta?info_hash=%s", v2);
  j = expect(&env, "GET", pq, NULL, NULL, 200);
  assert_string_equal(json_string_value(json_object_get(j, "version")), "hybrid");
  assert_string_equal(json_string_value(json_object_get(j, "name")), "one.bin");
  json_t *files = json_object_get(j, "files");
  assert_int_equal(json_array_size(files), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "path")), "one.bin");
  json_decref(j);
  json_decref(expect(&env, "GET", "/api/registry/meta?info_hash=1", NULL, NULL, 400));
  char other[41];
  hex_random(other, 40);
  snprintf(pq, sizeof pq, "/api/registry/meta?info_hash=%s", other);
  json_decref(expect(&env, "GET", pq, NULL, NULL, 404));
  snprintf(pq, sizeof pq, "/api/registry/torrent?info_hash=%s", other);
  json_decref(expect(&env, "GET", pq, NULL, NULL, 404));

  /* announces on both swarms work */
  uint8_t s1[20], s2[32];
  wl_hex_decode(s1, v1, 20);
  wl_hex_decode(s2, v2, 32);
  assert_string_equal(announce(&env, s1, 1, 0, "started", why, sizeof why), "");
  assert_string_equal(announce(&env, s2, 2, 0, "started", why, sizeof why), "");
  assert_true(scrape_lists(s1));

  /* DELETE: within 1 s every worker refuses both swarms and scrape leaves them out */
  snprintf(pq, sizeof pq, "/api/registry?info_hash=%s&reason=integration+test", v2);
  int64_t t0 = now_ms();
  json_decref(expect(&env, "DELETE", pq, env.registry_key, NULL, 200));
  bool refused = false;
  while (!refused && now_ms() - t0 < 1000) {
    /* a few announces, so more than one worker answers */
    refused = true;
    for (int i = 0; i < 4; i++) {
      if (!strstr(announce(&env, i % 2 ? s1 : s2, 10 + i, 0, NULL, why, sizeof why), "integration test"))
        refused = false;
    }
  }
  int64_t took = now_ms() - t0;
  print_message("block reached the announce workers in %lld ms\n", (long long)took);
  assert_true(refused);
  for (int i = 0; i < 8; i++)
    assert_non_null(strstr(announce(&env, i % 2 ? s1 : s2, 20 + i, 0, NULL, why, sizeof why), "blocked"));
  assert_false(scrape_lists(s1));
  assert_false(scrape_lists(s2));
  json_decref(get_entry(&env, v2, 404));
  /* 409 for both hashes and for the file */
  req(&env, "POST", "/api/registry/torrent", key, p, len, &r);
  assert_int_equal(r.status, 409);
  tu_resp_release(&r);
  char body[300];
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"again\"}", v1);
  json_decref(expect(&env, "POST", "/api/registry", key, body, 409));
  /* the blocklist */
  json_decref(expect(&env, "GET", "/api/blocklist", NULL, NULL, 401));
  req(&env, "GET", "/api/blocklist?limit=1000", key, NULL, 0, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(tu_header(&r, "X-Total-Count", h, sizeof h));
  assert_non_null(strstr((const char *)r.body.data, v2));
  tu_resp_release(&r);
  /* unblock: announces work again (within 1 s), the entry can come back */
  snprintf(pq, sizeof pq, "/api/blocklist?info_hash=%s", v1);
  json_decref(expect(&env, "DELETE", pq, NULL, NULL, 401));
  json_decref(expect(&env, "DELETE", pq, key, NULL, 200));
  json_decref(expect(&env, "DELETE", pq, key, NULL, 404));
  /* each worker gets the unblock event on its own: wait until both swarms work (two swarms,
   * each announced by its own peer, paced under the per-IP rate limit) */
  t0 = now_ms();
  while ((announce(&env, s2, 40, 0, NULL, why, sizeof why)[0] ||
          announce(&env, s1, 41, 0, NULL, why, sizeof why)[0]) && now_ms() - t0 < 2000)
    tu_sleep_ms(100);
  assert_string_equal(announce(&env, s1, 41, 0, NULL, why, sizeof why), "");
  req(&env, "POST", "/api/registry/torrent", key, p, len, &r);
  assert_int_equal(r.status, 201);
  tu_resp_release(&r);
  free(p);
}

static void live_figures(void **state) {
  const char *key = env.registry_key;
  char ih[65], v1[41], body[300], why[300];
  hex_random(ih, 64);
  hex_random(v1, 40);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"figures\"}", ih, v1);
  json_decref(expect(&env, "POST", "/api/registry", key, body, 201));
  uint8_t s1[20], s2[32];
  wl_hex_decode(s1, v1, 20);
  wl_hex_decode(s2, ih, 32);
  /* v1 swarm: 4 seeders (one of them completed here), 1 leecher: completions 1.
   * v2 swarm: 3 seeders (two completed here), 4 leechers: completions 2.
   * The entry shows the larger of each: 4 seeders, 4 leechers, 2 completions. */
  for (int i = 0; i < 3; i++) assert_string_equal(announce(&env, s1, 100 + i, 0, "started", why, sizeof why), "");
  assert_string_equal(announce(&env, s1, 103, 0, "completed", why, sizeof why), "");
  assert_string_equal(announce(&env, s1, 104, 500, "started", why, sizeof why), "");
  assert_string_equal(announce(&env, s2, 200, 0, "started", why, sizeof why), "");
  for (int i = 0; i < 2; i++) assert_string_equal(announce(&env, s2, 201 + i, 0, "completed", why, sizeof why), "");
  for (int i = 0; i < 4; i++) assert_string_equal(announce(&env, s2, 210 + i, 500, "started", why, sizeof why), "");
  int64_t t0 = now_ms(), got_s = -1, got_l = -1, got_c = -1;
  while (now_ms() - t0 < 5000) {
    json_t *j = get_entry(&env, ih, 200);
    got_s = json_integer_value(json_object_get(j, "seeders"));
    got_l = json_integer_value(json_object_get(j, "leechers"));
    got_c = json_integer_value(json_object_get(j, "completions"));
    json_decref(j);
    if (got_s == 4 && got_l == 4 && got_c == 2) break;
    tu_sleep_ms(100);
  }
  print_message("registry shows %lld seeders, %lld leechers, %lld completions after %lld ms\n",
                (long long)got_s, (long long)got_l, (long long)got_c, (long long)(now_ms() - t0));
  assert_int_equal(got_s, 4);
  assert_int_equal(got_l, 4);
  assert_int_equal(got_c, 2);
  /* sort=seeders puts it above an idle entry of the same publisher */
  char idle[65], pq[300];
  hex_random(idle, 64);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"idle\",\"publisher\":\"%s-f\"}", idle, publisher);
  json_decref(expect(&env, "POST", "/api/registry", key, body, 201));
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"figures\",\"publisher\":\"%s-f\"}", ih, v1, publisher);
  json_decref(expect(&env, "POST", "/api/registry", key, body, 201));
  const char *sorts[] = {"seeders", "completions"};
  for (int i = 0; i < 2; i++) {
    snprintf(pq, sizeof pq, "/api/registry/search?publisher=%s-f&sort=%s", publisher, sorts[i]);
    json_t *j = expect(&env, "GET", pq, NULL, NULL, 200);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "info_hash")), ih);
    json_decref(j);
  }
}

/* ---- the registry down, hung and restarted ------------------------------------------------- */

static long registry_pid(void) {
  char path[1024];
  snprintf(path, sizeof path, "%s/registry.pid", env.data_dir);
  return tu_read_long(path);
}

static void wait_up(long old_pid) {
  for (int i = 0; i < 100; i++) {
    long pid = registry_pid();
    if (pid > 0 && pid != old_pid) {
      struct tu_resp r;
      char url[300];
      snprintf(url, sizeof url, "%s/health", env.http);
      if (tu_http("GET", url, ip(), NULL, NULL, 0, &r) == 0 && r.status == 200) {
        tu_resp_release(&r);
        return;
      }
      tu_resp_release(&r);
    }
    tu_sleep_ms(100);
  }
  fail_msg("the registry did not come back");
}

static void restart_keeps_data(void **state) {
  const char *key = env.registry_key;
  char ih[65], body[300], pq[300], why[300];
  hex_random(ih, 64);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"durable\",\"tags\":\"keep\"}", ih);
  json_decref(expect(&env, "POST", "/api/registry", key, body, 201));
  char blocked[41];
  hex_random(blocked, 40);
  snprintf(pq, sizeof pq, "/api/registry?info_hash=%s&reason=stays", blocked);
  json_decref(expect(&env, "DELETE", pq, key, NULL, 200));
  char path[1024];
  size_t len;
  snprintf(path, sizeof path, "%s/tests/data/torrents/good/v2_multi.torrent", env.src_dir);
  uint8_t *p = read_file(path, &len);
  struct tu_resp r;
  req(&env, "POST", "/api/registry/torrent", key, p, len, &r);
  assert_true(r.status == 201 || r.status == 409);
  bool have_file = r.status == 201;
  tu_resp_release(&r);

  /* hung registry: /health says so within ~1 s; announces still work */
  long pid = registry_pid();
  assert_true(pid > 0);
  assert_int_equal(kill((pid_t)pid, SIGSTOP), 0);
  char url[300];
  snprintf(url, sizeof url, "%s/health", env.http);
  int64_t t0 = now_ms();
  assert_int_equal(tu_http("GET", url, ip(), NULL, NULL, 0, &r), 0);
  int64_t took = now_ms() - t0;
  assert_int_equal(r.status, 503);
  assert_non_null(strstr((const char *)r.body.data, "Database unreachable"));
  tu_resp_release(&r);
  assert_true(took < 3000);
  uint8_t h[20];
  tu_random_hash(h);
  assert_string_equal(announce(&env, h, 1, 0, NULL, why, sizeof why), "");

  /* a request in flight when the registry dies gets its 503 at once, not when the registry is
   * back: a GET is held by the hung registry, then the registry is killed */
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    close(fds[0]);
    struct tu_resp cr;
    char gurl[300];
    snprintf(gurl, sizeof gurl, "%s/api/registry?info_hash=%s", env.http, ih);
    long st = tu_http("GET", gurl, ip(), NULL, NULL, 0, &cr) == 0 ? cr.status : -1;
    dprintf(fds[1], "%ld %lld\n", st, (long long)now_ms());
    _exit(0);
  }
  close(fds[1]);
  tu_sleep_ms(500);
  int64_t killed_at = now_ms();
  assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
  FILE *f = fdopen(fds[0], "r");
  long held_status = 0;
  long long answered_at = 0;
  assert_int_equal(fscanf(f, "%ld %lld", &held_status, &answered_at), 2);
  fclose(f);
  waitpid(child, NULL, 0);
  fprintf(stderr, "a request held by the hung registry: %ld, %lld ms after the kill\n", held_status,
          answered_at - (long long)killed_at);
  assert_int_equal(held_status, 503);
  assert_true(answered_at - killed_at < 1500); /* the supervisor restarts it after 2 s */
  wait_up(pid);

  /* SIGTERM (clean, checkpointed), then SIGKILL (WAL replay): everything is still there */
  for (int round = 0; round < 2; round++) {
    pid = registry_pid();
    assert_int_equal(kill((pid_t)pid, round == 0 ? SIGTERM : SIGKILL), 0);
    tu_sleep_ms(300);
    /* while it is down: announces work, the API answers 503 */
    assert_string_equal(announce(&env, h, 2 + round, 0, NULL, why, sizeof why), "");
    wait_up(pid);
    json_t *j = get_entry(&env, ih, 200);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "durable");
    assert_string_equal(json_string_value(json_object_get(j, "tags")), "keep");
    json_decref(j);
    req(&env, "GET", "/api/blocklist?limit=1000", key, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((const char *)r.body.data, blocked));
    tu_resp_release(&r);
    if (have_file) {
      req(&env, "GET", "/api/registry/torrent?info_hash=ba6ac373046becf5ca14354f54faa0d9a3153bcb9f079cf19fb7811753cbb9bf",
          NULL, NULL, 0, &r);
      assert_int_equal(r.status, 200);
      assert_int_equal(r.body.len, len);
      assert_memory_equal(r.body.data, p, len);
      tu_resp_release(&r);
    }
    /* the workers still refuse the blocked hash (their copy, then a snapshot on reconnect) */
    uint8_t b[20];
    wl_hex_decode(b, blocked, 20);
    for (int i = 0; i < 4; i++)
      assert_non_null(strstr(announce(&env, b, 5 + i, 0, NULL, why, sizeof why), "blocked"));
  }
  free(p);
}

/* ---- curated mode, on a stack of its own ----------------------------------------------------- */

static void curated_mode(void **state) {
  struct tu_env cur;
  assert_int_equal(
      tu_own_stack(&cur, env.stack_dir, "curated", "WL_REQUIRE_REGISTERED=1 WL_ANNOUNCE_WORKERS=2"),
      0);
  char ih[65], v1[41], body[300], pq[300], why[300];
  hex_random(ih, 64);
  hex_random(v1, 40);
  uint8_t s1[20], s2[32];
  wl_hex_decode(s1, v1, 20);
  wl_hex_decode(s2, ih, 32);
  /* each worker answers "cannot check" until its first snapshot of the registered set arrives
   * (health only proves one of them has it): wait that out, then expect the refusal */
  const char *first = "";
  for (int i = 0; i < 50; i++) {
    first = announce(&cur, s1, 1, 0, NULL, why, sizeof why);
    if (!strstr(first, "cannot check")) break;
    tu_sleep_ms(100);
  }
  assert_non_null(strstr(first, "not registered"));
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"v1_info_hash\":\"%s\",\"name\":\"curated\"}", ih, v1);
  json_decref(expect(&cur, "POST", "/api/registry", cur.registry_key, body, 201));
  int64_t t0 = now_ms();
  bool ok = false;
  while (!ok && now_ms() - t0 < 1000) {
    ok = true;
    for (int i = 0; i < 4; i++)
      if (announce(&cur, i % 2 ? s1 : s2, 10 + i, 0, NULL, why, sizeof why)[0]) ok = false;
  }
  print_message("registration reached the workers in %lld ms\n", (long long)(now_ms() - t0));
  assert_true(ok);
  snprintf(pq, sizeof pq, "/api/registry?info_hash=%s", ih);
  json_decref(expect(&cur, "DELETE", pq, cur.registry_key, NULL, 200));
  t0 = now_ms();
  while (!announce(&cur, s2, 30, 0, NULL, why, sizeof why)[0] && now_ms() - t0 < 1000) {
  }
  assert_non_null(strstr(why, "blocked")); /* the curated stack stops when the program exits */
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  tu_env_load(&env, argv[1]);
  snprintf(publisher, sizeof publisher, "itest-%ld-%d", (long)time(NULL), (int)getpid());
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(entries_and_errors),
      cmocka_unit_test(search),
      cmocka_unit_test(torrents_and_blocking),
      cmocka_unit_test(live_figures),
      cmocka_unit_test(restart_keeps_data),
      cmocka_unit_test(curated_mode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
