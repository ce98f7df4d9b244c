/* Live swarm figures: announce workers push the seeders, leechers and completions (absolute,
 * completions = total ever) of the swarms that changed, at most once a second each, on the
 * stats bus. The registry keeps the last figures per 20-byte swarm hash in swarm_stats and
 * writes into each entry the larger of its v1 swarm and its truncated-v2 swarm (hybrid clients
 * announce in both), so the seeders and completions sorts stay index scans. An entry's
 * completions never go down (a swarm that expired from Redis starts again at 0).
 *
 * A batch holds up to WL_STATS_BATCH_MAX swarms; bus.c applies it in slices so requests are
 * never kept waiting behind a large one. Figures of swarms no entry uses are kept (an entry
 * registered later shows them at once) and dropped by wl_registry_tick once idle for a day; the
 * same hourly tick refreshes the query planner's statistics. */
#include <string.h>

#include "registry.h"
#include "wl/error.h"
#include "wl/log.h"

enum { PRUNE_EVERY_MS = 3600 * 1000, IDLE_MS = 24 * 3600 * 1000 };

static int64_t clamp(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

int wl_registry_apply_stats(struct wl_registry *reg, const struct wl_swarm_stat *s, size_t n) {
  int64_t now = reg->now_ms();
  int rv = wl__registry_begin(reg);
  for (size_t i = 0; i < n && rv == 0; i++) {
    sqlite3_stmt *st = reg->st.stats_put;
    sqlite3_bind_blob(st, 1, s[i].hash, 20, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, clamp(s[i].seeders));
    sqlite3_bind_int64(st, 3, clamp(s[i].leechers));
    sqlite3_bind_int64(st, 4, clamp(s[i].completions));
    /* Several workers report the same swarm and their pushes race: keep the figures Redis
     * observed last (observed_us, Redis's clock), not the push that arrived last. */
    /* µs: two workers' observations of one swarm can fall in the same millisecond */
    sqlite3_bind_int64(st, 5, s[i].observed_us ? clamp(s[i].observed_us) : now * 1000);
    int rc = sqlite3_step(st);
    wl__registry_done(st);
    if (rc != SQLITE_DONE) {
      rv = wl__registry_sqlerr(reg, "storing swarm figures");
      break;
    }
    st = reg->st.stats_apply;
    sqlite3_bind_blob(st, 1, s[i].hash, 20, SQLITE_STATIC);
    rc = sqlite3_step(st);
    wl__registry_done(st);
    if (rc != SQLITE_DONE) rv = wl__registry_sqlerr(reg, "updating the figures of an entry");
  }
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) wl__registry_rollback(reg);
  return rv;
}

void wl_registry_tick(struct wl_registry *reg) {
  int64_t now = reg->now_ms();
  if (now - reg->last_prune_ms < PRUNE_EVERY_MS) return;
  reg->last_prune_ms = now;
  wl__registry_optimize(reg);
  sqlite3_stmt *st = reg->st.stats_prune;
  sqlite3_bind_int64(st, 1, (now - IDLE_MS) * 1000); /* swarm_stats.updated_at is in µs */
  int rc = sqlite3_step(st);
  wl__registry_done(st);
  if (rc != SQLITE_DONE)
    wl__registry_sqlerr(reg, "dropping idle swarm figures");
  else if (sqlite3_changes(reg->db) > 0)
    WL_INFO("registry", "dropped the figures of %d idle unregistered swarms",
            sqlite3_changes(reg->db));
}
