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

/* The load: worker 3 starts at 1 s, worker 2 is SIGKILLed at 3 s, worker 4 starts at 4 s;
 * announces go on for 8 s. */
struct scale {
  char log3[700], log4[700], pidfile[700];
  pid_t w3, w4;
  bool killed;
  long ok, failed;
};

static bool scale_tick(struct tu_load *l, double t, long sent, long answered) {
  struct scale *sc = l->arg;
  if (!sc->w3 && t > 1.0) sc->w3 = start_worker(sc->log3);
  if (!sc->killed && t > 3.0) {
    long victim = tu_read_long(sc->pidfile);
    assert_true(victim > 0);
    assert_int_equal(kill((pid_t)victim, SIGKILL), 0);
    sc->killed = true;
  }
  if (!sc->w4 && t > 4.0) sc->w4 = start_worker(sc->log4);
  return t < 8.0;
}

static void scale_done(struct tu_load *l, long n, int rc, long status, const struct wl_buf *b, bool ok) {
  struct scale *sc = l->arg;
  if (ok) {
    sc->ok++;
    return;
  }
  sc->failed++;
  fprintf(stderr, "failed: curl %d HTTP %ld %.*s\n", rc, status, (int)b->len, (const char *)b->data);
}

static void workers_come_and_go_under_load(void **state) {
  uint8_t h[20];
  char hx[64];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  struct scale sc = {.w3 = 0};
  snprintf(sc.log3, sizeof sc.log3, "%s/worker-extra-3.log", env.stack_dir);
  snprintf(sc.log4, sizeof sc.log4, "%s/worker-extra-4.log", env.stack_dir);
  snprintf(sc.pidfile, sizeof sc.pidfile, "%s/announce-2.pid", env.data_dir);
  struct tu_load l = {.env = &env, .hash_pct = hx, .tag = "-WLSCAL-", .ip_prefix = "127.70",
                      .parallel = 16, .timeout_ms = 20000, .left = -1, .tick = scale_tick,
                      .done = scale_done, .arg = &sc};
  long sent = tu_load_run(&l);
  kill(sc.w3, SIGTERM);
  kill(sc.w4, SIGTERM);
  waitpid(sc.w3, NULL, 0);
  waitpid(sc.w4, NULL, 0);
  long n3 = announces_in_log(sc.log3), n4 = announces_in_log(sc.log4);
  fprintf(stderr, "%ld announces, %ld ok, %ld failed; worker 3 served %ld, worker 4 served %ld\n",
          sent, sc.ok, sc.failed, n3, n4);
  assert_int_equal(sc.failed, 0);
  assert_int_equal(sc.ok, sent);
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
