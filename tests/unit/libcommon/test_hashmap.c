/* hashmap: against a brute-force model under random inserts and removals (backward-shift
 * deletion is where such tables break), plus the hard cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/hashmap.h"

enum { N = 3000 };

static void model_check(void **state) {
  static uint8_t keys[N][20];
  static bool present[N];
  struct wl_hashmap m;
  assert_int_equal(wl_hashmap_init(&m, sizeof(uint32_t), 1000000), 0);
  unsigned seed = 42;
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 20; k++) keys[i][k] = (uint8_t)rand_r(&seed);
  /* collide on purpose: many keys share their first 8 bytes (the hash input) */
  for (int i = 0; i < N / 3; i++) memcpy(keys[i], keys[0], 8);
  size_t count = 0;
  for (int step = 0; step < 60000; step++) {
    int i = rand_r(&seed) % N;
    if (rand_r(&seed) % 3) {
      bool created;
      uint32_t *v = wl_hashmap_put(&m, keys[i], &created);
      assert_non_null(v);
      assert_int_equal(created, !present[i]);
      *v = (uint32_t)i;
      if (!present[i]) count++;
      present[i] = true;
    } else {
      assert_int_equal(wl_hashmap_remove(&m, keys[i]), present[i]);
      if (present[i]) count--;
      present[i] = false;
    }
    if (step % 1000 == 0) {
      for (int j = 0; j < N; j++) {
        uint32_t *v = wl_hashmap_get(&m, keys[j]);
        if (present[j]) {
          assert_non_null(v);
          assert_int_equal(*v, j);
        } else {
          assert_null(v);
        }
      }
      assert_int_equal(m.n, count);
    }
  }
  size_t it = 0, seen = 0;
  const uint8_t *k;
  void *v;
  while (wl_hashmap_next(&m, &it, &k, &v)) seen++;
  assert_int_equal(seen, count);
  wl_hashmap_release(&m);
}

static void cap(void **state) {
  struct wl_hashmap m;
  assert_int_equal(wl_hashmap_init(&m, 0, 2), 0);
  uint8_t a[20] = {1}, b[20] = {2}, c[20] = {3};
  assert_non_null(wl_hashmap_put(&m, a, NULL));
  assert_non_null(wl_hashmap_put(&m, b, NULL));
  assert_null(wl_hashmap_put(&m, c, NULL));
  assert_non_null(wl_hashmap_put(&m, a, NULL)); /* existing keys still found */
  wl_hashmap_clear(&m);
  assert_int_equal(m.n, 0);
  assert_null(wl_hashmap_get(&m, a));
  wl_hashmap_release(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(model_check), cmocka_unit_test(cap)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
