/* Registry entries and the blocklist: lookup by either hash, upsert (POST /api/registry),
 * delete-and-block, verify, the blocklist listing and unblock, and the events that tell announce
 * workers about blocked and registered swarm hashes.
 *
 * An entry is known by its info_hash (64 hex for v2 and hybrids, 40 for v1-only) and, for a
 * hybrid, its v1_info_hash; lookups accept either, in any case. Trackers see 20-byte swarm
 * hashes: the SHA-1, or the first 20 bytes of the SHA-256. The blocklist holds those, one row
 * each, with the hex hashes the operator blocked for display and unblocking. Every write runs
 * in one transaction and its events are published after the commit, so a worker never hears of
 * a change that did not happen. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "wl/error.h"
#include "wl/hex.h"
#include "wl/log.h"

static const char DEFAULT_REASON[] = "removed by the operator";

/* ---- hashes and lookups ------------------------------------------------------------------ */

int wl__registry_hash_parse(struct wl_reg_hash *h, const char *s, size_t n) {
  uint8_t raw[32];
  memset(h, 0, sizeof *h);
  if ((n != 40 && n != 64) || wl_hex_decode(raw, s, n / 2) < 0) return WL_EPARSE;
  wl__registry_hash_from_bytes(h, raw, n / 2);
  return 0;
}

void wl__registry_hash_from_bytes(struct wl_reg_hash *h, const uint8_t *p, size_t n) {
  memset(h, 0, sizeof *h);
  wl_hex_encode(h->hex, p, n);
  h->len = 2 * n;
  memcpy(h->swarm, p, 20);
}

int wl__registry_find(struct wl_registry *reg, const char *hex) {
  sqlite3_stmt *st = reg->st.entry_find;
  sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  wl__registry_done(st);
  return rc == SQLITE_DONE ? 0 : wl__registry_sqlerr(reg, "looking up an entry");
}

int wl__registry_blocked(struct wl_registry *reg, const struct wl_reg_hash *a,
                         const struct wl_reg_hash *b, char *reason, size_t rlen) {
  sqlite3_stmt *st = reg->st.blocked_check;
  sqlite3_bind_blob(st, 1, a->swarm, 20, SQLITE_TRANSIENT);
  if (b && b->len) sqlite3_bind_blob(st, 2, b->swarm, 20, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  int rv = 0;
  if (rc == SQLITE_ROW) {
    const char *r = (const char *)sqlite3_column_text(st, 0);
    snprintf(reason, rlen, "%s", r ? r : "");
    rv = 1;
  } else if (rc != SQLITE_DONE) {
    rv = wl__registry_sqlerr(reg, "checking the blocklist");
  }
  wl__registry_done(st);
  return rv;
}

/* The swarms of an entry with these hashes. */
static void swarms_of(struct wl_reg_swarms *s, const struct wl_reg_hash *ih,
                      const struct wl_reg_hash *v1) {
  s->n = 0;
  memcpy(s->h[s->n++], ih->swarm, 20);
  if (v1->len) memcpy(s->h[s->n++], v1->swarm, 20);
}

static bool swarms_has(const struct wl_reg_swarms *s, const uint8_t h[20]) {
  for (size_t i = 0; i < s->n; i++)
    if (memcmp(s->h[i], h, 20) == 0) return true;
  return false;
}

/* ---- events ------------------------------------------------------------------------------- */

static void publish(struct wl_registry *reg, struct wl_buf *b) {
  if (reg->publish && b->len) reg->publish(reg->publish_arg, b->data, b->len);
}

void wl__registry_publish_block(struct wl_registry *reg, const uint8_t swarm[20], bool blocked,
                                const char *reason) {
  struct wl_msg_block_event ev;
  struct wl_buf b;
  memcpy(ev.hash, swarm, 20);
  ev.blocked = blocked;
  ev.reason = reason ? reason : "";
  ev.reason_len = strlen(ev.reason);
  wl_buf_init(&b, 4096);
  if (wl_proto_encode_block_event(&b, &ev) == 0) publish(reg, &b);
  wl_buf_release(&b);
}

void wl__registry_publish_registered(struct wl_registry *reg, const uint8_t swarm[20],
                                     bool registered) {
  struct wl_msg_registered_event ev;
  struct wl_buf b;
  memcpy(ev.hash, swarm, 20);
  ev.registered = registered;
  wl_buf_init(&b, 256);
  if (wl_proto_encode_registered_event(&b, &ev) == 0) publish(reg, &b);
  wl_buf_release(&b);
}

void wl__registry_publish_diff(struct wl_registry *reg, const struct wl_reg_swarms *before,
                               const struct wl_reg_swarms *after) {
  for (size_t i = 0; i < before->n; i++)
    if (!swarms_has(after, before->h[i])) wl__registry_publish_registered(reg, before->h[i], false);
  for (size_t i = 0; i < after->n; i++)
    if (!swarms_has(before, after->h[i])) wl__registry_publish_registered(reg, after->h[i], true);
}

/* ---- upsert ------------------------------------------------------------------------------- */

/* What the upsert needs to know of an existing entry. */
struct found {
  int64_t id;
  struct wl_reg_hash ih, v1;
};

/* 1 with *f filled, 0 when absent, or WL_EBACKEND. */
static int find_ids(struct wl_registry *reg, const char *hex, struct found *f) {
  int rv = wl__registry_find(reg, hex);
  if (rv <= 0) return rv;
  sqlite3_stmt *st = reg->st.entry_find;
  memset(f, 0, sizeof *f);
  f->id = sqlite3_column_int64(st, WL_COL_ID);
  const char *ih = (const char *)sqlite3_column_text(st, WL_COL_INFO_HASH);
  const char *v1 = (const char *)sqlite3_column_text(st, WL_COL_V1);
  if (ih == NULL || wl__registry_hash_parse(&f->ih, ih, strlen(ih)) < 0) rv = WL_EBACKEND;
  if (v1 && wl__registry_hash_parse(&f->v1, v1, strlen(v1)) < 0) rv = WL_EBACKEND;
  wl__registry_done(st);
  if (rv < 0) WL_ERROR("registry", "entry %lld has a malformed hash in the database", (long long)f->id);
  return rv;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s) {
  if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}

int64_t wl__registry_ih_key(const struct wl_reg_hash *h) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | h->swarm[i];
  return (int64_t)(v ^ ((uint64_t)1 << 63));
}

