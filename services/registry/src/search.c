/* GET /api/registry/search: q (case-insensitive substring of the name), category and publisher
 * (exact), tags (substring of the comma-separated tags), sort created_at|completions|seeders
 * (highest first, ties by info_hash ascending), limit (default 50, clamped to 100), offset,
 * X-Total-Count.
 *
 * Built for ~1M entries on a machine whose page cache may not hold the whole database, so the
 * aim is to touch few pages:
 * - q and tags of 3 or more characters are one FTS5 query on the trigram index (entries_fts,
 *   columns name and tags); shorter ones fall back to LIKE. A short q is counted on the narrow
 *   name index (with a category or publisher, its matches are probed in entries_facets); its
 *   page walks a sort index testing the name of each row until the page is full.
 * - Every sort has an index, alone and after a category or publisher ((category, seeders DESC,
 *   ih_key) ...), whose last key ih_key orders like info_hash in 8 bytes. A page is chosen on
 *   that index alone (ids of rows offset..offset+limit, a covering scan, so a deep offset skips
 *   index entries, not rows) and only its rows are read.
 * - With an FTS part the matches are counted in the FTS index first (no rows read); that is
 *   the total when there is no other filter. With a category or publisher, up to
 *   reg->search_facets_max (100,000) matches are counted by probing entries_facets (id, category, publisher) in id order.
 *   Few matches (<= reg->search_few, 4000): the page is sorted from the matching rows. Many:
 *   the sort index is walked and each id tested against the match set, which stops after
 *   offset+limit hits. The unary '+' in the SQL is how the planner is told which to do.
 * The statements are built per request from the filters present; preparing them costs little
 * next to the query. */
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

/* Appends `column : "text"` (quotes doubled: FTS5 syntax in the text is plain text), joined to
 * what b holds with AND. Not NUL-terminated. */
static int fts_phrase(struct wl_buf *b, const char *column, const char *s, size_t n) {
  int rv = b->len ? wl_buf_appends(b, " AND ") : 0;
  if (rv == 0) rv = wl_buf_appends(b, column);
  if (rv == 0) rv = wl_buf_appends(b, " : \"");
  for (size_t i = 0; i < n && rv == 0; i++) {
    if (s[i] == '"') rv = wl_buf_appendc(b, '"');
    if (rv == 0) rv = wl_buf_appendc(b, (uint8_t)s[i]);
  }
  if (rv == 0) rv = wl_buf_appendc(b, '"');
  return rv;
}

/* The filters of one search and their bound forms: ?1 FTS query, ?2 category, ?3 publisher,
 * ?4 name LIKE pattern, ?5 tags LIKE pattern (?6 limit, ?7 offset). */
struct filters {
  const char *category, *publisher;
  struct wl_buf match, qlike, taglike; /* NUL-terminated when used; len 0 = unused */
};

static bool has_fts(const struct filters *f) { return f->match.len > 0; }
static bool has_other(const struct filters *f) {
  return f->category || f->publisher || f->qlike.len || f->taglike.len;
}

/* How a query with an FTS part is run. */
enum plan {
  PLAN_ROWS,   /* the FTS matches drive, reading their rows (few matches) */
  PLAN_FACETS, /* the FTS matches drive, probing entries_facets (a count by category/publisher) */
  PLAN_INDEX,  /* a sort, category or publisher index drives, each id tested against the matches */
};

/* " FROM entries e [INDEXED BY ...] WHERE ..." for the filters of f run with plan. */
static void from_where(char *out, size_t outlen, const struct filters *f, enum plan plan) {
  size_t o = (size_t)snprintf(out, outlen, " FROM entries e%s",
                              has_fts(f) && plan == PLAN_FACETS ? " INDEXED BY entries_facets" : "");
  bool first = true;
#define ADD(...)                                                                        \
  do {                                                                                  \
    o += (size_t)snprintf(out + o, outlen - o, "%s", first ? " WHERE " : " AND ");      \
    o += (size_t)snprintf(out + o, outlen - o, __VA_ARGS__);                            \
    first = false;                                                                      \
  } while (0)
  const char *plus = has_fts(f) && plan == PLAN_ROWS ? "+" : "";
  if (has_fts(f))
    ADD("%se.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1)",
        plan == PLAN_INDEX ? "+" : "");
  if (f->category) ADD("%se.category = ?2", plus);
  if (f->publisher) ADD("%se.publisher = ?3", plus);
  if (f->qlike.len) ADD("e.name LIKE ?4 ESCAPE '\\'");
  if (f->taglike.len) ADD("e.tags LIKE ?5 ESCAPE '\\'");
#undef ADD
}

