/* Helpers of the registry unit tests (regtest.h). */
#include "regtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/hex.h"

int64_t rt_clock;

static int64_t fake_now(void) { return rt_clock; }

static void capture(void *arg, const void *msg, size_t len) {
  struct rt *t = arg;
  struct wl_proto_in in;
  assert_int_equal(wl_proto_in_init(&in, msg, len), 0);
  if (t->nev >= RT_EVENTS_MAX) t->nev = 0; /* tests that count events reset nev first */
  struct rt_event *e = &t->ev[t->nev++];
  memset(e, 0, sizeof *e);
  e->type = in.type;
  if (in.type == WL_MSG_BLOCK_EVENT) {
    struct wl_msg_block_event b;
    assert_int_equal(wl_proto_decode_block_event(&in, &b), 0);
    memcpy(e->hash, b.hash, 20);
    e->on = b.blocked;
    snprintf(e->reason, sizeof e->reason, "%.*s", (int)b.reason_len, b.reason);
  } else {
    struct wl_msg_registered_event r;
    assert_int_equal(in.type, WL_MSG_REGISTERED_EVENT);
    assert_int_equal(wl_proto_decode_registered_event(&in, &r), 0);
    memcpy(e->hash, r.hash, 20);
    e->on = r.registered;
  }
  wl_proto_in_release(&in);
}

static void open_db(struct rt *t) {
  char err[512];
  int rv = wl_registry_open(&t->reg, &t->cfg, t->db, err, sizeof err);
  if (rv < 0) fail_msg("wl_registry_open: %s", err);
  t->reg.now_ms = fake_now;
  t->reg.last_prune_ms = rt_clock;
  t->reg.publish = capture;
  t->reg.publish_arg = t;
}

void rt_open(struct rt *t) {
  char err[256];
  memset(t, 0, sizeof *t);
  snprintf(t->dir, sizeof t->dir, "/tmp/wl-regtest-XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->db, sizeof t->db, "%s/registry.db", t->dir);
  assert_int_equal(wl_config_load(&t->cfg, err, sizeof err), 0);
  t->cfg.data_dir = t->dir;
  rt_clock = 1767225600000; /* 2026-01-01T00:00:00Z */
  open_db(t);
}

void rt_reopen(struct rt *t) {
  wl_registry_close(&t->reg);
  open_db(t);
}

void rt_close(struct rt *t) {
  char cmd[400];
  wl_registry_close(&t->reg);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
  assert_int_equal(system(cmd), 0);
}

void rt_req(struct rt *t, const char *method, const char *path, const char *query,
            const void *body, size_t blen, bool authorized, struct wl_reg_reply *rep) {
  struct wl_msg_reg_http m = {
      .method = method, .method_len = strlen(method),
      .path = path, .path_len = strlen(path),
      .query = query ? query : "", .query_len = query ? strlen(query) : 0,
      .body = body, .body_len = blen,
      .flags = authorized ? WL_REG_AUTHORIZED : 0,
      .base_url = "http://localhost:8080", .base_url_len = 21,
  };
  wl_reg_reply_init(rep);
  wl_registry_http(&t->reg, &m, rep);
  assert_true(sqlite3_get_autocommit(t->reg.db)); /* no transaction left open */
}

json_t *rt_json(const struct wl_reg_reply *rep) {
  json_error_t je;
  json_t *j = json_loadb((const char *)rep->body.data, rep->body.len, 0, &je);
  if (j == NULL) fail_msg("not JSON (%s): %.*s", je.text, (int)rep->body.len, (const char *)rep->body.data);
  return j;
}

const char *rt_header(const struct wl_reg_reply *rep, const char *name) {
  for (size_t i = 0; i < rep->nheaders; i++)
    if (strcasecmp(rep->headers[i].name, name) == 0) return rep->headers[i].value;
  return NULL;
}

const char *rt_error(struct rt *t, const char *method, const char *path, const char *query,
                     const char *body, bool authorized, unsigned want_status) {
  static char text[1100];
  struct wl_reg_reply rep;
  rt_req(t, method, path, query, body, body ? strlen(body) : 0, authorized, &rep);
  if (rep.status != want_status)
    fail_msg("%s %s?%s: status %u, want %u: %.*s", method, path, query ? query : "", rep.status,
             want_status, (int)rep.body.len, (const char *)rep.body.data);
  assert_string_equal(rep.content_type, "application/json");
  json_t *j = rt_json(&rep);
  const char *e = json_string_value(json_object_get(j, "error"));
  snprintf(text, sizeof text, "%s", e ? e : "");
  json_decref(j);
  wl_reg_reply_release(&rep);
  return text;
}

unsigned rt_post(struct rt *t, const char *json) {
  struct wl_reg_reply rep;
  rt_req(t, "POST", "/api/registry", NULL, json, strlen(json), true, &rep);
  unsigned s = rep.status;
  wl_reg_reply_release(&rep);
  return s;
}

json_t *rt_get(struct rt *t, const char *h) {
  struct wl_reg_reply rep;
  char q[200];
  snprintf(q, sizeof q, "info_hash=%s", h);
  rt_req(t, "GET", "/api/registry", q, NULL, 0, false, &rep);
  json_t *j = rep.status == 200 ? rt_json(&rep) : NULL;
  wl_reg_reply_release(&rep);
  return j;
}

void rt_hash(char *out, size_t n, unsigned seed) {
  uint8_t b[32];
  uint32_t x = seed * 2654435761u + 12345;
  for (size_t i = 0; i < n / 2; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b[i] = (uint8_t)x;
  }
  wl_hex_encode(out, b, n / 2);
}

uint8_t *rt_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)n + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return p;
}

int rt_setup(void **state) {
  struct rt *t = malloc(sizeof *t);
  if (t == NULL) return -1;
  rt_open(t);
  *state = t;
  return 0;
}

int rt_teardown(void **state) {
  rt_close(*state);
  free(*state);
  return 0;
}

const char *rt_jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