/* Binds ?1..?13 of entry_insert / entry_update / entry_merge. */
static void bind_entry(sqlite3_stmt *st, const struct wl_reg_hash *ih, const struct wl_reg_hash *v1,
                       const struct wl_reg_entry_in *in, int64_t now) {
  sqlite3_bind_text(st, 1, ih->hex, (int)ih->len, SQLITE_TRANSIENT);
  if (v1->len) sqlite3_bind_text(st, 2, v1->hex, (int)v1->len, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, 2);
  /* swarm_v1: the SHA-1 (a v1-only info_hash, or the hybrid's v1); swarm_v2: the truncation */
  if (ih->len == 40) {
    sqlite3_bind_blob(st, 3, ih->swarm, 20, SQLITE_TRANSIENT);
    sqlite3_bind_null(st, 4);
  } else {
    if (v1->len) sqlite3_bind_blob(st, 3, v1->swarm, 20, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_blob(st, 4, ih->swarm, 20, SQLITE_TRANSIENT);
  }
  bind_text_or_null(st, 5, in->name);
  bind_text_or_null(st, 6, in->description);
  bind_text_or_null(st, 7, in->publisher);
  bind_text_or_null(st, 8, in->license);
  if (in->has_size) sqlite3_bind_int64(st, 9, in->size);
  else sqlite3_bind_null(st, 9);
  bind_text_or_null(st, 10, in->category);
  bind_text_or_null(st, 11, in->tags);
  sqlite3_bind_int64(st, 12, now);
  sqlite3_bind_int64(st, 13, wl__registry_ih_key(ih));
}

static int run(struct wl_registry *reg, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  wl__registry_done(st);
  if (rc == SQLITE_DONE) return 0;
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return WL_EEXISTS;
  return wl__registry_sqlerr(reg, what);
}

int wl__registry_upsert(struct wl_registry *reg, const struct wl_reg_entry_in *in,
                        enum wl_reg_upsert_mode mode, bool *created, int64_t *id,
                        struct wl_reg_swarms *before, struct wl_reg_swarms *after, char *reason,
                        size_t rlen) {
  struct found a, b, *t = NULL;
  int ra, rb = 0, rv;
  before->n = after->n = 0;
  rv = wl__registry_blocked(reg, &in->ih, &in->v1, reason, rlen);
  if (rv < 0) return rv;
  if (rv > 0) return WL_EBLOCKED;
  ra = find_ids(reg, in->ih.hex, &a);
  if (ra < 0) return ra;
  if (in->v1.len) {
    rb = find_ids(reg, in->v1.hex, &b);
    if (rb < 0) return rb;
  }
  if (ra && rb && a.id != b.id) {
    snprintf(reason, rlen, "v1_info_hash %s belongs to another entry (%s)", in->v1.hex, b.ih.hex);
    return WL_EEXISTS;
  }
  t = ra ? &a : rb ? &b : NULL;

  struct wl_reg_hash ih = in->ih, v1 = in->v1;
  if (t) {
    if (in->ih.len == 40) {
      ih = t->ih; /* found as the v1 of a hybrid, or itself: the entry keeps its identity */
      v1 = t->v1;
    } else if (strcmp(t->ih.hex, in->ih.hex) != 0 && t->ih.len == 64) {
      snprintf(reason, rlen, "v1_info_hash %s belongs to another entry (%s)", in->v1.hex, t->ih.hex);
      return WL_EEXISTS;
    } else if (!v1.len) {
      v1 = t->v1; /* a JSON upsert without v1_info_hash keeps the one a torrent gave */
    }
    /* else: the same entry, or a v1-only entry upgraded to the hybrid it is part of */
    swarms_of(before, &t->ih, &t->v1);
  } else if (in->name == NULL) {
    snprintf(reason, rlen, "name is required for a new entry");
    return WL_EINVAL;
  }
  int64_t now = reg->now_ms();
  sqlite3_stmt *st;
  if (t == NULL) {
    st = reg->st.entry_insert;
    bind_entry(st, &ih, &v1, in, now);
    rv = run(reg, st, "inserting an entry");
    *id = sqlite3_last_insert_rowid(reg->db);
  } else {
    st = mode == WL_UPSERT_MERGE ? reg->st.entry_merge : reg->st.entry_update;
    bind_entry(st, &ih, &v1, in, now);
    sqlite3_bind_int64(st, 14, t->id);
    rv = run(reg, st, "updating an entry");
    *id = t->id;
  }
  if (rv == WL_EEXISTS) snprintf(reason, rlen, "the hashes belong to another entry");
  if (rv < 0) return rv;
  swarms_of(after, &ih, &v1);
  /* the live figures of its swarms, known before it was registered or under other hashes */
  sqlite3_bind_int64(reg->st.entry_refresh, 1, *id);
  rv = run(reg, reg->st.entry_refresh, "reading the live figures of an entry");
  if (rv < 0) return rv;
  *created = t == NULL;
  return 0;
}

/* ---- POST /api/registry ------------------------------------------------------------------- */

/* An optional string member: absent, null or "" leave *out NULL. */
static int json_text(json_t *doc, const char *key, size_t max, const char **out,
                     struct wl_reg_reply *rep) {
  json_t *v = json_object_get(doc, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) return 0;
  if (!json_is_string(v)) {
    wl__reply_error(rep, 400, "Invalid %s: expected a string.", key);
    return WL_EINVAL;
  }
  if (json_string_length(v) > max) {
    wl__reply_error(rep, 400, "Invalid %s: too long, at most %zu bytes.", key, max);
    return WL_EINVAL;
  }
  if (json_string_length(v) > 0) *out = json_string_value(v);
  return 0;
}

static int json_hash(json_t *doc, const char *key, bool required, size_t want,
                     struct wl_reg_hash *h, struct wl_reg_reply *rep) {
  json_t *v = json_object_get(doc, key);
  memset(h, 0, sizeof *h);
  if (v == NULL || json_is_null(v)) {
    if (!required) return 0;
    wl__reply_error(rep, 400, "Missing %s: give the torrent's 40- or 64-digit hex info hash.", key);
    return WL_EINVAL;
  }
  if (!json_is_string(v) ||
      wl__registry_hash_parse(h, json_string_value(v), json_string_length(v)) < 0 ||
      (want && h->len != want)) {
    if (want == 40)
      wl__reply_error(rep, 400, "Invalid %s: expected 40 hex digits (a v1 SHA-1).", key);
    else
      wl__reply_error(rep, 400,
                      "Invalid %s: expected 40 (v1 SHA-1) or 64 (v2 SHA-256) hex digits.", key);
    return WL_EINVAL;
  }
  return 0;
}

void wl__registry_post(struct wl_registry *reg, const uint8_t *body, size_t len,
                       struct wl_reg_reply *rep) {
  struct wl_reg_entry_in in;
  json_error_t je;
  json_t *doc = NULL;
  char reason[WL_REG_REASON_MAX + 128];
  int rv;
  memset(&in, 0, sizeof in);
  if (len > WL_REG_JSON_BODY_MAX) {
    wl__reply_error(rep, 413, "Body too large: at most 1 MiB of JSON.");
    return;
  }
  if (len == 0) {
    wl__reply_error(rep, 400, "Empty body: send a JSON object with info_hash and name.");
    return;
  }
  doc = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
  if (doc == NULL) {
    wl__reply_error(rep, 400, "Invalid JSON body: %s (line %d, column %d).", je.text, je.line,
                    je.column);
    return;
  }
  if (!json_is_object(doc)) {
    wl__reply_error(rep, 400, "Invalid JSON body: expected an object with info_hash and name.");
    goto out_doc;
  }
  if (json_hash(doc, "info_hash", true, 0, &in.ih, rep) < 0) goto out_doc;
  json_t *name = json_object_get(doc, "name");
  if (name == NULL || json_is_null(name)) {
    wl__reply_error(rep, 400, "Missing name: every entry needs a display name.");
    goto out_doc;
  }
  if (!json_is_string(name) || json_string_length(name) == 0) {
    wl__reply_error(rep, 400, "Invalid name: expected a non-empty string.");
    goto out_doc;
  }
  if (json_text(doc, "name", WL_REG_NAME_MAX, &in.name, rep) < 0 ||
      json_text(doc, "description", WL_REG_DESCRIPTION_MAX, &in.description, rep) < 0 ||
      json_text(doc, "publisher", WL_REG_SHORT_MAX, &in.publisher, rep) < 0 ||
      json_text(doc, "license", WL_REG_SHORT_MAX, &in.license, rep) < 0 ||
      json_text(doc, "category", WL_REG_SHORT_MAX, &in.category, rep) < 0 ||
      json_text(doc, "tags", WL_REG_TAGS_MAX, &in.tags, rep) < 0)
    goto out_doc;
  json_t *size = json_object_get(doc, "size");
  if (size && !json_is_null(size)) {
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
      wl__reply_error(rep, 400, "Invalid size: expected a non-negative integer (bytes).");
      goto out_doc;
    }
    in.has_size = true;
    in.size = json_integer_value(size);
  }
  if (json_hash(doc, "v1_info_hash", false, 40, &in.v1, rep) < 0) goto out_doc;
  if (in.v1.len && in.ih.len != 64) {
    wl__reply_error(rep, 400,
                    "Invalid v1_info_hash: only a hybrid entry (a 64-digit info_hash) has one.");
    goto out_doc;
  }

  bool created = false;
  int64_t id;
  struct wl_reg_swarms before, after;
  rv = wl__registry_begin(reg);
  if (rv == 0)
    rv = wl__registry_upsert(reg, &in, WL_UPSERT_REPLACE, &created, &id, &before, &after, reason,
                             sizeof reason);
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) {
    wl__registry_rollback(reg);
    if (rv == WL_EBLOCKED)
      wl__reply_error(rep, 409, "This info_hash is blocked on this tracker: %s", reason);
    else if (rv == WL_EEXISTS)
      wl__reply_error(rep, 409, "Conflict: %s.", reason);
    else
      wl__reply_internal(rep, rv);
    goto out_doc;
  }
  if (created) reg->nentries++;
  wl__registry_publish_diff(reg, &before, &after);
  wl__reply_json(rep, 201, created ? "{\"status\":\"created\"}" : "{\"status\":\"updated\"}");
