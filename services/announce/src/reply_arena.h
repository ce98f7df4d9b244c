/* hiredis reply objects from an arena instead of malloc.
 *
 * hiredis builds every reply with one or two mallocs per element (a 100-peer list: ~200), and
 * the worker's profile showed malloc/free at a quarter of its CPU. Only one reply tree is ever
 * alive on a connection: hiredis builds a reply, hands it to its callback, then frees it before
 * building the next (a partial reply waiting for more bytes is that same tree). So replies are
 * carved from one arena and "freeing" a reply (hiredis only frees whole replies) resets it.
 * Callbacks must not keep a reply (or a pointer into it) after they return; none does.
 * One arena per connection's reader; install with wl_rarena_attach after each connect. */
#ifndef WL_ANNOUNCE_REPLY_ARENA_H
#define WL_ANNOUNCE_REPLY_ARENA_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct wl_rarena_chunk;

struct wl_rarena {
  unsigned char *base; /* the resident block */
  size_t cap, used;
  struct wl_rarena_chunk *big; /* overflow chunks of the current reply, freed on reset */
};

int wl_rarena_init(struct wl_rarena *a, size_t cap);
void wl_rarena_release(struct wl_rarena *a);
/* Makes reader r build its replies in a. */
void wl_rarena_attach(struct wl_rarena *a, redisReader *r);

#endif
