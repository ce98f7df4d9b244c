/* The gateway: one libuv loop serving HTTP/1.1 (http-parser), turning tracker requests into
 * bus messages for the announce workers and registry requests into messages for the registry,
 * and answering /health, /metrics and the web UI itself. Holds no swarm or registry state. */
#ifndef WL_GATEWAY_H
#define WL_GATEWAY_H

#include <http_parser.h>
#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <uv.h>

#include "wl/buf.h"
#include "wl/config.h"
#include "wl/hashmap.h"
#include "wl/uvlink.h"
#include "wl/uvnng.h"

struct gw;
struct conn;
struct breq;

enum { URL_MAX = 8192, HEADERS_MAX = 16384, JSON_BODY_MAX = 1 << 20 };

/* ---- metrics (metrics.c) ---- */
enum route {
  R_ANNOUNCE, R_SCRAPE, R_HEALTH, R_METRICS, R_REGISTRY, R_UI, R_OTHER, R_COUNT
};
enum { LAT_BUCKETS = 12 };
struct metrics {
  uint64_t requests[R_COUNT][6]; /* by status class 1xx..5xx, [0] unused */
  uint64_t announces, scrapes, rate_limited;
  uint64_t failures_announce; /* bencoded failure answers */
  uint64_t bus_announce_msgs;  /* bus messages that carried announces (a batch is one) */
  uint64_t backend_errors[2], backend_timeouts[2]; /* [0] announce, [1] registry */
  uint64_t lat_bucket[R_COUNT][LAT_BUCKETS + 1];
  double lat_sum[R_COUNT];
  uint64_t connections_total, connections_refused;
  /* cached figures from other services */
  int64_t active_peers, swarms, registered, stats_lag_ms, workers_up;
  uint64_t cache_time_ms;
  bool fetching;
  struct conn *waiters; /* /metrics requests waiting for the fetch */
  int fetch_pending;
};

/* ---- a connection ---- */
struct hdr_state {
  bool in_value;
  int which; /* index of an interesting header, -1 otherwise */
};

enum hdr_id { H_HOST, H_XFF, H_KEY, H_ORIGIN, H_INM, H_AE, H_CT, H_ACRM, H_COUNT };

struct conn {
  uv_tcp_t tcp;
  struct gw *gw;
  http_parser parser;
  uint8_t ip[16]; /* the client: socket peer, or X-Forwarded-For from a trusted proxy */
  uint8_t ip_len;
  uint8_t sock_ip[16]; /* the socket peer (connection caps) */
  uint8_t sock_ip_len;
  struct wl_buf url;
  struct wl_buf hname;
  struct wl_buf hdr[H_COUNT];
  struct hdr_state hs;
  size_t header_bytes;
  struct wl_buf body;
  size_t body_cap;
  struct wl_buf pending; /* bytes read past the end of the current request */
  struct wl_buf parsing; /* pipelined bytes being parsed (after_write swaps the two) */
  struct wl_buf out;
  uv_write_t wreq;
  uv_timer_t timer;
  char *rbuf;
  uint64_t req_start_ns;
  enum route route;
  int status;
  int early_status; /* set while parsing: answer this once the message ends (or at once) */
  bool in_headers;
  bool msg_done;
  bool keep_alive;
  bool busy;    /* a request is being answered */
  bool writing;
  bool read_paused; /* reading stopped: too much pipelined, a bad request, or EOF */
  bool peer_eof;    /* the client shut its side while a request was answered */
  bool closing;
  bool counted_ip;
  int closes; /* handles closed so far (tcp, timer) */
  unsigned served; /* requests answered on this connection */
  bool ann_compact, ann_no_peer_id; /* how to render the announce being answered */
  char ann_user[65]; /* user of a /api/users request being answered */
  bool waiting; /* a backend call (or a metrics fetch) holds this connection */
  bool scrape_item; /* its bus item is a SCRAPE (sent alone), else an ANNOUNCE */
  struct conn *next_waiter;
};

