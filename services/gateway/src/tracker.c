/* /announce and /scrape: query parsing per BEP 3/7/23/48 and API.md, one bus message to an
 * announce worker, and the bencoded answer. Every malformed parameter gets HTTP 200 with a
 * bencoded failure reason naming it. Binary values decode %XX only ('+' is 0x2B). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "wl/bencode.h"
#include "wl/error.h"
#include "wl/log.h"
#include "wl/query.h"
#include "wl_proto.h"

void wl_tracker_fail(struct conn *c, const char *reason) {
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "failure reason");
  wl_benc_strz(b, reason);
  wl_benc_end(b);
  c->gw->m.failures_announce++;
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

/* Decodes a binary parameter that must be exactly `want` bytes. */
static int decode_exact(const char *v, size_t vl, uint8_t *out, size_t want) {
  uint8_t tmp[64];
  if (vl > 3 * want) return WL_EPARSE;
  ssize_t n = wl_pct_decode(tmp, v, vl);
  if (n != (ssize_t)want) return WL_EPARSE;
  memcpy(out, tmp, want);
  return 0;
}

static int parse_u64(const char *v, size_t vl, uint64_t max, uint64_t *out) {
  uint64_t x = 0;
  if (vl == 0 || vl > 20) return WL_EPARSE;
  for (size_t i = 0; i < vl; i++) {
    if (v[i] < '0' || v[i] > '9') return WL_EPARSE;
    uint64_t d = (uint64_t)(v[i] - '0');
    if (x > (max - d) / 10) return WL_ERANGE;
    x = x * 10 + d;
  }
  *out = x;
  return 0;
}

static bool val_is(const char *v, size_t vl, const char *s) {
  return vl == strlen(s) && memcmp(v, s, vl) == 0;
}

static void announce_reply(struct breq *r, int result, const void *reply, size_t len) {
  struct conn *c = r->arg;
  if (!wl_http_breq_done(c)) return;
  if (result == WL_ETIMEOUT) {
    wl_tracker_fail(c, "Tracker busy: no announce worker answered in time, please retry");
    return;
  }
  if (result < 0) {
    wl_tracker_fail(c, "Tracker unavailable, please retry later");
    return;
  }
  struct wl_proto_in in;
  struct wl_msg_announce_rep rep;
  int rv = wl_proto_in_init(&in, reply, len);
  if (rv == 0) rv = wl_proto_decode_announce_rep(&in, &rep);
  if (rv < 0) {
    WL_WARN("gateway", "bad announce reply from a worker: %s", in.reason);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, "Tracker error, please retry later");
    return;
  }
  if (rep.failure_len) {
    char reason[1100];
    snprintf(reason, sizeof reason, "%.*s", (int)rep.failure_len, rep.failure);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, reason);
    return;
  }
  const struct wl_config *cfg = c->gw->cfg;
  bool compact = c->ann_compact, no_peer_id = c->ann_no_peer_id;
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "complete");
  wl_benc_int(b, (int64_t)rep.complete);
  wl_benc_strz(b, "incomplete");
  wl_benc_int(b, (int64_t)rep.incomplete);
  wl_benc_strz(b, "interval");
  wl_benc_int(b, cfg->announce_interval);
  wl_benc_strz(b, "min interval");
  wl_benc_int(b, cfg->min_interval);
  wl_benc_strz(b, "peers");
  if (compact) {
    wl_benc_str(b, rep.peers, rep.peers_len);
    if (rep.peers6_len) {
      wl_benc_strz(b, "peers6");
      wl_benc_str(b, rep.peers6, rep.peers6_len);
    }
  } else {
    /* BEP 3 dictionary model: both families in one list */
    size_t n4 = rep.peers_len / 6, n6 = rep.peers6_len / 18;
    wl_benc_list_begin(b);
    for (size_t i = 0; i < n4 + n6; i++) {
      char ip[INET6_ADDRSTRLEN];
      const uint8_t *p = i < n4 ? rep.peers + 6 * i : rep.peers6 + 18 * (i - n4);
      size_t alen = i < n4 ? 4 : 16;
      inet_ntop(alen == 4 ? AF_INET : AF_INET6, p, ip, sizeof ip);
      wl_benc_dict_begin(b);
      wl_benc_strz(b, "ip");
      wl_benc_strz(b, ip);
      if (!no_peer_id && rep.peer_ids_len) {
        wl_benc_strz(b, "peer id");
        wl_benc_str(b, rep.peer_ids + 20 * i, 20);
      }
      wl_benc_strz(b, "port");
      wl_benc_int(b, p[alen] << 8 | p[alen + 1]);
      wl_benc_end(b);
    }
    wl_benc_end(b);
  }
  wl_benc_end(b);
  wl_proto_in_release(&in);
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

