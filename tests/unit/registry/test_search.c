/* GET /api/registry/search against a reference implementation: 150 entries with known names,
 * categories, publishers, tags, creation times and swarm figures; every combination of filters
 * and sorts below must return exactly the reference's page in the reference's order (highest
 * first, ties by info_hash), with X-Total-Count. Plus the FTS/LIKE boundary (3 characters),
 * Unicode case folding, query syntax taken literally, and the 400s. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regtest.h"
#include "wl/hex.h"

enum { N = 150 };

struct ref {
  char ih[65];
  char name[64];
  const char *category, *publisher, *tags;
  int64_t created, seeders, completions;
};

static struct ref refs[N];

static const char *const names[] = {"Llama Weights", "llama tokenizer", "LLAMA-3 70B", "ImageNet 2026",
                                    "ab", "Stable Diffusion", "a%b_c", "Whisper large", "BERT base",
                                    "Mistral 7B"};
static const char *const cats[] = {"models", "datasets", "tools"};
static const char *const pubs[] = {"meta", "lab", "acme", NULL};
static const char *const tagsets[] = {"llm,fp16", "vision,fp32", "audio", NULL, "llm,int8"};

static int setup(void **state) {
  struct rt *t = malloc(sizeof *t);
  rt_open(t);
  *state = t;
  for (int i = 0; i < N; i++) {
    struct ref *r = &refs[i];
    rt_hash(r->ih, i % 2 ? 64 : 40, 1000 + (unsigned)i);
    snprintf(r->name, sizeof r->name, "%s #%d", names[i % 10], i);
    r->category = cats[i % 3];
    r->publisher = pubs[i % 4];
    r->tags = tagsets[i % 5];
    rt_clock += (i % 6 == 0) ? 0 : 1000; /* some created in the same ms: ties */
    r->created = rt_clock;
    char body[600], extra[300] = "";
    size_t o = 0;
    o += (size_t)snprintf(extra + o, sizeof extra - o, ",\"category\":\"%s\"", r->category);
    if (r->publisher) o += (size_t)snprintf(extra + o, sizeof extra - o, ",\"publisher\":\"%s\"", r->publisher);
    if (r->tags) o += (size_t)snprintf(extra + o, sizeof extra - o, ",\"tags\":\"%s\"", r->tags);
    snprintf(body, sizeof body, "{\"info_hash\":\"%.64s\",\"name\":\"%.63s\"%.299s}", r->ih, r->name, extra);
    assert_int_equal(rt_post(t, body), 201);
    r->seeders = i % 7;
    r->completions = (i * 13) % 11;
    struct wl_swarm_stat s = {.seeders = (uint64_t)r->seeders, .leechers = 1,
                              .completions = (uint64_t)r->completions};
    wl_hex_decode(s.hash, r->ih, 20);
    assert_int_equal(wl_registry_apply_stats(&t->reg, &s, 1), 0);
  }
  return 0;
}

static int teardown(void **state) {
  rt_close(*state);
  free(*state);
  return 0;
}

static bool icontains(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (const char *p = hay; *p; p++)
    if (strncasecmp(p, needle, n) == 0) return true;
  return n == 0;
}

struct want {
  const char *q, *category, *publisher, *tags;
  int sort; /* 0 created_at, 1 completions, 2 seeders */
  int limit, offset;
};

static int64_t key(const struct ref *r, int sort) {
  return sort == 0 ? r->created : sort == 1 ? r->completions : r->seeders;
}

static int g_sort;
static int cmp(const void *a, const void *b) {
  const struct ref *x = *(const struct ref *const *)a, *y = *(const struct ref *const *)b;
  int64_t kx = key(x, g_sort), ky = key(y, g_sort);
  if (kx != ky) return kx > ky ? -1 : 1;
  return strcmp(x->ih, y->ih);
}

/* Percent-encodes s for a query string. */
static void pct(char *out, size_t outlen, const char *s) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < outlen; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.') out[o++] = (char)*p;
    else o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *p);
  }
  out[o] = '\0';
}

static void check(struct rt *t, const struct want *w) {
  static const char *const sorts[] = {"created_at", "completions", "seeders"};
  const struct ref *match[N];
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    const struct ref *r = &refs[i];
    if (w->q && !icontains(r->name, w->q)) continue;
    if (w->category && strcmp(w->category, r->category) != 0) continue;
    if (w->publisher && (!r->publisher || strcmp(w->publisher, r->publisher) != 0)) continue;
    if (w->tags && (!r->tags || !icontains(r->tags, w->tags))) continue;
    match[n++] = r;
  }
  g_sort = w->sort;
  qsort(match, n, sizeof match[0], cmp);

  char q[600], tmp[200];
  size_t o = 0;
  q[0] = '\0';
