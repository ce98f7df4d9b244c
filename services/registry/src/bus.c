/* The registry on the bus: it listens on three NNG sockets.
 *   registry_bus (rep)  REG_HTTP from the gateway, PING, STATS, BLOCKLIST_GET from workers
 *   events_bus (pub)    BLOCK_EVENT and REGISTERED_EVENT after each committed change
 *   stats_bus (pull)    SWARM_STATS batches from the workers
 * One thread polls the sockets' receive descriptors (NNG_OPT_RECVFD) and a signalfd, and does
 * all the work itself: one request at a time, a swarm-figure batch applied in slices between
 * requests so a large batch never delays a ping past the gateway's 1 s health deadline.
 * A message that does not decode gets an ERROR reply, never a crash. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl/sockfile.h"

enum {
  STATS_SLICE = 2000,       /* swarms applied per transaction between requests */
  REQUESTS_PER_TURN = 32,   /* requests served before the next stats slice */
  REPLY_MAX = 512 << 20,    /* a BLOCKLIST_REP of a few million hashes (workers accept 512 MiB) */
  STATS_MSG_MAX = 16 << 20, /* WL_STATS_BATCH_MAX swarms at ~35 bytes */
};

/* ---- one message in, one reply out ----------------------------------------------------------- */

/* The snapshot a worker asks for when it starts: blocked swarms with their reasons, and the
 * registered swarms (curated mode). */
static int reply_blocklist(struct wl_registry *reg, struct wl_buf *out) {
  /* the reasons' texts one after another in texts, where each ends in ends (size_t each) */
  struct wl_buf blocked, texts, ends, registered;
  struct wl_str *reasons = NULL;
  size_t n = 0;
  int rv = 0, rc;
  wl_buf_init(&blocked, (size_t)20 * 10000000);
  wl_buf_init(&texts, (size_t)4096 * 10000000);
  wl_buf_init(&ends, sizeof(size_t) * 10000000);
  wl_buf_init(&registered, (size_t)20 * 20000000);
  sqlite3_stmt *st = reg->st.blocked_all;
  while (rv == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_bytes(st, 0) != 20) continue;
    const char *why = (const char *)sqlite3_column_text(st, 1);
    rv = wl_buf_append(&blocked, sqlite3_column_blob(st, 0), 20);
    if (rv == 0 && why) rv = wl_buf_append(&texts, why, strlen(why));
    if (rv == 0) rv = wl_buf_append(&ends, &texts.len, sizeof texts.len);
  }
  wl__registry_done(st);
  if (rv == 0 && rc != SQLITE_DONE) rv = wl__registry_sqlerr(reg, "reading the blocklist");
  st = reg->st.registered_all;
  while (rv == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
    if (sqlite3_column_bytes(st, 0) == 20)
      rv = wl_buf_append(&registered, sqlite3_column_blob(st, 0), 20);
  wl__registry_done(st);
  if (rv == 0 && rc != SQLITE_DONE) rv = wl__registry_sqlerr(reg, "reading the registered swarms");
  n = blocked.len / 20;
  if (rv == 0 && n > 0) {
    reasons = calloc(n, sizeof *reasons);
    if (reasons == NULL) rv = WL_ENOMEM;
    const size_t *end = (const size_t *)(void *)ends.data;
    for (size_t i = 0; rv == 0 && i < n; i++) {
      size_t start = i ? end[i - 1] : 0;
      reasons[i] = (struct wl_str){(const char *)texts.data + start, end[i] - start};
    }
  }
  if (rv == 0)
    rv = wl_proto_encode_blocklist_rep(out, blocked.data, reasons, n, registered.data,
                                       registered.len / 20);
  if (rv < 0) WL_ERROR("registry", "cannot answer a blocklist snapshot: %s", wl_strerror(rv));
  free(reasons);
  wl_buf_release(&blocked);
  wl_buf_release(&texts);
  wl_buf_release(&ends);
  wl_buf_release(&registered);
  return rv;
}

static int reply_stats(struct wl_registry *reg, struct wl_buf *out) {
  struct wl_stat_pair p[4] = {
      {"registered_torrents", 19, reg->nentries},
      {"blocked_hashes", 14, wl__registry_count_blocked(reg)},
      {"stats_apply_lag_ms", 18, reg->stats_lag_ms},
      {"swarm_stats_batches_total", 25, reg->stats_batches},
  };
  return wl_proto_encode_stats_rep(out, p, 4);
}

