/* Integration: horizontal announce workers. Under a steady announce load on the shared stack
 * (2 workers), a third worker is started, one worker is SIGKILLed, and a fourth is started:
 * no announce fails or is lost, and the workers started mid-load take part of it. */
#include <curl/curl.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

static struct tu_env env;

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  return wl_buf_append(arg, p, size * n) < 0 ? 0 : size * n;
}

/* Starts wl-announce with the stack's environment; its log goes to logpath. */
static pid_t start_worker(const char *logpath) {
  char envfile[700], line[1024], bin[700];
  snprintf(envfile, sizeof envfile, "%s/env", env.stack_dir);
  snprintf(bin, sizeof bin, "%s/services/announce/wl-announce", env.build_dir);
  pid_t pid = fork();
  if (pid != 0) return pid;
  FILE *f = fopen(envfile, "r");
  while (f && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    setenv(line, eq + 1, 1);
  }
  char url[700];
  snprintf(url, sizeof url, "unix://%s/redis.sock", env.data_dir);
  setenv("WL_REDIS_URL", url, 1);
  int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(fd, 2);
  execl(bin, "wl-announce", (char *)NULL);
  _exit(127);
}

static long announces_in_log(const char *logpath) {
  FILE *f = fopen(logpath, "r");
  char line[1024];
  long n = -1;
  while (f && fgets(line, sizeof line, f)) {
    const char *p = strstr(line, "stopped after ");
    if (p) n = atol(p + 14);
  }
  if (f) fclose(f);
  return n;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void workers_come_and_go_under_load(void **state) {
  uint8_t h[20];
  char hx[64], log3[700], log4[700], pidfile[700];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  snprintf(log3, sizeof log3, "%s/worker-extra-3.log", env.stack_dir);
  snprintf(log4, sizeof log4, "%s/worker-extra-4.log", env.stack_dir);
  snprintf(pidfile, sizeof pidfile, "%s/announce-2.pid", env.data_dir);
  pid_t w3 = 0, w4 = 0;
  bool killed = false;
  CURLM *m = curl_multi_init();
  enum { PAR = 16 };
  struct { struct wl_buf body; char url[400]; char ip[32]; } slot[PAR];
  int free_slots[PAR], nfree = PAR;
  for (int i = 0; i < PAR; i++) free_slots[i] = i;
  long sent = 0, ok = 0, failed = 0;
  double t0 = now_s();
  while (now_s() - t0 < 8.0 || nfree < PAR) {
    double t = now_s() - t0;
    if (!w3 && t > 1.0) w3 = start_worker(log3);
    if (!killed && t > 3.0) {
      long victim = tu_read_long(pidfile);
      assert_true(victim > 0);
      assert_int_equal(kill((pid_t)victim, SIGKILL), 0);
      killed = true;
    }
    if (!w4 && t > 4.0) w4 = start_worker(log4);
    while (nfree > 0 && t < 8.0) {
      int i = free_slots[--nfree];
      wl_buf_init(&slot[i].body, 1 << 16);
      snprintf(slot[i].ip, sizeof slot[i].ip, "127.70.%ld.%ld", sent / 250 % 250, sent % 250 + 1);
      snprintf(slot[i].url, sizeof slot[i].url,
               "%s/announce?info_hash=%s&peer_id=-WLSCAL-%012ld&port=%ld&uploaded=0&downloaded=0&left=%ld",
               env.http, hx, sent, 1024 + sent % 60000, sent % 2);
      CURL *c = curl_easy_init();
      curl_easy_setopt(c, CURLOPT_URL, slot[i].url);
      curl_easy_setopt(c, CURLOPT_INTERFACE, slot[i].ip);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &slot[i].body);
      curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)(intptr_t)i);
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
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
      if (msg->data.result == CURLE_OK && status == 200 && b->len && b->data[0] == 'd' &&
          !memmem(b->data, b->len, "failure reason", 14)) {
        ok++;
      } else {
        failed++;
        fprintf(stderr, "failed: curl %d HTTP %ld %.*s\n", msg->data.result, status, (int)b->len,
                (const char *)b->data);
      }
      wl_buf_release(b);
      free_slots[nfree++] = i;
      curl_multi_remove_handle(m, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
    }
  }
  curl_multi_cleanup(m);
  kill(w3, SIGTERM);
  kill(w4, SIGTERM);
  waitpid(w3, NULL, 0);
  waitpid(w4, NULL, 0);
  long n3 = announces_in_log(log3), n4 = announces_in_log(log4);
  fprintf(stderr, "%ld announces, %ld ok, %ld failed; worker 3 served %ld, worker 4 served %ld\n",
          sent, ok, failed, n3, n4);
  assert_int_equal(failed, 0);
  assert_int_equal(ok, sent);
  assert_true(n3 > 0);
  assert_true(n4 > 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  tu_env_load(&env, argv[1]);
  curl_global_init(CURL_GLOBAL_ALL);
  const struct CMUnitTest tests[] = {cmocka_unit_test(workers_come_and_go_under_load)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
