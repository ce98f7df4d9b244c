/* Unix socket files of listeners: a stale one is removed, a live one is left alone. */
#ifndef WL_SOCKFILE_H
#define WL_SOCKFILE_H

#include <stddef.h>

/* Makes path free for a listener: 0 when nothing is there or the socket file there was left
 * by a process that died (nothing accepts on it: it is removed). WL_EEXISTS, removing nothing,
 * when a live process accepts on it (a second instance on the same data directory would
 * otherwise cut the first off its peers), or WL_EIO when that cannot be told (connect failed
 * otherwise, e.g. EACCES on another user's socket); why says which, for the log. Not atomic,
 * as every stale-socket check: two processes starting in the same instant can both find the
 * file stale. A path too long for a socket address is left for the bind to refuse (0). */
int wl_sockfile_claim(const char *path, char *why, size_t whylen);

#endif
