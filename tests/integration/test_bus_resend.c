/* Integration: the announce bus's resends (services/gateway/src/abus.c), on a stack of its own
 * with one real worker and a hand-made one on the bus.
 *  - A worker that answers after its request was sent again elsewhere still answers the
 *    client: the first answer wins, whichever worker it comes from.
 *  - No worker gets the same request twice: with three workers silent for three resend
 *    periods, it visits each once; with one, a `completed` held up by a stalled worker
 *    (SIGSTOP) for two resend periods counts once.
 * The client side is a raw HTTP socket, so one thread can hold an announce open while it plays
 * the hand-made worker. Every wait is bounded. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"
#include "wl/frame.h"
#include "wl_proto.h"

static struct tu_env env;

enum { RESEND_MS = 2000 }; /* abus.c's */

/* ---- a raw HTTP client ---- */

/* Sends GET path (Connection: close) and returns the socket, for http_wait. */
static int http_send(const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)env.http_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                   path);
  assert_int_equal(write(fd, req, (size_t)n), n);
  return fd;
}

/* The status of the answer on fd (its text in out), or -1 when none is complete within ms.
 * Closes fd. */
static int http_wait(int fd, int ms, char *out, size_t outlen) {
  size_t len = 0;
  double end = tu_now_s() + ms / 1000.0;
  bool eof = false;
  while (!eof && len + 1 < outlen) {
    int left = (int)((end - tu_now_s()) * 1000);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, left) != 1) break;
    ssize_t n = read(fd, out + len, outlen - 1 - len);
    if (n <= 0) eof = true;
    else len += (size_t)n;
  }
  out[len] = '\0';
  close(fd);
  int status = -1;
  if (eof && sscanf(out, "HTTP/1.1 %d", &status) != 1) status = -1;
  return status;
}

static void announce_path(char *path, size_t n, const uint8_t h[20], const char *event) {
  char hx[64], id[64];
  uint8_t pid[20];
  tu_random_hash(pid);
  tu_pct(hx, h, 20);
  tu_pct(id, pid, 20);
  snprintf(path, n, "/announce?info_hash=%s&peer_id=%s&port=6881&uploaded=0&downloaded=0&left=0"
                    "&compact=1%s%s", hx, id, event ? "&event=" : "", event ? event : "");
}

/* ---- a hand-made worker on the announce bus (wl/frame.h) ---- */

struct fake {
  int fd;
  struct wl_frame_reader rd;
};

static void fake_connect(struct fake *w) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  int n = snprintf(a.sun_path, sizeof a.sun_path, "%.*s/announce.ipc",
                   (int)(sizeof a.sun_path - 14), env.data_dir);
  assert_true(n > 0 && (size_t)n < sizeof a.sun_path);
  w->fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(w->fd >= 0);
  assert_int_equal(connect(w->fd, (struct sockaddr *)&a, sizeof a), 0);
  wl_frame_reader_init(&w->rd, 1 << 20);
  struct wl_buf f;
  wl_buf_init(&f, 256);
  assert_int_equal(wl_frame_append(&f, WL_FRAME_HELLO, 0, WL_FRAME_HELLO_TEXT,
                                   strlen(WL_FRAME_HELLO_TEXT)), 0);
  assert_int_equal(write(w->fd, f.data, f.len), (ssize_t)f.len);
  wl_buf_release(&f);
}

static void fake_close(struct fake *w) {
  close(w->fd);
  wl_frame_reader_release(&w->rd);
}

/* The announces of swarm h among the frames read so far (other requests, such as /metrics'
 * STATS or announces of earlier rounds, are left unanswered): their count, the last one's id. */
