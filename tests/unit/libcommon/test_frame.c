/* frame: the announce bus's framing. Round trips however the bytes are split, several frames
 * per read, and a clear refusal of anything that is not a frame (an NNG peer, a wrong kind,
 * reserved bytes set, a frame over the limit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl/frame.h"

static void round_trip_any_split(void **state) {
  (void)state;
  struct wl_buf out;
  wl_buf_init(&out, 1 << 20);
  uint8_t big[70000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
  assert_int_equal(wl_frame_append(&out, WL_FRAME_HELLO, 0, WL_FRAME_HELLO_TEXT,
                                   strlen(WL_FRAME_HELLO_TEXT)), 0);
  assert_int_equal(wl_frame_append(&out, WL_FRAME_REQ, 0xdeadbeefu, big, sizeof big), 0);
  assert_int_equal(wl_frame_append(&out, WL_FRAME_BYE, 7, NULL, 0), 0);
  assert_int_equal(out.len, 3 * WL_FRAME_HDR + strlen(WL_FRAME_HELLO_TEXT) + sizeof big);
  const size_t splits[] = {1, 5, 12, 13, 4096, 65536, 1 << 20};
  for (size_t s = 0; s < sizeof splits / sizeof splits[0]; s++) {
    struct wl_frame_reader r;
    wl_frame_reader_init(&r, 100000);
    struct wl_frame f;
    int seen = 0;
    for (size_t off = 0; off < out.len; off += splits[s]) {
      size_t n = out.len - off < splits[s] ? out.len - off : splits[s];
      assert_int_equal(wl_frame_reader_feed(&r, out.data + off, n), 0);
      int rv;
      while ((rv = wl_frame_next(&r, &f)) == 1) {
        if (seen == 0) {
          assert_int_equal(f.kind, WL_FRAME_HELLO);
          assert_int_equal(f.n, strlen(WL_FRAME_HELLO_TEXT));
          assert_memory_equal(f.p, WL_FRAME_HELLO_TEXT, f.n);
        } else if (seen == 1) {
          assert_int_equal(f.kind, WL_FRAME_REQ);
          assert_int_equal(f.id, 0xdeadbeefu);
          assert_int_equal(f.n, sizeof big);
          assert_memory_equal(f.p, big, sizeof big);
        } else {
          assert_int_equal(f.kind, WL_FRAME_BYE);
          assert_int_equal(f.id, 7);
          assert_int_equal(f.n, 0);
        }
        seen++;
      }
      assert_int_equal(rv, 0);
    }
    assert_int_equal(seen, 3);
    wl_frame_reader_release(&r);
  }
  wl_buf_release(&out);
}

static int first_error(const void *p, size_t n, size_t max, char *reason, size_t rlen) {
  struct wl_frame_reader r;
  wl_frame_reader_init(&r, max);
  struct wl_frame f;
  int rv = wl_frame_reader_feed(&r, p, n);
  while (rv == 0 && (rv = wl_frame_next(&r, &f)) == 1) rv = 0;
  snprintf(reason, rlen, "%s", r.reason);
  wl_frame_reader_release(&r);
  return rv;
}

static void refuses_what_is_not_a_frame(void **state) {
  (void)state;
  char why[96];
  /* an NNG peer's SP handshake: \0 S P \0, protocol, reserved */
  const uint8_t sp[] = {0x00, 'S', 'P', 0x00, 0x00, 0x30, 0x00, 0x00, 0, 0, 0, 0};
  assert_int_equal(first_error(sp, sizeof sp, 1 << 20, why, sizeof why), WL_EPROTO);
  assert_non_null(strstr(why, "not a Weightless bus frame"));
  /* kind 0 and kind 5 */
  uint8_t h[WL_FRAME_HDR] = {0};
  assert_int_equal(first_error(h, sizeof h, 100, why, sizeof why), WL_EPROTO);
  h[4] = 5;
  assert_int_equal(first_error(h, sizeof h, 100, why, sizeof why), WL_EPROTO);
  /* reserved bytes */
  h[4] = WL_FRAME_REQ;
  h[6] = 1;
  assert_int_equal(first_error(h, sizeof h, 100, why, sizeof why), WL_EPROTO);
  h[6] = 0;
  /* exactly the limit is fine (and incomplete until the payload is there); one more is not */
  h[0] = 100;
  assert_int_equal(first_error(h, sizeof h, 100, why, sizeof why), 0);
  h[0] = 101;
  assert_int_equal(first_error(h, sizeof h, 100, why, sizeof why), WL_EPROTO);
  assert_non_null(strstr(why, "over the limit"));
  /* an HTTP request sent to the bus by mistake */
  const char *get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  assert_int_equal(first_error(get, strlen(get), 1 << 20, why, sizeof why), WL_EPROTO);
  /* a header split anywhere is just incomplete */
  assert_int_equal(first_error(h, 5, 100, why, sizeof why), 0);
}

static void space_grows_to_a_maximal_frame(void **state) {
  (void)state;
  struct wl_frame_reader r;
  wl_frame_reader_init(&r, 300000);
  struct wl_buf out;
  wl_buf_init(&out, 1 << 20);
  static uint8_t payload[300000];
  memset(payload, 0xab, sizeof payload);
  assert_int_equal(wl_frame_append(&out, WL_FRAME_REP, 1, payload, sizeof payload), 0);
  assert_int_equal(wl_frame_append(&out, WL_FRAME_REP, 2, payload, 10), 0);
  size_t off = 0;
  int got = 0;
  struct wl_frame f;
  /* as a socket would: ask for room, get some, read into it */
  while (off < out.len) {
    uint8_t *p;
    size_t room;
    assert_int_equal(wl_frame_reader_space(&r, 65536, &p, &room), 0);
    assert_true(room >= 1);
    size_t n = out.len - off < room ? out.len - off : room;
    if (n > 65536) n = 65536;
    memcpy(p, out.data + off, n);
    wl_frame_reader_commit(&r, n);
    off += n;
    while (wl_frame_next(&r, &f) == 1) {
      got++;
      assert_int_equal(f.id, (uint32_t)got);
    }
  }
  assert_int_equal(got, 2);
  wl_buf_release(&out);
  wl_frame_reader_release(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip_any_split),
                                     cmocka_unit_test(refuses_what_is_not_a_frame),
                                     cmocka_unit_test(space_grows_to_a_maximal_frame)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
