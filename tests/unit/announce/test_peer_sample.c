/* peer_sample.c: answers composed from peer lists (requester excluded, seeders get leechers,
 * numwant, proportions, IPv6) and the worker's sample cache (freshness, size, bounds,
 * references). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "peer_sample.h"

/* n IPv4 peers 10.0.<tag>.<i>:6881 in p */
static void make4(uint8_t *p, size_t n, uint8_t tag) {
  for (size_t i = 0; i < n; i++) {
    uint8_t *e = p + 6 * i;
    e[0] = 10, e[1] = 0, e[2] = tag, e[3] = (uint8_t)i, e[4] = 0x1a, e[5] = 0xe1;
  }
}

struct out {
  struct wl_buf p4, p6;
  struct wl_peer_out o;
};

static void out_init(struct out *o) {
  wl_buf_init(&o->p4, 1 << 20);
  wl_buf_init(&o->p6, 1 << 20);
  o->o = (struct wl_peer_out){&o->p4, &o->p6};
}

static void out_release(struct out *o) {
  wl_buf_release(&o->p4);
  wl_buf_release(&o->p6);
}

static size_t count_tag(const struct wl_buf *b, uint8_t tag) {
  size_t n = 0;
  for (size_t i = 0; i + 6 <= b->len; i += 6) n += b->data[i + 2] == tag;
  return n;
}

static bool distinct(const struct wl_buf *b, size_t stride) {
  for (size_t i = 0; i < b->len; i += stride)
    for (size_t j = i + stride; j < b->len; j += stride)
      if (memcmp(b->data + i, b->data + j, stride) == 0) return false;
  return true;
}

static void small_swarm_everyone_but_self(void **state) {
  (void)state;
  uint8_t s4[6 * 3], l4[6 * 4];
  make4(s4, 3, 1);
  make4(l4, 4, 2);
  struct wl_peer_list s = {.p4 = s4, .n4 = 3}, l = {.p4 = l4, .n4 = 4};
  uint64_t rng = 42;
  struct out o;
  out_init(&o);
  /* a leecher (it is leecher 2) gets 3 seeders + 3 other leechers */
  assert_int_equal(wl_psample_compose(&s, &l, false, 50, l4 + 12, 6, &rng, &o.o), 0);
  assert_int_equal(o.p4.len, 6 * 6);
  assert_int_equal(count_tag(&o.p4, 1), 3);
  assert_int_equal(count_tag(&o.p4, 2), 3);
  for (size_t i = 0; i < o.p4.len; i += 6) assert_memory_not_equal(o.p4.data + i, l4 + 12, 6);
  assert_true(distinct(&o.p4, 6));
  /* a seeder gets leechers only */
  wl_buf_reset(&o.p4);
  assert_int_equal(wl_psample_compose(&s, &l, true, 50, s4, 6, &rng, &o.o), 0);
  assert_int_equal(o.p4.len, 4 * 6);
  assert_int_equal(count_tag(&o.p4, 1), 0);
  /* numwant 0: nothing */
  wl_buf_reset(&o.p4);
  assert_int_equal(wl_psample_compose(&s, &l, false, 0, s4, 6, &rng, &o.o), 0);
  assert_int_equal(o.p4.len, 0);
  out_release(&o);
}

static void big_swarm_numwant_and_proportions(void **state) {
  (void)state;
  static uint8_t s4[6 * 150], l4[6 * 50];
  make4(s4, 150, 1);
  make4(l4, 50, 2);
  struct wl_peer_list s = {.p4 = s4, .n4 = 150}, l = {.p4 = l4, .n4 = 50};
  struct out o;
  out_init(&o);
  uint64_t rng = 7;
  bool differs = false;
  uint8_t first[6 * 20];
  for (int round = 0; round < 20; round++) {
    wl_buf_reset(&o.p4);
    /* the requester is seeder 10: never in its answer */
    assert_int_equal(wl_psample_compose(&s, &l, false, 20, s4 + 60, 6, &rng, &o.o), 0);
    assert_int_equal(o.p4.len, 20 * 6);
    assert_int_equal(count_tag(&o.p4, 1), 15); /* 149 : 50 of 20, rounded */
    assert_int_equal(count_tag(&o.p4, 2), 5);
    assert_true(distinct(&o.p4, 6));
    for (size_t i = 0; i < o.p4.len; i += 6) assert_memory_not_equal(o.p4.data + i, s4 + 60, 6);
    if (round == 0) memcpy(first, o.p4.data, sizeof first);
    else if (memcmp(first, o.p4.data, sizeof first) != 0) differs = true;
  }
  assert_true(differs); /* requesters of one sample get different peers */
  /* few seeders: the answer is still full, in proportion (2 : 149 of 50 -> 1 + 49) */
  struct wl_peer_list s2 = {.p4 = s4, .n4 = 2};
  static uint8_t l150[6 * 150];
  make4(l150, 150, 2);
  struct wl_peer_list lb = {.p4 = l150, .n4 = 150};
  wl_buf_reset(&o.p4);
  assert_int_equal(wl_psample_compose(&s2, &lb, false, 50, l150, 6, &rng, &o.o), 0);
  assert_int_equal(count_tag(&o.p4, 1), 1);
  assert_int_equal(count_tag(&o.p4, 2), 49);
  /* a seeder of that swarm: 50 leechers */
  wl_buf_reset(&o.p4);
  assert_int_equal(wl_psample_compose(&s2, &lb, true, 50, s4, 6, &rng, &o.o), 0);
  assert_int_equal(count_tag(&o.p4, 2), 50);
  out_release(&o);
}

