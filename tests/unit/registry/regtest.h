/* Helpers of the registry unit tests: a registry on a temporary database, requests straight to
 * the handler (wl_registry_http), the events it publishes, and JSON answers parsed by jansson. */
#ifndef WL_REGTEST_H
#define WL_REGTEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"

enum { RT_EVENTS_MAX = 64 };

struct rt_event {
  unsigned type; /* WL_MSG_BLOCK_EVENT or WL_MSG_REGISTERED_EVENT */
  uint8_t hash[20];
  bool on; /* blocked / registered */
  char reason[128];
};

struct rt {
  char dir[256];
  char db[300];
  struct wl_config cfg;
  struct wl_registry reg;
  struct rt_event ev[RT_EVENTS_MAX];
  size_t nev;
};

/* The fake clock every registry of the tests reads (ms since the epoch); rt_open sets it. */
extern int64_t rt_clock;

/* A fresh registry in a new temporary directory. */
void rt_open(struct rt *t);
/* Closes and reopens the same database. */
void rt_reopen(struct rt *t);
/* Closes and removes the directory. */
void rt_close(struct rt *t);
/* cmocka fixtures: *state is a struct rt opened by rt_open, closed and freed by rt_teardown. */
int rt_setup(void **state);
int rt_teardown(void **state);

/* One request; authorized sets WL_REG_AUTHORIZED. The reply must be released. */
void rt_req(struct rt *t, const char *method, const char *path, const char *query,
            const void *body, size_t blen, bool authorized, struct wl_reg_reply *rep);
/* The reply's body as JSON (aborts the test if it is not JSON). json_decref it. */
json_t *rt_json(const struct wl_reg_reply *rep);
/* The string member k of o, or NULL. */
const char *rt_jstr(json_t *o, const char *k);
/* The value of a reply header, or NULL. */
const char *rt_header(const struct wl_reg_reply *rep, const char *name);
/* Request + status check + the "error" text (copied into a static buffer) or "". */
const char *rt_error(struct rt *t, const char *method, const char *path, const char *query,
                     const char *body, bool authorized, unsigned want_status);
/* POST /api/registry with a JSON body; returns the status. */
unsigned rt_post(struct rt *t, const char *json);
/* GET /api/registry?info_hash=h: the entry, or NULL when the status is not 200. */
json_t *rt_get(struct rt *t, const char *h);
/* A deterministic hash of n hex digits (40 or 64) from a seed. */
void rt_hash(char *out, size_t n, unsigned seed);
/* Reads a whole file; NULL if missing. free() it. */
uint8_t *rt_read_file(const char *path, size_t *len);

#endif
