/* The registry's NNG sockets and its single-threaded loop (bus.c). */
#ifndef WL_REGISTRY_BUS_H
#define WL_REGISTRY_BUS_H

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <stdbool.h>

#include "registry.h"

struct wl_registry_bus {
  struct wl_registry *reg;
  nng_socket rep, pub, pull;
  int rep_fd, pull_fd; /* NNG_OPT_RECVFD: readable when a message waits */
  bool open;
};

/* Before the database is opened: takes the locks of the bus's ipc socket files (wl/sockfile.h;
 * stale files are removed) into locks (-1 for tcp endpoints). A lock another process holds
 * (another registry on this data directory) is WL_EIO, logged, and nothing is held. Release
 * them with wl_registry_bus_unlock after wl_registry_bus_close. */
int wl_registry_bus_lock(const struct wl_config *cfg, int locks[3]);
void wl_registry_bus_unlock(int locks[3]);
/* Opens the three sockets, listens on the configured addresses (their ipc socket files taken
 * with wl_registry_bus_lock) and makes reg publish its events on the pub socket. On error the
 * caller still calls wl_registry_bus_close. */
int wl_registry_bus_open(struct wl_registry_bus *bus, struct wl_registry *reg);
/* Serves until sigfd (a signalfd for SIGTERM/SIGINT, or -1) fires; then applies the swarm
 * figures already received and returns 0. */
int wl_registry_bus_run(struct wl_registry_bus *bus, int sigfd);
void wl_registry_bus_close(struct wl_registry_bus *bus);
/* Blocks SIGTERM and SIGINT in the calling thread (call it before any NNG socket exists, so
 * NNG's threads inherit the mask) and returns a signalfd for them, or -1. */
int wl_registry_signalfd(void);

#endif