#define ADD(k, v)                                                                  \
  do {                                                                             \
    pct(tmp, sizeof tmp, v);                                                       \
    o += (size_t)snprintf(q + o, sizeof q - o, "%s%s=%s", o ? "&" : "", k, tmp);   \
  } while (0)
  if (w->q) ADD("q", w->q);
  if (w->category) ADD("category", w->category);
  if (w->publisher) ADD("publisher", w->publisher);
  if (w->tags) ADD("tags", w->tags);
  if (w->sort) ADD("sort", sorts[w->sort]);
  if (w->limit >= 0) o += (size_t)snprintf(q + o, sizeof q - o, "%slimit=%d", o ? "&" : "", w->limit);
  if (w->offset >= 0) o += (size_t)snprintf(q + o, sizeof q - o, "%soffset=%d", o ? "&" : "", w->offset);
#undef ADD
  struct wl_reg_reply rep;
  rt_req(t, "GET", "/api/registry/search", q, NULL, 0, false, &rep);
  if (rep.status != 200) fail_msg("?%s: %u %.*s", q, rep.status, (int)rep.body.len, (char *)rep.body.data);
  char total[32];
  snprintf(total, sizeof total, "%zu", n);
  if (strcmp(rt_header(&rep, "X-Total-Count"), total) != 0)
    fail_msg("?%s: X-Total-Count %s, want %s", q, rt_header(&rep, "X-Total-Count"), total);
  int limit = w->limit < 0 ? 50 : w->limit > 100 ? 100 : w->limit;
  size_t from = w->offset < 0 ? 0 : (size_t)w->offset;
  size_t want = from >= n ? 0 : n - from < (size_t)limit ? n - from : (size_t)limit;
  json_t *j = rt_json(&rep);
  assert_true(json_is_array(j));
  if (json_array_size(j) != want) fail_msg("?%s: %zu results, want %zu", q, json_array_size(j), want);
  for (size_t i = 0; i < want; i++) {
    json_t *e = json_array_get(j, i);
    const char *ih = json_string_value(json_object_get(e, "info_hash"));
    if (strcmp(ih, match[from + i]->ih) != 0)
      fail_msg("?%s: result %zu is %s (%s), want %s (%s)", q, i, ih,
               json_string_value(json_object_get(e, "name")), match[from + i]->ih, match[from + i]->name);
    assert_int_equal(json_integer_value(json_object_get(e, "seeders")), match[from + i]->seeders);
  }
  json_decref(j);
  wl_reg_reply_release(&rep);
}

static void reference(void **state) {
  struct rt *t = *state;
  const struct want cases[] = {
      {.limit = -1, .offset = -1},
      {.limit = 100, .offset = -1},
      {.limit = 1000, .offset = -1},
      {.limit = 0, .offset = -1},
      {.limit = -1, .offset = 140},
      {.limit = -1, .offset = 100000},
      {.limit = 7, .offset = 3},
      {.q = "llama", .limit = -1, .offset = -1},
      {.q = "LLaMa", .limit = -1, .offset = -1},
      {.q = "lla", .limit = -1, .offset = -1},
      {.q = "ll", .limit = -1, .offset = -1},  /* under 3 characters: LIKE */
      {.q = "a", .limit = 100, .offset = -1},
      {.q = "%", .limit = -1, .offset = -1},   /* taken literally */
      {.q = "_", .limit = -1, .offset = -1},
      {.q = "a%b_c", .limit = -1, .offset = -1},
      {.q = "weights", .sort = 2, .limit = -1, .offset = -1},
      {.q = "3 70", .limit = -1, .offset = -1},
      {.q = "zzz", .limit = -1, .offset = -1},
      {.q = "#1", .limit = -1, .offset = -1},
      {.category = "models", .limit = -1, .offset = -1},
      {.category = "Models", .limit = -1, .offset = -1}, /* exact */
      {.category = "models", .sort = 2, .limit = 100, .offset = -1},
      {.category = "datasets", .sort = 1, .limit = 10, .offset = 20},
      {.publisher = "meta", .limit = -1, .offset = -1},
      {.publisher = "met", .limit = -1, .offset = -1},
      {.publisher = "acme", .sort = 2, .limit = -1, .offset = -1},
      {.tags = "fp16", .limit = -1, .offset = -1},
      {.tags = "FP", .limit = -1, .offset = -1},
      {.tags = "llm", .sort = 1, .limit = -1, .offset = -1},
      {.tags = ",", .limit = -1, .offset = -1},
      {.tags = ",fp", .limit = -1, .offset = -1},
      {.tags = "LLM,", .sort = 2, .limit = -1, .offset = -1},
      {.sort = 1, .limit = 100, .offset = -1},
      {.sort = 2, .limit = 100, .offset = 50},
      {.q = "llama", .category = "models", .publisher = "lab", .tags = "llm", .sort = 2, .limit = -1, .offset = -1},
      {.q = "e", .category = "tools", .sort = 1, .limit = 5, .offset = 2},
  };
  /* both plans: the FTS matches sorted, and the sort index walked with a membership test */
  int64_t few[] = {4000, 0, 20, 4000}, facets[] = {100000, 100000, 5, 0};
  for (int k = 0; k < 4; k++) {
    t->reg.search_few = few[k];
    t->reg.search_facets_max = facets[k];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(t, &cases[i]);
  }
  t->reg.search_few = 4000;
  t->reg.search_facets_max = 100000;
}