static int reply_http(struct wl_registry *reg, struct wl_proto_in *in, struct wl_buf *out) {
  struct wl_msg_reg_http req;
  struct wl_reg_reply rep;
  struct wl_http_header h[WL_REG_HEADERS_MAX];
  int rv = wl_proto_decode_reg_http(in, &req);
  if (rv < 0) return rv;
  wl_reg_reply_init(&rep);
  wl_registry_http(reg, &req, &rep);
  WL_DEBUG("registry", "%.*s %.*s -> %u", (int)req.method_len, req.method, (int)req.path_len,
           req.path, rep.status);
  for (int attempt = 0; attempt < 2; attempt++) {
    for (size_t i = 0; i < rep.nheaders; i++) {
      h[i].name = rep.headers[i].name;
      h[i].name_len = strlen(rep.headers[i].name);
      h[i].value = rep.headers[i].value;
      h[i].value_len = strlen(rep.headers[i].value);
    }
    struct wl_msg_reg_http_rep m = {
        .status = rep.status,
        .content_type = rep.content_type,
        .content_type_len = strlen(rep.content_type),
        .nheaders = rep.nheaders,
        .headers = h,
        .body = rep.body.data,
        .body_len = rep.body.len,
    };
    rv = wl_proto_encode_reg_http_rep(out, &m);
    if (rv == 0) break;
    wl__reply_error(&rep, 500, "The answer is too large for the registry to send.");
  }
  wl_reg_reply_release(&rep);
  return rv;
}

int wl_registry_handle(struct wl_registry *reg, const void *msg, size_t len, struct wl_buf *out) {
  struct wl_proto_in in;
  char text[160];
  size_t start = out->len;
  int rv = wl_proto_in_init(&in, msg, len);
  if (rv == 0) {
    switch (in.type) {
    case WL_MSG_PING: {
      char detail[160];
      bool ok = wl_registry_ping(reg, detail, sizeof detail);
      rv = wl_proto_encode_pong(out, "registry", ok, detail);
      break;
    }
    case WL_MSG_STATS:
      rv = reply_stats(reg, out);
      break;
    case WL_MSG_BLOCKLIST_GET:
      rv = reply_blocklist(reg, out);
      break;
    case WL_MSG_REG_HTTP:
      rv = reply_http(reg, &in, out);
      break;
    default:
      snprintf(in.reason, sizeof in.reason, "unexpected %s on the registry bus",
               wl_msg_name(in.type));
      rv = WL_EPROTO;
    }
  }
  if (rv < 0) {
    out->len = start;
    snprintf(text, sizeof text, "registry: %s", rv == WL_EPROTO ? in.reason : wl_strerror(rv));
    if (rv == WL_EPROTO) WL_WARN("registry", "refusing a bad bus message: %s", in.reason);
    rv = wl_proto_encode_error(out, rv, text);
  }
  wl_proto_in_release(&in);
  return rv;
}

/* ---- sockets --------------------------------------------------------------------------------- */

static void publish(void *arg, const void *msg, size_t len) {
  struct wl_registry_bus *bus = arg;
  int rv = nng_send(bus->pub, (void *)msg, len, NNG_FLAG_NONBLOCK);
  if (rv != 0) WL_WARN("registry", "cannot publish an event: %s", nng_strerror(rv));
}

/* The registry's listening endpoints: the rep, pub and pull sockets, in that order. */
static const struct endpoint {
  const char *file, *what; /* default socket file, what it carries */
} endpoints[3] = {{"registry.ipc", "requests"}, {"events.ipc", "events"},
                  {"stats.ipc", "swarm figures"}};

static const char *endpoint_setting(const struct wl_config *cfg, int i) {
  return i == 0 ? cfg->registry_bus : i == 1 ? cfg->events_bus : cfg->stats_bus;
}

/* Takes the lock of endpoint i's socket file, for an ipc endpoint (a stale file is removed):
 * 0 with *lock its descriptor (-1 for tcp), or WL_EIO, logged. */
