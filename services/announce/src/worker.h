/* The announce worker: one libuv loop, one announce-bus connection dialed to the gateway
 * (wl/uvlink.h) with many requests in flight, one hiredis async connection on the same loop, and a link to the
 * registry (blocklist snapshot + events, swarm figures pushed once a second). */
#ifndef WL_ANNOUNCE_WORKER_H
#define WL_ANNOUNCE_WORKER_H

#include <hiredis/async.h>
#include <nng/nng.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "wl/buf.h"
#include "wl/config.h"
#include "wl/hashmap.h"
#include "wl/uvlink.h"
#include "wl/uvnng.h"
#include "peer_sample.h"
#include "reply_arena.h"
#include "wl_proto.h"

struct worker;

/* ---- Redis swarm store (swarm_redis.c) ---- */
struct swarm_store {
  struct worker *w;
  uv_loop_t *loop;
  redisAsyncContext *ac; /* NULL while disconnected */
  bool connected;
  bool closing;
  uv_timer_t retry;
  char host[256];
  int port;
  char path[512]; /* unix socket, when set */
  uint64_t errors;
  struct wl_rarena arena; /* the replies of the connection (reply_arena.h) */
  struct wl_buf cmd;      /* the command being formatted (send_argv) */
  /* what announces changed in the global counters (wl:g) and this worker has not yet sent:
   * sent ahead of the next batch's commands, or after COUNTERS_MS (swarm_redis.c) */
  int64_t dpeers, dswarms;
  uv_timer_t counters;
};

struct job;

/* One announce of a job (a job holds one, or up to WL_ANNOUNCE_BATCH_MAX of a batch). */
struct sub {
  struct job *j;
  int idx;
  uint8_t info_hash[20];
  uint8_t self[18]; /* the announcing peer, packed */
  uint8_t self_len;
  bool seeder;
  bool touch;     /* this announce refreshes TTLs, trims expired peers */
  bool read_done; /* the completions are read (a touch) or counted in Redis, else cached */
  uint16_t numwant;
  uint32_t k;                /* size of a sample of a big swarm, per set */
  struct wl_psample *sample; /* answered from this cached sample (a reference), or NULL */
  int pending;               /* Redis replies still to come */
  int got;                   /* scrape item: replies received so far */
  bool failed;
  bool direct; /* peers read by plain ZRANGEs after the transaction */
  uint8_t plan[16]; /* what each reply of the announce's transaction is (swarm_redis.c) */
  uint8_t nplan;
  uint64_t ns, nl, done, observed_us;
};

/* One request in flight: its copy of the request, the decoded request, the reply. */
struct job {
  struct worker *w;
  struct job *next_free;
  uint32_t id;       /* the request's id on the bus */
  uint32_t link_gen; /* the connection it came on: a reply never goes to a later one */
  struct wl_buf req;
  struct wl_proto_in in;
  struct wl_msg_announce ann;
  uint8_t swarm_hash[20];
  struct wl_buf out;  /* encoded reply */
  struct wl_buf tmp;  /* peers4 of an answer */
  struct wl_buf tmp6; /* peers6 */
  struct wl_buf lists[4]; /* the seeders and leechers read for an answer: p4 p6 each */
  /* the Redis command being built (hiredis copies it when it is issued) */
  int argc;
  const char *argv[16];
  size_t argvlen[16];
  char keys[5][96]; /* a swarm's s l d u keys, the user's */
  char nums[8][24];
  /* ANNOUNCE_BATCH: announces answered into part[i]; the reply goes when all are done */
  int batch_n;    /* 0: a single ANNOUNCE */
  int batch_done;
  struct sub subs[WL_ANNOUNCE_BATCH_MAX];
  struct wl_buf part[WL_ANNOUNCE_BATCH_MAX];
};