out_doc:
  json_decref(doc);
}

/* ---- GET /api/registry -------------------------------------------------------------------- */

void wl__registry_get(struct wl_registry *reg, const struct wl_reg_query *q,
                      struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  if (wl__param_hash(q, &h, rep) < 0) return;
  int rv = wl__registry_find(reg, h.hex);
  if (rv < 0) {
    wl__reply_internal(rep, rv);
    return;
  }
  if (rv == 0) {
    wl__reply_error(rep, 404, "No registry entry has info_hash %s.", h.hex);
    return;
  }
  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_entry(&w, reg->st.entry_find);
  wl__registry_done(reg->st.entry_find);
  if (w.err < 0) {
    wl__reply_internal(rep, w.err);
    return;
  }
  rep->status = 200;
}

/* ---- DELETE /api/registry ----------------------------------------------------------------- */

void wl__registry_delete(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  const char *reason;
  struct found f;
  if (wl__param_hash(q, &h, rep) < 0) return;
  if (wl__param_text(q, P_REASON, WL_REG_REASON_MAX, &reason, rep) < 0) return;
  if (reason == NULL) reason = DEFAULT_REASON;

  int rv = wl__registry_begin(reg);
  if (rv < 0) goto fail;
  int found = find_ids(reg, h.hex, &f);
  if (found < 0) {
    rv = found;
    goto fail;
  }
  if (!found) { /* a hash with no entry is blocked all the same */
    memset(&f, 0, sizeof f);
    f.ih = h;
  }
  struct wl_reg_swarms sw;
  swarms_of(&sw, &f.ih, &f.v1);
  int64_t now = reg->now_ms();
  for (size_t i = 0; i < sw.n && rv == 0; i++) {
    sqlite3_stmt *st = reg->st.block_put;
    sqlite3_bind_blob(st, 1, sw.h[i], 20, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, f.ih.hex, (int)f.ih.len, SQLITE_TRANSIENT);
    if (f.v1.len) sqlite3_bind_text(st, 3, f.v1.hex, (int)f.v1.len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    rv = run(reg, st, "blocking a hash");
    if (rv == 0) {
      sqlite3_bind_blob(reg->st.stats_delete, 1, sw.h[i], 20, SQLITE_TRANSIENT);
      rv = run(reg, reg->st.stats_delete, "forgetting the figures of a blocked swarm");
    }
  }
  if (rv == 0 && found) {
    sqlite3_bind_int64(reg->st.torrent_delete, 1, f.id);
    rv = run(reg, reg->st.torrent_delete, "deleting a torrent file");
    if (rv == 0) {
      sqlite3_bind_int64(reg->st.entry_delete, 1, f.id);
      rv = run(reg, reg->st.entry_delete, "deleting an entry");
    }
  }
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) goto fail;
  if (found) reg->nentries--;
  /* blocked first: a worker must refuse the swarm before it may forget it was registered */
  for (size_t i = 0; i < sw.n; i++) wl__registry_publish_block(reg, sw.h[i], true, reason);
  if (found)
    for (size_t i = 0; i < sw.n; i++) wl__registry_publish_registered(reg, sw.h[i], false);
  WL_INFO("registry", "blocked %s%s%s (%s)%s", f.ih.hex, f.v1.len ? " and " : "", f.v1.hex, reason,
          found ? "; its entry is deleted" : "");
  wl__reply_json(rep, 200, "{\"status\":\"deleted\"}");
  return;
fail:
  wl__registry_rollback(reg);
  wl__reply_internal(rep, rv);
}

