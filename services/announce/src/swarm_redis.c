/* The Redis swarm store: hiredis' async API on the worker's libuv loop, so one worker keeps
 * many announces in flight on one connection (they pipeline). One MULTI/EXEC of plain commands
 * per announce (a Lua script cost twice the Redis CPU: ~1.2 µs per redis.call on top of the
 * commands), plain pipelined commands per scrape; Lua only for passkey accounting and the
 * maintenance sweep (EVAL: Redis caches scripts by body, and a flushed Redis needs nothing). When the connection drops every pending request gets a
 * failure reason and the store reconnects on a timer, without restarting anything. */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_loop.h"
#include "scripts.h"
#include "wl/error.h"
#include "wl/log.h"
#include "worker.h"

static const char FAIL_REDIS[] = "Tracker storage unavailable, please retry later";

static void connect_now(struct swarm_store *st);

static int parse_url(struct swarm_store *st, const struct wl_config *cfg) {
  const char *u = cfg->redis_url;
  if (u == NULL || *u == '\0') {
    snprintf(st->path, sizeof st->path, "%s/redis.sock", cfg->data_dir);
    return 0;
  }
  if (strncmp(u, "unix://", 7) == 0) {
    snprintf(st->path, sizeof st->path, "%s", u + 7);
    return 0;
  }
  if (strncmp(u, "unix:", 5) == 0) {
    snprintf(st->path, sizeof st->path, "%s", u + 5);
    return 0;
  }
  if (strncmp(u, "redis://", 8) == 0) u += 8;
  const char *at = strrchr(u, '@'); /* no auth support yet: refuse rather than ignore */
  if (at) return WL_EINVAL;
  const char *colon = strrchr(u, ':');
  const char *slash = strchr(u, '/');
  size_t hl = colon ? (size_t)(colon - u) : (slash ? (size_t)(slash - u) : strlen(u));
  if (hl == 0 || hl >= sizeof st->host) return WL_EINVAL;
  memcpy(st->host, u, hl);
  st->host[hl] = '\0';
  if (st->host[0] == '[' && st->host[hl - 1] == ']') {
    memmove(st->host, st->host + 1, hl - 2);
    st->host[hl - 2] = '\0';
  }
  st->port = 6379;
  if (colon) {
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (p < 1 || p > 65535 || (*end && *end != '/')) return WL_EINVAL;
    st->port = (int)p;
  }
  return 0;
}

/* With WL_REDIS_SENTINELS, asks each Sentinel in turn for the current primary of
 * WL_REDIS_MASTER_NAME and points st->host/port at it. Synchronous with 200 ms timeouts: it runs
 * only while the worker has no Redis connection (and so cannot serve announces anyway). */
static int resolve_primary(struct swarm_store *st) {
  const struct wl_config *cfg = st->w->cfg;
  const char *p = cfg->redis_sentinels;
  struct timeval tv = {0, 200000};
  while (p && *p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    char host[256];
    int port = 26379;
    const char *colon = memchr(p, ':', n);
    size_t hl = colon ? (size_t)(colon - p) : n;
    if (hl < sizeof host) {
      memcpy(host, p, hl);
      host[hl] = '\0';
      if (colon) port = atoi(colon + 1);
      redisContext *c = redisConnectWithTimeout(host, port, tv);
      if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->redis_master_name);
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
            r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING) {
          int changed = strcmp(st->host, r->element[0]->str) != 0 || st->port != atoi(r->element[1]->str);
          snprintf(st->host, sizeof st->host, "%s", r->element[0]->str);
          st->port = atoi(r->element[1]->str);
          if (changed) WL_INFO("announce", "Sentinel %s:%d says the Redis primary is %s:%d", host, port, st->host, st->port);
          freeReplyObject(r);
          redisFree(c);
          return 0;
        }
        if (r) freeReplyObject(r);
      }
      if (c) redisFree(c);
    }
    p = comma ? comma + 1 : p + n;
  }
  return WL_EBACKEND;
}

static void on_retry(uv_timer_t *t) {
  struct swarm_store *st = t->data;
  if (st->ac && !st->connected) {
    /* A connect that never completed: hiredis' libuv adapter drops poll errors (a refused
     * connection to a dead primary looks like this), so give up on it and try again. */
    redisAsyncContext *ac = st->ac;
    st->ac = NULL;
    redisAsyncFree(ac);
  }
  connect_now(st);
}

static void schedule_retry(struct swarm_store *st) {
  if (!st->closing) uv_timer_start(&st->retry, on_retry, 250, 0);
}

static void on_connect(const redisAsyncContext *ac, int status) {
  struct swarm_store *st = ac->data;
  if (status != REDIS_OK) {
    WL_DEBUG("announce", "Redis connect failed: %s", ac->errstr);
    if (st->errors++ % 20 == 0)
      WL_WARN("announce", "Redis unreachable (%s), retrying", ac->errstr);
    st->ac = NULL; /* hiredis frees the context after this callback */
    schedule_retry(st);
    return;
  }
  st->connected = true;
  uv_timer_stop(&st->retry);
  WL_INFO("announce", "connected to Redis");
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  struct swarm_store *st = ac->data;
  st->ac = NULL;
  if (st->connected && !st->closing) WL_WARN("announce", "lost the Redis connection: %s", ac->errstr);
  st->connected = false;
  schedule_retry(st);
}

