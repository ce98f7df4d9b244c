/* Integration: SIGTERM to a whole stack under announce load. Every request that reached the
 * gateway gets a full, successful answer; after the listener closes, clients are refused at
 * connect (never reset mid-request); every process exits; SQLite is checkpointed (empty WAL). */
#include <curl/curl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "testutil.h"

static struct tu_env env;

/* The load: SIGTERM to the stack at 1.5 s; clients stop opening connections 100 ms later, or
 * at the first refused connect. */
struct graceful {
  long runpid;
  bool termed, stop;
  long ok, refused, lost;
};

static bool graceful_tick(struct tu_load *l, double t, long sent, long answered) {
  struct graceful *g = l->arg;
  if (!g->termed && t > 1.5) {
    assert_int_equal(kill((pid_t)g->runpid, SIGTERM), 0);
    g->termed = true;
  }
  /* The gateway keeps accepting for 250 ms after SIGTERM, then closes its listener. A
   * connection still in the kernel's accept queue at that instant is reset by the kernel (true
   * of any server), so clients stop opening new ones 100 ms after the signal; what is in flight
   * then must all be answered (curl's timeout bounds the wait). */
  if (g->termed && t > 1.6) g->stop = true;
  return !g->stop;
}

static void graceful_done(struct tu_load *l, long n, int rc, long status, const struct wl_buf *b,
                          bool ok) {
  struct graceful *g = l->arg;
  if (rc == CURLE_COULDNT_CONNECT) {
    g->refused++;
    g->stop = true; /* the listener is closed: the stack is going away */
  } else if (ok) {
    g->ok++;
  } else {
    g->lost++;
    fprintf(stderr, "lost: curl %d (%s) HTTP %ld %.*s\n", rc, curl_easy_strerror((CURLcode)rc),
            status, (int)b->len, (const char *)b->data);
  }
}

static void sigterm_under_load(void **state) {
  char pidfile[700], hx[64];
  uint8_t h[20];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  snprintf(pidfile, sizeof pidfile, "%s/run.pid", env.stack_dir);
  long runpid = tu_read_long(pidfile);
  assert_true(runpid > 0);
  struct graceful g = {.runpid = runpid};
  struct tu_load l = {.env = &env, .hash_pct = hx, .tag = "-WLTERM-", .ip_prefix = "127.80",
                      .parallel = 32, .timeout_ms = 15000, .left = 1, .forbid_reuse = true,
                      .tick = graceful_tick, .done = graceful_done, .arg = &g};
  long sent = tu_load_run(&l);
  fprintf(stderr, "%ld sent: %ld answered, %ld refused at connect after SIGTERM, %ld lost\n", sent,
          g.ok, g.refused, g.lost);
  assert_true(g.termed);
  assert_int_equal(g.lost, 0);
  assert_true(g.ok > 0);
  /* after the stop, a new client is refused at connect */
  tu_sleep_ms(500);
  char url[300], ip[32] = "127.80.250.1";
  struct tu_resp r;
  snprintf(url, sizeof url, "%s/metrics", env.http);
  assert_int_equal(tu_http("GET", url, ip, NULL, NULL, 0, &r), -1);
  tu_resp_release(&r);
  /* the whole stack exits */
  int i;
  for (i = 0; i < 150 && kill((pid_t)runpid, 0) == 0; i++) tu_sleep_ms(100);
  assert_true(i < 150);
  char wal[700];
  struct stat st;
  snprintf(wal, sizeof wal, "%s/registry.db-wal", env.data_dir);
  if (stat(wal, &st) == 0) assert_int_equal(st.st_size, 0); /* checkpointed */
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  if (tu_own_stack(&env, argv[1], "graceful", "WL_RATE_LIMIT_RPS=0") < 0) return 1;
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {cmocka_unit_test(sigterm_under_load)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