/* ---- backends (backend.c: the registry over NNG; abus.c: the announce workers) ---- */
enum backend_id { BK_ANNOUNCE = 0, BK_REGISTRY = 1 };
typedef void (*breq_fn)(struct breq *r, int result, const void *reply, size_t len);
enum { BUS_SLOW_MAX = 3 }; /* earlier workers a bus request remembers (see abus.c) */
struct wlink;
struct breq {
  struct gw *gw;
  enum backend_id bk;
  breq_fn fn;
  void *arg;
  struct breq *next_free;
  struct breq *next_all; /* every request object of the backend, for the final release */
  /* registry (NNG) */
  struct wl_uvnng_item item;
  nng_ctx ctx;
  nng_aio *aio;
  bool sending;
  int result;
  nng_msg *reply;
  /* announce bus (abus.c) */
  uint32_t id;              /* slot index | generation << 16: a late reply never matches */
  struct wlink *link;       /* the worker it was sent to; NULL while waiting for one */
  struct wlink *slow[BUS_SLOW_MAX]; /* the workers it was sent to before: may still answer */
  uint8_t nslow;
  bool sent;                /* it went to a worker once: the next send is a resend */
  struct wl_buf msg;        /* the request, kept for a resend */
  uint64_t deadline_ms;     /* answered WL_ETIMEOUT then */
  uint64_t resend_ms;       /* sent to another worker then, if still unanswered */
  struct breq *prev, *next; /* the bus's requests in flight */
};

struct backend {
  nng_socket sock;
  struct breq *free;
  struct breq *all;
  size_t total;
  int pipes; /* connected peers: the size of ids, read atomically by the loop */
  pthread_mutex_t mu;      /* ids, on NNG's threads */
  uint32_t ids[1024];      /* pipes that reached ADD_POST and have not been removed */
  int nids;
};

/* The announce bus (abus.c): workers dial the gateway and say HELLO; requests go to the ready
 * worker with the fewest in flight. */
struct abus {
  struct wl_uvlisten ls;
  bool listening; /* false from wl_abus_stop on: a closing worker's requests stay put */
  struct wlink *links;
  int ready; /* workers that said HELLO and not BYE */
  struct breq **slots; /* by id & 0xffff */
  size_t total;
  struct breq *free;
  struct breq *inflight; /* sent or waiting for a worker, newest first */
  uv_timer_t tick;       /* timeouts, resends, requests waiting for a worker */
  uint32_t rr;           /* round robin among equally loaded workers */
  uint64_t resent;        /* requests sent again (tracker_announce_bus_resent_total) */
};

struct gw {
  const struct wl_config *cfg;
  uv_loop_t *loop;
  uv_tcp_t listener;
  struct wl_uvnng q;
  struct backend reg;   /* the registry (backend.c) */
  struct abus abus;
  struct metrics m;
  struct wl_buf scratch; /* per-request scratch, reset per use */
  size_t nconns;
  uv_signal_t sigterm, sigint;
  bool stopping;
  uv_timer_t grace_timer, stop_timer;
  struct staticfiles *web;
  struct proxies *proxies;
  struct ann_batch *batch_open; /* announces parsed in this loop iteration (tracker.c) */
  struct ann_batch *batch_free;
  uint8_t *scrape_hashes; /* 20 x WL_SCRAPE_MAX, for parsing a scrape */
  uv_check_t batch_check;
  uv_timer_t batch_timer; /* bounds how long a held batch waits (tracker.c) */
  int ann_inflight;       /* announce bus messages awaiting their reply */
  struct ratelimit *rl;
  struct wl_hashmap per_ip; /* client IP (padded to 20 bytes) -> open connections */
  char *rbuf; /* one read buffer: every read is parsed or copied before the next */
};

/* http.c */
int wl_http_listen(struct gw *gw);
void wl_http_stop(struct gw *gw);
/* Answer the current request. The body is copied. */
void wl_http_respond(struct conn *c, int status, const char *ctype, const char *extra_headers,
                     const void *body, size_t len);