static void connect_now(struct swarm_store *st) {
  if (st->closing || st->ac) return;
  if (*st->w->cfg->redis_sentinels && resolve_primary(st) < 0) {
    if (st->errors++ % 20 == 0) WL_WARN("announce", "no Sentinel answered with a Redis primary, retrying");
    schedule_retry(st);
    return;
  }
  WL_DEBUG("announce", "connecting to Redis at %s%s%s:%d", st->path, st->path[0] ? "" : "",
           st->path[0] ? "" : st->host, st->path[0] ? 0 : st->port);
  redisAsyncContext *ac =
      st->path[0] ? redisAsyncConnectUnix(st->path) : redisAsyncConnect(st->host, st->port);
  if (ac == NULL || ac->err) {
    if (st->errors++ % 20 == 0)
      WL_WARN("announce", "Redis unreachable (%s), retrying", ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    schedule_retry(st);
    return;
  }
  ac->data = st;
  wl_rarena_attach(&st->arena, ac->c.reader);
  if (wl_rloop_attach(ac, st->loop) != REDIS_OK) {
    WL_ERROR("announce", "out of memory attaching the Redis connection to the loop");
    redisAsyncFree(ac);
    schedule_retry(st);
    return;
  }
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  st->ac = ac;
  /* The loop adapter (redis_loop.c) watches a connecting socket only once something is queued to
   * write: queue a PING so the connect completes; and a watchdog for one that never does. */
  redisAsyncCommand(ac, NULL, NULL, "PING");
  uv_timer_start(&st->retry, on_retry, 1000, 0);
}

int wl_swarm_init(struct swarm_store *st, struct worker *w) {
  /* at most 65,536 swarms remembered and 8,192 samples (~2.5 KB each at the defaults) */
  int rv = wl_scache_init(&w->scache, 65536, 8192);
  if (rv < 0) return rv;
  w->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull ^ (uint64_t)uv_os_getpid();
  memset(st, 0, sizeof *st);
  st->w = w;
  st->loop = w->loop;
  if (wl_rarena_init(&st->arena, 256 << 10) < 0) return WL_ENOMEM;
  wl_buf_init(&st->cmd, 1 << 20);
  rv = *w->cfg->redis_sentinels ? 0 : parse_url(st, w->cfg);
  if (rv < 0) {
    WL_ERROR("announce", "WL_REDIS_URL: cannot parse \"%s\" (redis://host:port or unix:///path)",
             w->cfg->redis_url);
    return rv;
  }
  uv_timer_init(st->loop, &st->retry);
  st->retry.data = st;
  uv_timer_init(st->loop, &st->counters);
  st->counters.data = st;
  connect_now(st);
  return 0;
}

static void flush_counters(struct swarm_store *st);

void wl_swarm_close(struct swarm_store *st) {
  flush_counters(st); /* the worker has drained: every transaction's deltas are in */
  st->closing = true;
  uv_timer_stop(&st->retry);
  uv_close((uv_handle_t *)&st->retry, NULL);
  uv_timer_stop(&st->counters);
  uv_close((uv_handle_t *)&st->counters, NULL);
  if (st->ac) redisAsyncDisconnect(st->ac); /* pending replies still arrive first */
}

void wl_swarm_release(struct swarm_store *st) {
  wl_rarena_release(&st->arena);
  wl_buf_release(&st->cmd);
  wl_scache_release(&st->w->scache);
}

bool wl_swarm_ready(const struct swarm_store *st) { return st->connected && st->ac != NULL; }

/* One command to Redis, formatted here (RESP) into the store's scratch buffer: hiredis'
 * own formatting (sdscatfmt and an sds allocation per command) was ~8% of a worker's profile,
 * with ten or more commands per announce. REDIS_OK when queued. */
static int send_argv(struct swarm_store *st, redisCallbackFn *cb, void *priv, int argc,
                     const char *const *argv, const size_t *len) {
  struct wl_buf *b = &st->cmd;
  wl_buf_reset(b);
  if (st->ac == NULL || wl_buf_appendc(b, '*') < 0 || wl_buf_append_u64(b, (uint64_t)argc) < 0 ||
      wl_buf_append(b, "\r\n", 2) < 0)
    return REDIS_ERR;
  for (int i = 0; i < argc; i++) {
    if (wl_buf_appendc(b, '$') < 0 || wl_buf_append_u64(b, len[i]) < 0 ||
        wl_buf_append(b, "\r\n", 2) < 0 || wl_buf_append(b, argv[i], len[i]) < 0 ||
        wl_buf_append(b, "\r\n", 2) < 0)
      return REDIS_ERR;
  }
  return redisAsyncFormattedCommand(st->ac, cb, priv, (const char *)b->data, b->len);
}

/* ---- replies ---------------------------------------------------------------------------- */

/* Where the answer to announce idx of job j goes: the reply itself, or its part of a batch. */
static struct wl_buf *announce_dst(struct job *j, int idx) {
  return j->batch_n ? &j->part[idx] : &j->out;
}

/* Announce idx is answered; the job's reply goes once every announce of it is. */
static void announce_done(struct job *j) {
  if (j->batch_n == 0) {
    wl_job_reply(j);
    return;
  }
  if (++j->batch_done < j->batch_n) return;
  struct wl_msg_part parts[WL_ANNOUNCE_BATCH_MAX];
  for (int i = 0; i < j->batch_n; i++) {
    parts[i].p = j->part[i].data;
    parts[i].n = j->part[i].len;
  }
  wl_buf_reset(&j->out);
  if (wl_proto_encode_batch(&j->out, WL_MSG_ANNOUNCE_BATCH_REP, parts, (size_t)j->batch_n) < 0) {
    wl_buf_reset(&j->out);
    wl_proto_encode_error(&j->out, WL_ETOOBIG, "batch reply too large");
  }
  j->batch_n = 0;
  wl_job_reply(j);
}

static void fail_announce(struct job *j, int idx, const char *reason) {
  struct wl_msg_announce_rep rep = {.failure = reason, .failure_len = strlen(reason)};
  struct wl_buf *dst = announce_dst(j, idx);
  wl_buf_reset(dst);
  wl_proto_encode_announce_rep(dst, &rep);
  announce_done(j);
}

static void send_cmd(struct swarm_store *st, struct job *j, redisCallbackFn *cb) {
  if (!wl_swarm_ready(st) ||
      send_argv(st, cb, j, j->argc, j->argv, j->argvlen) != REDIS_OK) {
    cb(st->ac, NULL, j);
  }
}

static uint64_t reply_u64(const redisReply *r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer > 0 ? (uint64_t)r->integer : 0;
  if (r->type == REDIS_REPLY_STRING) return strtoull(r->str, NULL, 10);
  return 0;
}

static void set_arg(struct job *j, int i, const char *p, size_t n) {
  j->argv[i] = p;
  j->argvlen[i] = n;
}

/* The key "wl:{H}:<suffix>" of a swarm (H: the raw info hash; see scripts.c). */
enum { KEY_LEN = 27 };
static void swarm_key(char dst[KEY_LEN], const uint8_t hash[20], char suffix) {
  memcpy(dst, "wl:{", 4);
  memcpy(dst + 4, hash, 20);
  dst[24] = '}', dst[25] = ':', dst[26] = suffix;
}

/* ---- announces: one MULTI/EXEC of plain commands each ------------------------------------
 * The transaction writes the peer and reads the counts atomically; what it found decides the
 * follow-up (global counters, a new key's TTL), sent without waiting. Peers for the answer come
 * from plain ZRANGEs pipelined after the EXEC (or from the worker's sample of a hot swarm). */

/* What each queued command's reply in the EXEC array means (sub->plan, in order). */
enum { R_OTHER, R_ADDED, R_MOVED, R_REMOVED, R_TRIMMED, R_NS, R_NL, R_DONE, R_TIME };

/* Appends the packed peers of a Redis list reply to two of the job's buffers: IPv4 entries,
 * IPv6 entries. */
static void take_list(const redisReply *r, struct wl_buf *b) {
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *p = r->element[i];
    if (p->type != REDIS_REPLY_STRING || (p->len != 6 && p->len != 18)) continue;
    if (wl_buf_append(p->len == 6 ? &b[0] : &b[1], p->str, p->len) < 0) break;
  }
}

