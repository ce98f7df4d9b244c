/* One end of the announce bus on a libuv loop (wl/uvlink.h). */
#include "wl/uvlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "wl/error.h"
#include "wl/sockfile.h"

/* WRITE_MAX bounds what waits for a peer that stopped reading (a worker busy with all its
 * jobs, or hung: the gateway resends its requests elsewhere after 2 s anyway). */
enum { READ_CHUNK = 64 << 10, WRITE_MAX = 64u << 20, BACKLOG = 128 };

int wl_uvaddr_parse(const char *url, struct wl_uvaddr *a, char *why, size_t whylen) {
  memset(a, 0, sizeof a[0]);
  if (strncmp(url, "ipc://", 6) == 0) {
    const char *path = url + 6;
    if (*path == '\0' || strlen(path) >= sizeof ((struct sockaddr_un *)0)->sun_path) {
      snprintf(why, whylen, "%s: a Unix socket path takes 1 to %zu bytes", url,
               sizeof ((struct sockaddr_un *)0)->sun_path - 1);
      return WL_EINVAL;
    }
    a->ipc = true;
    snprintf(a->path, sizeof a->path, "%s", path);
    return 0;
  }
  if (strncmp(url, "tcp://", 6) == 0) {
    const char *h = url + 6, *colon;
    size_t hlen;
    if (*h == '[') {
      const char *end = strchr(h, ']');
      if (end == NULL || end[1] != ':') goto bad_tcp;
      h++;
      hlen = (size_t)(end - h);
      colon = end + 1;
    } else {
      colon = strrchr(h, ':');
      if (colon == NULL) goto bad_tcp;
      hlen = (size_t)(colon - h);
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= sizeof a->host || colon[1] == '\0' || *end != '\0' || errno ||
        port < 1 || port > 65535)
      goto bad_tcp;
    memcpy(a->host, h, hlen);
    a->host[hlen] = '\0';
    a->port = (int)port;
    return 0;
  bad_tcp:
    snprintf(why, whylen, "%s: expected tcp://<host>:<port> with a port from 1 to 65535", url);
    return WL_EINVAL;
  }
  snprintf(why, whylen, "%s: expected ipc://<path> or tcp://<host>:<port>", url);
  return WL_EINVAL;
}

void wl_uvlink_init(struct wl_uvlink *l, size_t max_in, wl_uvlink_frame_fn on_frame,
                    wl_uvlink_close_fn on_close, void *data) {
  memset(l, 0, sizeof l[0]);
  wl_frame_reader_init(&l->rd, max_in);
  wl_buf_init(&l->wq[0], WRITE_MAX);
  wl_buf_init(&l->wq[1], WRITE_MAX);
  l->on_frame = on_frame;
  l->on_close = on_close;
  l->data = data;
}

void wl_uvlink_release(struct wl_uvlink *l) {
  wl_frame_reader_release(&l->rd);
  wl_buf_release(&l->wq[0]);
  wl_buf_release(&l->wq[1]);
}

static void dial_done(struct wl_uvlink *l, int status);

static void on_closed(uv_handle_t *h) {
  struct wl_uvlink *l = h->data;
  l->open = false;
  if (l->connected) { /* a dial that failed: the caller may retry */
    dial_done(l, l->dial_status);
    return;
  }
  l->on_close(l, l->why[0] ? l->why : NULL);
}

static void close_why(struct wl_uvlink *l, const char *fmt, const char *detail) {
  if (l->closing) return;
  l->closing = true;
  snprintf(l->why, sizeof l->why, fmt, detail);
  uv_close(&l->u.h, on_closed);
}

void wl_uvlink_close(struct wl_uvlink *l) {
  if (l->closing) return;
  if (l->resolving) { /* no handle yet: on_resolved reports the dial as cancelled */
    l->closing = true;
    uv_cancel((uv_req_t *)&l->resolve_req);
    return;
  }
  if (l->connected) l->dial_status = UV_ECANCELED;
  close_why(l, "%s", ""); /* no reason: on_close gets NULL */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct wl_uvlink *l = h->data;
  uint8_t *p;
  size_t n;
  (void)suggested;
  if (wl_frame_reader_space(&l->rd, READ_CHUNK, &p, &n) < 0) {
    *buf = uv_buf_init(NULL, 0); /* the read callback gets UV_ENOBUFS */
    return;
  }
  *buf = uv_buf_init((char *)p, (unsigned)(n > UINT32_MAX ? UINT32_MAX : n));
}

