/* The libuv/NNG bridge: NNG aio callbacks run on NNG's threads; they hand work to a libuv loop
 * by posting an intrusive item to a mutex-protected queue and waking the loop with one
 * uv_async_t. The loop drains the whole queue per wake-up, so a burst of completions costs one
 * wake-up, not one each (FIELD-NOTES: the hand-off is the expensive part).
 *
 * Post from any thread; callbacks run on the loop thread, in posting order. */
#ifndef WL_UVNNG_H
#define WL_UVNNG_H

#include <pthread.h>
#include <uv.h>

struct wl_uvnng_item;
typedef void (*wl_uvnng_fn)(struct wl_uvnng_item *item);

struct wl_uvnng_item {
  struct wl_uvnng_item *next;
  wl_uvnng_fn fn;
};

struct wl_uvnng {
  uv_async_t async;
  pthread_mutex_t mu;
  struct wl_uvnng_item *head;
  struct wl_uvnng_item *tail;
  int closing;
};

int wl_uvnng_init(struct wl_uvnng *q, uv_loop_t *loop);
/* Thread-safe. item->fn(item) runs later on the loop thread. */
void wl_uvnng_post(struct wl_uvnng *q, struct wl_uvnng_item *item, wl_uvnng_fn fn);
/* Runs what is queued, then closes the async handle. Call on the loop thread. */
void wl_uvnng_close(struct wl_uvnng *q);

#endif