static void bind_filters(sqlite3_stmt *st, const struct filters *f) {
  if (f->match.len) sqlite3_bind_text(st, 1, (const char *)f->match.data, -1, SQLITE_STATIC);
  if (f->category) sqlite3_bind_text(st, 2, f->category, -1, SQLITE_STATIC);
  if (f->publisher) sqlite3_bind_text(st, 3, f->publisher, -1, SQLITE_STATIC);
  if (f->qlike.len) sqlite3_bind_text(st, 4, (const char *)f->qlike.data, -1, SQLITE_STATIC);
  if (f->taglike.len) sqlite3_bind_text(st, 5, (const char *)f->taglike.data, -1, SQLITE_STATIC);
}

/* Runs a one-integer query built from sql. */
static int count_query(struct wl_registry *reg, const char *sql, const struct filters *f,
                       int64_t *out) {
  sqlite3_stmt *st = NULL;
  *out = -1;
  if (sqlite3_prepare_v2(reg->db, sql, -1, &st, NULL) != SQLITE_OK)
    return wl__registry_sqlerr(reg, "preparing a search count");
  bind_filters(st, f);
  if (sqlite3_step(st) == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return *out < 0 ? wl__registry_sqlerr(reg, "counting search results") : 0;
}

/* Parses the parameters into f (400 in rep on a bad one). */
static int parse(const struct wl_reg_query *q, struct filters *f, int *sort, int64_t *limit,
                 int64_t *offset, struct wl_reg_reply *rep) {
  const char *text, *tags;
  *sort = 0;
  if (q->v[P_SORT]) {
    *sort = -1;
    for (int i = 0; i < 3; i++)
      if (strcmp(q->v[P_SORT], sorts[i]) == 0) *sort = i;
    if (*sort < 0) {
      wl__reply_error(rep, 400,
                      "Invalid sort \"%.40s\": expected created_at, completions or seeders.",
                      q->v[P_SORT]);
      return WL_EINVAL;
    }
  }
  if (wl__param_count(q, P_LIMIT, 50, 100, limit, rep) < 0 ||
      wl__param_count(q, P_OFFSET, 0, INT64_MAX, offset, rep) < 0 ||
      wl__param_text(q, P_Q, WL_REG_NAME_MAX, &text, rep) < 0 ||
      wl__param_text(q, P_CATEGORY, WL_REG_SHORT_MAX, &f->category, rep) < 0 ||
      wl__param_text(q, P_PUBLISHER, WL_REG_SHORT_MAX, &f->publisher, rep) < 0 ||
      wl__param_text(q, P_TAGS, WL_REG_TAGS_MAX, &tags, rep) < 0)
    return WL_EINVAL;
  int rv = 0;
  if (text && codepoints(text, q->len[P_Q]) >= 3)
    rv = fts_phrase(&f->match, "name", text, q->len[P_Q]);
  else if (text)
    rv = like_pattern(&f->qlike, text, q->len[P_Q]);
  if (rv == 0 && tags && codepoints(tags, q->len[P_TAGS]) >= 3)
    rv = fts_phrase(&f->match, "tags", tags, q->len[P_TAGS]);
  else if (rv == 0 && tags)
    rv = like_pattern(&f->taglike, tags, q->len[P_TAGS]);
  if (rv == 0 && f->match.len) rv = wl_buf_appendc(&f->match, '\0');
  if (rv < 0) wl__reply_internal(rep, rv);
  return rv;
}

void wl__registry_search(struct wl_registry *reg, const struct wl_reg_query *q,
                         struct wl_reg_reply *rep) {
  struct filters f;
  int64_t limit, offset, total = -1, nfts = -1;
  int sort, rv;
  sqlite3_stmt *page = NULL;
  char where[600], sql[SQL_MAX];

  memset(&f, 0, sizeof f);
  wl_buf_init(&f.match, 2 * (WL_REG_NAME_MAX + WL_REG_TAGS_MAX) + 64); /* all quotes doubled */
  wl_buf_init(&f.qlike, 2 * WL_REG_NAME_MAX + 8);
  wl_buf_init(&f.taglike, 2 * WL_REG_TAGS_MAX + 8);
  if (parse(q, &f, &sort, &limit, &offset, rep) < 0) goto out;

  /* the total, and whether the FTS matches are few enough to drive the page */
  if (has_fts(&f)) {
    rv = count_query(reg, "SELECT count(*) FROM entries_fts WHERE entries_fts MATCH ?1", &f, &nfts);
    if (rv < 0) goto fail;
  }
  /* few matches: sort their rows; many: walk an index with a membership test */
  enum plan page_plan = nfts >= 0 && nfts <= reg->search_few ? PLAN_ROWS : PLAN_INDEX;
  if (has_fts(&f) && (!has_other(&f) || nfts == 0)) {
    total = nfts;
  } else if (!has_fts(&f) && f.qlike.len && !f.taglike.len && (f.category || f.publisher)) {
    /* a short q in a category or publisher: the names matching, from the narrow name index,
     * probed in entries_facets (not every row of the category read for its name) */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM entries e INDEXED BY entries_facets WHERE e.id IN ("
             "SELECT rowid FROM entries INDEXED BY entries_name WHERE name LIKE ?4 ESCAPE '\\')"
             "%s%s",
             f.category ? " AND e.category = ?2" : "", f.publisher ? " AND e.publisher = ?3" : "");
    rv = count_query(reg, sql, &f, &total);
    if (rv < 0) goto fail;
  } else {
    enum plan count_plan = page_plan;
    if (has_fts(&f) && !f.qlike.len && !f.taglike.len && nfts <= reg->search_facets_max)
      count_plan = PLAN_FACETS;
    from_where(where, sizeof where, &f, count_plan);
    snprintf(sql, sizeof sql, "SELECT count(*)%s", where);
    rv = count_query(reg, sql, &f, &total);
    if (rv < 0) goto fail;
  }

  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_arr_open(&w);
  if (total > 0 && offset < total && limit > 0) {
    const char *key = sorts[sort];
    const char *plus = page_plan == PLAN_ROWS ? "+" : ""; /* not the sort index */
    from_where(where, sizeof where, &f, page_plan);
    snprintf(sql, sizeof sql,
             "SELECT " WL_REG_ENTRY_COLS " FROM entries e WHERE e.id IN ("
             "SELECT e.id%s ORDER BY %se.%s DESC, %se.ih_key LIMIT ?6 OFFSET ?7)"
             " ORDER BY e.%s DESC, e.ih_key",
             where, plus, key, plus, key);
    if (sqlite3_prepare_v2(reg->db, sql, -1, &page, NULL) != SQLITE_OK) {
      rv = wl__registry_sqlerr(reg, "preparing a search");
      goto fail;
    }
    bind_filters(page, &f);
    sqlite3_bind_int64(page, 6, limit);
    sqlite3_bind_int64(page, 7, offset);
    int rc;
    while ((rc = sqlite3_step(page)) == SQLITE_ROW) {
      wl__jw_elem(&w);
      wl__jw_entry(&w, page);
    }
    if (rc != SQLITE_DONE) {
      rv = wl__registry_sqlerr(reg, "reading search results");
      goto fail;
    }
  }
  wl__jw_arr_close(&w);
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
  sqlite3_finalize(page);
  wl_buf_release(&f.match);
  wl_buf_release(&f.qlike);
  wl_buf_release(&f.taglike);
}
