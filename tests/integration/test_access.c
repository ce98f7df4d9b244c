/* Integration: access and abuse, on a stack of its own configured with TRACKER_SECRET, a
 * trusted proxy, a short header timeout, a per-IP connection cap and CORS. Passkeys (missing,
 * malformed, bad signature, valid), per-user totals from announce deltas, passkey minting, the
 * token bucket (exact bencoded reason on /announce, 429 + Retry-After elsewhere), slowloris,
 * 413 before the body is read, the connection cap, X-Forwarded-For, CORS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "testutil.h"

static struct tu_env env;
static int next_ip = 1;

static const char *peer_ip(char buf[32]) {
  int n = next_ip++;
  snprintf(buf, 32, "127.30.%d.%d", n / 250 % 250, n % 250 + 1);
  return buf;
}

static const char *announce_reason(const char *path, const uint8_t h[20], const char *ip,
                                   uint64_t up, uint64_t down, const char *event, char *why,
                                   size_t wl) {
  struct tu_peer p;
  struct tu_resp r;
  struct tu_benc b;
  tu_peer_init(&p, h, 1, ip);
  p.path = path;
  p.uploaded = up;
  p.downloaded = down;
  p.event = event;
  assert_int_equal(tu_announce(&env, &p, &r), 0);
  assert_int_equal(r.status, 200);
  assert_true(tu_benc_parse(&b, &r));
  const char *f = tu_failure(&b, why, wl);
  tu_benc_release(&b);
  tu_resp_release(&r);
  return f;
}

static void mint(const char *user, char *pk, size_t pklen) {
  char url[300], body[200], hdr[200];
  snprintf(url, sizeof url, "%s/api/passkeys", env.http);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\"}", user);
  snprintf(hdr, sizeof hdr, "X-Weightless-Key: %s", env.registry_key);
  const char *hdrs[] = {hdr, "Content-Type: application/json", NULL};
  struct tu_resp r;
  char ip[32];
  assert_int_equal(tu_http("POST", url, peer_ip(ip), hdrs, body, strlen(body), &r), 0);
  assert_int_equal(r.status, 200);
  json_t *j = json_loads((char *)r.body.data, 0, NULL);
  assert_non_null(j);
  snprintf(pk, pklen, "%s", json_string_value(json_object_get(j, "passkey")));
  json_decref(j);
  tu_resp_release(&r);
}

static void passkeys(void **state) {
  uint8_t h[20];
  char why[300], ip[32], pk[200], path[300];
  tu_random_hash(h);
  assert_non_null(announce_reason("/announce", h, peer_ip(ip), 0, 0, NULL, why, sizeof why));
  assert_non_null(strstr(why, "Missing passkey"));
  assert_non_null(announce_reason("/announce/nodot", h, peer_ip(ip), 0, 0, NULL, why, sizeof why));
  assert_non_null(strstr(why, "Malformed passkey"));
  snprintf(path, sizeof path, "/announce/bob.%064d", 0);
  assert_non_null(announce_reason(path, h, peer_ip(ip), 0, 0, NULL, why, sizeof why));
  assert_non_null(strstr(why, "bad signature"));
  mint("bob", pk, sizeof pk);
  assert_int_equal(strncmp(pk, "bob.", 4), 0);
  assert_int_equal(strlen(pk), 4 + 64);
  snprintf(path, sizeof path, "/announce/%s", pk);
  assert_null(announce_reason(path, h, peer_ip(ip), 0, 0, NULL, why, sizeof why));
  snprintf(path, sizeof path, "/announce/%s/", pk); /* trailing slash */
  assert_null(announce_reason(path, h, peer_ip(ip), 0, 0, NULL, why, sizeof why));
  /* scrape needs the passkey too */
  char url[400], hx[64];
  struct tu_resp r;
  tu_pct(hx, h, 20);
  snprintf(url, sizeof url, "%s/scrape?info_hash=%s", env.http, hx);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_non_null(strstr((char *)r.body.data, "Missing passkey"));
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/scrape/%s?info_hash=%s", env.http, pk, hx);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_non_null(strstr((char *)r.body.data, "5:files"));
  tu_resp_release(&r);
}