static int fake_take(struct fake *w, const uint8_t h[20], uint32_t *id) {
  int got = 0;
  struct wl_frame f;
  int rv;
  while ((rv = wl_frame_next(&w->rd, &f)) == 1) {
    assert_int_equal(f.kind, WL_FRAME_REQ);
    struct wl_proto_in in;
    assert_int_equal(wl_proto_in_init(&in, f.p, f.n), 0);
    struct wl_msg_announce a;
    if (in.type == WL_MSG_ANNOUNCE && wl_proto_decode_announce(&in, &a) == 0 &&
        memcmp(a.info_hash, h, 20) == 0) {
      *id = f.id;
      got++;
    }
    wl_proto_in_release(&in);
  }
  assert_int_equal(rv, 0);
  return got;
}

/* Reads what the gateway sends the n hand-made workers for ms (or, with until_one, until one
 * of them has an announce of h): got[i] += how many each got, id[i] the last one's id. */
static void fakes_read(struct fake *w, int n, int ms, bool until_one, const uint8_t h[20],
                       int *got, uint32_t *id) {
  double end = tu_now_s() + ms / 1000.0;
  for (;;) {
    bool any = false;
    for (int i = 0; i < n; i++) {
      int g = fake_take(&w[i], h, &id[i]);
      got[i] += g;
      any |= g > 0;
    }
    int left = (int)((end - tu_now_s()) * 1000);
    if ((until_one && any) || left <= 0) return;
    struct pollfd p[4];
    assert_true(n <= 4);
    for (int i = 0; i < n; i++) p[i] = (struct pollfd){.fd = w[i].fd, .events = POLLIN};
    if (poll(p, (nfds_t)n, left) <= 0) continue;
    for (int i = 0; i < n; i++) {
      if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
      uint8_t buf[65536];
      ssize_t r = read(w[i].fd, buf, sizeof buf);
      assert_true(r > 0);
      assert_int_equal(wl_frame_reader_feed(&w[i].rd, buf, (size_t)r), 0);
    }
  }
}

static void fake_answer(struct fake *w, uint32_t id, uint64_t complete, uint64_t incomplete) {
  struct wl_buf m, f;
  wl_buf_init(&m, 1024);
  wl_buf_init(&f, 1024);
  struct wl_msg_announce_rep rep = {.complete = complete, .incomplete = incomplete};
  assert_int_equal(wl_proto_encode_announce_rep(&m, &rep), 0);
  assert_int_equal(wl_frame_append(&f, WL_FRAME_REP, id, m.data, m.len), 0);
  assert_int_equal(write(w->fd, f.data, f.len), (ssize_t)f.len);
  wl_buf_release(&m);
  wl_buf_release(&f);
}

static long worker_pid(void) {
  char pidfile[700];
  snprintf(pidfile, sizeof pidfile, "%s/announce-1.pid", env.data_dir);
  long pid = tu_read_long(pidfile);
  assert_true(pid > 0);
  return pid;
}

/* ---- the tests ---- */

static void late_answer_from_the_first_worker_wins(void **state) {
  (void)state;
  long real = worker_pid();
  struct fake w;
  fake_connect(&w);
  tu_sleep_ms(500); /* its HELLO is read */

  /* Announces one at a time until one goes to the hand-made worker (they take turns); the real
   * worker answers the others. */
  char path[512], out[4096];
  uint8_t h[20];
  uint32_t id = 0;
  int fd = -1;
  for (int i = 0; i < 20 && fd < 0; i++) {
    tu_random_hash(h);
    announce_path(path, sizeof path, h, NULL);
    int c = http_send(path);
    int got = 0;
    fakes_read(&w, 1, 1000, true, h, &got, &id);
    if (got)
      fd = c;
    else
      assert_int_equal(http_wait(c, 5000, out, sizeof out), 200);
  }
  assert_true(fd >= 0);

  /* It holds the request; after RESEND_MS the gateway sends it to the real worker, which is
   * stopped. Then the first worker answers: that answer reaches the client. */
  assert_int_equal(kill((pid_t)real, SIGSTOP), 0);
  tu_sleep_ms(RESEND_MS + 600);
  fake_answer(&w, id, 4242, 7);
  int status = http_wait(fd, 3000, out, sizeof out);
  assert_int_equal(kill((pid_t)real, SIGCONT), 0);
  if (status != 200) fprintf(stderr, "no answer within 3 s of the late reply: %s\n", out);
  assert_int_equal(status, 200);
  assert_non_null(strstr(out, "8:completei4242e"));
  assert_non_null(strstr(out, "10:incompletei7e"));
  /* and it got that request once */
  int again = 0;
  fakes_read(&w, 1, RESEND_MS + 300, false, h, &again, &id);
  assert_int_equal(again, 0);
  fake_close(&w);
}