static void ipv6(void **state) {
  (void)state;
  uint8_t s4[6 * 2], s6[18 * 2];
  make4(s4, 2, 1);
  memset(s6, 0x20, sizeof s6);
  s6[17] = 1;
  struct wl_peer_list s = {.p4 = s4, .n4 = 2, .p6 = s6, .n6 = 2};
  struct wl_peer_list l = {0};
  struct out o;
  out_init(&o);
  uint64_t rng = 3;
  /* an IPv6 leecher whose address is the first IPv6 seeder's: everyone else */
  assert_int_equal(wl_psample_compose(&s, &l, false, 50, s6, 18, &rng, &o.o), 0);
  assert_int_equal(o.p4.len, 12);
  assert_int_equal(o.p6.len, 18);
  assert_memory_equal(o.p6.data, s6 + 18, 18);
  out_release(&o);
}

static void cache_freshness_size_and_references(void **state) {
  (void)state;
  struct wl_scache c;
  assert_int_equal(wl_scache_init(&c, 16, 2), 0);
  uint8_t h1[20] = {1}, h2[20] = {2}, h3[20] = {3};
  uint8_t s4[6 * 3];
  make4(s4, 3, 1);
  struct wl_peer_list s = {.p4 = s4, .n4 = 3}, l = {0};
  struct wl_scache_entry *e = wl_scache_get(&c, h1);
  assert_non_null(e);
  assert_int_equal(e->touched_ms, 0);
  assert_null(wl_scache_sample(&c, e, 50, 1000));
  wl_scache_store(&c, h1, wl_psample_new(&s, &l, 101, 0, 0, 2000));
  e = wl_scache_get(&c, h1);
  struct wl_psample *p = wl_scache_sample(&c, e, 50, 1999);
  assert_non_null(p);
  assert_int_equal(p->s.n4, 3);
  assert_memory_equal(p->s.p4, s4, sizeof s4);
  assert_null(wl_scache_sample(&c, e, 101, 1999)); /* numwant too big for this sample */
  /* the cache forgets everything; the reference taken above stays valid */
  wl_scache_clear(&c);
  assert_int_equal(p->refs, 1);
  assert_memory_equal(p->s.p4, s4, sizeof s4);
  wl_psample_unref(p);
  /* expiry */
  wl_scache_store(&c, h1, wl_psample_new(&s, &l, 101, 0, 0, 2000));
  e = wl_scache_get(&c, h1);
  assert_null(wl_scache_sample(&c, e, 50, 2000));
  assert_int_equal(c.samples, 0);
  /* a swarm that changed by more than an eighth is sampled again */
  wl_scache_store(&c, h1, wl_psample_new(&s, &l, 101, 16, 16, 5000));
  e = wl_scache_get(&c, h1);
  e->ns = 18, e->nl = 14;
  p = wl_scache_sample(&c, e, 50, 1000);
  assert_non_null(p);
  wl_psample_unref(p);
  e->nl = 13;
  assert_null(wl_scache_sample(&c, e, 50, 1000));
  assert_int_equal(c.samples, 0);
  /* at most max_samples samples */
  wl_scache_store(&c, h1, wl_psample_new(&s, &l, 101, 0, 0, 5000));
  wl_scache_store(&c, h2, wl_psample_new(&s, &l, 101, 0, 0, 5000));
  wl_scache_store(&c, h3, wl_psample_new(&s, &l, 101, 0, 0, 5000));
  assert_int_equal(c.samples, 2);
  assert_null(wl_scache_get(&c, h3)->sample);
  /* a full table is cleared rather than refusing a swarm */
  for (int i = 0; i < 40; i++) {
    uint8_t h[20] = {0};
    h[0] = 100, h[1] = (uint8_t)i;
    assert_non_null(wl_scache_get(&c, h));
  }
  assert_true(c.map.n <= 16);
  wl_scache_release(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(small_swarm_everyone_but_self),
      cmocka_unit_test(big_swarm_numwant_and_proportions),
      cmocka_unit_test(ipv6),
      cmocka_unit_test(cache_freshness_size_and_references),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