/* ---- POST /api/registry/verify ------------------------------------------------------------ */

void wl__registry_verify(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  struct found f;
  bool verified;
  if (wl__param_hash(q, &h, rep) < 0) return;
  const char *v = q->v[P_VERIFIED];
  if (v == NULL) {
    wl__reply_error(rep, 400, "Missing verified: expected true or false.");
    return;
  }
  if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) verified = true;
  else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) verified = false;
  else {
    wl__reply_error(rep, 400, "Invalid verified: expected true or false, got \"%.40s\".", v);
    return;
  }
  int rv = wl__registry_begin(reg);
  if (rv < 0) goto fail;
  int found = find_ids(reg, h.hex, &f);
  if (found < 0) {
    rv = found;
    goto fail;
  }
  if (!found) {
    wl__registry_rollback(reg);
    wl__reply_error(rep, 404, "No registry entry has info_hash %s.", h.hex);
    return;
  }
  sqlite3_bind_int64(reg->st.entry_verify, 1, f.id);
  sqlite3_bind_int(reg->st.entry_verify, 2, verified);
  sqlite3_bind_int64(reg->st.entry_verify, 3, reg->now_ms());
  rv = run(reg, reg->st.entry_verify, "setting the verified flag");
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) goto fail;
  wl__reply_json(rep, 200, verified ? "{\"status\":\"updated\",\"verified\":true}"
                                    : "{\"status\":\"updated\",\"verified\":false}");
  return;
