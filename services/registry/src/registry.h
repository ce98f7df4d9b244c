/* The registry service's context and the interfaces between its files.
 *
 *   db.c       SQLite: schema and migrations (PRAGMA user_version), WAL, prepared statements
 *   entries.c  entries and the blocklist: lookups, upserts, deletes, events, JSON of an entry
 *   search.c   GET /api/registry/search (FTS5 trigram for q, indexed sorts)
 *   torrents.c POST/GET /api/registry/torrent, GET /api/registry/meta
 *   swarm.c    live figures pushed by announce workers (SWARM_STATS batches)
 *   api.c      the registry HTTP API: routing, auth flag, query strings, JSON bodies, replies
 *   json.c     a small JSON writer into capped buffers
 *   bus.c      bus messages (REG_HTTP, PING, STATS, BLOCKLIST_GET) and the NNG sockets
 *   main.c     configuration, signals, start and stop
 *
 * One thread owns everything: one SQLite connection, one request at a time. The workload is a
 * few registry requests per second and one swarm-figure batch per worker per second, so a
 * single writer keeps the code simple and the database free of lock contention. */
#ifndef WL_REGISTRY_H
#define WL_REGISTRY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"
#include "wl/config.h"
#include "wl_proto.h"

/* Field limits (bytes) of registry entries; longer values are a 400 naming the field. */
enum {
  WL_REG_NAME_MAX = 4096,
  WL_REG_DESCRIPTION_MAX = 65536,
  WL_REG_SHORT_MAX = 256, /* publisher, license, category */
  WL_REG_TAGS_MAX = 1024,
  WL_REG_REASON_MAX = 512,
  WL_REG_JSON_BODY_MAX = 1 << 20, /* POST /api/registry */
  WL_REG_REPLY_MAX = 90 * 1024 * 1024,
  WL_REG_HEADERS_MAX = 4,
  WL_REG_HEADER_VALUE_MAX = 1024,
};

/* A hash as it reaches the API: 40 (v1 SHA-1) or 64 (v2 SHA-256) hex digits, kept lowercase,
 * plus the 20 bytes trackers see for it (the SHA-1, or the first 20 bytes of the SHA-256). */
struct wl_reg_hash {
  char hex[65];
  size_t len; /* 40 or 64; 0 = absent */
  uint8_t swarm[20];
};

/* Every prepared statement of the service: name and SQL, prepared once at open (db.c). */
#define WL_REG_ENTRY_COLS                                                                    \
  "e.id, e.info_hash, e.v1_info_hash, e.name, e.verified, e.completions, e.description, " \
  "e.publisher, e.license, e.size, e.category, e.tags, e.seeders, e.leechers, e.created_at"
enum wl_reg_col {
  WL_COL_ID, WL_COL_INFO_HASH, WL_COL_V1, WL_COL_NAME, WL_COL_VERIFIED, WL_COL_COMPLETIONS,
  WL_COL_DESCRIPTION, WL_COL_PUBLISHER, WL_COL_LICENSE, WL_COL_SIZE, WL_COL_CATEGORY,
  WL_COL_TAGS, WL_COL_SEEDERS, WL_COL_LEECHERS, WL_COL_CREATED_AT, WL_COL_COUNT
};

/* max of an entry's two swarms (v1, truncated v2); completions never go down */
#define WL_REG_FIGURES_SET                                                                       \
  "seeders = max(coalesce((SELECT s.seeders FROM swarm_stats s WHERE s.hash = swarm_v1), 0),"  \
  "              coalesce((SELECT s.seeders FROM swarm_stats s WHERE s.hash = swarm_v2), 0)),"  \
  " leechers = max(coalesce((SELECT s.leechers FROM swarm_stats s WHERE s.hash = swarm_v1), 0)," \
  "              coalesce((SELECT s.leechers FROM swarm_stats s WHERE s.hash = swarm_v2), 0)),"  \
  " completions = max(completions,"                                                              \
  "   coalesce((SELECT s.completions FROM swarm_stats s WHERE s.hash = swarm_v1), 0),"            \
  "   coalesce((SELECT s.completions FROM swarm_stats s WHERE s.hash = swarm_v2), 0))"

