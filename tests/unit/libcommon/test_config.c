/* config: defaults, derived values, and an invalid value names the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/config.h"
#include "wl/error.h"

static void defaults(void **state) {
  struct wl_config c;
  char err[256];
  unsetenv("WL_ANNOUNCE_INTERVAL");
  unsetenv("WL_PEER_TTL");
  assert_int_equal(wl_config_load(&c, err, sizeof err), 0);
  assert_string_equal(c.http_addr, "0.0.0.0:8080");
  assert_string_equal(c.data_dir, "./var");
  assert_int_equal(c.announce_interval, 1800);
  assert_int_equal(c.min_interval, 900);
  assert_int_equal(c.peer_ttl, 2 * 1800 + 60);
  assert_int_equal(c.numwant_max, 200);
  assert_int_equal(c.scrape_max, 64);
  assert_true(c.rate_limit_rps == 5.0);
  assert_int_equal(c.rate_limit_burst, 10);
  assert_false(c.require_registered);
}

static void overrides_and_derived(void **state) {
  struct wl_config c;
  char err[256];
  setenv("WL_ANNOUNCE_INTERVAL", "60", 1);
  setenv("WL_MIN_INTERVAL", "600", 1); /* capped at the interval */
  setenv("WL_REQUIRE_REGISTERED", "1", 1);
  setenv("WL_RATE_LIMIT_RPS", "0.5", 1);
  assert_int_equal(wl_config_load(&c, err, sizeof err), 0);
  assert_int_equal(c.announce_interval, 60);
  assert_int_equal(c.min_interval, 60);
  assert_int_equal(c.peer_ttl, 180);
  assert_true(c.require_registered);
  assert_true(c.rate_limit_rps == 0.5);
  unsetenv("WL_ANNOUNCE_INTERVAL");
  unsetenv("WL_MIN_INTERVAL");
  unsetenv("WL_REQUIRE_REGISTERED");
  unsetenv("WL_RATE_LIMIT_RPS");
}

static void invalid_values_name_the_variable(void **state) {
  struct wl_config c;
  char err[256];
  const struct { const char *name, *value; } bad[] = {
      {"WL_ANNOUNCE_INTERVAL", "abc"}, {"WL_ANNOUNCE_INTERVAL", "5"},
      {"WL_NUMWANT_MAX", "-1"},        {"WL_SCRAPE_MAX", "12x"},
      {"WL_ALLOW_IP_PARAM", "maybe"},  {"WL_RATE_LIMIT_RPS", "fast"},
      {"WL_PEER_TTL", "99999999999999999999999"}, {"WL_DATA_DIR", ""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    setenv(bad[i].name, bad[i].value, 1);
    assert_int_equal(wl_config_load(&c, err, sizeof err), WL_EINVAL);
    assert_non_null(strstr(err, bad[i].name));
    unsetenv(bad[i].name);
  }
}

static void endpoints(void **state) {
  struct wl_config c;
  char err[256], out[128];
  setenv("WL_DATA_DIR", "/tmp/x", 1);
  assert_int_equal(wl_config_load(&c, err, sizeof err), 0);
  assert_int_equal(wl_config_endpoint(&c, c.announce_bus, "announce.ipc", out, sizeof out), 0);
  assert_string_equal(out, "ipc:///tmp/x/announce.ipc");
  assert_int_equal(wl_config_endpoint(&c, "tcp://1.2.3.4:5", "x", out, sizeof out), 0);
  assert_string_equal(out, "tcp://1.2.3.4:5");
  assert_int_equal(wl_config_endpoint(&c, "", "x", out, 8), WL_ETOOBIG);
  unsetenv("WL_DATA_DIR");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(defaults),
      cmocka_unit_test(overrides_and_derived),
      cmocka_unit_test(invalid_values_name_the_variable),
      cmocka_unit_test(endpoints),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
