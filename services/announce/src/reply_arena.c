/* hiredis reply objects from an arena; see reply_arena.h. */
#include "reply_arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct wl_rarena_chunk {
  struct wl_rarena_chunk *next;
  max_align_t data[];
};

/* Each reply object is preceded by its arena, so that freeObject (which gets no context) can
 * find the arena to reset. */
struct obj {
  struct wl_rarena *arena;
  max_align_t pad[]; /* keeps the reply aligned */
};

static void *arena_alloc(struct wl_rarena *a, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (a->cap - a->used >= n) {
    void *p = a->base + a->used;
    a->used += n;
    return p;
  }
  struct wl_rarena_chunk *c = malloc(sizeof *c + n);
  if (c == NULL) return NULL;
  c->next = a->big;
  a->big = c;
  return c->data;
}

static void arena_reset(struct wl_rarena *a) {
  while (a->big) {
    struct wl_rarena_chunk *next = a->big->next;
    free(a->big);
    a->big = next;
  }
  a->used = 0;
}

static redisReply *new_reply(const redisReadTask *task, int type) {
  struct wl_rarena *a = task->privdata;
  struct obj *o = arena_alloc(a, sizeof *o + sizeof(redisReply));
  if (o == NULL) return NULL;
  o->arena = a;
  redisReply *r = (redisReply *)o->pad;
  memset(r, 0, sizeof *r);
  r->type = type;
  if (task->parent) {
    redisReply *parent = task->parent->obj;
    assert(parent->type == REDIS_REPLY_ARRAY);
    parent->element[task->idx] = r;
  }
  return r;
}

static void *create_string(const redisReadTask *task, char *str, size_t len) {
  char *buf = arena_alloc(task->privdata, len + 1);
  if (buf == NULL) return NULL;
  memcpy(buf, str, len);
  buf[len] = '\0';
  redisReply *r = new_reply(task, task->type);
  if (r == NULL) return NULL;
  r->str = buf;
  r->len = len;
  return r;
}

static void *create_array(const redisReadTask *task, int elements) {
  redisReply **el = NULL;
  if (elements > 0) {
    el = arena_alloc(task->privdata, (size_t)elements * sizeof *el);
    if (el == NULL) return NULL;
    memset(el, 0, (size_t)elements * sizeof *el);
  }
  redisReply *r = new_reply(task, REDIS_REPLY_ARRAY);
  if (r == NULL) return NULL;
  r->element = el;
  r->elements = elements > 0 ? (size_t)elements : 0;
  return r;
}

static void *create_integer(const redisReadTask *task, long long value) {
  redisReply *r = new_reply(task, REDIS_REPLY_INTEGER);
  if (r) r->integer = value;
  return r;
}

static void *create_nil(const redisReadTask *task) { return new_reply(task, REDIS_REPLY_NIL); }

/* hiredis frees whole replies only: the arena holds nothing else */
static void free_object(void *reply) {
  struct obj *o = (struct obj *)((unsigned char *)reply - offsetof(struct obj, pad));
  arena_reset(o->arena);
}

static redisReplyObjectFunctions arena_fns = {create_string, create_array, create_integer,
                                              create_nil, free_object};

int wl_rarena_init(struct wl_rarena *a, size_t cap) {
  memset(a, 0, sizeof *a);
  a->base = malloc(cap);
  if (a->base == NULL) return -1;
  a->cap = cap;
  return 0;
}

void wl_rarena_release(struct wl_rarena *a) {
  arena_reset(a);
  free(a->base);
  a->base = NULL;
}

void wl_rarena_attach(struct wl_rarena *a, redisReader *r) {
  r->fn = &arena_fns;
  r->privdata = a;
}
