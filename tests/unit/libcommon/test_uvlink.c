/* uvlink: the announce bus's stream on a real libuv loop, over a Unix socket and over TCP on
 * loopback. Thousands of frames of every size echoed in order; a paused handler gets every
 * frame once, in order, after resuming; a dial to nothing fails cleanly and can be retried;
 * a dial closed half-way reports once; garbage on the stream closes it with a reason; and the
 * address forms. Every loop run is bounded by a timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl/uvlink.h"

enum { FRAMES = 2000, MAXLEN = 100000 };

struct side {
  struct wl_uvlink l;
  int frames, closes, dials, dial_status;
  char why[160];
  bool echo;        /* server: answer each REQ with a REP of the same payload */
  int pause_every;  /* server: refuse every n-th frame once (pause), resumed by a timer */
  int refused;
  uint32_t next_id; /* client: the id the next REP must carry */
};

struct fixture {
  uv_loop_t loop;
  struct wl_uvlisten ls;
  struct side srv, cli;
  uv_timer_t guard, resume;
  bool accepted;
  char dir[64];
  struct wl_uvaddr addr;
};

static size_t len_of(uint32_t id) { return (id * 2654435761u) % 7 == 0 ? (id * 37u) % MAXLEN : id % 300; }

static uint8_t byte_of(uint32_t id, size_t i) { return (uint8_t)(id + i * 13); }

static void fill(uint8_t *p, uint32_t id) {
  for (size_t i = 0, n = len_of(id); i < n; i++) p[i] = byte_of(id, i);
}

static void on_resume(uv_timer_t *t) {
  struct fixture *fx = t->data;
  wl_uvlink_resume(&fx->srv.l);
}

static bool srv_frame(struct wl_uvlink *l, const struct wl_frame *f) {
  struct side *s = l->data;
  struct fixture *fx = (struct fixture *)((char *)s - offsetof(struct fixture, srv));
  if (s->pause_every && s->frames % s->pause_every == s->pause_every - 1 && s->refused <= s->frames) {
    s->refused = s->frames + 1; /* refuse this one once */
    uv_timer_start(&fx->resume, on_resume, 1, 0);
    return false;
  }
  s->frames++;
  if (s->echo && f->kind == WL_FRAME_REQ)
    assert_int_equal(wl_uvlink_send(l, WL_FRAME_REP, f->id, f->p, f->n), 0);
  return true;
}

static bool cli_frame(struct wl_uvlink *l, const struct wl_frame *f) {
  struct side *s = l->data;
  assert_int_equal(f->kind, WL_FRAME_REP);
  assert_int_equal(f->id, s->next_id);
  assert_int_equal(f->n, len_of(f->id));
  for (size_t i = 0; i < f->n; i++)
    if (f->p[i] != byte_of(f->id, i)) fail_msg("byte %zu of frame %u differs", i, f->id);
  s->next_id++;
  s->frames++;
  if (s->frames == FRAMES) wl_uvlink_close(l);
  return true;
}

static void on_close(struct wl_uvlink *l, const char *why) {
  struct side *s = l->data;
  s->closes++;
  snprintf(s->why, sizeof s->why, "%s", why ? why : "");
}

static void on_dialed(struct wl_uvlink *l, int status) {
  struct side *s = l->data;
  s->dials++;
  s->dial_status = status;
}

static void on_conn(uv_stream_t *server, int status) {
  struct fixture *fx = server->data;
  assert_int_equal(status, 0);
  assert_false(fx->accepted);
  fx->accepted = true;
  assert_int_equal(wl_uvlink_accept(&fx->srv.l, &fx->ls), 0);
}

