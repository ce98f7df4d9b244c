/* Peer lists of an announce answer and the worker's sample cache; see peer_sample.h. */
#include "peer_sample.h"

#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

uint64_t wl_psample_rand(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull; /* xorshift64*: a zero state would stay zero */
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

static bool holds(const struct wl_peer_list *l, const uint8_t *self, size_t self_len) {
  const uint8_t *p = self_len == 6 ? l->p4 : l->p6;
  size_t n = self_len == 6 ? l->n4 : l->n6;
  for (size_t i = 0; i < n; i++)
    if (memcmp(p + i * self_len, self, self_len) == 0) return true;
  return false;
}

static size_t available(const struct wl_peer_list *l, const uint8_t *self, size_t self_len) {
  size_t n = l->n4 + l->n6;
  return n > 0 && holds(l, self, self_len) ? n - 1 : n;
}

/* Appends want entries of l (fewer if it has fewer), from a random offset on, skipping self. */
static int pick(const struct wl_peer_list *l, size_t want, const uint8_t *self, size_t self_len,
                uint64_t *rng, const struct wl_peer_out *out) {
  size_t n = l->n4 + l->n6;
  if (want == 0 || n == 0) return 0;
  size_t j = want >= n ? 0 : (size_t)(wl_psample_rand(rng) % n);
  int rv = 0;
  for (size_t i = 0, got = 0; i < n && got < want && rv == 0; i++, j = j + 1 == n ? 0 : j + 1) {
    bool v4 = j < l->n4;
    const uint8_t *e = v4 ? l->p4 + j * 6 : l->p6 + (j - l->n4) * 18;
    size_t len = v4 ? 6 : 18;
    if (len == self_len && memcmp(e, self, len) == 0) continue;
    rv = wl_buf_append(v4 ? out->p4 : out->p6, e, len);
    got++;
  }
  return rv;
}

int wl_psample_compose(const struct wl_peer_list *seeders, const struct wl_peer_list *leechers,
                       bool seeder, size_t numwant, const uint8_t *self, size_t self_len,
                       uint64_t *rng, const struct wl_peer_out *out) {
  size_t as = seeder ? 0 : available(seeders, self, self_len);
  size_t al = available(leechers, self, self_len);
  size_t ks = as, kl = al;
  if (as + al > numwant) {
    ks = (size_t)((double)numwant * (double)as / (double)(as + al) + 0.5);
    if (ks > as) ks = as;
    kl = numwant - ks;
    if (kl > al) {
      kl = al;
      ks = numwant - kl;
    }
  }
  int rv = pick(seeders, ks, self, self_len, rng, out);
  if (rv == 0) rv = pick(leechers, kl, self, self_len, rng, out);
  return rv;
}

static size_t list_bytes(const struct wl_peer_list *l) { return l->n4 * 6 + l->n6 * 18; }

static uint8_t *copy_list(struct wl_peer_list *dst, const struct wl_peer_list *src, uint8_t *at) {
  memset(dst, 0, sizeof *dst);
  dst->n4 = src->n4;
  dst->n6 = src->n6;
  dst->p4 = at;
  if (src->n4) memcpy(at, src->p4, src->n4 * 6);
  at += src->n4 * 6;
  dst->p6 = at;
  if (src->n6) memcpy(at, src->p6, src->n6 * 18);
  return at + src->n6 * 18;
}

struct wl_psample *wl_psample_new(const struct wl_peer_list *s, const struct wl_peer_list *l,
                                  uint32_t k, uint32_t ns, uint32_t nl, uint64_t expires_ms) {
  struct wl_psample *p = malloc(sizeof *p + list_bytes(s) + list_bytes(l));
  if (p == NULL) return NULL;
  p->refs = 1;
  p->k = k;
  p->ns = ns;
  p->nl = nl;
  p->expires_ms = expires_ms;
  copy_list(&p->l, l, copy_list(&p->s, s, p->data));
  return p;
}

void wl_psample_unref(struct wl_psample *p) {
  if (p && --p->refs == 0) free(p);
}

int wl_scache_init(struct wl_scache *c, size_t max_swarms, size_t max_samples) {
  memset(c, 0, sizeof *c);
  c->max_samples = max_samples;
  return wl_hashmap_init(&c->map, sizeof(struct wl_scache_entry), max_swarms);
}

void wl_scache_clear(struct wl_scache *c) {
  const uint8_t *k;
  void *v;
  for (size_t i = 0; wl_hashmap_next(&c->map, &i, &k, &v);)
    wl_psample_unref(((struct wl_scache_entry *)v)->sample);
  wl_hashmap_clear(&c->map);
  c->samples = 0;
}

void wl_scache_release(struct wl_scache *c) {
  wl_scache_clear(c);
  wl_hashmap_release(&c->map);
}

struct wl_scache_entry *wl_scache_get(struct wl_scache *c, const uint8_t hash[20]) {
  struct wl_scache_entry *e = wl_hashmap_put(&c->map, hash, NULL);
  if (e == NULL && c->map.n > 0) {
    wl_scache_clear(c); /* full: a cache may forget everything */
    e = wl_hashmap_put(&c->map, hash, NULL);
  }
  return e;
}

struct wl_scache_entry *wl_scache_find(struct wl_scache *c, const uint8_t hash[20]) {
  return wl_hashmap_get(&c->map, hash);
}

static bool drifted(uint32_t then, uint32_t now) {
  uint32_t d = then > now ? then - now : now - then;
  return d > then / 8;
}

struct wl_psample *wl_scache_sample(struct wl_scache *c, struct wl_scache_entry *e, size_t numwant,
                                    uint64_t now_ms) {
  struct wl_psample *p = e->sample;
  if (p == NULL) return NULL;
  if (p->expires_ms <= now_ms || drifted(p->ns, e->ns) || drifted(p->nl, e->nl)) {
    wl_psample_unref(p);
    e->sample = NULL;
    c->samples--;
    return NULL;
  }
  if (numwant >= p->k) return NULL;
  p->refs++;
  return p;
}

void wl_scache_store(struct wl_scache *c, const uint8_t hash[20], struct wl_psample *p) {
  struct wl_scache_entry *e = wl_scache_get(c, hash);
  if (e == NULL) {
    wl_psample_unref(p);
    return;
  }
  if (e->sample) {
    wl_psample_unref(e->sample);
    e->sample = NULL;
    c->samples--;
  }
  if (c->samples >= c->max_samples) {
    wl_psample_unref(p);
    return;
  }
  e->sample = p;
  c->samples++;
}
