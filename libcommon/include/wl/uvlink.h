/* One end of the announce bus on a libuv loop: a Unix-socket or TCP stream carrying frames
 * (wl/frame.h), read and written on the loop thread with no other thread involved.
 *
 * Why not NNG here: an NNG req/rep round trip completes through NNG's task threads, and at
 * 10,000 announces/s those cost ~1.1 thread wake-ups per announce on each side (counted from
 * /proc/<pid>/task/<tid>/status; `finish_task_switch` was 28-37% of the gateway's and the
 * worker's profiles). A stream read by the loop that serves the request costs none. The
 * registry's buses, off the hot path, stay NNG.
 *
 * Addresses are the URLs the configuration already used: ipc://<path> and tcp://<host>:<port>
 * (a name is resolved when dialing; a listener needs a numeric address or localhost).
 *
 * Writes are coalesced: frames sent while a write is in progress go out together in the next
 * one. Reads are parsed in place; a frame handler that cannot take a frame now pauses the
 * link, and wl_uvlink_resume delivers it later (back-pressure reaches the sender through the
 * socket). */
#ifndef WL_UVLINK_H
#define WL_UVLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "wl/buf.h"
#include "wl/frame.h"

/* A Unix-socket or TCP stream, seen as any of its libuv types. */
union wl_uvstream {
  uv_handle_t h;
  uv_stream_t s;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

struct wl_uvlink;
/* A frame arrived; f's payload is valid during the call only. Return false to leave the frame
 * unread and pause the link (wl_uvlink_resume delivers it again). */
typedef bool (*wl_uvlink_frame_fn)(struct wl_uvlink *l, const struct wl_frame *f);
/* The link is closed (by the peer, an error or wl_uvlink_close) and its handle released; the
 * owner may free it now. `why` is NULL after wl_uvlink_close. */
typedef void (*wl_uvlink_close_fn)(struct wl_uvlink *l, const char *why);
typedef void (*wl_uvlink_connected_fn)(struct wl_uvlink *l, int status);

struct wl_uvlink {
  union wl_uvstream u;
  uv_connect_t connect_req;
  uv_getaddrinfo_t resolve_req;
  wl_uvlink_connected_fn connected;
  int dial_status; /* why the dial failed */
  uv_write_t wr;
  struct wl_frame_reader rd;
  struct wl_buf wq[2]; /* wq[wcur] collects frames; the other one is being written */
  int wcur;
  bool writing, paused, dispatching, closing, open, resolving;
  wl_uvlink_frame_fn on_frame;
  wl_uvlink_close_fn on_close;
  void *data;
  char why[160]; /* the reason passed to on_close */
};

/* A parsed bus address. */
struct wl_uvaddr {
  bool ipc;
  char path[512]; /* ipc */
  char host[256]; /* tcp */
  int port;
};
/* Parses ipc://<path> or tcp://<host>:<port> ([v6]:port too). WL_EINVAL with a reason. */
int wl_uvaddr_parse(const char *url, struct wl_uvaddr *a, char *why, size_t whylen);

/* Prepares l (zeroed by the caller) for a stream of frames of at most max_in bytes. */
void wl_uvlink_init(struct wl_uvlink *l, size_t max_in, wl_uvlink_frame_fn on_frame,
                    wl_uvlink_close_fn on_close, void *data);
/* The stream of a new connection on the listener becomes l's, and reading starts. WL_ENOMEM:
 * no stream could be made, nothing more happens and l is the caller's. Any other failure:
 * on_close(l, why) runs later, as for any link that closes. */
struct wl_uvlisten;
int wl_uvlink_accept(struct wl_uvlink *l, struct wl_uvlisten *server);
/* Connects to a (resolving a host name first). `done` runs once: with 0 when the link is open
 * and reading, or with a libuv error once l is fully closed again (on_close is not called
 * then), so the caller may retry with the same l. */
int wl_uvlink_connect(struct wl_uvlink *l, uv_loop_t *loop, const struct wl_uvaddr *a,
                      wl_uvlink_connected_fn done);
/* Writes what the stream takes now, for a write that completes at once: in libuv 1.44 a
 * uv_write that completes at once still costs an epoll_ctl (the watcher is re-armed when the
 * write queue drains). 0: all of *b is written; 1: *b is now the rest, for uv_write; or a
 * libuv error. */
int wl_uv_write_now(uv_stream_t *s, uv_buf_t *b);
/* Queues a frame. WL_ECLOSED when the link is not open. */
int wl_uvlink_send(struct wl_uvlink *l, enum wl_frame_kind kind, uint32_t id, const void *p,
                   size_t n);
/* Delivers frames left unread by a paused handler, then reads again. */
void wl_uvlink_resume(struct wl_uvlink *l);
/* Closes; on_close(l, NULL) runs when the handle is released. */
void wl_uvlink_close(struct wl_uvlink *l);
/* Frees l's buffers (after on_close). */
void wl_uvlink_release(struct wl_uvlink *l);

/* A listener for links. */
struct wl_uvlisten {
  union wl_uvstream u;
  bool ipc;
  bool locked; /* ipc: lock holds the socket file's lock (wl/sockfile.h) */
  int lock;
  char path[512];
};
/* Listens on a: an ipc socket file is taken under its lock (wl/sockfile.h: a stale file of a
 * dead process is removed first; one a live process listens on is an error); on_conn runs for
 * each connection to accept with wl_uvlink_accept. WL_EIO with a reason on failure. */
int wl_uvlink_listen(struct wl_uvlisten *ls, uv_loop_t *loop, const struct wl_uvaddr *a,
                     uv_connection_cb on_conn, char *why, size_t whylen);
/* After the listener's handle is closed (or its listen failed): removes its socket file and
 * lets go of its lock. */
void wl_uvlisten_release(struct wl_uvlisten *ls);

#endif