static void on_guard(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop until cond holds, 10 s at most. */
#define RUN_UNTIL(fx, cond)                                                                     \
  do {                                                                                          \
    uv_timer_start(&(fx)->guard, on_guard, 10000, 0);                                          \
    while (!(cond) && uv_is_active((uv_handle_t *)&(fx)->guard))                               \
      uv_run(&(fx)->loop, UV_RUN_ONCE);                                                         \
    uv_timer_stop(&(fx)->guard);                                                                \
    assert_true(cond);                                                                          \
  } while (0)

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void setup_fx(struct fixture *fx, bool ipc) {
  memset(fx, 0, sizeof *fx);
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  uv_timer_init(&fx->loop, &fx->guard);
  uv_timer_init(&fx->loop, &fx->resume);
  fx->resume.data = fx;
  char url[600], why[200];
  if (ipc) {
    snprintf(fx->dir, sizeof fx->dir, "/tmp/wl-uvlink-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(url, sizeof url, "ipc://%s/bus.ipc", fx->dir);
  } else {
    snprintf(url, sizeof url, "tcp://localhost:%d", free_port());
  }
  assert_int_equal(wl_uvaddr_parse(url, &fx->addr, why, sizeof why), 0);
  wl_uvlink_init(&fx->srv.l, MAXLEN, srv_frame, on_close, &fx->srv);
  wl_uvlink_init(&fx->cli.l, MAXLEN, cli_frame, on_close, &fx->cli);
}

static void listen_fx(struct fixture *fx) {
  char why[200];
  assert_int_equal(wl_uvlink_listen(&fx->ls, &fx->loop, &fx->addr, on_conn, why, sizeof why), 0);
  fx->ls.u.h.data = fx;
}

static void teardown_fx(struct fixture *fx) {
  uv_close((uv_handle_t *)&fx->guard, NULL);
  uv_close((uv_handle_t *)&fx->resume, NULL);
  if (uv_is_active(&fx->ls.u.h) || fx->accepted) uv_close(&fx->ls.u.h, NULL);
  if (fx->srv.l.open && !fx->srv.l.closing) wl_uvlink_close(&fx->srv.l);
  /* the close callbacks, 1 s at most: a handle left open fails uv_loop_close below */
  for (int i = 0; i < 1000 && uv_run(&fx->loop, UV_RUN_NOWAIT) != 0; i++) usleep(1000);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  wl_uvlink_release(&fx->srv.l);
  wl_uvlink_release(&fx->cli.l);
  wl_uvlisten_release(&fx->ls); /* the socket file */
  if (fx->dir[0]) {
    char p[128];
    snprintf(p, sizeof p, "%s/bus.ipc.lock", fx->dir);
    unlink(p);
    assert_int_equal(rmdir(fx->dir), 0); /* nothing else left behind */
  }
}

static void echo_many(bool ipc, int pause_every) {
  struct fixture *fx = calloc(1, sizeof *fx);
  setup_fx(fx, ipc);
  listen_fx(fx);
  fx->srv.echo = true;
  fx->srv.pause_every = pause_every;
  assert_int_equal(wl_uvlink_connect(&fx->cli.l, &fx->loop, &fx->addr, on_dialed), 0);
  RUN_UNTIL(fx, fx->cli.dials == 1);
  assert_int_equal(fx->cli.dial_status, 0);
  static uint8_t buf[MAXLEN];
  assert_int_equal(wl_uvlink_send(&fx->cli.l, WL_FRAME_HELLO, 0, WL_FRAME_HELLO_TEXT,
                                  strlen(WL_FRAME_HELLO_TEXT)), 0);
  for (uint32_t id = 0; id < FRAMES; id++) {
    fill(buf, id);
    assert_int_equal(wl_uvlink_send(&fx->cli.l, WL_FRAME_REQ, id, buf, len_of(id)), 0);
  }
  /* the client closes after the last answer; the server sees the peer go */
  RUN_UNTIL(fx, fx->cli.closes == 1 && fx->srv.closes == 1);
  assert_int_equal(fx->cli.frames, FRAMES);
  assert_int_equal(fx->srv.frames, FRAMES + 1); /* and the HELLO */
  assert_string_equal(fx->cli.why, ""); /* closed by its owner */
  assert_string_equal(fx->srv.why, "closed by the peer");
  assert_int_equal(wl_uvlink_send(&fx->cli.l, WL_FRAME_REQ, 1, "x", 1), WL_ECLOSED);
  teardown_fx(fx);
  free(fx);
}

static void echo_ipc(void **state) { (void)state; echo_many(true, 0); }
static void echo_tcp(void **state) { (void)state; echo_many(false, 0); }
static void paused_handler_gets_every_frame_once(void **state) { (void)state; echo_many(true, 97); }

static void dial_nothing_then_retry(void **state) {
  (void)state;
  for (int ipc = 0; ipc < 2; ipc++) {
    struct fixture *fx = calloc(1, sizeof *fx);
    setup_fx(fx, ipc);
    assert_int_equal(wl_uvlink_connect(&fx->cli.l, &fx->loop, &fx->addr, on_dialed), 0);
    RUN_UNTIL(fx, fx->cli.dials == 1);
    assert_true(fx->cli.dial_status < 0);
    assert_int_equal(fx->cli.closes, 0);
    listen_fx(fx);
    assert_int_equal(wl_uvlink_connect(&fx->cli.l, &fx->loop, &fx->addr, on_dialed), 0);
    RUN_UNTIL(fx, fx->cli.dials == 2 && fx->accepted);
    assert_int_equal(fx->cli.dial_status, 0);
    wl_uvlink_close(&fx->cli.l);
    RUN_UNTIL(fx, fx->cli.closes == 1 && fx->srv.closes == 1);
    teardown_fx(fx);
    free(fx);
  }
}

static void close_while_dialing(void **state) {
  (void)state;
  for (int ipc = 0; ipc < 2; ipc++) {
    struct fixture *fx = calloc(1, sizeof *fx);
    setup_fx(fx, ipc);
    listen_fx(fx);
    assert_int_equal(wl_uvlink_connect(&fx->cli.l, &fx->loop, &fx->addr, on_dialed), 0);
    wl_uvlink_close(&fx->cli.l); /* before the name is resolved or the connect completes */
    RUN_UNTIL(fx, fx->cli.dials == 1);
    assert_true(fx->cli.dial_status < 0);
    assert_int_equal(fx->cli.closes, 0);
    /* a connection the server may have accepted meanwhile goes away */
    uv_run(&fx->loop, UV_RUN_NOWAIT);
    teardown_fx(fx);
    free(fx);
  }
}

static void garbage_closes_with_a_reason(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof *fx);
  setup_fx(fx, true);
  listen_fx(fx);
  assert_int_equal(wl_uvlink_connect(&fx->cli.l, &fx->loop, &fx->addr, on_dialed), 0);
  RUN_UNTIL(fx, fx->cli.dials == 1 && fx->accepted);
  const char *get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  uv_buf_t b = uv_buf_init((char *)get, (unsigned)strlen(get));
  assert_int_equal(uv_try_write(&fx->cli.l.u.s, &b, 1), (int)strlen(get));
  RUN_UNTIL(fx, fx->srv.closes == 1 && fx->cli.closes == 1);
  assert_non_null(strstr(fx->srv.why, "not a Weightless bus frame"));
  assert_int_equal(fx->srv.frames, 0);
  teardown_fx(fx);
  free(fx);
}

static void addresses(void **state) {
  (void)state;
  struct wl_uvaddr a;
  char why[200];
  assert_int_equal(wl_uvaddr_parse("ipc:///tmp/x.ipc", &a, why, sizeof why), 0);
  assert_true(a.ipc);
  assert_string_equal(a.path, "/tmp/x.ipc");
  assert_int_equal(wl_uvaddr_parse("tcp://gateway:7001", &a, why, sizeof why), 0);
  assert_false(a.ipc);
  assert_string_equal(a.host, "gateway");
  assert_int_equal(a.port, 7001);
  assert_int_equal(wl_uvaddr_parse("tcp://[::1]:65535", &a, why, sizeof why), 0);
  assert_string_equal(a.host, "::1");
  assert_int_equal(a.port, 65535);
  const char *bad[] = {"", "ipc://", "tcp://host", "tcp://host:", "tcp://:80", "tcp://h:0",
                       "tcp://h:65536", "tcp://h:80x", "tcp://[::1:80", "udp://h:1",
                       "ws://h:1/x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(wl_uvaddr_parse(bad[i], &a, why, sizeof why), WL_EINVAL);
    assert_true(strlen(why) > 0);
  }
  char longpath[200] = "ipc:///";
  memset(longpath + 7, 'a', 150);
  longpath[157] = '\0';
  assert_int_equal(wl_uvaddr_parse(longpath, &a, why, sizeof why), WL_EINVAL);
  assert_non_null(strstr(why, "Unix socket path"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(echo_ipc),
      cmocka_unit_test(echo_tcp),
      cmocka_unit_test(paused_handler_gets_every_frame_once),
      cmocka_unit_test(dial_nothing_then_retry),
      cmocka_unit_test(close_while_dialing),
      cmocka_unit_test(garbage_closes_with_a_reason),
      cmocka_unit_test(addresses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