fail:
  wl__registry_rollback(reg);
  wl__reply_internal(rep, rv);
}

/* ---- GET/DELETE /api/blocklist ------------------------------------------------------------ */

void wl__registry_blocklist(struct wl_registry *reg, const struct wl_reg_query *q,
                            struct wl_reg_reply *rep) {
  int64_t limit, offset;
  if (wl__param_count(q, P_LIMIT, 100, 1000, &limit, rep) < 0 ||
      wl__param_count(q, P_OFFSET, 0, INT64_MAX, &offset, rep) < 0)
    return;
  int64_t total = -1;
  sqlite3_stmt *st = reg->st.block_groups;
  if (sqlite3_step(st) == SQLITE_ROW) total = sqlite3_column_int64(st, 0);
  wl__registry_done(st);
  if (total < 0) {
    wl__reply_internal(rep, wl__registry_sqlerr(reg, "counting the blocklist"));
    return;
  }
  st = reg->st.block_list;
  sqlite3_bind_int64(st, 1, limit);
  sqlite3_bind_int64(st, 2, offset);
  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_arr_open(&w);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    wl__jw_elem(&w);
    wl__jw_obj_open(&w);
    wl__jw_kstr(&w, "info_hash", (const char *)sqlite3_column_text(st, 0));
    if (sqlite3_column_type(st, 1) != SQLITE_NULL)
      wl__jw_kstr(&w, "v1_info_hash", (const char *)sqlite3_column_text(st, 1));
    wl__jw_kstr(&w, "reason", (const char *)sqlite3_column_text(st, 2));
    wl__jw_key(&w, "blocked_at");
    wl__jw_time(&w, sqlite3_column_int64(st, 3));
    wl__jw_obj_close(&w);
  }
  wl__jw_arr_close(&w);
  wl__registry_done(st);
  if (rc != SQLITE_DONE) {
    wl__reply_internal(rep, wl__registry_sqlerr(reg, "listing the blocklist"));
    return;
  }
  if (w.err < 0) {
    wl__reply_internal(rep, w.err);
    return;
  }
  rep->status = 200;
  wl__reply_header(rep, "X-Total-Count", "%lld", (long long)total);
}

