/* sockfile: a listener's socket file under its lock file. A stale socket file (its owner died:
 * no lock held) is removed; while the lock is held a second taker gets WL_EEXISTS and the
 * socket file stays; once the lock is closed it can be taken again; a lock file that cannot
 * be created is WL_EIO with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl/sockfile.h"

/* A socket file at path, bound and closed: what a process that died leaves behind. */
static void stale_socket(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void lock_cycle(void **state) {
  (void)state;
  char dir[] = "/tmp/wl-sockfile-XXXXXX", sock[128], lock[140], why[600];
  assert_non_null(mkdtemp(dir));
  snprintf(sock, sizeof sock, "%s/bus.ipc", dir);
  snprintf(lock, sizeof lock, "%s.lock", sock);

  /* nothing there yet */
  int a = wl_sockfile_lock(sock, why, sizeof why);
  assert_true(a >= 0);
  close(a);

  /* a stale socket file goes */
  stale_socket(sock);
  assert_true(exists(sock));
  a = wl_sockfile_lock(sock, why, sizeof why);
  assert_true(a >= 0);
  assert_false(exists(sock));

  /* held: a second taker is refused, and the live socket stays */
  stale_socket(sock); /* stands for the holder's live socket */
  why[0] = '\0';
  assert_int_equal(wl_sockfile_lock(sock, why, sizeof why), WL_EEXISTS);
  assert_non_null(strstr(why, "another process listens on"));
  assert_true(exists(sock));

  /* let go: taken again, the file (now stale) removed */
  close(a);
  a = wl_sockfile_lock(sock, why, sizeof why);
  assert_true(a >= 0);
  assert_false(exists(sock));
  close(a);

  /* no directory for the lock file */
  char missing[200];
  snprintf(missing, sizeof missing, "%s/no/such/dir/bus.ipc", dir);
  why[0] = '\0';
  assert_int_equal(wl_sockfile_lock(missing, why, sizeof why), WL_EIO);
  assert_non_null(strstr(why, "cannot open"));

  unlink(lock);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lock_cycle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