static struct wl_peer_list list_of(const struct wl_buf b[2]) {
  return (struct wl_peer_list){.p4 = b[0].data, .n4 = b[0].len / 6, .p6 = b[1].data, .n6 = b[1].len / 18};
}

/* An announce is answered when its last reply is in: the EXEC's, then those of the plain peer
 * reads pipelined after it (replies on one connection come in order, so the job's list buffers
 * hold one announce's peers at a time). */
static void announce_finish(struct sub *sub) {
  struct job *j = sub->j;
  struct worker *w = j->w;
  struct wl_psample *sample = sub->sample;
  sub->sample = NULL;
  if (sub->failed) {
    wl_psample_unref(sample);
    w->failures++;
    fail_announce(j, sub->idx, FAIL_REDIS);
    return;
  }
  struct wl_peer_list ls = list_of(&j->lists[0]), ll = list_of(&j->lists[2]);
  wl_buf_reset(&j->tmp);
  wl_buf_reset(&j->tmp6);
  struct wl_peer_out out = {&j->tmp, &j->tmp6};
  int rv = wl_psample_compose(sample ? &sample->s : &ls, sample ? &sample->l : &ll, sub->seeder,
                              sub->numwant, sub->self, sub->self_len, &w->rng, &out);
  wl_psample_unref(sample);
  /* A leecher's read of a big swarm is a sample (the answer is a random subset of it anyway):
   * it serves this worker's next announces of that swarm for WL_PEER_SAMPLE_MS. */
  struct wl_scache_entry *e = wl_scache_find(&w->scache, sub->info_hash);
  if (e) {
    e->ns = (uint32_t)sub->ns;
    e->nl = (uint32_t)sub->nl;
    if (sub->read_done && sub->done > e->done) e->done = sub->done;
  }
  if (sub->direct && !sub->seeder && sub->ns + sub->nl > (uint64_t)sub->numwant + 1 &&
      w->cfg->peer_sample_ms > 0) {
    uint64_t until = uv_now(w->loop) + (uint64_t)w->cfg->peer_sample_ms;
    struct wl_psample *p = wl_psample_new(&ls, &ll, sub->k, (uint32_t)sub->ns, (uint32_t)sub->nl, until);
    if (p) wl_scache_store(&w->scache, sub->info_hash, p);
  }
  struct wl_msg_announce_rep rep = {
      .complete = sub->ns,
      .incomplete = sub->nl,
      .peers = j->tmp.data, .peers_len = j->tmp.len,
      .peers6 = j->tmp6.data, .peers6_len = j->tmp6.len,
  };
  struct wl_buf *dst = announce_dst(j, sub->idx);
  wl_buf_reset(dst);
  if (rv < 0 || wl_proto_encode_announce_rep(dst, &rep) < 0) {
    fail_announce(j, sub->idx, "Reply too large");
    return;
  }
  wl_reglink_note_swarm(w, sub->info_hash, sub->ns, sub->nl, sub->done, sub->observed_us);
  announce_done(j);
}

static void announce_step(struct sub *sub) {
  if (--sub->pending == 0) announce_finish(sub);
}

static void on_fire_and_forget(redisAsyncContext *ac, void *reply, void *priv) {
  redisReply *r = reply;
  const char *what = priv;
  (void)ac;
  if (r && r->type == REDIS_REPLY_ERROR) WL_WARN("announce", "Redis %s failed: %s", what, r->str);
}

/* The reply to an announce's first write, queued in its transaction: a demoted primary
 * (failover) answers READONLY; reconnect, asking the Sentinels again. */
