/* Peer lists of an announce answer, and the worker's short-lived samples of hot swarms.
 *
 * Redis keeps every peer; sampling a big swarm there (ZRANDMEMBER) is the most expensive part of
 * an announce (~50 µs of Redis CPU on 200-peer swarms, against ~8 µs for the writes). So a
 * worker asks Redis for a random sample of a big swarm (up to k seeders and k leechers) once,
 * keeps it for WL_PEER_SAMPLE_MS, and answers the announces of that swarm in the meantime from
 * it while Redis does only the writes. Small swarms (every eligible peer fits in numwant) are
 * always read fresh, whole, so their answers are exact. What a sample trades: a peer that joined
 * or left in the last WL_PEER_SAMPLE_MS may be missing from or still in an answer; `complete`,
 * `incomplete` and the requester's own exclusion stay exact.
 *
 * The same cache keeps, per swarm, when this worker last "touched" it (refreshed key TTLs,
 * trimmed expired peers, read the completions): an announce does that at most once per touch
 * interval per worker instead of every time.
 *
 * Not thread-safe: one per worker, used on its loop. */
#ifndef WL_ANNOUNCE_PEER_SAMPLE_H
#define WL_ANNOUNCE_PEER_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"
#include "wl/hashmap.h"

/* One set of peers (seeders or leechers): packed IPv4 (6-byte) and IPv6 (18-byte) entries. */
struct wl_peer_list {
  const uint8_t *p4;
  size_t n4;
  const uint8_t *p6;
  size_t n6;
};

/* Where a composed answer goes. */
struct wl_peer_out {
  struct wl_buf *p4, *p6;
};

/* The answer for one requester: up to numwant peers, never the requester itself (self: its
 * packed address, 6 or 18 bytes); a seeder gets leechers only; a leecher gets seeders and
 * leechers in proportion to their numbers. Which peers: a window at a random offset (*rng,
 * xorshift64) of each list, so requesters of one sample get different peers. */
/* The worker's random numbers (xorshift64*; *s is its state, any value). */
uint64_t wl_psample_rand(uint64_t *s);

int wl_psample_compose(const struct wl_peer_list *seeders, const struct wl_peer_list *leechers,
                       bool seeder, size_t numwant, const uint8_t *self, size_t self_len,
                       uint64_t *rng, const struct wl_peer_out *out);

/* A swarm's sample: immutable once made, reference-counted (an announce in flight holds one
 * while the cache may drop it). */
struct wl_psample {
  int refs;
  uint64_t expires_ms;
  uint32_t k; /* most peers per set asked of Redis: it serves numwant < k */
  uint32_t ns, nl; /* the swarm's seeders and leechers when it was taken */
  struct wl_peer_list s, l;
  uint8_t data[];
};

/* Copies the lists. Returns NULL on allocation failure. refs = 1. */
struct wl_psample *wl_psample_new(const struct wl_peer_list *s, const struct wl_peer_list *l,
                                  uint32_t k, uint32_t ns, uint32_t nl, uint64_t expires_ms);
void wl_psample_unref(struct wl_psample *p);

struct wl_scache_entry {
  uint64_t touched_ms; /* 0: never */
  struct wl_psample *sample;
  uint32_t ns, nl; /* the swarm's seeders and leechers when this worker last saw it */
  uint64_t done;    /* its completions when this worker last read them (touch) or added one */
};

struct wl_scache {
  struct wl_hashmap map; /* info hash -> struct wl_scache_entry */
  size_t samples, max_samples;
};

int wl_scache_init(struct wl_scache *c, size_t max_swarms, size_t max_samples);
/* Drops every entry (and its sample reference). */
void wl_scache_clear(struct wl_scache *c);
void wl_scache_release(struct wl_scache *c);
/* The entry of hash, created empty if absent; a full table is cleared first (entries are only a
 * cache). NULL only when out of memory. Valid until the next call on c. */
struct wl_scache_entry *wl_scache_get(struct wl_scache *c, const uint8_t hash[20]);
/* The entry of hash, or NULL. Valid until the next call on c. */
struct wl_scache_entry *wl_scache_find(struct wl_scache *c, const uint8_t hash[20]);
/* The entry's sample when it is fresh at now_ms, serves numwant, and the swarm has not changed
 * much since (each of the entry's last known counts within an eighth of the sample's: a growing
 * or shrinking swarm is sampled again), with a reference taken for the caller
 * (wl_psample_unref when done); else NULL. */
struct wl_psample *wl_scache_sample(struct wl_scache *c, struct wl_scache_entry *e, size_t numwant,
                                    uint64_t now_ms);
/* Makes p (its reference passes to the cache) the sample of hash, unless max_samples are held. */
void wl_scache_store(struct wl_scache *c, const uint8_t hash[20], struct wl_psample *p);

#endif
