/* The registry's SQLite database: open in WAL mode, create and migrate the schema (its version
 * is PRAGMA user_version; each migration runs in its own transaction and a database newer than
 * this build is refused), prepare every statement once, and checkpoint at close.
 *
 * Tables: entries (one row per registered torrent, live figures denormalised into it so the
 * seeders/completions sorts are index scans), entries_fts (FTS5 trigram index over names and
 * tags, external content kept by triggers), torrents (stored .torrent bytes, apart so entry scans
 * stay small), blocked (one row per blocked 20-byte swarm hash) and swarm_stats (the last
 * figures workers pushed per swarm hash). Expected size: up to a few million entries. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "registry.h"
#include "wl/error.h"
#include "wl/log.h"

/* Migrations, in order: migrations[i] takes the schema from version i to i + 1. Append only. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE entries("
    "  id INTEGER PRIMARY KEY,"
    "  info_hash TEXT NOT NULL UNIQUE,"  /* lowercase hex, 64 (v2/hybrid) or 40 (v1) */
    "  v1_info_hash TEXT UNIQUE,"        /* lowercase hex 40, hybrids only */
    "  swarm_v1 BLOB,"                   /* 20 bytes: the v1 swarm, if any */
    "  swarm_v2 BLOB,"                   /* 20 bytes: the truncated v2 swarm, if any */
    "  name TEXT NOT NULL,"
    "  description TEXT, publisher TEXT, license TEXT, size INTEGER, category TEXT, tags TEXT,"
    "  verified INTEGER NOT NULL DEFAULT 0,"
    "  completions INTEGER NOT NULL DEFAULT 0,"
    "  seeders INTEGER NOT NULL DEFAULT 0,"
    "  leechers INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"     /* ms since the epoch */
    "  updated_at INTEGER NOT NULL,"
    /* the tie-break of every sort: the hash's first 8 bytes as a signed integer with the top bit
     * flipped, so integer order is info_hash order (a 64-bit prefix collision aside) and the
     * sort indexes hold 8 bytes per entry instead of 64 hex characters */
    "  ih_key INTEGER NOT NULL);"
    "CREATE INDEX entries_swarm_v1 ON entries(swarm_v1);"
    "CREATE INDEX entries_swarm_v2 ON entries(swarm_v2);"
    "CREATE INDEX entries_by_created ON entries(created_at DESC, ih_key);"
    "CREATE INDEX entries_by_seeders ON entries(seeders DESC, ih_key);"
    "CREATE INDEX entries_by_completions ON entries(completions DESC, ih_key);"
    "CREATE INDEX entries_cat_created ON entries(category, created_at DESC, ih_key);"
    "CREATE INDEX entries_cat_seeders ON entries(category, seeders DESC, ih_key);"
    "CREATE INDEX entries_cat_completions ON entries(category, completions DESC, ih_key);"
    "CREATE INDEX entries_pub_created ON entries(publisher, created_at DESC, ih_key);"
    "CREATE INDEX entries_pub_seeders ON entries(publisher, seeders DESC, ih_key);"
    "CREATE INDEX entries_pub_completions ON entries(publisher, completions DESC, ih_key);"
    "CREATE INDEX entries_name ON entries(name);" /* a narrow scan for q under 3 characters */
    /* counts of FTS matches within a category or publisher: probed in id order, nearly
     * sequential, without reading the wide rows */
    "CREATE INDEX entries_facets ON entries(id, category, publisher);"
    "CREATE VIRTUAL TABLE entries_fts USING fts5(name, tags, content='entries',"
    "  content_rowid='id', tokenize='trigram');"
    "CREATE TRIGGER entries_fts_ai AFTER INSERT ON entries BEGIN"
    "  INSERT INTO entries_fts(rowid, name, tags) VALUES(new.id, new.name, new.tags); END;"
    "CREATE TRIGGER entries_fts_ad AFTER DELETE ON entries BEGIN"
    "  INSERT INTO entries_fts(entries_fts, rowid, name, tags)"
    "    VALUES('delete', old.id, old.name, old.tags); END;"
    "CREATE TRIGGER entries_fts_au AFTER UPDATE OF name, tags ON entries BEGIN"
    "  INSERT INTO entries_fts(entries_fts, rowid, name, tags)"
    "    VALUES('delete', old.id, old.name, old.tags);"
    "  INSERT INTO entries_fts(rowid, name, tags) VALUES(new.id, new.name, new.tags); END;"
    "CREATE TABLE torrents("
    "  entry_id INTEGER PRIMARY KEY REFERENCES entries(id) ON DELETE CASCADE,"
    "  data BLOB NOT NULL,"
    "  uploaded_at INTEGER NOT NULL);"
    "CREATE TABLE blocked("
    "  swarm BLOB PRIMARY KEY,"          /* the 20 bytes trackers see */
    "  info_hash TEXT NOT NULL,"         /* the hash the operator blocked (its entry's, if any) */
    "  v1_info_hash TEXT,"               /* its hybrid companion */
    "  reason TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX blocked_info_hash ON blocked(info_hash);"
    "CREATE INDEX blocked_v1 ON blocked(v1_info_hash);"
    "CREATE TABLE swarm_stats("
    "  hash BLOB PRIMARY KEY,"
    "  seeders INTEGER NOT NULL, leechers INTEGER NOT NULL, completions INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL) WITHOUT ROWID;",
};
enum { SCHEMA_VERSION = sizeof migrations / sizeof migrations[0] };

