/* Token bucket per client IP (IPv6 bucketed by /64): WL_RATE_LIMIT_RPS tokens a second up to
 * WL_RATE_LIMIT_BURST. The table holds at most WL_RATE_LIMIT_TABLE addresses; when it is full,
 * buckets idle long enough to be full again are evicted (forgetting a full bucket loses
 * nothing), at most one sweep a second. If the table is still full, a new address is served
 * untracked rather than refused: a flood from millions of addresses cannot exhaust memory, and
 * one that large would defeat a per-address limit anyway. */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct bucket {
  double tokens;
  uint64_t last_ms;
};

struct ratelimit {
  struct wl_hashmap map;
  double rps, burst;
  uint64_t last_sweep_ms;
  uint64_t untracked;
};

struct ratelimit *wl_ratelimit_new(const struct wl_config *cfg) {
  if (cfg->rate_limit_rps <= 0) return NULL; /* limiting off */
  struct ratelimit *rl = calloc(1, sizeof *rl);
  if (!rl) return NULL;
  rl->rps = cfg->rate_limit_rps;
  rl->burst = (double)cfg->rate_limit_burst;
  if (wl_hashmap_init(&rl->map, sizeof(struct bucket), (size_t)cfg->rate_limit_table) < 0) {
    free(rl);
    return NULL;
  }
  return rl;
}

void wl_ratelimit_free(struct ratelimit *rl) {
  if (!rl) return;
  wl_hashmap_release(&rl->map);
  free(rl);
}

static void sweep(struct ratelimit *rl, uint64_t now) {
  uint64_t full_after_ms = (uint64_t)(rl->burst / rl->rps * 1000.0) + 1;
  size_t it = 0;
  const uint8_t *key;
  void *val;
  /* removal shifts entries back: restart the slot after a removal */
  while (wl_hashmap_next(&rl->map, &it, &key, &val)) {
    struct bucket *b = val;
    if (now - b->last_ms >= full_after_ms) {
      uint8_t k[20];
      memcpy(k, key, 20);
      wl_hashmap_remove(&rl->map, k);
      it--;
    }
  }
}

bool wl_ratelimit_take(struct ratelimit *rl, const uint8_t *ip, uint8_t ip_len, uint64_t now) {
  uint8_t key[20] = {0};
  memcpy(key, ip, ip_len == 16 ? 8 : ip_len); /* IPv6: the /64 */
  key[19] = ip_len;
  struct bucket *b = wl_hashmap_get(&rl->map, key);
  if (!b) {
    bool created;
    if (rl->map.n >= rl->map.max && now - rl->last_sweep_ms >= 1000) {
      rl->last_sweep_ms = now;
      sweep(rl, now);
    }
    b = wl_hashmap_put(&rl->map, key, &created);
    if (!b) {
      rl->untracked++;
      return true;
    }
    b->tokens = rl->burst;
    b->last_ms = now;
  }
  b->tokens += (double)(now - b->last_ms) * rl->rps / 1000.0;
  if (b->tokens > rl->burst) b->tokens = rl->burst;
  b->last_ms = now;
  if (b->tokens < 1.0) return false; /* a refused request takes no token */
  b->tokens -= 1.0;
  return true;
}

void wl_ratelimit_stats(const struct ratelimit *rl, uint64_t *entries, uint64_t *untracked) {
  *entries = rl ? rl->map.n : 0;
  *untracked = rl ? rl->untracked : 0;
}
