/* hiredis on the worker's libuv loop (redis_loop.h). */
#include "redis_loop.h"

#include <stdbool.h>
#include <stdlib.h>

struct rloop {
  redisAsyncContext *ac; /* NULL once hiredis has let go of it */
  uv_poll_t poll;
  uv_prepare_t prepare;
  int events;      /* what the poll watches */
  bool want_write; /* commands are queued: written before the loop next waits */
  bool in_write;   /* inside redisAsyncHandleWrite: a write left unfinished needs POLLOUT */
  int closed;      /* handles closed so far */
};

static void on_poll(uv_poll_t *h, int status, int events);

static void watch(struct rloop *p, int events) {
  if (events == p->events) return;
  p->events = events;
  if (events)
    uv_poll_start(&p->poll, events, on_poll);
  else
    uv_poll_stop(&p->poll);
}

static void handle_write(struct rloop *p) {
  p->in_write = true;
  redisAsyncHandleWrite(p->ac);
  p->in_write = false;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  struct rloop *p = h->data;
  if (status < 0) return; /* as hiredis' own adapter: the connect watchdog deals with it */
  if (p->ac && (events & UV_READABLE)) redisAsyncHandleRead(p->ac);
  if (p->ac && (events & UV_WRITABLE)) handle_write(p);
}

static void on_prepare(uv_prepare_t *h) {
  struct rloop *p = h->data;
  if (!p->want_write || p->ac == NULL) return;
  p->want_write = false;
  handle_write(p);
}

static void add_read(void *priv) {
  struct rloop *p = priv;
  watch(p, p->events | UV_READABLE);
}

static void del_read(void *priv) {
  struct rloop *p = priv;
  watch(p, p->events & ~UV_READABLE);
}

static void add_write(void *priv) {
  struct rloop *p = priv;
  /* A connect in progress, or a write the socket did not take whole: wait for POLLOUT.
   * Otherwise the commands of this loop turn go out together from the prepare handle. */
  if (p->in_write || !(p->ac->c.flags & REDIS_CONNECTED))
    watch(p, p->events | UV_WRITABLE);
  else
    p->want_write = true;
}

static void del_write(void *priv) {
  struct rloop *p = priv;
  p->want_write = false;
  watch(p, p->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h) {
  struct rloop *p = h->data;
  if (++p->closed == 2) free(p);
}

static void cleanup(void *priv) {
  struct rloop *p = priv;
  p->ac = NULL;
  uv_close((uv_handle_t *)&p->poll, on_closed);
  uv_close((uv_handle_t *)&p->prepare, on_closed);
}

int wl_rloop_attach(redisAsyncContext *ac, uv_loop_t *loop) {
  if (ac->ev.data != NULL) return REDIS_ERR;
  struct rloop *p = calloc(1, sizeof *p);
  if (p == NULL) return REDIS_ERR;
  if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
    free(p);
    return REDIS_ERR;
  }
  uv_prepare_init(loop, &p->prepare);
  uv_prepare_start(&p->prepare, on_prepare);
  uv_unref((uv_handle_t *)&p->prepare);
  p->poll.data = p->prepare.data = p;
  p->ac = ac;
  ac->ev.addRead = add_read;
  ac->ev.delRead = del_read;
  ac->ev.addWrite = add_write;
  ac->ev.delWrite = del_write;
  ac->ev.cleanup = cleanup;
  ac->ev.data = p;
  return REDIS_OK;
}