static void dispatch(struct wl_uvlink *l) {
  if (l->dispatching) return;
  l->dispatching = true;
  while (!l->paused && !l->closing) {
    struct wl_frame f;
    int rv = wl_frame_next(&l->rd, &f);
    if (rv == 0) break;
    if (rv < 0) {
      close_why(l, "%s", l->rd.reason);
      break;
    }
    if (!l->on_frame(l, &f)) {
      l->rd.pos -= WL_FRAME_HDR + f.n; /* delivered again by wl_uvlink_resume */
      l->paused = true;
      if (!l->closing) uv_read_stop(&l->u.s);
    }
  }
  l->dispatching = false;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct wl_uvlink *l = s->data;
  (void)buf;
  if (nread > 0) {
    wl_frame_reader_commit(&l->rd, (size_t)nread);
    dispatch(l);
  } else if (nread == UV_EOF) {
    close_why(l, "%s", "closed by the peer");
  } else if (nread < 0) {
    close_why(l, "read failed: %s", uv_strerror((int)nread));
  }
}

void wl_uvlink_resume(struct wl_uvlink *l) {
  if (!l->paused || l->closing) return;
  l->paused = false;
  dispatch(l);
  if (!l->paused && !l->closing) uv_read_start(&l->u.s, on_alloc, on_read);
}

int wl_uv_write_now(uv_stream_t *s, uv_buf_t *b) {
  int n = uv_try_write(s, b, 1);
  if (n == (int)b->len) return 0;
  if (n < 0) return n == UV_EAGAIN ? 1 : n;
  *b = uv_buf_init(b->base + n, b->len - (unsigned)n);
  return 1;
}

static void flush(struct wl_uvlink *l);

static void on_written(uv_write_t *wr, int status) {
  struct wl_uvlink *l = wr->data;
  l->writing = false;
  wl_buf_reset(&l->wq[l->wcur ^ 1]);
  if (status < 0) {
    close_why(l, "write failed: %s", uv_strerror(status));
    return;
  }
  flush(l);
}

static void flush(struct wl_uvlink *l) {
  struct wl_buf *b = &l->wq[l->wcur];
  if (l->writing || l->closing || b->len == 0) return;
  uv_buf_t ub = uv_buf_init((char *)b->data, (unsigned)b->len);
  int n = wl_uv_write_now(&l->u.s, &ub);
  if (n == 0) {
    wl_buf_reset(b);
    return;
  }
  if (n < 0) {
    close_why(l, "write failed: %s", uv_strerror(n));
    return;
  }
  l->wr.data = l;
  int rv = uv_write(&l->wr, &l->u.s, &ub, 1, on_written);
  if (rv < 0) {
    close_why(l, "write failed: %s", uv_strerror(rv));
    return;
  }
  l->writing = true;
  l->wcur ^= 1;
}

int wl_uvlink_send(struct wl_uvlink *l, enum wl_frame_kind kind, uint32_t id, const void *p,
                   size_t n) {
  if (!l->open || l->closing) return WL_ECLOSED;
  int rv = wl_frame_append(&l->wq[l->wcur], kind, id, p, n);
  if (rv < 0) return rv;
  flush(l);
  return 0;
}

static void start(struct wl_uvlink *l) {
  l->open = true;
  l->u.h.data = l;
  if (l->u.h.type == UV_TCP) uv_tcp_nodelay(&l->u.tcp, 1);
  int rv = uv_read_start(&l->u.s, on_alloc, on_read);
  if (rv < 0) close_why(l, "cannot read: %s", uv_strerror(rv));
}

int wl_uvlink_accept(struct wl_uvlink *l, struct wl_uvlisten *server) {
  uv_loop_t *loop = server->u.h.loop;
  int rv = server->ipc ? uv_pipe_init(loop, &l->u.pipe, 0) : uv_tcp_init(loop, &l->u.tcp);
  if (rv < 0) return WL_ENOMEM;
  l->u.h.data = l;
  rv = uv_accept(&server->u.s, &l->u.s);
  if (rv < 0) {
    close_why(l, "accept failed: %s", uv_strerror(rv));
    return WL_EIO;
  }
  start(l);
  return 0;
}

/* ---- dialing ---- */

static void dial_failed(struct wl_uvlink *l, int status) {
  /* the handle is initialised: close it, then tell the caller (on_closed) */
  l->dial_status = status < 0 ? status : UV_ECANCELED;
  close_why(l, "%s", "");
}

