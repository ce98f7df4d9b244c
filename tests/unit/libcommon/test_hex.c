/* Unit tests of hex encoding and decoding (libcommon/src/hex.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl/hex.h"

static void test_encode(void **state) {
  (void)state;
  static const uint8_t in[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
  char out[2 * sizeof in + 1];
  memset(out, 'x', sizeof out);
  wl_hex_encode(out, in, sizeof in);
  assert_string_equal(out, "00017f80abcdefff");
  char empty[1] = {'x'};
  wl_hex_encode(empty, in, 0);
  assert_string_equal(empty, "");
}

static void test_decode(void **state) {
  (void)state;
  uint8_t out[8];
  assert_int_equal(wl_hex_decode(out, "00017f80abcdefff", 8), 0);
  static const uint8_t want[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
  assert_memory_equal(out, want, 8);
  /* Any case in. */
  assert_int_equal(wl_hex_decode(out, "ABCDEFabcdef09", 7), 0);
  static const uint8_t want2[] = {0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0x09};
  assert_memory_equal(out, want2, 7);
  /* Only the first 2n digits are read. */
  assert_int_equal(wl_hex_decode(out, "12zz", 1), 0);
  assert_int_equal(out[0], 0x12);
  assert_int_equal(wl_hex_decode(out, "", 0), 0);
}

static void test_decode_bad(void **state) {
  (void)state;
  uint8_t out[4];
  static const char *bad[] = {"0g", "g0", "-1", " 1", "1 ", "0x", ("\xff" "0"), "0\xff", ":0", "@A",
                              "`a", "Gg", "/0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(wl_hex_decode(out, bad[i], 1), WL_EPARSE);
  assert_int_equal(wl_hex_decode(out, "0011zz", 3), WL_EPARSE);
}

/* A string shorter than 2n digits: decoding stops at its NUL and reads nothing after it (the
 * heap copies are exactly sized so ASan would see an overread). */
static void test_decode_short_input(void **state) {
  (void)state;
  uint8_t out[20];
  char *odd = malloc(4);
  memcpy(odd, "abc", 4);
  assert_int_equal(wl_hex_decode(out, odd, 20), WL_EPARSE);
  free(odd);
  char *even = malloc(3);
  memcpy(even, "ab", 3);
  assert_int_equal(wl_hex_decode(out, even, 20), WL_EPARSE);
  free(even);
}

static void test_roundtrip(void **state) {
  (void)state;
  uint8_t in[256], back[256];
  char hex[513];
  for (int i = 0; i < 256; i++) in[i] = (uint8_t)i;
  wl_hex_encode(hex, in, sizeof in);
  assert_int_equal(strlen(hex), 512);
  assert_int_equal(wl_hex_decode(back, hex, sizeof back), 0);
  assert_memory_equal(in, back, sizeof in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_decode_bad),
      cmocka_unit_test(test_decode_short_input),
      cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
