/* GET /api/registry/search: q (case-insensitive substring of the name), category and publisher
 * (exact), tags (substring of the comma-separated tags), sort created_at|completions|seeders
 * (highest first, ties by info_hash ascending), limit (default 50, clamped to 100), offset,
 * X-Total-Count.
 *
 * Built for ~1M entries: q of 3 or more characters goes through the FTS5 trigram index
 * (entries_fts), shorter ones fall back to LIKE; every sort, alone or after a category or
 * publisher filter, is a walk of one index ((category, seeders DESC, info_hash) ...). A page is
 * chosen on that index alone (the ids of rows offset..offset+limit, a covering scan, so a deep
 * offset skips index entries, not rows) and only its rows are read. The statement is built per
 * request from the filters present; at a few requests per second preparing it costs nothing. */
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "wl/error.h"

enum { SQL_MAX = 2048 };

static const char *const sorts[] = {"created_at", "completions", "seeders"};

/* Characters (UTF-8 code points) in s[0..n). */
static size_t codepoints(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80) c++;
  return c;
}

/* '%', '_' and '\' escaped for LIKE ... ESCAPE '\', wrapped in '%'. */
static int like_pattern(struct wl_buf *b, const char *s, size_t n) {
  int rv = wl_buf_appendc(b, '%');
  for (size_t i = 0; i < n && rv == 0; i++) {
    if (s[i] == '%' || s[i] == '_' || s[i] == '\\') rv = wl_buf_appendc(b, '\\');
    if (rv == 0) rv = wl_buf_appendc(b, (uint8_t)s[i]);
  }
  if (rv == 0) rv = wl_buf_appendc(b, '%');
  if (rv == 0) rv = wl_buf_appendc(b, '\0');
  return rv;
}

/* An FTS5 string literal: the text in double quotes, quotes doubled. */
static int fts_phrase(struct wl_buf *b, const char *s, size_t n) {
  int rv = wl_buf_appendc(b, '"');
  for (size_t i = 0; i < n && rv == 0; i++) {
    if (s[i] == '"') rv = wl_buf_appendc(b, '"');
    if (rv == 0) rv = wl_buf_appendc(b, (uint8_t)s[i]);
  }
  if (rv == 0) rv = wl_buf_appendc(b, '"');
  if (rv == 0) rv = wl_buf_appendc(b, '\0');
  return rv;
}

/* The WHERE clause (with ?1..?4 bound by bind_filters). */
struct filters {
  const char *q, *category, *publisher, *tags;
  size_t qlen, tagslen;
  bool q_fts;
  struct wl_buf qpat, tagpat; /* the bound forms of q and tags */
};

static void where_clause(char *out, size_t outlen, const struct filters *f) {
  size_t o = 0;
  out[0] = '\0';
#define ADD(s) o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? " AND " : " WHERE ", s)
  if (f->q && f->q_fts) ADD("e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1)");
  else if (f->q) ADD("e.name LIKE ?1 ESCAPE '\\'");
  if (f->category) ADD("e.category = ?2");
  if (f->publisher) ADD("e.publisher = ?3");
  if (f->tags) ADD("e.tags LIKE ?4 ESCAPE '\\'");
#undef ADD
}

static void bind_filters(sqlite3_stmt *st, const struct filters *f) {
  if (f->q) sqlite3_bind_text(st, 1, (const char *)f->qpat.data, -1, SQLITE_STATIC);
  if (f->category) sqlite3_bind_text(st, 2, f->category, -1, SQLITE_STATIC);
  if (f->publisher) sqlite3_bind_text(st, 3, f->publisher, -1, SQLITE_STATIC);
  if (f->tags) sqlite3_bind_text(st, 4, (const char *)f->tagpat.data, -1, SQLITE_STATIC);
}