static void user_totals_from_deltas(void **state) {
  uint8_t h[20];
  char why[300], ip[32], pk[200], path[300], url[300];
  tu_random_hash(h);
  char user[32];
  snprintf(user, sizeof user, "u%ld", (long)time(NULL) % 100000);
  mint(user, pk, sizeof pk);
  snprintf(path, sizeof path, "/announce/%s", pk);
  const char *me = peer_ip(ip);
  assert_null(announce_reason(path, h, me, 100, 10, "started", why, sizeof why));
  assert_null(announce_reason(path, h, me, 300, 40, NULL, why, sizeof why));
  /* the client restarted and its counters with it: counted from zero, never negative */
  assert_null(announce_reason(path, h, me, 50, 5, "started", why, sizeof why));
  assert_null(announce_reason(path, h, me, 70, 5, "stopped", why, sizeof why));
  struct tu_resp r;
  snprintf(url, sizeof url, "%s/api/users?user_id=%s", env.http, user);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 200);
  json_t *j = json_loads((char *)r.body.data, 0, NULL);
  assert_non_null(j);
  assert_int_equal(json_integer_value(json_object_get(j, "uploaded")), 300 + 50 + 20);
  assert_int_equal(json_integer_value(json_object_get(j, "downloaded")), 40 + 5);
  assert_true(json_real_value(json_object_get(j, "ratio")) > 8.2);
  json_decref(j);
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/api/users?user_id=nobody-here", env.http);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 404);
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/api/users?user_id=bad%%20id", env.http);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 400);
  tu_resp_release(&r);
  /* minting needs the key */
  snprintf(url, sizeof url, "%s/api/passkeys", env.http);
  assert_int_equal(tu_http("POST", url, peer_ip(ip), NULL, "{\"user_id\":\"x\"}", 15, &r), 0);
  assert_int_equal(r.status, 401);
  tu_resp_release(&r);
}

static void rate_limit(void **state) {
  uint8_t h[20];
  char why[300], ip[32], pk[200], path[300], url[300], v[64];
  tu_random_hash(h);
  mint("rl", pk, sizeof pk);
  snprintf(path, sizeof path, "/announce/%s", pk);
  const char *me = peer_ip(ip);
  int refused = 0;
  for (int i = 0; i < 14; i++) {
    const char *f = announce_reason(path, h, me, 0, 0, NULL, why, sizeof why);
    if (f) {
      assert_string_equal(f, "Rate limit exceeded. Please slow down.");
      refused++;
    }
  }
  assert_true(refused >= 2 && refused <= 4); /* burst 10, refill 5/s during the loop */
  struct tu_resp r;
  snprintf(url, sizeof url, "%s/metrics", env.http);
  assert_int_equal(tu_http("GET", url, me, NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 429);
  assert_non_null(tu_header(&r, "Retry-After", v, sizeof v));
  tu_resp_release(&r);
  /* another address is not affected */
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 200);
  tu_resp_release(&r);
}

static void slow_client_is_cut(void **state) {
  char out[4096], ip[32];
  bool closed;
  /* headers never finish: WL_HEADER_TIMEOUT=2 cuts the connection with 408 */
  const char partial[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: a";
  time_t t0 = time(NULL);
  long got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ip), partial, sizeof partial - 1, out,
                    sizeof out, 8000, &closed);
  assert_true(closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "408"));
  assert_true(time(NULL) - t0 <= 6);
  /* the same headers pipelined behind a complete request: answered, then cut the same way */
  char req[512];
  int n = snprintf(req, sizeof req, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n%s", partial);
  t0 = time(NULL);
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ip), req, (size_t)n, out, sizeof out, 8000,
               &closed);
  assert_true(closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "HTTP/1.1 200"));
  assert_non_null(strstr(out, "408"));
  assert_true(time(NULL) - t0 <= 6);
}

static void body_too_large_is_refused_unread(void **state) {
  char out[4096], ip[32], req[512];
  bool closed;
  int n = snprintf(req, sizeof req,
                   "POST /api/registry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n{",
                   3 << 20);
  long got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ip), req, (size_t)n, out, sizeof out,
                    5000, &closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "HTTP/1.1 413"));
  assert_true(closed);
}

static void connection_cap_per_ip(void **state) {
  /* WL_MAX_CONNECTIONS_PER_IP=5: the sixth connection from one address gets 503 */
  char ip[32], out[2048];
  const char *me = peer_ip(ip);
  bool closed;
  char cmd[1024];
  /* five idle connections held open by a helper process for 3 s */
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import socket,time\n"
           "ss=[socket.create_connection(('127.0.0.1',%d),source_address=('%s',0)) for _ in range(5)]\n"
           "time.sleep(3)\" & sleep 1",
           env.http_port, me);
  assert_int_equal(tu_sh("%s", cmd), 0);
  const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  long got = tu_raw(env.http_port, "127.0.0.1", me, req, sizeof req - 1, out, sizeof out, 3000,
                    &closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "HTTP/1.1 503"));
  tu_sleep_ms(2500);
}

static void cors(void **state) {
  char url[300], v[200], ip[32];
  struct tu_resp r;
  snprintf(url, sizeof url, "%s/api/registry/search", env.http);
  const char *ok[] = {"Origin: https://ui.example", NULL};
  const char *other[] = {"Origin: https://evil.example", NULL};
  assert_int_equal(tu_http("OPTIONS", url, peer_ip(ip), ok, NULL, 0, &r), 0);
  assert_int_equal(r.status, 204);
  assert_string_equal(tu_header(&r, "Access-Control-Allow-Origin", v, sizeof v), "https://ui.example");
  assert_non_null(tu_header(&r, "Access-Control-Allow-Methods", v, sizeof v));
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/metrics", env.http);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), ok, NULL, 0, &r), 0);
  assert_string_equal(tu_header(&r, "Access-Control-Expose-Headers", v, sizeof v), "X-Total-Count");
  tu_resp_release(&r);
  assert_int_equal(tu_http("GET", url, peer_ip(ip), other, NULL, 0, &r), 0);
  assert_null(tu_header(&r, "Access-Control-Allow-Origin", v, sizeof v));
  tu_resp_release(&r);
}

