/* 20-byte-key hash map (wl/hashmap.h). Keys are SHA-1/SHA-256 prefixes, already uniformly
 * distributed, so the first 8 bytes serve as the hash. Load factor kept under 1/2. */
#include "wl/hashmap.h"

#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

/* Slot layout: value (padded to 8 bytes, so values are aligned), key (20), used flag, padding
 * to a multiple of 8. */
static size_t val_size(const struct wl_hashmap *m) { return (m->vsize + 7) & ~(size_t)7; }
static size_t slot_size(const struct wl_hashmap *m) { return val_size(m) + 24; }
static uint8_t *slot(const struct wl_hashmap *m, size_t i) { return m->slots + i * slot_size(m); }
static uint8_t *skey(const struct wl_hashmap *m, uint8_t *s) { return s + val_size(m); }
static bool used(const struct wl_hashmap *m, uint8_t *s) { return s[val_size(m) + 20] != 0; }
static size_t home(const struct wl_hashmap *m, const uint8_t *key) {
  uint64_t h;
  memcpy(&h, key, 8);
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return (size_t)h & (m->cap - 1);
}

int wl_hashmap_init(struct wl_hashmap *m, size_t vsize, size_t max) {
  m->vsize = vsize;
  m->max = max;
  m->n = 0;
  m->cap = 16;
  m->slots = calloc(m->cap, slot_size(m));
  return m->slots ? 0 : WL_ENOMEM;
}

void wl_hashmap_release(struct wl_hashmap *m) {
  free(m->slots);
  m->slots = NULL;
  m->n = m->cap = 0;
}

void wl_hashmap_clear(struct wl_hashmap *m) {
  memset(m->slots, 0, m->cap * slot_size(m));
  m->n = 0;
}

static size_t find(const struct wl_hashmap *m, const uint8_t *key, bool *found) {
  size_t i = home(m, key);
  for (;;) {
    uint8_t *s = slot(m, i);
    if (!used(m, s)) {
      *found = false;
      return i;
    }
    if (memcmp(skey(m, s), key, 20) == 0) {
      *found = true;
      return i;
    }
    i = (i + 1) & (m->cap - 1);
  }
}

void *wl_hashmap_get(const struct wl_hashmap *m, const uint8_t key[20]) {
  if (m->slots == NULL) return NULL;
  bool found;
  size_t i = find(m, key, &found);
  return found ? slot(m, i) : NULL;
}

static int grow(struct wl_hashmap *m) {
  struct wl_hashmap nm = *m;
  nm.cap = m->cap * 2;
  nm.n = 0;
  nm.slots = calloc(nm.cap, slot_size(m));
  if (nm.slots == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    uint8_t *s = slot(m, i);
    if (!used(m, s)) continue;
    bool found;
    size_t j = find(&nm, skey(m, s), &found);
    memcpy(slot(&nm, j), s, slot_size(m));
    nm.n++;
  }
  free(m->slots);
  *m = nm;
  return 0;
}

void *wl_hashmap_put(struct wl_hashmap *m, const uint8_t key[20], bool *created) {
  bool found;
  size_t i = find(m, key, &found);
  if (created) *created = !found;
  if (found) return slot(m, i);
  if (m->n >= m->max) return NULL;
  if ((m->n + 1) * 2 > m->cap) {
    if (grow(m) < 0) return NULL;
    i = find(m, key, &found);
  }
  uint8_t *s = slot(m, i);
  memset(s, 0, slot_size(m));
  memcpy(skey(m, s), key, 20);
  s[val_size(m) + 20] = 1;
  m->n++;
  return s;
}

bool wl_hashmap_remove(struct wl_hashmap *m, const uint8_t key[20]) {
  if (m->slots == NULL) return false;
  bool found;
  size_t i = find(m, key, &found);
  if (!found) return false;
  /* Backward-shift deletion keeps probe chains intact without tombstones. */
  size_t j = i;
  for (;;) {
    memset(slot(m, i), 0, slot_size(m));
    for (;;) {
      j = (j + 1) & (m->cap - 1);
      uint8_t *s = slot(m, j);
      if (!used(m, s)) {
        m->n--;
        return true;
      }
      size_t k = home(m, skey(m, s));
      /* move s back to i unless its home lies cyclically in (i, j] */
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
      memcpy(slot(m, i), s, slot_size(m));
      i = j;
      break;
    }
  }
}

bool wl_hashmap_next(const struct wl_hashmap *m, size_t *iter, const uint8_t **key, void **val) {
  while (*iter < m->cap) {
    uint8_t *s = slot(m, (*iter)++);
    if (used(m, s)) {
      *key = skey(m, s);
      *val = s;
      return true;
    }
  }
  return false;
}