static void on_write_queued(redisAsyncContext *ac, void *reply, void *priv) {
  redisReply *r = reply;
  struct sub *sub = priv;
  if (r && r->type == REDIS_REPLY_ERROR &&
      (strncmp(r->str, "READONLY", 8) == 0 || strncmp(r->str, "UNBLOCKED", 9) == 0) &&
      sub->j->w->store.ac == ac)
    redisAsyncDisconnect(ac);
}

/* The global counters' deltas go as one HINCRBY per counter for many announces: ahead of the
 * next batch's commands (in the same write to Redis, so no exchange of its own), or after
 * COUNTERS_MS when no batch comes. Kept across a lost connection until they are sent. */
enum { COUNTERS_MS = 20 };

static void hincrby(struct swarm_store *st, const char *field, int64_t d) {
  char v[24];
  size_t n = d < 0 ? (v[0] = '-', 1 + wl_fmt_u64(v + 1, (uint64_t)-d)) : wl_fmt_u64(v, (uint64_t)d);
  const char *argv[] = {"HINCRBY", "wl:g", field, v};
  size_t len[] = {7, 4, strlen(field), n};
  send_argv(st, on_fire_and_forget, (void *)"counter update", 4, argv, len);
}

static void flush_counters(struct swarm_store *st) {
  if ((st->dpeers == 0 && st->dswarms == 0) || !wl_swarm_ready(st)) return;
  if (st->dpeers) hincrby(st, "peers", st->dpeers);
  if (st->dswarms) hincrby(st, "swarms", st->dswarms);
  st->dpeers = st->dswarms = 0;
  uv_timer_stop(&st->counters);
}

static void on_counters_timer(uv_timer_t *t) {
  struct swarm_store *st = t->data;
  flush_counters(st);
  if ((st->dpeers || st->dswarms) && !st->closing) /* not connected: try again later */
    uv_timer_start(&st->counters, on_counters_timer, COUNTERS_MS, 0);
}

/* After the transaction: the global counters move by what it changed, a swarm that became
 * live enters the sweep's index (the sweep itself keeps the entries of live swarms current, see
 * scripts.c), and a set created without a touch gets its TTL. Commutative, sent without
 * waiting for Redis: a worker that dies before they are sent (at most COUNTERS_MS later) leaves
 * a counter off by what they carried (documented in docs/tracker.md). */
static void announce_follow_up(struct swarm_store *st, const struct sub *sub, int64_t dpeers,
                               uint64_t n0, uint64_t n1, bool added) {
  st->dpeers += dpeers;
  if ((n0 == 0) != (n1 == 0)) st->dswarms += n1 ? 1 : -1;
  if ((st->dpeers || st->dswarms) && !st->closing && !uv_is_active((uv_handle_t *)&st->counters))
    uv_timer_start(&st->counters, on_counters_timer, COUNTERS_MS, 0);
  if (n0 == 0 && n1 > 0) {
    char now[24];
    const char *argv[] = {"ZADD", "wl:swarms", now, (const char *)sub->info_hash};
    size_t len[] = {4, 9, wl_fmt_u64(now, (uint64_t)time(NULL)), 20};
    send_argv(st, on_fire_and_forget, (void *)"index update", 4, argv, len);
  }
  if (!sub->touch && added && (sub->seeder ? sub->ns : sub->nl) == 1) {
    char key[KEY_LEN], ttl[24];
    swarm_key(key, sub->info_hash, sub->seeder ? 's' : 'l');
    const char *argv[] = {"EXPIRE", key, ttl};
    size_t len[] = {6, KEY_LEN, wl_fmt_u64(ttl, (uint64_t)st->w->cfg->peer_ttl + 3600)};
    send_argv(st, on_fire_and_forget, (void *)"EXPIRE", 3, argv, len);
  }
}

static void on_exec(redisAsyncContext *ac, void *reply, void *priv) {
  struct sub *sub = priv;
  struct worker *w = sub->j->w;
  redisReply *r = reply;
  (void)ac;
  for (int k = 0; k < 4; k++) wl_buf_reset(&sub->j->lists[k]);
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != sub->nplan) {
    if (r && r->type == REDIS_REPLY_ERROR) WL_WARN("announce", "Redis announce failed: %s", r->str);
    sub->failed = true;
    announce_step(sub);
    return;
  }
  int64_t added = 0, moved = 0, removed = 0, trimmed = 0;
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_ERROR) {
      /* the accounting script of a passkey announce is the only R_OTHER that can fail alone */
      WL_WARN("announce", "Redis announce command %zu failed: %s", i, e->str);
      if (sub->plan[i] != R_OTHER) sub->failed = true;
      continue;
    }
    int64_t v = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
    switch (sub->plan[i]) {
      case R_ADDED: added = v; break;
      case R_MOVED: moved = v; break;
      case R_REMOVED: removed += v; break;
      case R_TRIMMED: trimmed += v; break;
      case R_NS: sub->ns = reply_u64(e); break;
      case R_NL: sub->nl = reply_u64(e); break;
      case R_DONE: sub->done = reply_u64(e); break;
      case R_TIME:
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2)
          sub->observed_us = reply_u64(e->element[0]) * 1000000 + reply_u64(e->element[1]);
        break;
      default: break;
    }
  }
  if (!sub->failed) {
    int64_t dpeers = added - moved - removed - trimmed;
    uint64_t n1 = sub->ns + sub->nl;
    uint64_t n0 = (uint64_t)((int64_t)n1 - dpeers);
    announce_follow_up(&w->store, sub, dpeers, n0, n1, added > 0);
  }
  announce_step(sub);
}

/* The reply of a plain peer read (ZRANGE) of the seeder (priv: sub) or leecher set. */
static void on_peers(struct sub *sub, redisReply *r, struct wl_buf *lists) {
  if (r && r->type == REDIS_REPLY_ARRAY)
    take_list(r, lists);
  else
    sub->failed = true;
  announce_step(sub);
}

