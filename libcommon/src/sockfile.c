/* Unix socket files of listeners (wl/sockfile.h). */
#include "wl/sockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "wl/error.h"

int wl_sockfile_lock(const char *path, char *why, size_t whylen) {
  char lock[4096];
  if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock) {
    snprintf(why, whylen, "socket path too long: %s", path);
    return WL_EIO;
  }
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(why, whylen, "cannot open %s: %s", lock, strerror(errno));
    return WL_EIO;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) {
      snprintf(why, whylen, "another process listens on %s (a second instance on the same data "
                            "directory?)", path);
      return WL_EEXISTS;
    }
    snprintf(why, whylen, "cannot lock %s: %s", lock, strerror(e));
    return WL_EIO;
  }
  if (unlink(path) != 0 && errno != ENOENT) { /* a stale socket file: its owner is gone */
    snprintf(why, whylen, "cannot remove the stale socket %s: %s", path, strerror(errno));
    close(fd);
    return WL_EIO;
  }
  return fd;
}