#define WL_REG_STMTS(XX)                                                                        \
  XX(begin, "BEGIN IMMEDIATE")                                                                  \
  XX(commit, "COMMIT")                                                                          \
  XX(rollback, "ROLLBACK")                                                                      \
  XX(select1, "SELECT 1")                                                                       \
  XX(count_entries, "SELECT count(*) FROM entries")                                            \
  XX(count_blocked, "SELECT count(*) FROM blocked")                                            \
  XX(entry_find, "SELECT " WL_REG_ENTRY_COLS " FROM entries e"                                  \
                 " WHERE e.info_hash = ?1 OR e.v1_info_hash = ?1")                              \
  XX(entry_insert, "INSERT INTO entries(info_hash, v1_info_hash, swarm_v1, swarm_v2, name,"    \
                   " description, publisher, license, size, category, tags, created_at,"        \
                   " updated_at, ih_key)"                                                       \
                   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13)")     \
  XX(entry_update, "UPDATE entries SET info_hash = ?1, v1_info_hash = ?2, swarm_v1 = ?3,"      \
                   " swarm_v2 = ?4, name = ?5, description = ?6, publisher = ?7, license = ?8," \
                   " size = ?9, category = ?10, tags = ?11, updated_at = ?12, ih_key = ?13"      \
                   " WHERE id = ?14")   \
  XX(entry_merge, "UPDATE entries SET info_hash = ?1, v1_info_hash = ?2, swarm_v1 = ?3,"       \
                  " swarm_v2 = ?4, name = coalesce(?5, name),"                                  \
                  " description = coalesce(?6, description), publisher = coalesce(?7, publisher)," \
                  " license = coalesce(?8, license), size = coalesce(?9, size),"               \
                  " category = coalesce(?10, category), tags = coalesce(?11, tags),"           \
                  " updated_at = ?12, ih_key = ?13 WHERE id = ?14")                                           \
  XX(entry_refresh, "UPDATE entries SET " WL_REG_FIGURES_SET " WHERE id = ?1")                 \
  XX(entry_delete, "DELETE FROM entries WHERE id = ?1")                                        \
  XX(entry_verify, "UPDATE entries SET verified = ?2, updated_at = ?3 WHERE id = ?1")          \
  XX(blocked_check, "SELECT reason FROM blocked WHERE swarm = ?1 OR swarm = ?2 LIMIT 1")       \
  XX(block_put, "INSERT INTO blocked(swarm, info_hash, v1_info_hash, reason, created_at)"      \
                " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(swarm) DO UPDATE SET"                  \
                " info_hash = excluded.info_hash, v1_info_hash = excluded.v1_info_hash,"        \
                " reason = excluded.reason")                                                    \
  XX(unblock_find, "SELECT swarm FROM blocked WHERE info_hash = ?1 OR v1_info_hash = ?1"       \
                   " OR swarm = ?2")                                                            \
  XX(unblock_delete, "DELETE FROM blocked WHERE swarm = ?1")                                   \
  XX(block_list, "SELECT info_hash, max(v1_info_hash), min(reason), min(created_at)"           \
                 " FROM blocked GROUP BY info_hash"                                             \
                 " ORDER BY min(created_at) DESC, info_hash LIMIT ?1 OFFSET ?2")                \
  XX(block_groups, "SELECT count(DISTINCT info_hash) FROM blocked")                            \
  XX(blocked_all, "SELECT swarm, reason FROM blocked")                                         \
  XX(registered_all, "SELECT swarm_v1 FROM entries WHERE swarm_v1 IS NOT NULL"                 \
                     " UNION ALL SELECT swarm_v2 FROM entries WHERE swarm_v2 IS NOT NULL")     \
  XX(stats_put, "INSERT INTO swarm_stats(hash, seeders, leechers, completions, updated_at)"    \
                " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(hash) DO UPDATE SET"                   \
                " seeders = excluded.seeders, leechers = excluded.leechers,"                    \
                " completions = max(completions, excluded.completions),"                        \
                " updated_at = excluded.updated_at"                                             \
                " WHERE excluded.updated_at >= swarm_stats.updated_at")                         \
  XX(stats_apply, "UPDATE entries SET " WL_REG_FIGURES_SET                                     \
                  " WHERE swarm_v1 = ?1 OR swarm_v2 = ?1")                                      \
  XX(stats_delete, "DELETE FROM swarm_stats WHERE hash = ?1")                                  \
  XX(stats_prune, "DELETE FROM swarm_stats WHERE seeders = 0 AND leechers = 0"                 \
                  " AND updated_at < ?1"                                                        \
                  " AND NOT EXISTS (SELECT 1 FROM entries WHERE swarm_v1 = swarm_stats.hash)"  \
                  " AND NOT EXISTS (SELECT 1 FROM entries WHERE swarm_v2 = swarm_stats.hash)") \
  XX(torrent_get, "SELECT t.data, e.name FROM entries e JOIN torrents t ON t.entry_id = e.id"  \
                  " WHERE e.info_hash = ?1 OR e.v1_info_hash = ?1")                             \
  XX(torrent_put, "INSERT INTO torrents(entry_id, data, uploaded_at) VALUES(?1, ?2, ?3)"       \
                  " ON CONFLICT(entry_id) DO UPDATE SET data = excluded.data,"                  \
                  " uploaded_at = excluded.uploaded_at")                                        \
  XX(torrent_delete, "DELETE FROM torrents WHERE entry_id = ?1")