struct worker {
  const struct wl_config *cfg;
  uv_loop_t *loop;
  struct wl_uvnng q; /* the registry link's NNG completions */
  /* the announce bus (bus.c) */
  struct wl_uvlink link;
  struct wl_uvaddr bus_addr;
  char bus_url[600];
  enum { BUS_IDLE, BUS_DIALING, BUS_UP } bus_state;
  uint32_t link_gen;
  uv_timer_t redial;
  uint64_t redial_ms; /* the next wait before dialing again: 50 ms, doubling to 1 s */
  int dial_failures;  /* in a row (logged on the first, then every 30th) */
  struct job *jobs;
  struct job *free_jobs;
  size_t njobs;
  struct swarm_store store;
  struct wl_scache scache; /* hot swarms' peer samples, last touch per swarm (peer_sample.h) */
  uint64_t rng;            /* xorshift64 state: which peers of a sample an answer gets */
  /* registry link (registry_link.c) */
  nng_socket sub, reg, push;
  nng_aio *sub_aio, *reg_aio;
  struct wl_uvnng_item sub_item, reg_item, pipe_item;
  nng_msg *sub_msg, *reg_msg;
  int reg_result;
  bool reg_sending; /* snapshot request: send phase, then receive */
  bool snapshot_pending, have_snapshot, resnapshot;
  struct wl_hashmap blocked;    /* value: char reason[96] */
  struct wl_hashmap registered; /* no value */
  struct wl_hashmap dirty;      /* value: uint64_t[4] seeders, leechers, completions, observed_us */
  char stats_url[600];          /* where the figures go (the registry's stats bus) */
  int push_failures;            /* figure pushes in a row that found no connection */
  uint64_t unnoted;             /* swarms not noted because the batch was full (logged) */
  uv_timer_t stats_timer, sweep_timer, snapshot_timer;
  uv_signal_t sigterm, sigint;
  bool stopping;
  uint64_t announces, scrapes, failures;
  int busy; /* jobs between receive and sent reply */
  uv_timer_t drain_timer;
  uint64_t drain_started;
  int drain_quiet; /* consecutive 50 ms ticks with nothing in flight */
};

/* bus.c */
int wl_bus_start(struct worker *w);
void wl_bus_stop(struct worker *w);
/* After the loop has ended: frees the jobs. */
void wl_bus_release(struct worker *w);
/* Requests received and not yet answered. */
int wl_bus_busy(struct worker *w);
/* Tells the gateway this worker stops: it sends nothing new (SIGTERM). */
void wl_bus_bye(struct worker *w);
void wl_job_reply(struct job *j);

/* swarm_redis.c */
int wl_swarm_init(struct swarm_store *st, struct worker *w);
void wl_swarm_close(struct swarm_store *st);
/* After the loop has ended: frees the store's buffers and the worker's sample cache. */
void wl_swarm_release(struct swarm_store *st);
bool wl_swarm_ready(const struct swarm_store *st);
/* Each issues the Redis commands of job j; the job's reply is written and sent when they end. */
void wl_swarm_announce(struct swarm_store *st, struct job *j);
/* The parts of an ANNOUNCE_BATCH: one transaction (or scrape) each, all pipelined. */
void wl_swarm_announce_batch(struct swarm_store *st, struct job *j, const struct wl_msg_batch *b);
void wl_swarm_scrape(struct swarm_store *st, struct job *j, const struct wl_msg_scrape *m);
void wl_swarm_stats(struct swarm_store *st, struct job *j);
void wl_swarm_user(struct swarm_store *st, struct job *j, const char *user, size_t len);
void wl_swarm_sweep(struct swarm_store *st);
void wl_swarm_drop(struct swarm_store *st, const uint8_t hash[20]);

/* registry_link.c */
int wl_reglink_start(struct worker *w);
void wl_reglink_stop(struct worker *w);
/* After the loop has ended: frees the maps and aios. */
void wl_reglink_release(struct worker *w);
/* NULL when the hash may be announced, else the failure reason. */
const char *wl_reglink_refusal(struct worker *w, const uint8_t hash[20], char *tmp, size_t tmplen);
void wl_reglink_note_swarm(struct worker *w, const uint8_t hash[20], uint64_t seeders,
                           uint64_t leechers, uint64_t completions, uint64_t observed_us);

#endif