static int lock_endpoint(const struct wl_config *cfg, int i, int *lock) {
  char url[600], why[700];
  *lock = -1;
  if (wl_config_endpoint(cfg, endpoint_setting(cfg, i), endpoints[i].file, url, sizeof url) < 0 ||
      strncmp(url, "ipc://", 6) != 0)
    return 0; /* listen_on says what is wrong with it */
  int fd = wl_sockfile_lock(url + 6, why, sizeof why);
  if (fd < 0) {
    WL_ERROR("registry", "cannot listen for %s: %s", endpoints[i].what, why);
    return WL_EIO;
  }
  *lock = fd;
  return 0;
}

int wl_registry_bus_lock(const struct wl_config *cfg, int locks[3]) {
  for (int i = 0; i < 3; i++) locks[i] = -1;
  for (int i = 0; i < 3; i++)
    if (lock_endpoint(cfg, i, &locks[i]) < 0) {
      wl_registry_bus_unlock(locks);
      return WL_EIO;
    }
  return 0;
}

void wl_registry_bus_unlock(int locks[3]) {
  for (int i = 0; i < 3; i++)
    if (locks[i] >= 0) {
      close(locks[i]);
      locks[i] = -1;
    }
}

static int listen_on(nng_socket s, const struct wl_config *cfg, int i) {
  char url[600];
  const char *what = endpoints[i].what;
  int rv = wl_config_endpoint(cfg, endpoint_setting(cfg, i), endpoints[i].file, url, sizeof url);
  if (rv < 0) {
    WL_ERROR("registry", "the %s address is too long", what);
    return rv;
  }
  rv = nng_listen(s, url, NULL, 0);
  if (rv != 0) {
    WL_ERROR("registry", "cannot listen for %s on %s: %s", what, url, nng_strerror(rv));
    return WL_EIO;
  }
  WL_INFO("registry", "%s on %s", what, url);
  return 0;
}

static int recv_fd(nng_socket s, int *fd) {
  return nng_socket_get_int(s, NNG_OPT_RECVFD, fd) == 0 ? 0 : WL_EIO;
}

int wl_registry_bus_open(struct wl_registry_bus *bus, struct wl_registry *reg) {
  const struct wl_config *cfg = reg->cfg;
  int rv;
  memset(bus, 0, sizeof *bus);
  bus->reg = reg;
  bus->open = true; /* closing a socket that never opened is harmless */
  if (nng_rep0_open(&bus->rep) != 0 || nng_pub0_open(&bus->pub) != 0 ||
      nng_pull0_open(&bus->pull) != 0) {
    WL_ERROR("registry", "cannot open the bus sockets");
    return WL_ENOMEM;
  }
  nng_socket_set_size(bus->rep, NNG_OPT_RECVMAXSZ, WL_PROTO_MAX_MSG);
  nng_socket_set_size(bus->pull, NNG_OPT_RECVMAXSZ, STATS_MSG_MAX);
  nng_socket_set_int(bus->pull, NNG_OPT_RECVBUF, 64);
  if ((rv = listen_on(bus->rep, cfg, 0)) < 0 || (rv = listen_on(bus->pub, cfg, 1)) < 0 ||
      (rv = listen_on(bus->pull, cfg, 2)) < 0)
    return rv;
  if (recv_fd(bus->rep, &bus->rep_fd) < 0 || recv_fd(bus->pull, &bus->pull_fd) < 0) {
    WL_ERROR("registry", "cannot poll the bus sockets");
    return WL_EIO;
  }
  reg->publish = publish;
  reg->publish_arg = bus;
  return 0;
}

void wl_registry_bus_close(struct wl_registry_bus *bus) {
  if (!bus->open) return;
  if (bus->reg) bus->reg->publish = NULL;
  nng_close(bus->rep);
  nng_close(bus->pub);
  nng_close(bus->pull);
  bus->open = false;
}

/* ---- the loop -------------------------------------------------------------------------------- */

/* A SWARM_STATS batch being applied in slices. */
struct batch {
  nng_msg *msg;
  struct wl_proto_in in;
  struct wl_msg_swarm_stats m;
  size_t next;
  int64_t received_ms;
};

static void batch_end(struct batch *b) {
  wl_proto_in_release(&b->in);
  nng_msg_free(b->msg);
  b->msg = NULL;
}