static void on_seeders(redisAsyncContext *ac, void *reply, void *priv) {
  struct sub *sub = priv;
  (void)ac;
  on_peers(sub, reply, &sub->j->lists[0]);
}

static void on_leechers(redisAsyncContext *ac, void *reply, void *priv) {
  struct sub *sub = priv;
  (void)ac;
  on_peers(sub, reply, &sub->j->lists[2]);
}

/* ZRANGE key from from+n-1, answered to cb. 0 when sent. */
static int read_range(struct swarm_store *st, struct sub *sub, const char *key, uint64_t from,
                      size_t n, redisCallbackFn *cb) {
  char a[24], b[24];
  size_t la = wl_fmt_u64(a, from), lb = wl_fmt_u64(b, from + n - 1);
  const char *argv[4] = {"ZRANGE", key, a, b};
  size_t len[4] = {6, KEY_LEN, la, lb};
  return send_argv(st, cb, sub, 4, argv, len) == REDIS_OK ? 0 : -1;
}

/* Queues the command built in j->argv (argc args) in sub's transaction; what says what its
 * reply means. hiredis copies the command at once, so the scratch is free again on return. */
static int queue(struct swarm_store *st, struct sub *sub, int argc, uint8_t what, redisCallbackFn *cb) {
  struct job *j = sub->j;
  if (sub->nplan >= sizeof sub->plan ||
      send_argv(st, cb, sub, argc, j->argv, j->argvlen) != REDIS_OK)
    return -1;
  sub->plan[sub->nplan++] = what;
  return 0;
}

/* The transaction of one announce (see scripts.c for the keys). Returns 0 when queued. */
static int announce_tx(struct swarm_store *st, struct sub *sub, const struct wl_msg_announce *a) {
  struct job *j = sub->j;
  const struct wl_config *cfg = st->w->cfg;
  char(*k)[96] = j->keys; /* s, l, d, u, user */
  static const char suffix[] = "sldu";
  for (int i = 0; i < 4; i++) swarm_key(k[i], a->info_hash, suffix[i]);
  const char *self = (const char *)sub->self;
  const char *mine = sub->seeder ? k[0] : k[1], *other = sub->seeder ? k[1] : k[0];
  bool stopped = a->event == WL_EV_STOPPED, completed = a->event == WL_EV_COMPLETED && sub->seeder;
  int64_t t = (int64_t)time(NULL);
  uint64_t now = t > 0 ? (uint64_t)t : 0;
  char(*n)[24] = j->nums;
  size_t ln = wl_fmt_u64(n[0], now);
  size_t lc = wl_fmt_u64(n[1], now > (uint64_t)cfg->peer_ttl ? now - (uint64_t)cfg->peer_ttl : 0);
  size_t lk = wl_fmt_u64(n[2], (uint64_t)cfg->peer_ttl + 3600);
  size_t ld = wl_fmt_u64(n[3], ((uint64_t)cfg->peer_ttl + 3600) * 4);
  char cutoff[26] = "(";
  memcpy(cutoff + 1, n[1], lc + 1);
  sub->nplan = 0;
  set_arg(j, 0, "MULTI", 5);
  if (send_argv(st, NULL, NULL, 1, j->argv, j->argvlen) != REDIS_OK) return -1;
  int rv = 0;
  if (stopped) {
    set_arg(j, 0, "ZREM", 4), set_arg(j, 1, k[0], KEY_LEN), set_arg(j, 2, self, sub->self_len);
    rv |= queue(st, sub, 3, R_REMOVED, on_write_queued);
    set_arg(j, 1, k[1], KEY_LEN);
    rv |= queue(st, sub, 3, R_REMOVED, NULL);
  } else {
    /* a member is in one set at most: the other set loses it when it moves */
    set_arg(j, 0, "ZADD", 4), set_arg(j, 1, mine, KEY_LEN), set_arg(j, 2, n[0], ln);
    set_arg(j, 3, self, sub->self_len);
    rv |= queue(st, sub, 4, R_ADDED, on_write_queued);
    set_arg(j, 0, "ZREM", 4), set_arg(j, 1, other, KEY_LEN), set_arg(j, 2, self, sub->self_len);
    rv |= queue(st, sub, 3, R_MOVED, NULL);
  }
  if (sub->touch) { /* expired peers go (this requester's score is fresh) */
    for (int i = 0; i < 2; i++) {
      set_arg(j, 0, "ZREMRANGEBYSCORE", 16), set_arg(j, 1, k[i], KEY_LEN);
      set_arg(j, 2, "-inf", 4), set_arg(j, 3, cutoff, lc + 1);
      rv |= queue(st, sub, 4, R_TRIMMED, NULL);
    }
  }
  for (int i = 0; i < 2; i++) {
    set_arg(j, 0, "ZCARD", 5), set_arg(j, 1, k[i], KEY_LEN);
    rv |= queue(st, sub, 2, i == 0 ? R_NS : R_NL, NULL);
  }
  /* the completions go only to the registry, which keeps the highest figure any worker sent:
   * between touches a worker sends the count it last read or made */
  sub->read_done = sub->touch || completed;
  if (completed) { /* once per peer while its mark lives (scripts.c) */
    char mark[KEY_LEN + 18];
    swarm_key(mark, a->info_hash, 'c');
    memcpy(mark + KEY_LEN, self, sub->self_len);
    set_arg(j, 0, "EVAL", 4), set_arg(j, 1, wl_lua_complete, strlen(wl_lua_complete));
    set_arg(j, 2, "2", 1), set_arg(j, 3, k[2], KEY_LEN);
    set_arg(j, 4, mark, KEY_LEN + sub->self_len), set_arg(j, 5, n[2], lk);
    rv |= queue(st, sub, 6, R_DONE, NULL);
  } else if (sub->read_done) {
    set_arg(j, 0, "GET", 3), set_arg(j, 1, k[2], KEY_LEN);
    rv |= queue(st, sub, 2, R_DONE, NULL);
  }
  if (sub->touch || completed) { /* the TTLs of the swarm's keys */
    for (int i = sub->touch ? 0 : 2; i < 3; i++) {
      set_arg(j, 0, "EXPIRE", 6), set_arg(j, 1, k[i], KEY_LEN);
      set_arg(j, 2, n[i == 2 ? 3 : 2], i == 2 ? ld : lk);
      rv |= queue(st, sub, 3, R_OTHER, NULL);
    }
  }
  if (a->user_id_len > 0) { /* passkey: per-user accounting (scripts.c) */
    int ul = snprintf(k[4], sizeof k[4], "wl:user:%.*s", (int)a->user_id_len, a->user_id);
    size_t lu = wl_fmt_u64(n[4], a->uploaded), lw = wl_fmt_u64(n[5], a->downloaded);
    size_t le = wl_fmt_u64(n[6], a->event);
    const char *argv[] = {"EVAL", wl_lua_account, "4", k[3], k[4], k[0], k[1], self,
                          n[4], n[5], n[6], n[2], sub->touch ? "1" : "0"};
    size_t len[] = {4, strlen(wl_lua_account), 1, KEY_LEN, (size_t)ul, KEY_LEN, KEY_LEN,
                    sub->self_len, lu, lw, le, lk, 1};
    for (int i = 0; i < 13; i++) set_arg(j, i, argv[i], len[i]);
    rv |= queue(st, sub, 13, R_OTHER, NULL);
  }
  set_arg(j, 0, "TIME", 4);
  rv |= queue(st, sub, 1, R_TIME, NULL);
  set_arg(j, 0, rv == 0 ? "EXEC" : "DISCARD", rv == 0 ? 4 : 7);
  if (send_argv(st, rv == 0 ? on_exec : NULL, sub, 1, j->argv, j->argvlen) != REDIS_OK)
    return -1;
  return rv == 0 ? 0 : -1;
}

