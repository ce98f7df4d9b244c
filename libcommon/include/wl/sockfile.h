/* Unix socket files of listeners: a stale one is removed, a live one is left alone. */
#ifndef WL_SOCKFILE_H
#define WL_SOCKFILE_H

#include <stdbool.h>

/* Makes path free for a listener: removes a socket file left by a process that died (nothing
 * accepts on it) and returns true; returns false, removing nothing, when a live process
 * accepts on it (a second instance on the same data directory would otherwise cut the first
 * off its peers). Not atomic, as every stale-socket check: two processes starting in the same
 * instant can both find the file stale. A path too long for a socket address is left for the
 * bind to refuse. */
bool wl_sockfile_claim(const char *path);

#endif
