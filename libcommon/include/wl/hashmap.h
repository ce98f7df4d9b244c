/* A map from 20-byte keys (info hashes) to a fixed-size value, open addressing with linear
 * probing and tombstone-free deletion (backward shift). Used for the workers' local blocklist,
 * registered set and per-second swarm figures. The table has a hard cap on entries set at init;
 * inserting past it fails with WL_ETOOBIG. Not thread-safe. */
#ifndef WL_HASHMAP_H
#define WL_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wl_hashmap {
  uint8_t *slots;  /* cap * (1 + 20 + vsize): used flag, key, value */
  size_t cap;      /* power of two */
  size_t n;
  size_t vsize;
  size_t max;
};

int wl_hashmap_init(struct wl_hashmap *m, size_t vsize, size_t max);
void wl_hashmap_release(struct wl_hashmap *m);
void wl_hashmap_clear(struct wl_hashmap *m);
/* Pointer to the value of key, or NULL. Valid until the next insert/remove. */
void *wl_hashmap_get(const struct wl_hashmap *m, const uint8_t key[20]);
/* Value slot for key, inserted zeroed if absent (*created says which). NULL on WL_ETOOBIG/NOMEM. */
void *wl_hashmap_put(struct wl_hashmap *m, const uint8_t key[20], bool *created);
bool wl_hashmap_remove(struct wl_hashmap *m, const uint8_t key[20]);
/* Iteration: for (size_t i = 0; wl_hashmap_next(m, &i, &k, &v);) */
bool wl_hashmap_next(const struct wl_hashmap *m, size_t *iter, const uint8_t **key, void **val);

#endif
