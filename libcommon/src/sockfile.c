/* Unix socket files of listeners (wl/sockfile.h). */
#include "wl/sockfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "wl/error.h"

int wl_sockfile_claim(const char *path, char *why, size_t whylen) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t n = strlen(path);
  if (n >= sizeof sa.sun_path) return 0;
  memcpy(sa.sun_path, path, n + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(why, whylen, "cannot check %s: socket: %s", path, strerror(errno));
    return WL_EIO;
  }
  /* a live listener accepts at once, or says EAGAIN with its backlog full */
  int rv = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
  close(fd);
  if (rv == ENOENT) return 0;
  if (rv == ECONNREFUSED) { /* stale (or not a socket at all: bind would refuse it anyway) */
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    snprintf(why, whylen, "cannot remove the stale socket %s: %s", path, strerror(errno));
    return WL_EIO;
  }
  if (rv == 0 || rv == EAGAIN) {
    snprintf(why, whylen, "another process listens on %s (a second instance on the same data "
                          "directory?)", path);
    return WL_EEXISTS;
  }
  snprintf(why, whylen, "cannot tell whether another process listens on %s: %s", path,
           strerror(rv));
  return WL_EIO;
}