void wl_tracker_announce(struct conn *c, const char *passkey, size_t passkey_len,
                         const char *query, size_t qlen) {
  struct gw *gw = c->gw;
  const struct wl_config *cfg = gw->cfg;
  struct wl_msg_announce a;
  memset(&a, 0, sizeof a);
  char reason[160];
  gw->m.announces++;

  const char *user = "";
  size_t ulen = 0;
  if (wl_passkey_check(cfg, passkey, passkey_len, &user, &ulen, reason, sizeof reason) < 0) {
    wl_tracker_fail(c, reason);
    return;
  }
  a.user_id = user;
  a.user_id_len = ulen;

  bool have_hash = false, have_peer = false, have_port = false, have_up = false,
       have_down = false, have_left = false;
  bool compact = true, no_peer_id = false;
  uint64_t numwant = (uint64_t)cfg->numwant_default, v;
  uint8_t ipparam[16];
  int ipparam_len = 0;
  struct wl_query_iter it;
  const char *k, *val;
  size_t kl, vl;
  wl_query_init(&it, query, qlen);
  while (wl_query_next(&it, &k, &kl, &val, &vl)) {
    if (wl_query_key_is(k, kl, "info_hash")) {
      if (have_hash) return wl_tracker_fail(c, "Invalid info_hash: give exactly one info_hash per announce");
      if (decode_exact(val, vl, a.info_hash, 20) < 0)
        return wl_tracker_fail(c, "Invalid info_hash: must be 20 bytes, percent-encoded");
      have_hash = true;
    } else if (wl_query_key_is(k, kl, "peer_id")) {
      if (decode_exact(val, vl, a.peer_id, 20) < 0)
        return wl_tracker_fail(c, "Invalid peer_id: must be 20 bytes, percent-encoded");
      have_peer = true;
    } else if (wl_query_key_is(k, kl, "port")) {
      if (parse_u64(val, vl, 65535, &v) < 0 || v == 0)
        return wl_tracker_fail(c, "Invalid port: must be a number from 1 to 65535");
      a.port = (uint16_t)v;
      have_port = true;
    } else if (wl_query_key_is(k, kl, "uploaded")) {
      if (parse_u64(val, vl, INT64_MAX, &a.uploaded) < 0)
        return wl_tracker_fail(c, "Invalid uploaded: must be a non-negative integer");
      have_up = true;
    } else if (wl_query_key_is(k, kl, "downloaded")) {
      if (parse_u64(val, vl, INT64_MAX, &a.downloaded) < 0)
        return wl_tracker_fail(c, "Invalid downloaded: must be a non-negative integer");
      have_down = true;
    } else if (wl_query_key_is(k, kl, "left")) {
      if (parse_u64(val, vl, INT64_MAX, &a.left) < 0)
        return wl_tracker_fail(c, "Invalid left: must be a non-negative integer");
      have_left = true;
    } else if (wl_query_key_is(k, kl, "compact")) {
      if (val_is(val, vl, "1")) compact = true;
      else if (val_is(val, vl, "0")) compact = false;
      else return wl_tracker_fail(c, "Invalid compact: must be 0 or 1");
    } else if (wl_query_key_is(k, kl, "no_peer_id")) {
      no_peer_id = !val_is(val, vl, "0");
    } else if (wl_query_key_is(k, kl, "event")) {
      if (vl == 0) a.event = WL_EV_NONE;
      else if (val_is(val, vl, "started")) a.event = WL_EV_STARTED;
      else if (val_is(val, vl, "completed")) a.event = WL_EV_COMPLETED;
      else if (val_is(val, vl, "stopped")) a.event = WL_EV_STOPPED;
      else if (val_is(val, vl, "paused")) a.event = WL_EV_PAUSED;
      else if (val_is(val, vl, "empty")) a.event = WL_EV_NONE;
      else return wl_tracker_fail(c, "Invalid event: must be started, completed, stopped, paused or empty");
    } else if (wl_query_key_is(k, kl, "numwant")) {
      if (parse_u64(val, vl, 1u << 30, &numwant) < 0) {
        /* some clients send numwant=-1 for "default" */
        if (val_is(val, vl, "-1")) numwant = (uint64_t)cfg->numwant_default;
        else return wl_tracker_fail(c, "Invalid numwant: must be a non-negative integer");
      }
    } else if (cfg->allow_ip_param && (wl_query_key_is(k, kl, "ip") ||
                                       wl_query_key_is(k, kl, "ipv4") ||
                                       wl_query_key_is(k, kl, "ipv6"))) {
      char ipstr[64];
      uint8_t raw[64];
      ssize_t n = vl < sizeof raw ? wl_pct_decode(raw, val, vl) : -1;
      if (n <= 0 || (size_t)n >= sizeof ipstr) return wl_tracker_fail(c, "Invalid ip: not an IP address");
      memcpy(ipstr, raw, (size_t)n);
      ipstr[n] = '\0';
      if (inet_pton(AF_INET, ipstr, ipparam) == 1) ipparam_len = 4;
      else if (inet_pton(AF_INET6, ipstr, ipparam) == 1) ipparam_len = 16;
      else return wl_tracker_fail(c, "Invalid ip: not an IP address");
    }
    /* key, trackerid, supportcrypto, ... are accepted and ignored */
  }
  if (!have_hash) return wl_tracker_fail(c, "Missing info_hash");
  if (!have_peer) return wl_tracker_fail(c, "Missing peer_id");
  if (!have_port) return wl_tracker_fail(c, "Missing port");
  if (!have_up) return wl_tracker_fail(c, "Missing uploaded");
  if (!have_down) return wl_tracker_fail(c, "Missing downloaded");
  if (!have_left) return wl_tracker_fail(c, "Missing left");
  if (numwant > (uint64_t)cfg->numwant_max) numwant = (uint64_t)cfg->numwant_max;
  a.numwant = (uint32_t)numwant;
  a.flags = (compact ? WL_ANN_COMPACT : 0) | (no_peer_id ? WL_ANN_NO_PEER_ID : 0);
  if (ipparam_len) {
    memcpy(a.ip, ipparam, (size_t)ipparam_len);
    a.ip_len = (uint8_t)ipparam_len;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a.ip_len == 16 && memcmp(a.ip, mapped, 12) == 0) {
      memmove(a.ip, a.ip + 12, 4);
      a.ip_len = 4;
    }
  } else {
    memcpy(a.ip, c->ip, c->ip_len);
    a.ip_len = c->ip_len;
  }
  if (a.ip_len != 4 && a.ip_len != 16) return wl_tracker_fail(c, "Cannot determine your address");

  c->ann_compact = compact;
  c->ann_no_peer_id = no_peer_id;

  struct wl_buf *b = &gw->scratch;
  wl_buf_reset(b);
  if (wl_proto_encode_announce(b, &a) < 0) return wl_tracker_fail(c, "Tracker error");
  c->breq = wl_backend_call(gw, BK_ANNOUNCE, b->data, b->len, (int)cfg->backend_timeout_ms,
                            announce_reply, c);
  if (c->breq == NULL) wl_tracker_fail(c, "Tracker overloaded, please retry later");
}