static void errors(void **state) {
  struct rt *t = *state;
  const char *P = "/api/registry/search";
  assert_non_null(strstr(rt_error(t, "GET", P, "limit=abc", NULL, false, 400), "limit"));
  assert_non_null(strstr(rt_error(t, "GET", P, "limit=-1", NULL, false, 400), "limit"));
  assert_non_null(strstr(rt_error(t, "GET", P, "limit=1.5", NULL, false, 400), "limit"));
  assert_non_null(strstr(rt_error(t, "GET", P, "limit=+5", NULL, false, 400), "limit"));
  assert_non_null(strstr(rt_error(t, "GET", P, "offset=x", NULL, false, 400), "offset"));
  assert_non_null(strstr(rt_error(t, "GET", P, "offset=-5", NULL, false, 400), "offset"));
  assert_non_null(strstr(rt_error(t, "GET", P, "sort=name", NULL, false, 400), "sort"));
  assert_non_null(strstr(rt_error(t, "GET", P, "sort=SEEDERS", NULL, false, 400), "sort"));
  assert_non_null(strstr(rt_error(t, "GET", P, "q=%ff%fe%fd", NULL, false, 400), "UTF-8"));
  assert_non_null(strstr(rt_error(t, "GET", P, "q=a%00b", NULL, false, 400), "NUL"));
  assert_non_null(strstr(rt_error(t, "GET", P, "q=a&q=b", NULL, false, 400), "more than once"));
  /* empty values are as if absent; unknown parameters are ignored */
  struct wl_reg_reply rep;
  rt_req(t, "GET", P, "q=&sort=&limit=&offset=&foo=bar&&", NULL, 0, false, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "150");
  json_t *j = rt_json(&rep);
  assert_int_equal(json_array_size(j), 50);
  json_decref(j);
  wl_reg_reply_release(&rep);
  /* a huge offset saturates */
  rt_req(t, "GET", P, "offset=99999999999999999999999", NULL, 0, false, &rep);
  assert_int_equal(rep.status, 200);
  assert_int_equal(rep.body.len, 2);
  wl_reg_reply_release(&rep);
}

static void text_matching(void **state) {
  struct rt *t = *state;
  struct wl_reg_reply rep;
  char ih[41];
  rt_hash(ih, 40, 5000);
  char body[300];
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"Fête Ünïcode \\\"quoted\\\" NOT OR *\"}", ih);
  assert_int_equal(rt_post(t, body), 201);
  /* Unicode case folding through the trigram index; FTS syntax is literal text */
  const char *hits[] = {"q=F%C3%8ATE", "q=%C3%BCn%C3%AF", "q=%22quoted%22", "q=NOT+OR", "q=OR+*",
                        "q=%22quo", "q=%2A"};
  for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
    rt_req(t, "GET", "/api/registry/search", hits[i], NULL, 0, false, &rep);
    assert_int_equal(rep.status, 200);
    if (strcmp(rt_header(&rep, "X-Total-Count"), "1") != 0)
      fail_msg("%s: %s matches", hits[i], rt_header(&rep, "X-Total-Count"));
    wl_reg_reply_release(&rep);
  }
  const char *misses[] = {"q=NEAR(", "q=%22%22%22", "q=xyz+OR+abc"};
  for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
    rt_req(t, "GET", "/api/registry/search", misses[i], NULL, 0, false, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rt_header(&rep, "X-Total-Count"), "0");
    wl_reg_reply_release(&rep);
  }
  /* the index follows renames and deletes */
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"Renamed thing\"}", ih);
  assert_int_equal(rt_post(t, body), 201);
  rt_req(t, "GET", "/api/registry/search", "q=f%C3%AAte", NULL, 0, false, &rep);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "0");
  wl_reg_reply_release(&rep);
  rt_req(t, "GET", "/api/registry/search", "q=renamed", NULL, 0, false, &rep);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "1");
  wl_reg_reply_release(&rep);
  char q[100];
  snprintf(q, sizeof q, "info_hash=%s", ih);
  rt_req(t, "DELETE", "/api/registry", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  rt_req(t, "GET", "/api/registry/search", "q=renamed", NULL, 0, false, &rep);
  assert_string_equal(rt_header(&rep, "X-Total-Count"), "0");
  wl_reg_reply_release(&rep);
}