void wl__registry_search(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep) {
  struct filters f;
  int64_t limit, offset, total = -1;
  int sort = 0, rv;
  sqlite3_stmt *count = NULL, *page = NULL;
  char where[512], sql[SQL_MAX];

  memset(&f, 0, sizeof f);
  wl_buf_init(&f.qpat, 2 * WL_REG_NAME_MAX + 8); /* every byte may be escaped */
  wl_buf_init(&f.tagpat, 2 * WL_REG_TAGS_MAX + 8);
  if (q->v[P_SORT]) {
    sort = -1;
    for (int i = 0; i < 3; i++)
      if (strcmp(q->v[P_SORT], sorts[i]) == 0) sort = i;
    if (sort < 0) {
      wl__reply_error(rep, 400,
                      "Invalid sort \"%.40s\": expected created_at, completions or seeders.",
                      q->v[P_SORT]);
      goto out;
    }
  }
  if (wl__param_count(q, P_LIMIT, 50, 100, &limit, rep) < 0 ||
      wl__param_count(q, P_OFFSET, 0, INT64_MAX, &offset, rep) < 0 ||
      wl__param_text(q, P_Q, WL_REG_NAME_MAX, &f.q, rep) < 0 ||
      wl__param_text(q, P_CATEGORY, WL_REG_SHORT_MAX, &f.category, rep) < 0 ||
      wl__param_text(q, P_PUBLISHER, WL_REG_SHORT_MAX, &f.publisher, rep) < 0 ||
      wl__param_text(q, P_TAGS, WL_REG_TAGS_MAX, &f.tags, rep) < 0)
    goto out;
  f.qlen = q->len[P_Q];
  f.tagslen = q->len[P_TAGS];
  if (f.q) {
    f.q_fts = codepoints(f.q, f.qlen) >= 3;
    rv = f.q_fts ? fts_phrase(&f.qpat, f.q, f.qlen) : like_pattern(&f.qpat, f.q, f.qlen);
    if (rv < 0) goto fail;
  }
  if (f.tags && (rv = like_pattern(&f.tagpat, f.tags, f.tagslen)) < 0) goto fail;

  where_clause(where, sizeof where, &f);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM entries e%s", where);
  if (sqlite3_prepare_v2(reg->db, sql, -1, &count, NULL) != SQLITE_OK) {
    rv = wl__registry_sqlerr(reg, "preparing a search");
    goto fail;
  }
  bind_filters(count, &f);
  if (sqlite3_step(count) == SQLITE_ROW) total = sqlite3_column_int64(count, 0);
  if (total < 0) {
    rv = wl__registry_sqlerr(reg, "counting search results");
    goto fail;
  }

  const char *key = sorts[sort];
  snprintf(sql, sizeof sql,
           "SELECT " WL_REG_ENTRY_COLS " FROM entries e WHERE e.id IN ("
           "SELECT e.id FROM entries e%s ORDER BY e.%s DESC, e.info_hash LIMIT ?5 OFFSET ?6)"
           " ORDER BY e.%s DESC, e.info_hash",
           where, key, key);
  if (sqlite3_prepare_v2(reg->db, sql, -1, &page, NULL) != SQLITE_OK) {
    rv = wl__registry_sqlerr(reg, "preparing a search");
    goto fail;
  }
  bind_filters(page, &f);
  sqlite3_bind_int64(page, 5, limit);
  sqlite3_bind_int64(page, 6, offset);

  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_arr_open(&w);
  int rc;
  while ((rc = sqlite3_step(page)) == SQLITE_ROW) {
    wl__jw_elem(&w);
    wl__jw_entry(&w, page);
  }
  wl__jw_arr_close(&w);
  if (rc != SQLITE_DONE) {
    rv = wl__registry_sqlerr(reg, "reading search results");
    goto fail;
  }
  if (w.err < 0) {
    rv = w.err;
    goto fail;
  }
  rep->status = 200;
  rep->content_type = "application/json";
  wl__reply_header(rep, "X-Total-Count", "%lld", (long long)total);
  goto out;
fail:
  wl__reply_internal(rep, rv);
out:
  sqlite3_finalize(count);
  sqlite3_finalize(page);
  wl_buf_release(&f.qpat);
  wl_buf_release(&f.tagpat);
}