/* ---- scrape ---------------------------------------------------------------------------------- */

static int cmp20(const void *a, const void *b) { return memcmp(a, b, 20); }

static void scrape_reply(struct breq *r, int result, const void *reply, size_t len) {
  struct conn *c = r->arg;
  if (!wl_http_breq_done(c)) return;
  if (result < 0) {
    wl_tracker_fail(c, result == WL_ETIMEOUT ? "Tracker busy: no announce worker answered in time, please retry"
                                             : "Tracker unavailable, please retry later");
    return;
  }
  struct wl_proto_in in;
  struct wl_msg_scrape_rep rep;
  int rv = wl_proto_in_init(&in, reply, len);
  if (rv == 0) rv = wl_proto_decode_scrape_rep(&in, &rep);
  if (rv < 0 || rep.failure_len) {
    char reason[1100];
    if (rv < 0) snprintf(reason, sizeof reason, "Tracker error, please retry later");
    else snprintf(reason, sizeof reason, "%.*s", (int)rep.failure_len, rep.failure);
    wl_proto_in_release(&in);
    wl_tracker_fail(c, reason);
    return;
  }
  /* files keys must be sorted: the request's hashes were sorted before sending */
  struct wl_buf *b = &c->gw->scratch;
  wl_buf_reset(b);
  wl_benc_dict_begin(b);
  wl_benc_strz(b, "files");
  wl_benc_dict_begin(b);
  for (size_t i = 0; i < rep.n; i++) {
    wl_benc_str(b, rep.files[i].hash, 20);
    wl_benc_dict_begin(b);
    wl_benc_strz(b, "complete");
    wl_benc_int(b, (int64_t)rep.files[i].complete);
    wl_benc_strz(b, "downloaded");
    wl_benc_int(b, (int64_t)rep.files[i].downloaded);
    wl_benc_strz(b, "incomplete");
    wl_benc_int(b, (int64_t)rep.files[i].incomplete);
    wl_benc_end(b);
  }
  wl_benc_end(b);
  wl_benc_end(b);
  wl_proto_in_release(&in);
  wl_http_respond(c, 200, "text/plain", NULL, b->data, b->len);
}

