/* Unix socket files of listeners, each guarded by a lock file next to it. */
#ifndef WL_SOCKFILE_H
#define WL_SOCKFILE_H

#include <stddef.h>

/* Takes the lock <path>.lock (flock, exclusive) for a listener about to bind the socket file
 * path, and removes a socket file left at path by a process that died (its lock died with it).
 * Returns the lock's descriptor (>= 0, close-on-exec: held until closed or the process ends;
 * remove the socket file before closing it), WL_EEXISTS when a live process holds the lock (a
 * second instance on the same data directory would otherwise cut the first off its peers), or
 * WL_EIO; why says which, for the log. No connection is made to a live listener (a probe
 * connect would show up there, and NNG 1.5.2 leaks a pipe closed during its handshake). */
int wl_sockfile_lock(const char *path, char *why, size_t whylen);

#endif