int64_t wl__registry_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int wl__registry_sqlerr(struct wl_registry *reg, const char *what) {
  WL_ERROR("registry", "database error while %s: %s", what,
           reg->db ? sqlite3_errmsg(reg->db) : "not open");
  return WL_EBACKEND;
}

void wl__registry_done(sqlite3_stmt *st) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static int step_done(struct wl_registry *reg, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : wl__registry_sqlerr(reg, what);
}

int wl__registry_begin(struct wl_registry *reg) {
  return step_done(reg, reg->st.begin, "starting a transaction");
}

int wl__registry_commit(struct wl_registry *reg) {
  int rv = step_done(reg, reg->st.commit, "committing");
  if (rv < 0) wl__registry_rollback(reg);
  return rv;
}

void wl__registry_rollback(struct wl_registry *reg) {
  if (!sqlite3_get_autocommit(reg->db)) step_done(reg, reg->st.rollback, "rolling back");
}

static int64_t scalar(struct wl_registry *reg, sqlite3_stmt *st) {
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return v;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen, const char *what) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
  snprintf(err, errlen, "%s: %s", what, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return WL_EIO;
}

static int migrate(sqlite3 *db, char *err, size_t errlen) {
  sqlite3_stmt *st = NULL;
  int version = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    version = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (version < 0) {
    snprintf(err, errlen, "cannot read the schema version: %s", sqlite3_errmsg(db));
    return WL_EIO;
  }
  if (version > SCHEMA_VERSION) {
    snprintf(err, errlen,
             "the database has schema version %d, newer than this build's %d: run a newer "
             "wl-registry",
             version, SCHEMA_VERSION);
    return WL_EIO;
  }
  for (int v = version; v < SCHEMA_VERSION; v++) {
    char what[64], bump[64];
    snprintf(what, sizeof what, "migrating the schema to version %d", v + 1);
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
    int rv = exec(db, "BEGIN IMMEDIATE", err, errlen, what);
    if (rv < 0) return rv;
    rv = exec(db, migrations[v], err, errlen, what);
    if (rv == 0) rv = exec(db, bump, err, errlen, what);
    if (rv == 0) rv = exec(db, "COMMIT", err, errlen, what);
    if (rv < 0) {
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return rv;
    }
    WL_INFO("registry", "database schema migrated to version %d", v + 1);
  }
  return 0;
}

static bool has_stats(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  bool yes = false;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_stat1 WHERE tbl = 'entries' LIMIT 1", -1, &st,
                         NULL) == SQLITE_OK)
    yes = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return yes;
}

void wl__registry_optimize(struct wl_registry *reg) {
  sqlite3_exec(reg->db, "PRAGMA analysis_limit = 1000; PRAGMA optimize", NULL, NULL, NULL);
}