static void forwarded_for_from_trusted_proxy(void **state) {
  /* 127.0.0.1 is the trusted proxy here; the right-most untrusted entry is the peer */
  uint8_t h[20];
  char pk[200], url[600], hx[64];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  mint("proxied", pk, sizeof pk);
  const char *xff[] = {"X-Forwarded-For: 9.9.9.9, 10.1.2.3", NULL};
  struct tu_resp r;
  snprintf(url, sizeof url,
           "%s/announce/%s?info_hash=%s&peer_id=-WLPRXY-000000000001&port=4321&uploaded=0&downloaded=0&left=0",
           env.http, pk, hx);
  assert_int_equal(tu_http("GET", url, "127.0.0.1", xff, NULL, 0, &r), 0);
  tu_resp_release(&r);
  snprintf(url, sizeof url,
           "%s/announce/%s?info_hash=%s&peer_id=-WLPRXY-000000000002&port=4322&uploaded=0&downloaded=0&left=9",
           env.http, pk, hx);
  char ip[32];
  assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  struct tu_benc b;
  assert_true(tu_benc_parse(&b, &r));
  size_t n;
  const uint8_t *p = tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6);
  assert_memory_equal(p, ((uint8_t[]){10, 1, 2, 3, 4321 >> 8, 4321 & 0xff}), 6);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static size_t on_sink(char *p, size_t size, size_t n, void *arg) {
  (void)p;
  (void)arg;
  return size * n;
}

static long gateway_rss_kb(void) {
  char path[700], line[256];
  snprintf(path, sizeof path, "%s/gateway.pid", env.data_dir);
  long pid = tu_read_long(path);
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  if (f) fclose(f);
  return kb;
}

static int64_t metric_value(const char *name) {
  char ip[32];
  return tu_metric(&env, peer_ip(ip), name);
}

/* 10,000 distinct addresses (twice): the table stays within WL_RATE_LIMIT_TABLE=1000 and the
 * gateway's memory stays flat between the two rounds. */
static void flood_from_many_addresses(void **state) {
  CURLM *m = curl_multi_init();
  long rss[2];
  for (int round = 0; round < 2; round++) {
    int started = 0, done = 0;
    while (done < 10000) {
      while (started < 10000 && started - done < 64) {
        static char urls[64][300];
        char ip[32];
        snprintf(ip, sizeof ip, "127.%d.%d.%d", 100 + round, started / 250, started % 250 + 1);
        CURL *c = curl_easy_init();
        snprintf(urls[started % 64], 300, "%s/metrics", env.http);
        curl_easy_setopt(c, CURLOPT_URL, urls[started % 64]);
        curl_easy_setopt(c, CURLOPT_INTERFACE, ip);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sink);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
        curl_multi_add_handle(m, c);
        started++;
      }
      int running, left;
      curl_multi_perform(m, &running);
      curl_multi_poll(m, NULL, 0, 100, NULL);
      CURLMsg *msg;
      while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        assert_int_equal(msg->data.result, CURLE_OK);
        assert_int_equal(status, 200);
        curl_multi_remove_handle(m, msg->easy_handle);
        curl_easy_cleanup(msg->easy_handle);
        done++;
      }
    }
    int64_t entries = metric_value("tracker_rate_limit_table_entries");
    assert_true(entries > 0 && entries <= 1000);
    rss[round] = gateway_rss_kb();
    assert_true(rss[round] > 0);
  }
  curl_multi_cleanup(m);
  assert_true(metric_value("tracker_rate_limit_untracked_total") > 0);
  fprintf(stderr, "gateway RSS after 10k addresses: %ld kB, after 20k: %ld kB\n", rss[0], rss[1]);
  assert_true(rss[1] < rss[0] + 4096); /* flat: no growth per address */
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  if (tu_own_stack(&env, argv[1], "access",
                   "TRACKER_SECRET=s3cret WL_TRUSTED_PROXIES=127.0.0.1/32 WL_HEADER_TIMEOUT=2 "
                   "WL_MAX_CONNECTIONS_PER_IP=5 WL_CORS_ORIGINS=https://ui.example "
                   "WL_RATE_LIMIT_TABLE=1000") < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(passkeys),
      cmocka_unit_test(user_totals_from_deltas),
      cmocka_unit_test(rate_limit),
      cmocka_unit_test(slow_client_is_cut),
      cmocka_unit_test(body_too_large_is_refused_unread),
      cmocka_unit_test(connection_cap_per_ip),
      cmocka_unit_test(cors),
      cmocka_unit_test(forwarded_for_from_trusted_proxy),
      cmocka_unit_test(flood_from_many_addresses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