/* Three workers, none answering for two resend periods: the request visits each once, then
 * stays; the answer of any of them ends it. */
static void no_worker_gets_a_request_twice(void **state) {
  (void)state;
  long real = worker_pid();
  struct fake w[2];
  fake_connect(&w[0]);
  fake_connect(&w[1]);
  tu_sleep_ms(500);
  uint8_t h[20];
  tu_random_hash(h);
  char path[512], out[4096];
  announce_path(path, sizeof path, h, NULL);
  assert_int_equal(kill((pid_t)real, SIGSTOP), 0);
  int fd = http_send(path);
  int got[2] = {0, 0};
  uint32_t id[2] = {0, 0};
  fakes_read(w, 2, 3 * RESEND_MS + 500, false, h, got, id); /* sent at 0, ~2 and ~4 s */
  fprintf(stderr, "hand-made workers got the request %d and %d times\n", got[0], got[1]);
  assert_int_equal(got[0], 1);
  assert_int_equal(got[1], 1);
  fake_answer(&w[1], id[1], 99, 1);
  int status = http_wait(fd, 3000, out, sizeof out);
  assert_int_equal(kill((pid_t)real, SIGCONT), 0);
  assert_int_equal(status, 200);
  assert_non_null(strstr(out, "8:completei99e"));
  fake_close(&w[0]);
  fake_close(&w[1]);
}

static void the_only_worker_gets_a_request_once(void **state) {
  (void)state;
  long real = worker_pid();
  tu_sleep_ms(300); /* the hand-made worker of the last test is gone */
  uint8_t h[20];
  tu_random_hash(h);
  char path[512], out[4096];
  announce_path(path, sizeof path, h, "completed");
  assert_int_equal(kill((pid_t)real, SIGSTOP), 0);
  int fd = http_send(path);
  tu_sleep_ms(2 * RESEND_MS + 500); /* two resend periods */
  assert_int_equal(kill((pid_t)real, SIGCONT), 0);
  assert_int_equal(http_wait(fd, 5000, out, sizeof out), 200);

  char hx[64], url[600];
  tu_pct(hx, h, 20);
  snprintf(url, sizeof url, "%s/scrape?info_hash=%s", env.http, hx);
  struct tu_resp r;
  assert_int_equal(tu_http("GET", url, NULL, NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 200);
  struct tu_benc b; /* the body holds the raw hash: no string functions on it */
  assert_true(tu_benc_parse(&b, &r));
  int64_t files = wl_bdict_gets(&b.doc, 0, "files");
  assert_true(files >= 0);
  int64_t e = wl_bdict_get(&b.doc, (uint32_t)files, (const char *)h, 20);
  assert_true(e >= 0);
  assert_int_equal(tu_benc_int(&b, (uint32_t)e, "downloaded"), 1); /* counted once */
  tu_benc_release(&b);
  tu_resp_release(&r);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_ALL);
  if (tu_own_stack(&env, argv[1], "resend",
                   "WL_ANNOUNCE_WORKERS=1 WL_BACKEND_TIMEOUT_MS=12000 WL_RATE_LIMIT_RPS=0") < 0)
    return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(late_answer_from_the_first_worker_wins),
      cmocka_unit_test(no_worker_gets_a_request_twice),
      cmocka_unit_test(the_only_worker_gets_a_request_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