struct wl_reg_stmts {
#define XX(name, sql) sqlite3_stmt *name;
  WL_REG_STMTS(XX)
#undef XX
};

/* Called for every event to publish (an encoded BLOCK_EVENT or REGISTERED_EVENT). */
typedef void (*wl_registry_publish_fn)(void *arg, const void *msg, size_t len);

struct wl_registry {
  const struct wl_config *cfg;
  sqlite3 *db;
  struct wl_reg_stmts st;
  wl_registry_publish_fn publish; /* NULL: events are dropped */
  void *publish_arg;
  int64_t nentries;            /* rows of entries, kept after every commit */
  int64_t stats_batches;       /* SWARM_STATS batches applied */
  int64_t stats_lag_ms;        /* receive-to-commit time of the last batch */
  int64_t last_prune_ms;
  int64_t search_few;          /* FTS matches up to which a search sorts the matching rows */
  int64_t search_facets_max;   /* FTS matches up to which a count probes entries_facets */
  int64_t (*now_ms)(void);     /* wall clock in ms since the epoch; tests may replace it */
};

/* The answer to one REG_HTTP request. */
struct wl_reg_reply {
  unsigned status;
  const char *content_type; /* static string */
  size_t nheaders;
  struct {
    const char *name; /* static string */
    char value[WL_REG_HEADER_VALUE_MAX];
  } headers[WL_REG_HEADERS_MAX];
  struct wl_buf body; /* capped at WL_REG_REPLY_MAX */
};

void wl_reg_reply_init(struct wl_reg_reply *r);
void wl_reg_reply_release(struct wl_reg_reply *r);

/* ---- lifecycle (db.c) ------------------------------------------------------------------- */

/* Opens (creating and migrating) the database at path and prepares every statement. On error
 * writes a sentence to err and returns WL_EIO; wl_registry_close is then still required. */
int wl_registry_open(struct wl_registry *reg, const struct wl_config *cfg, const char *path,
                     char *err, size_t errlen);
/* Finalizes statements, checkpoints the WAL and closes. Safe after a failed open. */
void wl_registry_close(struct wl_registry *reg);
/* True when the database answers SELECT 1; detail says why not. */
bool wl_registry_ping(struct wl_registry *reg, char *detail, size_t dlen);

/* ---- entry points (api.c, bus.c, swarm.c) --------------------------------------------------- */

/* Answers one registry HTTP request; rep must be initialised. Never fails: internal errors
 * become a 500 (or 503 when the database is busy). */
void wl_registry_http(struct wl_registry *reg, const struct wl_msg_reg_http *req,
                      struct wl_reg_reply *rep);
/* Answers one message of the registry's req/rep socket into out (REG_HTTP_REP, PONG,
 * STATS_REP, BLOCKLIST_REP, or ERROR for anything else). 0, or WL_ETOOBIG/WL_ENOMEM when even
 * the error reply does not fit. */
int wl_registry_handle(struct wl_registry *reg, const void *msg, size_t len, struct wl_buf *out);
/* Applies swarms [from, from+n) of a decoded SWARM_STATS batch in one transaction. */
int wl_registry_apply_stats(struct wl_registry *reg, const struct wl_swarm_stat *s, size_t n);
/* Housekeeping, called about once a second: drops idle swarm figures no entry uses. */
void wl_registry_tick(struct wl_registry *reg);