/* Starts announce idx of j: the transaction, then the peer reads. */
static void announce_start(struct swarm_store *st, struct job *j, const struct wl_msg_announce *a,
                           int idx) {
  struct worker *w = st->w;
  char tmp[128];
  struct sub *sub = &j->subs[idx];
  sub->j = j;
  sub->idx = idx;
  sub->sample = NULL;
  sub->pending = 0;
  sub->failed = false;
  sub->direct = false;
  sub->ns = sub->nl = sub->done = sub->observed_us = 0;
  memcpy(sub->info_hash, a->info_hash, 20);
  const char *refusal = wl_reglink_refusal(w, a->info_hash, tmp, sizeof tmp);
  if (refusal) {
    fail_announce(j, idx, refusal);
    return;
  }
  if (a->user_id_len > 64) {
    fail_announce(j, idx, "Malformed request");
    return;
  }
  if (!wl_swarm_ready(st)) {
    fail_announce(j, idx, FAIL_REDIS);
    return;
  }
  sub->self_len = (uint8_t)(a->ip_len + 2);
  memcpy(sub->self, a->ip, a->ip_len);
  sub->self[a->ip_len] = (uint8_t)(a->port >> 8);
  sub->self[a->ip_len + 1] = (uint8_t)(a->port & 0xff);
  const struct wl_config *cfg = w->cfg;
  sub->seeder = a->left == 0;
  sub->numwant = a->event == WL_EV_STOPPED ? 0 : a->numwant;
  /* k: the size of a read of a big swarm, per set: numwant and one (the requester may be
   * among the peers read); when samples are kept, enough for the announces of other
   * requesters that it will serve */
  size_t k = sub->numwant == 0 ? 0 : (size_t)sub->numwant + 1;
  if (k > 0 && cfg->peer_sample_ms > 0 && k < (size_t)cfg->numwant_default * 2 + 1)
    k = (size_t)cfg->numwant_default * 2 + 1;
  sub->k = (uint32_t)k;
  /* once per touch interval per swarm (a quarter of the peer TTL, at most a minute) this
   * worker's announce also refreshes the TTLs, trims expired peers and reads the completions;
   * so does one that is likely to create the swarm or the requester's set (then the TTL comes
   * in the same transaction; the follow-up covers a guess that was wrong) */
  uint64_t now_ms = uv_now(w->loop);
  uint64_t touch_ms = (uint64_t)cfg->peer_ttl * 250;
  if (touch_ms > 60000) touch_ms = 60000;
  struct wl_scache_entry *e = wl_scache_get(&w->scache, a->info_hash);
  sub->touch = true;
  if (e) {
    bool creates = a->event != WL_EV_STOPPED && (sub->seeder ? e->ns : e->nl) == 0;
    sub->touch = creates || e->touched_ms == 0 || now_ms - e->touched_ms >= touch_ms;
    if (sub->touch) e->touched_ms = now_ms ? now_ms : 1;
    sub->done = e->done; /* replaced when the transaction reads them */
    if (k > 0) sub->sample = wl_scache_sample(&w->scache, e, sub->numwant, now_ms);
  }
  /* Peers: from the sample, else by plain reads pipelined after the transaction, on a set known
   * to be bigger than the read a window of k at a random rank (a cheap sample) */
  uint64_t range_s = 0, range_l = 0;
  if (!sub->sample && k > 0) {
    sub->direct = true;
    if (e && e->ns > k) range_s = wl_psample_rand(&w->rng) % (e->ns - k + 1);
    if (e && e->nl > k) range_l = wl_psample_rand(&w->rng) % (e->nl - k + 1);
  }
  if (announce_tx(st, sub, a) < 0) {
    /* only when the connection is going away: its callbacks fail what was queued */
    wl_psample_unref(sub->sample);
    sub->sample = NULL;
    fail_announce(j, idx, FAIL_REDIS);
    return;
  }
  sub->pending = 1;
  if (sub->direct) {
    /* seeders are read for a leecher only (a seeder's answer holds leechers only) */
    if (!sub->seeder && read_range(st, sub, j->keys[0], range_s, k, on_seeders) == 0) sub->pending++;
    if (read_range(st, sub, j->keys[1], range_l, k, on_leechers) == 0) sub->pending++;
  }
}