void wl_http_json_error(struct conn *c, int status, const char *msg);
const char *wl_http_header(struct conn *c, enum hdr_id h, size_t *len);
/* A backend call of c ended: false when c was closed meanwhile (and is now freed). */
bool wl_http_breq_done(struct conn *c);
uint64_t wl_now_ms(void);

/* router.c */
void wl_route(struct conn *c);

/* tracker.c */
void wl_tracker_announce(struct conn *c, const char *passkey, size_t passkey_len,
                         const char *query, size_t qlen);
void wl_tracker_scrape(struct conn *c, const char *passkey, size_t passkey_len,
                       const char *query, size_t qlen);
void wl_tracker_fail(struct conn *c, const char *reason);
/* Sends the announces batched during this loop iteration. */
void wl_tracker_flush(struct gw *gw);

/* backend.c */
int wl_backend_start(struct gw *gw);
void wl_backend_stop(struct gw *gw);
/* Sends msg (copied) to a backend; fn runs on the loop exactly once with the reply (result 0)
 * or an error (WL_ETIMEOUT, WL_EBACKEND). Returns NULL when too many are in flight (fn never
 * runs then). */
struct breq *wl_backend_call(struct gw *gw, enum backend_id bk, const void *msg, size_t len,
                             int timeout_ms, breq_fn fn, void *arg);

/* abus.c: the announce bus (wl_backend_call with BK_ANNOUNCE comes here) */
int wl_abus_start(struct gw *gw);
void wl_abus_stop(struct gw *gw);
struct breq *wl_abus_call(struct gw *gw, const void *msg, size_t len, int timeout_ms, breq_fn fn,
                          void *arg);

/* registry_proxy.c */
/* True when the request carries the right X-Weightless-Key (constant time), or none is set. */
bool wl_registry_key_ok(struct conn *c);
void wl_registry_forward(struct conn *c, const char *path, size_t plen, const char *query,
                         size_t qlen);

/* ops.c: /health and /metrics */
void wl_ops_health(struct conn *c);
void wl_ops_metrics(struct conn *c);
void wl_metrics_observe(struct gw *gw, enum route r, int status, double seconds);

/* static.c: the web UI */
struct staticfiles *wl_static_load(const char *dir);
void wl_static_free(struct staticfiles *s);
/* true if the path is the UI's (answered), false to fall through */
bool wl_static_serve(struct conn *c, const char *path, size_t plen);

/* passkey.c */
/* True when [u, u+n) is a valid user_id: [A-Za-z0-9_-]{1,64}. */
bool wl_passkey_user_valid(const char *u, size_t n);
/* 0 valid; else a failure reason is written into reason. *user gets the user id. */
int wl_passkey_check(const struct wl_config *cfg, const char *pk, size_t n, const char **user,
                     size_t *ulen, char *reason, size_t rlen);

/* proxy.c: WL_TRUSTED_PROXIES */
struct proxies *wl_proxies_parse(const char *list, char *err, size_t errlen);
void wl_proxies_free(struct proxies *p);
/* Sets c->ip from the socket peer, or from X-Forwarded-For when the peer is trusted. */
void wl_proxies_client_ip(const struct proxies *p, struct conn *c);

/* users.c: POST /api/passkeys, GET /api/users */
void wl_users_passkey(struct conn *c);
void wl_users_get(struct conn *c, const char *query, size_t qlen);

/* ratelimit.c */
struct ratelimit *wl_ratelimit_new(const struct wl_config *cfg);
void wl_ratelimit_free(struct ratelimit *rl);
/* true when the request may proceed (takes a token) */
bool wl_ratelimit_take(struct ratelimit *rl, const uint8_t *ip, uint8_t ip_len, uint64_t now_ms);
/* Addresses tracked now, and requests served untracked because the table was full. */
void wl_ratelimit_stats(const struct ratelimit *rl, uint64_t *entries, uint64_t *untracked);

#endif
