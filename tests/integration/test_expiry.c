/* Integration: peers that stop announcing expire (a stack of its own with WL_PEER_TTL=2).
 * In a live swarm they are trimmed by the next announce that touches it; idle swarms are
 * emptied by the workers' sweep, and the global peer/swarm counters follow; a touch refreshes
 * the TTL of every key of the swarm, not only the announcing peer's set; a swarm left by a
 * release with the old key layout (hex names, a hash of peer ids) drains the same way. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static struct tu_env env;
/* The integer redis-cli prints for a command against the stack's Redis (-1 on error). The
 * command goes through redis-cli's stdin, whose parser reads \xHH escapes in double quotes:
 * swarm keys hold the raw info hash (see key()). */
static long long redis_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long redis_int(const char *fmt, ...) {
  char cmd[2048], line[128], path[700];
  snprintf(path, sizeof path, "%s/redis-cmd.txt", env.data_dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) return -1;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputc('\n', f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "redis-cli -s %s/redis.sock < %s", env.data_dir, path);
  FILE *p = popen(cmd, "r");
  if (p == NULL) return -1;
  long long v = -1;
  if (fgets(line, sizeof line, p)) v = line[0] == '\n' ? 0 : atoll(line);
  pclose(p);
  return v;
}

/* The quoted name of a swarm's key for redis_int: "wl:{\xHH...}:<suffix>" (scripts.c). */
static const char *key(char out[100], const uint8_t h[20], char suffix) {
  int n = snprintf(out, 100, "\"wl:{");
  for (int i = 0; i < 20; i++) n += snprintf(out + n, 100 - (size_t)n, "\\x%02x", h[i]);
  snprintf(out + n, 100 - (size_t)n, "}:%c\"", suffix);
  return out;
}

static void announce(const struct tu_peer *p, int64_t *complete, int64_t *incomplete, size_t *npeers) {
  struct tu_resp r;
  struct tu_benc b;
  assert_int_equal(tu_announce(&env, p, &r), 0);
  assert_int_equal(r.status, 200);
  assert_true(tu_benc_parse(&b, &r));
  char why[300];
  if (tu_failure(&b, why, sizeof why)) fail_msg("unexpected failure: %s", why);
  *complete = tu_benc_int(&b, 0, "complete");
  *incomplete = tu_benc_int(&b, 0, "incomplete");
  assert_non_null(tu_benc_str(&b, 0, "peers", npeers));
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static void expired_peers_leave_live_and_idle_swarms(void **state) {
  uint8_t hx[20], hy[20];
  char k[100];
  tu_random_hash(hx);
  tu_random_hash(hy);
  struct tu_peer a, s, c, d;
  tu_peer_init(&a, hx, 1, "127.31.0.1");
  tu_peer_init(&s, hx, 2, "127.31.0.2");
  s.left = 0;
  tu_peer_init(&d, hy, 3, "127.31.0.3");
  int64_t comp, inc;
  size_t n;
  announce(&a, &comp, &inc, &n);
  announce(&s, &comp, &inc, &n);
  assert_int_equal(comp, 1);
  assert_int_equal(inc, 1);
  announce(&d, &comp, &inc, &n);
  /* each worker sends its counter deltas ahead of its next batch or within 20 ms */
  long long peers = -1, swarms = -1;
  for (int i = 0; i < 40 && (peers != 3 || swarms != 2); i++) {
    if (i) tu_sleep_ms(50);
    peers = redis_int("hget wl:g peers");
    swarms = redis_int("hget wl:g swarms");
  }
  assert_int_equal(peers, 3);
  assert_int_equal(swarms, 2);
  /* a touch by a leecher refreshes the seeders' key too */
  long long before = redis_int("pttl %s", key(k, hx, 's'));
  assert_true(before > 0);
  tu_sleep_ms(1200);
  struct tu_peer a2 = a;
  announce(&a2, &comp, &inc, &n);
  long long after = redis_int("pttl %s", key(k, hx, 's'));
  assert_true(after > before - 200); /* refreshed, not 1.2 s lower */
  /* X's peers expire (scores are in whole seconds: a peer goes between TTL and TTL + 1 s);
   * the next announce in X trims them */
  tu_sleep_ms(3500);
  tu_peer_init(&c, hx, 4, "127.31.0.4");
  announce(&c, &comp, &inc, &n);
  assert_int_equal(comp, 0);
  assert_int_equal(inc, 1);
  assert_int_equal(n, 0);
  assert_int_equal(redis_int("zcard %s", key(k, hx, 's')), 0);
  /* the sweep empties Y (idle) and, once C expires, X; the counters end at zero */
  for (int i = 0; i < 100; i++) {
    peers = redis_int("hget wl:g peers");
    swarms = redis_int("hget wl:g swarms");
    if (peers == 0 && swarms == 0) break;
    tu_sleep_ms(100);
  }
  assert_int_equal(peers, 0);
  assert_int_equal(swarms, 0);
  assert_int_equal(redis_int("zcard %s", key(k, hy, 'l')), 0);
  assert_int_equal(redis_int("zcard %s", key(k, hx, 'l')), 0);
  assert_int_equal(redis_int("zcard wl:swarms"), 0);
}

/* A swarm as releases before the binary key layout wrote it (scripts.c): hex key names, a
 * wl:{HEX}:p hash of peer ids, a 40-character index entry, counted in wl:g. */
static void legacy_swarm_drains(void **state) {
  (void)state;
  const char *hex = "00112233445566778899aabbccddeeff00112233";
  long long peers0 = redis_int("hget wl:g peers"), swarms0 = redis_int("hget wl:g swarms");
  assert_int_equal(redis_int("zadd wl:{%s}:s 1 \"\\x7f\\x00\\x00\\x01\\x1a\\xe1\"", hex), 1);
  assert_int_equal(redis_int("zadd wl:{%s}:l 1 \"\\x7f\\x00\\x00\\x02\\x1a\\xe1\"", hex), 1);
  assert_int_equal(redis_int("hset wl:{%s}:p \"\\x7f\\x00\\x00\\x01\\x1a\\xe1\" -WL0001-000000000001", hex), 1);
  assert_int_equal(redis_int("zadd wl:swarms 1 %s", hex), 1);
  redis_int("hincrby wl:g peers 2");
  redis_int("hincrby wl:g swarms 1");
  long long left = -1;
  for (int i = 0; i < 50 && left != 0; i++) {
    tu_sleep_ms(100);
    left = redis_int("exists wl:{%s}:s wl:{%s}:l wl:{%s}:p", hex, hex, hex);
  }
  assert_int_equal(left, 0);
  assert_int_equal(redis_int("zscore wl:swarms %s", hex), 0); /* nil: redis-cli prints "" */
  assert_int_equal(redis_int("hget wl:g peers"), peers0 < 0 ? 0 : peers0);
  assert_int_equal(redis_int("hget wl:g swarms"), swarms0 < 0 ? 0 : swarms0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  if (tu_own_stack(&env, argv[1], "expiry", "WL_PEER_TTL=2") < 0) return 1;
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {cmocka_unit_test(legacy_swarm_drains),
                                     cmocka_unit_test(expired_peers_leave_live_and_idle_swarms)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
