/* buf: the hard cap holds, a failed append changes nothing, number formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wl/buf.h"
#include "wl/error.h"

static void cap_and_failed_append(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 10);
  assert_int_equal(wl_buf_appends(&b, "0123456789"), 0);
  assert_int_equal(wl_buf_appendc(&b, 'x'), WL_ETOOBIG);
  assert_int_equal(b.len, 10);
  assert_int_equal(wl_buf_append(&b, "", 0), 0);
  wl_buf_reset(&b);
  assert_int_equal(wl_buf_appendf(&b, "%s", "12345678901"), WL_ETOOBIG);
  assert_int_equal(b.len, 0);
  assert_int_equal(wl_buf_reserve(&b, SIZE_MAX), WL_ETOOBIG);
  wl_buf_release(&b);
}

static void numbers(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 100);
  wl_buf_append_i64(&b, INT64_MIN);
  wl_buf_appendc(&b, ' ');
  wl_buf_append_u64(&b, UINT64_MAX);
  wl_buf_appendc(&b, ' ');
  wl_buf_append_i64(&b, 0);
  wl_buf_appendc(&b, 0);
  assert_string_equal((char *)b.data, "-9223372036854775808 18446744073709551615 0");
  wl_buf_release(&b);
}

static void long_format(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 4096);
  char big[1000];
  memset(big, 'z', sizeof big - 1);
  big[sizeof big - 1] = 0;
  assert_int_equal(wl_buf_appendf(&b, "<%s>", big), 0);
  assert_int_equal(b.len, 1001);
  wl_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(cap_and_failed_append),
                                     cmocka_unit_test(numbers), cmocka_unit_test(long_format)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