void wl__registry_unblock(struct wl_registry *reg, const struct wl_reg_query *q,
                          struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  uint8_t swarms[8][20];
  size_t n = 0;
  if (wl__param_hash(q, &h, rep) < 0) return;
  int rv = wl__registry_begin(reg);
  if (rv < 0) goto fail;
  sqlite3_stmt *st = reg->st.unblock_find;
  sqlite3_bind_text(st, 1, h.hex, (int)h.len, SQLITE_TRANSIENT);
  sqlite3_bind_blob(st, 2, h.swarm, 20, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 8) {
    if (sqlite3_column_bytes(st, 0) != 20) continue;
    memcpy(swarms[n++], sqlite3_column_blob(st, 0), 20);
  }
  wl__registry_done(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    rv = wl__registry_sqlerr(reg, "looking up the blocklist");
    goto fail;
  }
  if (n == 0) {
    wl__registry_rollback(reg);
    wl__reply_error(rep, 404, "info_hash %s is not blocked.", h.hex);
    return;
  }
  for (size_t i = 0; i < n && rv == 0; i++) {
    sqlite3_bind_blob(reg->st.unblock_delete, 1, swarms[i], 20, SQLITE_TRANSIENT);
    rv = run(reg, reg->st.unblock_delete, "unblocking a hash");
  }
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) goto fail;
  for (size_t i = 0; i < n; i++) wl__registry_publish_block(reg, swarms[i], false, "");
  WL_INFO("registry", "unblocked %s (%zu swarm hashes)", h.hex, n);
  wl__reply_json(rep, 200, "{\"status\":\"unblocked\"}");
  return;
fail:
  wl__registry_rollback(reg);
  wl__reply_internal(rep, rv);
}