/* Takes the next batch off the pull socket, if any. true when one is pending. */
static bool batch_take(struct wl_registry_bus *bus, struct batch *b) {
  while (b->msg == NULL) {
    nng_msg *msg;
    if (nng_recvmsg(bus->pull, &msg, NNG_FLAG_NONBLOCK) != 0) return false;
    b->msg = msg;
    b->next = 0;
    b->received_ms = wl__registry_now_ms();
    int rv = wl_proto_in_init(&b->in, nng_msg_body(msg), nng_msg_len(msg));
    if (rv == 0) rv = wl_proto_decode_swarm_stats(&b->in, &b->m);
    if (rv < 0) {
      WL_WARN("registry", "ignoring a bad swarm-figure batch: %s", b->in.reason);
      batch_end(b);
    }
  }
  return true;
}

/* Applies the next slice; ends the batch after its last one. */
static void batch_step(struct wl_registry_bus *bus, struct batch *b) {
  struct wl_registry *reg = bus->reg;
  size_t n = b->m.n - b->next;
  if (n > STATS_SLICE) n = STATS_SLICE;
  int rv = wl_registry_apply_stats(reg, b->m.swarms + b->next, n);
  if (rv < 0) WL_WARN("registry", "dropped %zu swarm figures: %s", n, wl_strerror(rv));
  b->next += n;
  if (b->next >= b->m.n) {
    reg->stats_batches++;
    reg->stats_lag_ms = wl__registry_now_ms() - b->received_ms;
    batch_end(b);
  }
}

/* Serves up to REQUESTS_PER_TURN requests waiting on the rep socket. */
static void serve(struct wl_registry_bus *bus, struct wl_buf *out) {
  for (int i = 0; i < REQUESTS_PER_TURN; i++) {
    nng_msg *msg, *rep;
    if (nng_recvmsg(bus->rep, &msg, NNG_FLAG_NONBLOCK) != 0) return;
    wl_buf_reset(out);
    int rv = wl_registry_handle(bus->reg, nng_msg_body(msg), nng_msg_len(msg), out);
    nng_msg_free(msg);
    if (rv < 0) {
      WL_ERROR("registry", "cannot encode a reply: %s", wl_strerror(rv));
      continue; /* the requester times out */
    }
    if (nng_msg_alloc(&rep, 0) != 0 || nng_msg_append(rep, out->data, out->len) != 0) {
      WL_ERROR("registry", "out of memory for a reply of %zu bytes", out->len);
      continue;
    }
    rv = nng_sendmsg(bus->rep, rep, 0);
    if (rv != 0) {
      nng_msg_free(rep);
      WL_WARN("registry", "cannot send a reply: %s", nng_strerror(rv));
    }
    if (out->cap > (4u << 20)) { /* give back a large answer's memory */
      wl_buf_release(out);
      wl_buf_init(out, REPLY_MAX);
    }
  }
}

int wl_registry_bus_run(struct wl_registry_bus *bus, int sigfd) {
  struct batch b;
  struct wl_buf out;
  bool stop = false;
  memset(&b, 0, sizeof b);
  wl_buf_init(&out, REPLY_MAX);
  while (!stop) {
    struct pollfd fds[3] = {
        {.fd = bus->rep_fd, .events = POLLIN},
        {.fd = bus->pull_fd, .events = POLLIN},
        {.fd = sigfd, .events = POLLIN},
    };
    bool busy = b.msg != NULL;
    int n = poll(fds, sigfd >= 0 ? 3 : 2, busy ? 0 : 1000);
    if (n < 0 && errno != EINTR) {
      WL_ERROR("registry", "poll failed: %s", strerror(errno));
      break;
    }
    if (n > 0 && sigfd >= 0 && (fds[2].revents & POLLIN)) {
      struct signalfd_siginfo si;
      if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        WL_INFO("registry", "signal %u: finishing, then stopping", si.ssi_signo);
      stop = true;
    }
    serve(bus, &out);
    if (batch_take(bus, &b)) batch_step(bus, &b);
    wl_registry_tick(bus->reg);
  }
  /* figures already received are applied; requests not yet taken are the gateway's to retry */
  for (int i = 0; i < 64 && batch_take(bus, &b);) {
    batch_step(bus, &b);
    if (b.msg == NULL) i++;
  }
  if (b.msg) batch_end(&b);
  wl_buf_release(&out);
  return 0;
}

int wl_registry_signalfd(void) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  /* blocked before any NNG thread exists, so every thread inherits the mask */
  if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0) return -1;
  return signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
}