void wl_tracker_scrape(struct conn *c, const char *passkey, size_t passkey_len,
                       const char *query, size_t qlen) {
  struct gw *gw = c->gw;
  const struct wl_config *cfg = gw->cfg;
  char reason[160];
  const char *user;
  size_t ulen;
  gw->m.scrapes++;
  if (wl_passkey_check(cfg, passkey, passkey_len, &user, &ulen, reason, sizeof reason) < 0) {
    wl_tracker_fail(c, reason);
    return;
  }
  size_t max = (size_t)cfg->scrape_max;
  uint8_t *hashes = malloc(20 * max);
  if (hashes == NULL) return wl_tracker_fail(c, "Tracker error");
  size_t n = 0;
  struct wl_query_iter it;
  const char *k, *val;
  size_t kl, vl;
  wl_query_init(&it, query, qlen);
  while (wl_query_next(&it, &k, &kl, &val, &vl)) {
    if (!wl_query_key_is(k, kl, "info_hash")) continue;
    if (n == max) {
      free(hashes);
      snprintf(reason, sizeof reason, "Too many info_hash values: at most %zu per scrape", max);
      return wl_tracker_fail(c, reason);
    }
    if (decode_exact(val, vl, hashes + 20 * n, 20) < 0) {
      free(hashes);
      return wl_tracker_fail(c, "Invalid info_hash: must be 20 bytes, percent-encoded");
    }
    n++;
  }
  if (n == 0) {
    free(hashes);
    return wl_tracker_fail(c, "Missing info_hash: full scrape is not supported");
  }
  qsort(hashes, n, 20, cmp20);
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (u == 0 || memcmp(hashes + 20 * (u - 1), hashes + 20 * i, 20) != 0) {
      memmove(hashes + 20 * u, hashes + 20 * i, 20);
      u++;
    }
  struct wl_msg_scrape m = {.hashes = hashes, .n = u};
  struct wl_buf *b = &gw->scratch;
  wl_buf_reset(b);
  int rv = wl_proto_encode_scrape(b, &m);
  free(hashes);
  if (rv < 0) return wl_tracker_fail(c, "Tracker error");
  c->breq = wl_backend_call(gw, BK_ANNOUNCE, b->data, b->len, (int)cfg->backend_timeout_ms,
                            scrape_reply, c);
  if (c->breq == NULL) wl_tracker_fail(c, "Tracker overloaded, please retry later");
}