void wl_swarm_announce(struct swarm_store *st, struct job *j) {
  flush_counters(st);
  j->batch_n = 0;
  announce_start(st, j, &j->ann, 0);
}

/* ---- scrapes inside a batch: plain pipelined commands, no script --------------------------
 * Per hash ZCOUNT seeders, GET completions, ZCOUNT leechers (what the scrape script does, without
 * its ~10 µs of Lua overhead). Replies arrive in order; the item's wl_scrape_file records are
 * built in its part buffer, then encoded through j->tmp. */

static void scrape_item_fail(struct job *j, int idx, const char *reason) {
  struct wl_buf *dst = announce_dst(j, idx);
  wl_buf_reset(dst);
  wl_proto_encode_scrape_rep(dst, reason, NULL, 0);
  announce_done(j);
}

static void scrape_item_finish(struct sub *sub) {
  struct job *j = sub->j;
  if (sub->failed) {
    j->w->failures++;
    scrape_item_fail(j, sub->idx, FAIL_REDIS);
    return;
  }
  struct wl_buf *rec = &j->part[sub->idx];
  wl_buf_reset(&j->tmp);
  wl_proto_encode_scrape_rep(&j->tmp, "", (const struct wl_scrape_file *)rec->data,
                             rec->len / sizeof(struct wl_scrape_file));
  struct wl_buf *dst = announce_dst(j, sub->idx); /* the part, or the reply of a plain SCRAPE */
  struct wl_buf t = *dst; /* the encoded reply takes dst's place; dst's buffer becomes scratch */
  *dst = j->tmp;
  j->tmp = t;
  announce_done(j);
}

static void on_scrape_item(redisAsyncContext *ac, void *reply, void *priv) {
  struct sub *sub = priv;
  redisReply *r = reply;
  (void)ac;
  int n = sub->got++;
  struct wl_scrape_file *f = (struct wl_scrape_file *)sub->j->part[sub->idx].data + n / 3;
  uint64_t v = 0;
  if (r == NULL || r->type == REDIS_REPLY_ERROR)
    sub->failed = true;
  else
    v = reply_u64(r);
  if (n % 3 == 0) f->complete = v;
  else if (n % 3 == 1) f->downloaded = v;
  else f->incomplete = v;
  if (--sub->pending == 0) scrape_item_finish(sub);
}

static void scrape_item_start(struct swarm_store *st, struct job *j, const struct wl_msg_scrape *m,
                              int idx) {
  struct worker *w = st->w;
  struct sub *sub = &j->subs[idx];
  sub->j = j;
  sub->idx = idx;
  sub->sample = NULL;
  sub->failed = false;
  sub->got = 0;
  sub->pending = 0;
  struct wl_buf *rec = &j->part[idx];
  wl_buf_reset(rec);
  for (size_t i = 0; i < m->n; i++) {
    const uint8_t *h = m->hashes + 20 * i;
    if (wl_hashmap_get(&w->blocked, h)) continue; /* blocked hashes are left out (API.md) */
    struct wl_scrape_file f = {.complete = 0};
    memcpy(f.hash, h, 20);
    if (wl_buf_append(rec, &f, sizeof f) < 0) {
      scrape_item_fail(j, idx, "Out of memory");
      return;
    }
  }
  size_t n = rec->len / sizeof(struct wl_scrape_file);
  if (n > 0 && !wl_swarm_ready(st)) {
    scrape_item_fail(j, idx, FAIL_REDIS);
    return;
  }
  char cutoff[24], key[KEY_LEN];
  size_t cl = wl_fmt_u64(cutoff, (uint64_t)(time(NULL) - w->cfg->peer_ttl));
  static const char suffix[] = "sdl";
  const struct wl_scrape_file *files = (const struct wl_scrape_file *)rec->data;
  for (size_t i = 0; i < n; i++) {
    for (int k = 0; k < 3; k++) {
      swarm_key(key, files[i].hash, suffix[k]);
      const char *zc[5] = {"ZCOUNT", key, cutoff, "+inf"};
      size_t zl[5] = {6, KEY_LEN, cl, 4};
      const char *get[2] = {"GET", key};
      size_t gl[2] = {3, KEY_LEN};
      int rv = k == 1 ? send_argv(st, on_scrape_item, sub, 2, get, gl)
                      : send_argv(st, on_scrape_item, sub, 4, zc, zl);
      if (rv != REDIS_OK) {
        sub->failed = true;
        break;
      }
      sub->pending++;
    }
    if (sub->failed) break;
  }
  if (sub->pending == 0) {
    if (sub->failed) scrape_item_fail(j, idx, FAIL_REDIS);
    else scrape_item_finish(sub);
  }
}

