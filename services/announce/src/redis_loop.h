/* hiredis on a libuv loop, replacing hiredis' own libuv adapter (hiredis/adapters/libuv.h).
 * That adapter turns POLLOUT on for every command queued and off once it is written: two
 * epoll_ctl calls and one more loop turn per batch of commands, ~10% of a worker's CPU at
 * moderate load (perf). Here the commands queued during a loop turn are written from a
 * uv_prepare handle, just before the loop waits again; POLLOUT is watched only while a
 * connect is in progress or the socket did not take a write whole. */
#ifndef WL_ANNOUNCE_REDIS_LOOP_H
#define WL_ANNOUNCE_REDIS_LOOP_H

#include <hiredis/async.h>
#include <uv.h>

/* As redisLibuvAttach: REDIS_OK, or REDIS_ERR (the context is left as it was). */
int wl_rloop_attach(redisAsyncContext *ac, uv_loop_t *loop);

#endif