/* ---- internals shared between files ----------------------------------------------------------- */

/* db.c */
int wl__registry_begin(struct wl_registry *reg);
int wl__registry_commit(struct wl_registry *reg);
void wl__registry_rollback(struct wl_registry *reg);
/* Resets a statement after use (clears bindings too). */
void wl__registry_done(sqlite3_stmt *st);
/* Logs the connection's last error with the operation that failed; returns WL_EBACKEND. */
int wl__registry_sqlerr(struct wl_registry *reg, const char *what);
int64_t wl__registry_now_ms(void);
/* PRAGMA optimize: refreshes planner statistics that have gone stale. */
void wl__registry_optimize(struct wl_registry *reg);
/* Rows of the blocklist (20-byte swarm hashes), or -1. */
int64_t wl__registry_count_blocked(struct wl_registry *reg);

/* entries.c */
/* The sort tie-break of a hash (entries.ih_key): its first 8 bytes, big-endian, top bit flipped. */
int64_t wl__registry_ih_key(const struct wl_reg_hash *h);
/* Parses 40 or 64 hex digits (any case) into h. 0 or WL_EPARSE. */
int wl__registry_hash_parse(struct wl_reg_hash *h, const char *s, size_t n);
void wl__registry_hash_from_bytes(struct wl_reg_hash *h, const uint8_t *p, size_t n);
/* Steps reg->st.entry_find for h: 1 and the statement positioned on the row (the caller calls
 * wl__registry_done), 0 when absent (statement already reset), or WL_EBACKEND. */
int wl__registry_find(struct wl_registry *reg, const char *hex);
/* The reason of the first blocked hash among a and b (b may be NULL) copied to reason; 1 if
 * blocked, 0 if not, or WL_EBACKEND. */
int wl__registry_blocked(struct wl_registry *reg, const struct wl_reg_hash *a,
                         const struct wl_reg_hash *b, char *reason, size_t rlen);
void wl__registry_publish_block(struct wl_registry *reg, const uint8_t swarm[20], bool blocked,
                                const char *reason);
void wl__registry_publish_registered(struct wl_registry *reg, const uint8_t swarm[20],
                                     bool registered);

/* One entry's writable fields, as the API hands them to the store. NULL = unset. */
struct wl_reg_entry_in {
  struct wl_reg_hash ih; /* info_hash */
  struct wl_reg_hash v1; /* v1_info_hash (len 0 = absent) */
  const char *name, *description, *publisher, *license, *category, *tags;
  bool has_size;
  int64_t size;
};
enum wl_reg_upsert_mode {
  WL_UPSERT_REPLACE, /* POST /api/registry: every field is the request's */
  WL_UPSERT_MERGE,   /* POST /api/registry/torrent: name, size, v1 set; others only if given */
};
/* The swarm hashes (20 bytes) of one entry: its v1 swarm and its truncated v2 swarm. */
struct wl_reg_swarms {
  uint8_t h[2][20];
  size_t n;
};
/* Inserts or updates the entry in the current transaction, resolving it by info_hash or
 * v1_info_hash (a v1-only entry is upgraded to a hybrid when its v1 hash comes with a v2 one).
 * *created tells which; *id is the row; before/after are its swarms before and after (before
 * is empty for a new entry). WL_EBLOCKED (reason copied), WL_EEXISTS (the hashes belong to two
 * different entries; reason says which), WL_EINVAL (no name for a new entry), WL_EBACKEND. */
int wl__registry_upsert(struct wl_registry *reg, const struct wl_reg_entry_in *in,
                        enum wl_reg_upsert_mode mode, bool *created, int64_t *id,
                        struct wl_reg_swarms *before, struct wl_reg_swarms *after, char *reason,
                        size_t rlen);
/* After a commit: REGISTERED_EVENTs for the swarms that appeared and disappeared. */
void wl__registry_publish_diff(struct wl_registry *reg, const struct wl_reg_swarms *before,
                               const struct wl_reg_swarms *after);

