/* Unit tests of query-string iteration and percent-decoding (libcommon/src/query.c): the
 * announce path's parsing of info_hash and peer_id, where '+' is a byte, not a space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl/query.h"

/* Decodes s into an exactly sized heap buffer (ASan sees an overflow). */
static ssize_t decode(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s);
  char *src = malloc(n ? n : 1);
  memcpy(src, s, n);
  uint8_t *dst = malloc(n ? n : 1);
  ssize_t r = wl_pct_decode(dst, src, n);
  if (r > 0) {
    assert_true((size_t)r <= cap);
    memcpy(out, dst, (size_t)r);
  }
  free(dst);
  free(src);
  return r;
}

static void test_pct_decode(void **state) {
  (void)state;
  uint8_t out[64];
  assert_int_equal(decode("", out, sizeof out), 0);
  assert_int_equal(decode("abc", out, sizeof out), 3);
  assert_memory_equal(out, "abc", 3);
  assert_int_equal(decode("%41%42", out, sizeof out), 2);
  assert_memory_equal(out, "AB", 2);
  assert_int_equal(decode("%4a%4A%ff%FF%00", out, sizeof out), 5);
  assert_memory_equal(out, "JJ\xff\xff\0", 5);
  /* '+' is the byte 0x2B (API.md), never a space. */
  assert_int_equal(decode("a+b%2B", out, sizeof out), 4);
  assert_memory_equal(out, "a+b+", 4);
  assert_int_equal(decode("%25", out, sizeof out), 1);
  assert_int_equal(out[0], '%');
  assert_int_equal(decode("x%20", out, sizeof out), 2);
  assert_memory_equal(out, "x ", 2);
  /* A real info_hash: 20 bytes, mixed raw and escaped. */
  assert_int_equal(decode("%124Vx%9A%BC%DE%F1%23Eg%89%AB%CD%EF%124Vx%9A", out, sizeof out), 20);
  static const uint8_t ih[20] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf1, 0x23, 0x45,
                                 0x67, 0x89, 0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x9a};
  assert_memory_equal(out, ih, 20);
}

static void test_pct_decode_bad(void **state) {
  (void)state;
  uint8_t out[16];
  static const char *bad[] = {"%", "%4", "a%", "a%4", "%zz", "%4z", "%z4", "%%41", "% 41",
                              "%-1", "%+1", "%0x", "ab%g0", "%41%"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(decode(bad[i], out, sizeof out), WL_EPARSE);
}

/* Only n bytes are read: a '%' at the end of the range is an error even if digits follow. */
static void test_pct_decode_bounds(void **state) {
  (void)state;
  uint8_t dst[8];
  assert_int_equal(wl_pct_decode(dst, "ab%41", 3), WL_EPARSE);
  assert_int_equal(wl_pct_decode(dst, "ab%41", 4), WL_EPARSE);
  assert_int_equal(wl_pct_decode(dst, "ab%41", 5), 3);
  /* Embedded NUL bytes are data. */
  assert_int_equal(wl_pct_decode(dst, "a\0b", 3), 3);
  assert_memory_equal(dst, "a\0b", 3);
}

static void test_pct_decode_in_place(void **state) {
  (void)state;
  char buf[] = "%61b%63%2525";
  ssize_t r = wl_pct_decode((uint8_t *)buf, buf, strlen(buf));
  assert_int_equal(r, 6);
  assert_memory_equal(buf, "abc%25", 6);
}

/* Every byte value percent-encoded decodes back to itself. */
static void test_pct_roundtrip(void **state) {
  (void)state;
  static const char hx[] = "0123456789ABCDEF";
  char enc[3 * 256];
  uint8_t dec[256];
  for (int i = 0; i < 256; i++) {
    enc[3 * i] = '%';
    enc[3 * i + 1] = hx[i >> 4];
    enc[3 * i + 2] = hx[i & 15];
  }
  assert_int_equal(wl_pct_decode(dec, enc, sizeof enc), 256);
  for (int i = 0; i < 256; i++) assert_int_equal(dec[i], i);
}

struct pair {
  const char *k, *v;
};

static void expect_pairs(const char *q, const struct pair *want, size_t nwant) {
  struct wl_query_iter it;
  size_t n = strlen(q);
  wl_query_init(&it, q, n);
  const char *k, *v;
  size_t kl, vl, i = 0;
  while (wl_query_next(&it, &k, &kl, &v, &vl)) {
    assert_true(i < nwant);
    assert_true(k >= q && k + kl <= q + n);
    assert_true(v >= q && v + vl <= q + n);
    assert_int_equal(kl, strlen(want[i].k));
    assert_memory_equal(k, want[i].k, kl);
    assert_int_equal(vl, strlen(want[i].v));
    if (vl) assert_memory_equal(v, want[i].v, vl);
    i++;
  }
  assert_int_equal(i, nwant);
  /* The end is sticky. */
  assert_false(wl_query_next(&it, &k, &kl, &v, &vl));
}

static void test_query_next(void **state) {
  (void)state;
  expect_pairs("", NULL, 0);
  expect_pairs("&", NULL, 0);
  expect_pairs("&&&", NULL, 0);
  static const struct pair p1[] = {{"a", "1"}, {"b", "2"}};
  expect_pairs("a=1&b=2", p1, 2);
  expect_pairs("&&a=1&&b=2&", p1, 2);
  static const struct pair p2[] = {{"flag", ""}, {"x", ""}, {"y", "=z"}};
  expect_pairs("flag&x=&y==z", p2, 3);
  static const struct pair p3[] = {{"", "v"}};
  expect_pairs("=v", p3, 1);
  static const struct pair p4[] = {{"info_hash", "%12%34+"}, {"port", "6881"}};
  expect_pairs("info_hash=%12%34+&port=6881", p4, 2);
  static const struct pair p5[] = {{"a", "b=c"}};
  expect_pairs("a=b=c", p5, 1);
}

/* The iterator reads only [q, q+n): a '&' or '=' just past the end is not seen. */
static void test_query_bounds(void **state) {
  (void)state;
  const char *q = "ab=cd&ef";
  struct wl_query_iter it;
  const char *k, *v;
  size_t kl, vl;
  wl_query_init(&it, q, 2);
  assert_true(wl_query_next(&it, &k, &kl, &v, &vl));
  assert_int_equal(kl, 2);
  assert_int_equal(vl, 0);
  assert_false(wl_query_next(&it, &k, &kl, &v, &vl));
  wl_query_init(&it, q, 5);
  assert_true(wl_query_next(&it, &k, &kl, &v, &vl));
  assert_int_equal(vl, 2);
  assert_false(wl_query_next(&it, &k, &kl, &v, &vl));
}

static void test_key_is(void **state) {
  (void)state;
  assert_true(wl_query_key_is("port", 4, "port"));
  assert_true(wl_query_key_is("portx", 4, "port"));
  assert_false(wl_query_key_is("port", 4, "ports"));
  assert_false(wl_query_key_is("por", 3, "port"));
  assert_false(wl_query_key_is("Port", 4, "port"));
  assert_true(wl_query_key_is("", 0, ""));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pct_decode),       cmocka_unit_test(test_pct_decode_bad),
      cmocka_unit_test(test_pct_decode_bounds), cmocka_unit_test(test_pct_decode_in_place),
      cmocka_unit_test(test_pct_roundtrip),    cmocka_unit_test(test_query_next),
      cmocka_unit_test(test_query_bounds),     cmocka_unit_test(test_key_is),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
