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

static struct tu_env shared, env;
static char stack_dir[600];

static void stop_stack(void) {
  tu_sh("%s/tests/integration/stack.sh stop %s >/dev/null 2>&1", shared.src_dir, stack_dir);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  return wl_buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sigterm_under_load(void **state) {
  char pidfile[700], hx[64];
  uint8_t h[20];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  snprintf(pidfile, sizeof pidfile, "%s/run.pid", stack_dir);
  long runpid = tu_read_long(pidfile);
  assert_true(runpid > 0);
  CURLM *m = curl_multi_init();
  enum { PAR = 32 };
  struct { struct wl_buf body; char url[400]; char ip[32]; } slot[PAR];
  int free_slots[PAR], nfree = PAR;
  for (int i = 0; i < PAR; i++) free_slots[i] = i;
  long sent = 0, ok = 0, refused = 0, lost = 0;
  bool termed = false, stop_sending = false;
  double t0 = now_s();
  while (!stop_sending || nfree < PAR) {
    if (!termed && now_s() - t0 > 1.5) {
      assert_int_equal(kill((pid_t)runpid, SIGTERM), 0);
      termed = true;
    }
    /* The gateway keeps accepting for 250 ms after SIGTERM, then closes its listener. A
     * connection still in the kernel's accept queue at that instant is reset by the kernel
     * (true of any server), so clients stop opening new ones 100 ms after the signal; what
     * is in flight then must all be answered. */
    if (termed && now_s() - t0 > 1.6) stop_sending = true;
    if (now_s() - t0 > 20) fail_msg("requests still pending 20 s after SIGTERM");
    while (nfree > 0 && !stop_sending) {
      int i = free_slots[--nfree];
      wl_buf_init(&slot[i].body, 1 << 16);
      snprintf(slot[i].ip, sizeof slot[i].ip, "127.80.%ld.%ld", sent / 250 % 250, sent % 250 + 1);
      snprintf(slot[i].url, sizeof slot[i].url,
               "%s/announce?info_hash=%s&peer_id=-WLTERM-%012ld&port=%ld&uploaded=0&downloaded=0&left=1",
               env.http, hx, sent, 1024 + sent % 60000);
      CURL *c = curl_easy_init();
      curl_easy_setopt(c, CURLOPT_URL, slot[i].url);
      curl_easy_setopt(c, CURLOPT_INTERFACE, slot[i].ip);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &slot[i].body);
      curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)(intptr_t)i);
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
      curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
      curl_multi_add_handle(m, c);
      sent++;
    }
    int running, left;
    curl_multi_perform(m, &running);
    curl_multi_poll(m, NULL, 0, 50, NULL);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE) continue;
      char *priv;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      int i = (int)(intptr_t)priv;
      struct wl_buf *b = &slot[i].body;
      if (msg->data.result == CURLE_COULDNT_CONNECT) {
        refused++;
        stop_sending = true; /* the listener is closed: the stack is going away */
      } else if (msg->data.result == CURLE_OK && status == 200 && b->len && b->data[0] == 'd' &&
                 !memmem(b->data, b->len, "failure reason", 14)) {
        ok++;
      } else {
        lost++;
        fprintf(stderr, "lost: curl %d (%s) HTTP %ld %.*s\n", msg->data.result,
                curl_easy_strerror(msg->data.result), status, (int)b->len, (const char *)b->data);
      }
      wl_buf_release(b);
      free_slots[nfree++] = i;
      curl_multi_remove_handle(m, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
    }
  }
  curl_multi_cleanup(m);
  fprintf(stderr, "%ld sent: %ld answered, %ld refused at connect after SIGTERM, %ld lost\n", sent,
          ok, refused, lost);
  assert_true(termed);
  assert_int_equal(lost, 0);
  assert_true(ok > 0);
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
  tu_env_load(&shared, argv[1]);
  snprintf(stack_dir, sizeof stack_dir, "%s-graceful", argv[1]);
  atexit(stop_stack);
  if (tu_sh("%s/tests/integration/stack.sh start %s %s WL_RATE_LIMIT_RPS=0", shared.src_dir,
            stack_dir, shared.build_dir) != 0) {
    fprintf(stderr, "cannot start the stack\n");
    return 1;
  }
  tu_env_load(&env, stack_dir);
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {cmocka_unit_test(sigterm_under_load)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