/* json.c: true when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool wl__utf8_valid(const char *s, size_t n);

/* json.c: a sticky-error writer into a capped wl_buf. */
struct wl_jw {
  struct wl_buf *b;
  int err;
  bool first; /* no comma needed before the next member */
};
void wl__jw_init(struct wl_jw *w, struct wl_buf *b);
void wl__jw_raw(struct wl_jw *w, const char *s);
void wl__jw_obj_open(struct wl_jw *w);
void wl__jw_obj_close(struct wl_jw *w);
void wl__jw_arr_open(struct wl_jw *w);
void wl__jw_arr_close(struct wl_jw *w);
void wl__jw_key(struct wl_jw *w, const char *key); /* writes the comma if needed */
void wl__jw_str(struct wl_jw *w, const char *s, size_t n);
void wl__jw_strz(struct wl_jw *w, const char *s);
void wl__jw_i64(struct wl_jw *w, int64_t v);
void wl__jw_u64(struct wl_jw *w, uint64_t v);
void wl__jw_bool(struct wl_jw *w, bool v);
void wl__jw_elem(struct wl_jw *w); /* before an array element: the comma if needed */
/* Member helpers: "key": value */
void wl__jw_kstr(struct wl_jw *w, const char *key, const char *s);
void wl__jw_ki64(struct wl_jw *w, const char *key, int64_t v);
/* RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z") of ms since the epoch. */
void wl__jw_time(struct wl_jw *w, int64_t ms);
/* The row of a statement selecting WL_REG_ENTRY_COLS as a RegistryEntry object. */
void wl__jw_entry(struct wl_jw *w, sqlite3_stmt *st);

/* api.c: replies */
void wl__reply_error(struct wl_reg_reply *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wl__reply_json(struct wl_reg_reply *r, unsigned status, const char *json);
void wl__reply_header(struct wl_reg_reply *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets a 500/503 from an internal error code (WL_EBACKEND, WL_ETOOBIG, ...). */
void wl__reply_internal(struct wl_reg_reply *r, int rv);

/* Decoded query parameters of one request. */
enum wl_reg_param {
  P_INFO_HASH, P_Q, P_CATEGORY, P_PUBLISHER, P_TAGS, P_SORT, P_LIMIT, P_OFFSET, P_REASON,
  P_VERIFIED, P_NAME, P_DESCRIPTION, P_LICENSE, P_COUNT
};
struct wl_reg_query {
  const char *v[P_COUNT]; /* NUL-terminated, decoded ('+' is a space), valid UTF-8; NULL = absent */
  size_t len[P_COUNT];
  char *store; /* owned */
};
extern const char *const wl__reg_param_names[P_COUNT];

/* search.c, torrents.c, entries.c: route handlers */
void wl__registry_search(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep);
void wl__registry_get(struct wl_registry *reg, const struct wl_reg_query *q,
                      struct wl_reg_reply *rep);
void wl__registry_post(struct wl_registry *reg, const uint8_t *body, size_t len,
                       struct wl_reg_reply *rep);
void wl__registry_delete(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep);
void wl__registry_verify(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep);
void wl__registry_blocklist(struct wl_registry *reg, const struct wl_reg_query *q,
                            struct wl_reg_reply *rep);
void wl__registry_unblock(struct wl_registry *reg, const struct wl_reg_query *q,
                          struct wl_reg_reply *rep);
void wl__registry_torrent_post(struct wl_registry *reg, const struct wl_reg_query *q,
                               const uint8_t *body, size_t len, struct wl_reg_reply *rep);
void wl__registry_torrent_get(struct wl_registry *reg, const struct wl_reg_query *q,
                              struct wl_reg_reply *rep);
void wl__registry_meta(struct wl_registry *reg, const struct wl_reg_query *q,
                       struct wl_reg_reply *rep);

/* api.c: shared parameter helpers. Each writes the 400 itself and returns WL_EINVAL. */
/* info_hash: required, 40 or 64 hex digits. */
int wl__param_hash(const struct wl_reg_query *q, struct wl_reg_hash *h, struct wl_reg_reply *rep);
/* limit/offset: absent = def; non-numeric or negative = 400; limit clamped to max. */
int wl__param_count(const struct wl_reg_query *q, enum wl_reg_param p, int64_t def, int64_t max,
                    int64_t *out, struct wl_reg_reply *rep);
/* Optional text: NULL when absent; 400 when longer than max bytes. */
int wl__param_text(const struct wl_reg_query *q, enum wl_reg_param p, size_t max,
                   const char **out, struct wl_reg_reply *rep);

#endif