static void on_connect(uv_connect_t *req, int status) {
  struct wl_uvlink *l = req->data;
  if (l->closing) return; /* wl_uvlink_close: on_closed reports the dial */
  if (status < 0) {
    dial_failed(l, status);
    return;
  }
  wl_uvlink_connected_fn done = l->connected;
  l->connected = NULL;
  start(l);
  done(l, 0);
}

static void dial_done(struct wl_uvlink *l, int status) {
  wl_uvlink_connected_fn done = l->connected;
  l->connected = NULL;
  l->closing = false;
  done(l, status);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct wl_uvlink *l = req->data;
  l->resolving = false;
  int rv = l->closing ? UV_ECANCELED : status;
  if (rv == 0) rv = uv_tcp_init(req->loop, &l->u.tcp);
  if (rv == 0) {
    l->u.h.data = l;
    l->connect_req.data = l;
    int crv = uv_tcp_connect(&l->connect_req, &l->u.tcp, res->ai_addr, on_connect);
    if (crv < 0) dial_failed(l, crv); /* reported once the handle is closed */
  }
  if (res) uv_freeaddrinfo(res);
  if (rv < 0) dial_done(l, rv); /* no handle to close */
}

int wl_uvlink_connect(struct wl_uvlink *l, uv_loop_t *loop, const struct wl_uvaddr *a,
                      wl_uvlink_connected_fn done) {
  l->connected = done;
  l->why[0] = '\0';
  l->paused = l->closing = l->writing = l->open = false;
  l->rd.pos = l->rd.in.len = 0;
  wl_buf_reset(&l->wq[0]);
  wl_buf_reset(&l->wq[1]);
  l->wcur = 0;
  if (a->ipc) {
    int rv = uv_pipe_init(loop, &l->u.pipe, 0);
    if (rv < 0) {
      l->connected = NULL;
      return WL_ENOMEM;
    }
    l->u.h.data = l;
    l->connect_req.data = l;
    uv_pipe_connect(&l->connect_req, &l->u.pipe, a->path, on_connect);
    return 0;
  }
  char port[8];
  snprintf(port, sizeof port, "%d", a->port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  l->resolve_req.data = l;
  int rv = uv_getaddrinfo(loop, &l->resolve_req, on_resolved, a->host, port, &hints);
  if (rv < 0) {
    l->connected = NULL;
    return WL_EIO;
  }
  l->resolving = true;
  return 0;
}

/* ---- listening ---- */

int wl_uvlink_listen(struct wl_uvlisten *ls, uv_loop_t *loop, const struct wl_uvaddr *a,
                     uv_connection_cb on_conn, char *why, size_t whylen) {
  int rv;
  ls->ipc = a->ipc;
  if (a->ipc) {
    int lock = wl_sockfile_lock(a->path, why, whylen);
    if (lock < 0) return WL_EIO;
    ls->locked = true;
    ls->lock = lock;
    snprintf(ls->path, sizeof ls->path, "%s", a->path);
    rv = uv_pipe_init(loop, &ls->u.pipe, 0);
    if (rv < 0) goto fail;
    rv = uv_pipe_bind(&ls->u.pipe, a->path);
  } else {
    char port[8];
    snprintf(port, sizeof port, "%d", a->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    uv_getaddrinfo_t req;
    rv = uv_getaddrinfo(loop, &req, NULL, a->host, port, &hints); /* synchronous */
    if (rv < 0) goto fail;
    int irv = uv_tcp_init(loop, &ls->u.tcp);
    if (irv == 0) irv = uv_tcp_bind(&ls->u.tcp, req.addrinfo->ai_addr, 0);
    uv_freeaddrinfo(req.addrinfo);
    rv = irv;
  }
  if (rv == 0) rv = uv_listen(&ls->u.s, BACKLOG, on_conn);
  if (rv == 0) return 0;
fail:
  snprintf(why, whylen, "%s", uv_strerror(rv));
  if (ls->locked) { /* the stale file is gone; nothing of ours is there */
    close(ls->lock);
    ls->locked = false;
  }
  return WL_EIO;
}

void wl_uvlisten_release(struct wl_uvlisten *ls) {
  if (!ls->locked) return;
  remove(ls->path); /* before the lock goes: the next holder's socket is never removed */
  close(ls->lock);
  ls->locked = false;
}
