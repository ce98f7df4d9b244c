/* Tracker query parsing, separate from the connection so it can be fuzzed
 * (tests/fuzz/fuzz_announce.c): pure functions of the query bytes and the configuration.
 * Binary values decode %XX only ('+' is the byte 0x2B). Every refusal names the parameter. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tracker_parse.h"
#include "wl/error.h"
#include "wl/query.h"

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



const char *wl_announce_parse(const struct wl_config *cfg, const char *query, size_t qlen,
                              const uint8_t *client_ip, uint8_t client_ip_len,
                              struct wl_msg_announce *a, bool *compact_out, bool *no_peer_id_out,
                              char *reason, size_t rlen) {
  memset(a, 0, sizeof *a);
  (void)reason;
  (void)rlen;
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
      if (have_hash) return "Invalid info_hash: give exactly one info_hash per announce";
      if (decode_exact(val, vl, a->info_hash, 20) < 0)
        return "Invalid info_hash: must be 20 bytes, percent-encoded";
      have_hash = true;
    } else if (wl_query_key_is(k, kl, "peer_id")) {
      if (decode_exact(val, vl, a->peer_id, 20) < 0)
        return "Invalid peer_id: must be 20 bytes, percent-encoded";
      have_peer = true;
    } else if (wl_query_key_is(k, kl, "port")) {
      if (parse_u64(val, vl, 65535, &v) < 0 || v == 0)
        return "Invalid port: must be a number from 1 to 65535";
      a->port = (uint16_t)v;
      have_port = true;
    } else if (wl_query_key_is(k, kl, "uploaded")) {
      if (parse_u64(val, vl, INT64_MAX, &a->uploaded) < 0)
        return "Invalid uploaded: must be a non-negative integer";
      have_up = true;
    } else if (wl_query_key_is(k, kl, "downloaded")) {
      if (parse_u64(val, vl, INT64_MAX, &a->downloaded) < 0)
        return "Invalid downloaded: must be a non-negative integer";
      have_down = true;
    } else if (wl_query_key_is(k, kl, "left")) {
      if (parse_u64(val, vl, INT64_MAX, &a->left) < 0)
        return "Invalid left: must be a non-negative integer";
      have_left = true;
    } else if (wl_query_key_is(k, kl, "compact")) {
      if (val_is(val, vl, "1")) compact = true;
      else if (val_is(val, vl, "0")) compact = false;
      else return "Invalid compact: must be 0 or 1";
    } else if (wl_query_key_is(k, kl, "no_peer_id")) {
      no_peer_id = !val_is(val, vl, "0");
    } else if (wl_query_key_is(k, kl, "event")) {
      if (vl == 0) a->event = WL_EV_NONE;
      else if (val_is(val, vl, "started")) a->event = WL_EV_STARTED;
      else if (val_is(val, vl, "completed")) a->event = WL_EV_COMPLETED;
      else if (val_is(val, vl, "stopped")) a->event = WL_EV_STOPPED;
      else if (val_is(val, vl, "paused")) a->event = WL_EV_PAUSED;
      else if (val_is(val, vl, "empty")) a->event = WL_EV_NONE;
      else return "Invalid event: must be started, completed, stopped, paused or empty";
    } else if (wl_query_key_is(k, kl, "numwant")) {
      if (parse_u64(val, vl, 1u << 30, &numwant) < 0) {
        /* some clients send numwant=-1 for "default" */
        if (val_is(val, vl, "-1")) numwant = (uint64_t)cfg->numwant_default;
        else return "Invalid numwant: must be a non-negative integer";
      }
    } else if (cfg->allow_ip_param && (wl_query_key_is(k, kl, "ip") ||
                                       wl_query_key_is(k, kl, "ipv4") ||
                                       wl_query_key_is(k, kl, "ipv6"))) {
      char ipstr[64];
      uint8_t raw[64];
      ssize_t n = vl < sizeof raw ? wl_pct_decode(raw, val, vl) : -1;
      if (n <= 0 || (size_t)n >= sizeof ipstr) return "Invalid ip: not an IP address";
      memcpy(ipstr, raw, (size_t)n);
      ipstr[n] = '\0';
      if (inet_pton(AF_INET, ipstr, ipparam) == 1) ipparam_len = 4;
      else if (inet_pton(AF_INET6, ipstr, ipparam) == 1) ipparam_len = 16;
      else return "Invalid ip: not an IP address";
    }
    /* key, trackerid, supportcrypto, ... are accepted and ignored */
  }
  if (!have_hash) return "Missing info_hash";
  if (!have_peer) return "Missing peer_id";
  if (!have_port) return "Missing port";
  if (!have_up) return "Missing uploaded";
  if (!have_down) return "Missing downloaded";
  if (!have_left) return "Missing left";
  if (numwant > (uint64_t)cfg->numwant_max) numwant = (uint64_t)cfg->numwant_max;
  a->numwant = (uint32_t)numwant;
  a->flags = (compact ? WL_ANN_COMPACT : 0) | (no_peer_id ? WL_ANN_NO_PEER_ID : 0);
  if (ipparam_len) {
    memcpy(a->ip, ipparam, (size_t)ipparam_len);
    a->ip_len = (uint8_t)ipparam_len;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (a->ip_len == 16 && memcmp(a->ip, mapped, 12) == 0) {
      memmove(a->ip, a->ip + 12, 4);
      a->ip_len = 4;
    }
  } else {
    memcpy(a->ip, client_ip, client_ip_len);
    a->ip_len = client_ip_len;
  }
  if (a->ip_len != 4 && a->ip_len != 16) return "Cannot determine your address";

  *compact_out = compact;
  *no_peer_id_out = no_peer_id;
  return NULL;
}

static int cmp20(const void *x, const void *y) { return memcmp(x, y, 20); }

const char *wl_scrape_parse(const struct wl_config *cfg, const char *query, size_t qlen,
                            uint8_t *hashes, size_t *count, char *reason, size_t rlen) {
  size_t max = (size_t)cfg->scrape_max, n = 0;
  struct wl_query_iter it;
  const char *k, *val;
  size_t kl, vl;
  wl_query_init(&it, query, qlen);
  while (wl_query_next(&it, &k, &kl, &val, &vl)) {
    if (!wl_query_key_is(k, kl, "info_hash")) continue;
    if (n == max) {
      snprintf(reason, rlen, "Too many info_hash values: at most %zu per scrape", max);
      return reason;
    }
    if (decode_exact(val, vl, hashes + 20 * n, 20) < 0)
      return "Invalid info_hash: must be 20 bytes, percent-encoded";
    n++;
  }
  if (n == 0) return "Missing info_hash: full scrape is not supported";
  /* the answer's dictionary keys must be sorted: sort and drop duplicates here */
  qsort(hashes, n, 20, cmp20);
  size_t u = 0;
  for (size_t i = 0; i < n; i++)
    if (u == 0 || memcmp(hashes + 20 * (u - 1), hashes + 20 * i, 20) != 0) {
      memmove(hashes + 20 * u, hashes + 20 * i, 20);
      u++;
    }
  *count = u;
  return NULL;
}
