/* libuv/NNG bridge (wl/uvnng.h): a mutex queue drained on one uv_async_t per wake-up. */
#include "wl/uvnng.h"

static void drain(uv_async_t *a) {
  struct wl_uvnng *q = a->data;
  pthread_mutex_lock(&q->mu);
  struct wl_uvnng_item *it = q->head;
  q->head = q->tail = NULL;
  pthread_mutex_unlock(&q->mu);
  while (it) {
    struct wl_uvnng_item *next = it->next;
    it->fn(it);
    it = next;
  }
}

int wl_uvnng_init(struct wl_uvnng *q, uv_loop_t *loop) {
  q->head = q->tail = NULL;
  q->closing = 0;
  pthread_mutex_init(&q->mu, NULL);
  q->async.data = q;
  return uv_async_init(loop, &q->async, drain);
}

void wl_uvnng_post(struct wl_uvnng *q, struct wl_uvnng_item *item, wl_uvnng_fn fn) {
  item->fn = fn;
  item->next = NULL;
  pthread_mutex_lock(&q->mu);
  int wake = q->head == NULL;
  if (q->tail)
    q->tail->next = item;
  else
    q->head = item;
  q->tail = item;
  pthread_mutex_unlock(&q->mu);
  /* One wake-up per empty->non-empty transition; the drain takes everything. */
  if (wake) uv_async_send(&q->async);
}

void wl_uvnng_close(struct wl_uvnng *q) {
  drain(&q->async);
  q->closing = 1;
  uv_close((uv_handle_t *)&q->async, NULL);
}