void wl_swarm_announce_batch(struct swarm_store *st, struct job *j, const struct wl_msg_batch *b) {
  if (b->n == 0) {
    wl_buf_reset(&j->out);
    wl_proto_encode_batch(&j->out, WL_MSG_ANNOUNCE_BATCH_REP, NULL, 0);
    wl_job_reply(j);
    return;
  }
  flush_counters(st);
  j->batch_n = (int)b->n;
  j->batch_done = 0;
  for (size_t i = 0; i < b->n; i++) {
    struct wl_proto_in in;
    struct wl_msg_announce a;
    int rv = wl_proto_in_init(&in, b->parts[i].p, b->parts[i].n);
    if (rv == 0 && in.type == WL_MSG_SCRAPE) {
      struct wl_msg_scrape m;
      rv = wl_proto_decode_scrape(&in, &m);
      if (rv == 0) scrape_item_start(st, j, &m, (int)i);
      else scrape_item_fail(j, (int)i, "Malformed request");
      wl_proto_in_release(&in);
      continue;
    }
    if (rv == 0) rv = wl_proto_decode_announce(&in, &a);
    if (rv < 0) {
      struct wl_msg_announce_rep rep = {.failure = "Malformed request", .failure_len = 17};
      wl_buf_reset(&j->part[i]);
      wl_proto_encode_announce_rep(&j->part[i], &rep);
      wl_proto_in_release(&in);
      announce_done(j);
      continue;
    }
    announce_start(st, j, &a, (int)i);
    wl_proto_in_release(&in); /* the command was copied by hiredis */
  }
}

/* ---- scrape ----------------------------------------------------------------------------- */

/* A plain SCRAPE message: the same commands as a scrape in a batch, answered into the reply. */
void wl_swarm_scrape(struct swarm_store *st, struct job *j, const struct wl_msg_scrape *m) {
  j->batch_n = 0;
  scrape_item_start(st, j, m, 0);
}

/* ---- stats, sweep, drop ----------------------------------------------------------------- */

static void on_stats(redisAsyncContext *ac, void *reply, void *priv) {
  struct job *j = priv;
  struct worker *w = j->w;
  redisReply *r = reply;
  int64_t peers = -1, swarms = -1;
  if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
    for (int i = 0; i < 2; i++) {
      redisReply *e = r->element[i];
      int64_t v = e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
      if (v < 0) v = 0;
      if (i == 0) peers = v; else swarms = v;
    }
  }
  struct wl_stat_pair pairs[] = {
      {"active_peers", 12, peers},
      {"swarms", 6, swarms},
      {"redis_up", 8, r != NULL && r->type == REDIS_REPLY_ARRAY},
      {"worker_announces", 16, (int64_t)w->announces},
      {"worker_scrapes", 14, (int64_t)w->scrapes},
      {"worker_redis_failures", 21, (int64_t)w->failures},
      {"blocked_hashes", 14, (int64_t)w->blocked.n},
      {"registry_snapshot", 17, w->have_snapshot},
  };
  wl_buf_reset(&j->out);
  wl_proto_encode_stats_rep(&j->out, pairs, sizeof pairs / sizeof pairs[0]);
  wl_job_reply(j);
}

void wl_swarm_stats(struct swarm_store *st, struct job *j) {
  j->argc = 4;
  set_arg(j, 0, "HMGET", 5);
  set_arg(j, 1, "wl:g", 4);
  set_arg(j, 2, "peers", 5);
  set_arg(j, 3, "swarms", 6);
  send_cmd(st, j, on_stats);
}

static void on_user(redisAsyncContext *ac, void *reply, void *priv) {
  struct job *j = priv;
  redisReply *r = reply;
  wl_buf_reset(&j->out);
  if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
    wl_proto_encode_error(&j->out, WL_EBACKEND, "Redis unavailable");
  } else {
    struct wl_msg_user_rep u = {0};
    for (int i = 0; i < 2; i++) {
      redisReply *e = r->element[i];
      if (e->type != REDIS_REPLY_STRING) continue;
      u.found = true;
      long long v = strtoll(e->str, NULL, 10);
      if (i == 0) u.uploaded = v > 0 ? (uint64_t)v : 0;
      else u.downloaded = v > 0 ? (uint64_t)v : 0;
    }
    wl_proto_encode_user_rep(&j->out, &u);
  }
  wl_job_reply(j);
}

void wl_swarm_user(struct swarm_store *st, struct job *j, const char *user, size_t len) {
  snprintf(j->keys[0], sizeof j->keys[0], "wl:user:%.*s", (int)len, user);
  j->argc = 4;
  set_arg(j, 0, "HMGET", 5);
  set_arg(j, 1, j->keys[0], strlen(j->keys[0]));
  set_arg(j, 2, "uploaded", 8);
  set_arg(j, 3, "downloaded", 10);
  send_cmd(st, j, on_user);
}

/* Maintenance scripts use EVAL directly: they run once a second at most, and EVAL caches. */
void wl_swarm_sweep(struct swarm_store *st) {
  if (!wl_swarm_ready(st)) return;
  char now[24], ttl[24];
  snprintf(now, sizeof now, "%lld", (long long)time(NULL));
  snprintf(ttl, sizeof ttl, "%lld", (long long)st->w->cfg->peer_ttl);
  const char *argv[] = {"EVAL", wl_lua_sweep, "2", "wl:g", "wl:swarms", now, ttl, "200"};
  size_t lens[8];
  for (int i = 0; i < 8; i++) lens[i] = strlen(argv[i]);
  send_argv(st, on_fire_and_forget, (void *)"sweep", 8, argv, lens);
}

void wl_swarm_drop(struct swarm_store *st, const uint8_t hash[20]) {
  if (!wl_swarm_ready(st)) return;
  char k[3][KEY_LEN];
  static const char suffix[] = "slu";
  for (int i = 0; i < 3; i++) swarm_key(k[i], hash, suffix[i]);
  const char *argv[] = {"EVAL", wl_lua_drop, "5", k[0], k[1], k[2], "wl:g", "wl:swarms", (const char *)hash};
  size_t lens[] = {4, strlen(wl_lua_drop), 1, KEY_LEN, KEY_LEN, KEY_LEN, 4, 9, 20};
  send_argv(st, on_fire_and_forget, (void *)"drop", 9, argv, lens);
}