/* The query plans use the indexes: no full scan of entries for q, a category or a sort. */
static void plans(void **state) {
  struct rt *t = *state;
  const char *sqls[] = {
      "SELECT e.id FROM entries e WHERE e.category = 'models' ORDER BY e.seeders DESC, e.ih_key LIMIT 50 OFFSET 0",
      "SELECT e.id FROM entries e ORDER BY e.created_at DESC, e.ih_key LIMIT 50 OFFSET 900000",
      "SELECT e.id FROM entries e WHERE e.publisher = 'meta' ORDER BY e.completions DESC, e.ih_key LIMIT 50",
      "SELECT e.id FROM entries e WHERE +e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH 'name : \"llama\"') ORDER BY e.created_at DESC, e.ih_key LIMIT 50",
      "SELECT e.id FROM entries e WHERE +e.id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH 'name : \"llama\"') AND e.category = 'x' ORDER BY e.seeders DESC, e.ih_key LIMIT 50",
      "SELECT count(*) FROM entries e WHERE e.name LIKE '%ll%'",
  };
  const char *want[] = {"COVERING INDEX entries_cat_seeders", "COVERING INDEX entries_by_created",
                        "COVERING INDEX entries_pub_completions", "entries_by_created",
                        "entries_cat_seeders", "COVERING INDEX entries_name"};
  for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
    char sql[600];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqls[i]);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(t->reg.db, sql, -1, &st, NULL), SQLITE_OK);
    char plan[2000] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
      strncat(plan, (const char *)sqlite3_column_text(st, 3), sizeof plan - strlen(plan) - 2);
      strncat(plan, "; ", sizeof plan - strlen(plan) - 1);
    }
    sqlite3_finalize(st);
    if (strstr(plan, "SCAN e") && !strstr(plan, "USING")) fail_msg("full scan: %s -> %s", sqls[i], plan);
    if (strstr(plan, "TEMP B-TREE FOR ORDER BY")) fail_msg("sorts: %s -> %s", sqls[i], plan);
    if (!strstr(plan, want[i])) fail_msg("%s -> %s, want %s", sqls[i], plan, want[i]);
  }
  sqlite3_stmt *st;
  /* a count of FTS matches in a category probes entries_facets */
  assert_int_equal(sqlite3_prepare_v2(t->reg.db,
      "EXPLAIN QUERY PLAN SELECT count(*) FROM entries e INDEXED BY entries_facets WHERE e.id IN "
      "(SELECT rowid FROM entries_fts WHERE entries_fts MATCH 'name : \"llama\"') AND "
      "e.category = 'x'", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "COVERING INDEX entries_facets"));
  sqlite3_finalize(st);
  /* few matches: the FTS matches drive, no sort index */
  assert_int_equal(sqlite3_prepare_v2(t->reg.db,
      "EXPLAIN QUERY PLAN SELECT e.id FROM entries e WHERE e.id IN (SELECT rowid FROM entries_fts "
      "WHERE entries_fts MATCH 'name : \"llama\"') AND +e.category = 'x' ORDER BY +e.seeders DESC, "
      "+e.ih_key LIMIT 50", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_non_null(strstr((const char *)sqlite3_column_text(st, 3), "INTEGER PRIMARY KEY"));
  sqlite3_finalize(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(reference),
      cmocka_unit_test(errors),
      cmocka_unit_test(text_matching),
      cmocka_unit_test(plans),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