int wl_registry_open(struct wl_registry *reg, const struct wl_config *cfg, const char *path,
                     char *err, size_t errlen) {
  int rv;
  memset(reg, 0, sizeof *reg);
  reg->cfg = cfg;
  reg->now_ms = wl__registry_now_ms;
  reg->search_few = 4000;
  reg->search_facets_max = 100000;
  if (sqlite3_open_v2(path, &reg->db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    snprintf(err, errlen, "cannot open %s: %s", path,
             reg->db ? sqlite3_errmsg(reg->db) : "out of memory");
    return WL_EIO;
  }
  /* Another process (the CLI, a backup, the benchmark's loader) may hold a lock briefly. */
  sqlite3_busy_timeout(reg->db, 5000);
  sqlite3_extended_result_codes(reg->db, 1);
  rv = exec(reg->db,
            "PRAGMA journal_mode = WAL;"
            "PRAGMA synchronous = NORMAL;"
            "PRAGMA foreign_keys = ON;"
            "PRAGMA temp_store = MEMORY;"
            "PRAGMA cache_size = -65536;" /* 64 MiB: the sort indexes of ~1M entries */
            "PRAGMA mmap_size = 268435456;",
            err, errlen, "cannot configure the database");
  if (rv < 0) return rv;
  rv = migrate(reg->db, err, errlen);
  if (rv < 0) return rv;
#define XX(name, sql)                                                                        \
  if (sqlite3_prepare_v3(reg->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &reg->st.name, NULL) != \
      SQLITE_OK) {                                                                           \
    snprintf(err, errlen, "cannot prepare statement %s: %s", #name, sqlite3_errmsg(reg->db)); \
    return WL_EIO;                                                                           \
  }
  WL_REG_STMTS(XX)
#undef XX
  reg->nentries = scalar(reg, reg->st.count_entries);
  if (reg->nentries < 0) {
    snprintf(err, errlen, "cannot count the entries: %s", sqlite3_errmsg(reg->db));
    return WL_EIO;
  }
  reg->last_prune_ms = reg->now_ms();
  /* The planner needs statistics to choose between the sort indexes and the FTS index; a
   * database filled by someone else (an import, the benchmark) may have none. */
  if (reg->nentries >= 1000 && !has_stats(reg->db)) {
    WL_INFO("registry", "gathering query-planner statistics for %lld entries",
            (long long)reg->nentries);
    sqlite3_exec(reg->db, "PRAGMA analysis_limit = 1000; ANALYZE", NULL, NULL, NULL);
  }
  return 0;
}

void wl_registry_close(struct wl_registry *reg) {
  if (reg->db == NULL) return;
#define XX(name, sql) sqlite3_finalize(reg->st.name);
  WL_REG_STMTS(XX)
#undef XX
  memset(&reg->st, 0, sizeof reg->st);
  wl__registry_optimize(reg);
  int logged = 0, ckpt = 0;
  if (sqlite3_wal_checkpoint_v2(reg->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &logged, &ckpt) !=
      SQLITE_OK)
    WL_WARN("registry", "WAL checkpoint failed at close: %s", sqlite3_errmsg(reg->db));
  else
    WL_INFO("registry", "WAL checkpointed (%d frames)", ckpt);
  if (sqlite3_close(reg->db) != SQLITE_OK)
    WL_WARN("registry", "database did not close cleanly: %s", sqlite3_errmsg(reg->db));
  reg->db = NULL;
}

bool wl_registry_ping(struct wl_registry *reg, char *detail, size_t dlen) {
  int rc = sqlite3_step(reg->st.select1);
  bool ok = rc == SQLITE_ROW && sqlite3_column_int(reg->st.select1, 0) == 1;
  sqlite3_reset(reg->st.select1);
  if (ok)
    snprintf(detail, dlen, "sqlite %s, %lld entries", sqlite3_libversion(),
             (long long)reg->nentries);
  else
    snprintf(detail, dlen, "database unreachable: %s", sqlite3_errmsg(reg->db));
  return ok;
}

int64_t wl__registry_count_blocked(struct wl_registry *reg) {
  return scalar(reg, reg->st.count_blocked);
}
