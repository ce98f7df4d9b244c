/* Integration: /announce and /scrape against the running stack (real gateway, workers, Redis).
 * Each test uses fresh random info hashes; simulated peers use their own loopback source
 * addresses (127.0.0.0/8), as real peers would, so the per-IP rate limit does not interfere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static struct tu_env env;
static int next_ip = 1;

/* A fresh loopback address for each simulated peer. */
static const char *peer_ip(char buf[32]) {
  int n = next_ip++;
  snprintf(buf, 32, "127.%d.%d.%d", 10 + n / 62500 % 50, n / 250 % 250, n % 250 + 1);
  return buf;
}

static void announce_ok(const struct tu_peer *p, struct tu_resp *r, struct tu_benc *b) {
  assert_int_equal(tu_announce(&env, p, r), 0);
  assert_int_equal(r->status, 200);
  assert_true(tu_benc_parse(b, r));
  char why[300];
  if (tu_failure(b, why, sizeof why)) fail_msg("unexpected failure: %s", why);
}

static void expect_failure(const struct tu_peer *p, const char *extra_url, const char *needle) {
  struct tu_resp r;
  struct tu_benc b;
  if (extra_url) {
    char url[8192];
    snprintf(url, sizeof url, "%s%s", env.http, extra_url);
    char ip[32];
    assert_int_equal(tu_http("GET", url, peer_ip(ip), NULL, NULL, 0, &r), 0);
  } else {
    assert_int_equal(tu_announce(&env, p, &r), 0);
  }
  (void)0;
  assert_int_equal(r.status, 200);
  char ct[100];
  assert_non_null(tu_header(&r, "Content-Type", ct, sizeof ct));
  assert_string_equal(ct, "text/plain");
  assert_true(tu_benc_parse(&b, &r));
  char why[300];
  const char *f = tu_failure(&b, why, sizeof why);
  if (!f) fail_msg("expected a failure naming '%s', got %s", needle, (char *)r.body.data);
  if (!strstr(f, needle)) fail_msg("failure '%s' does not mention '%s'", f, needle);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static void first_leecher_and_seeder(void **state) {
  uint8_t h[20];
  char ip1[32], ip2[32];
  tu_random_hash(h);
  struct tu_peer a, s;
  tu_peer_init(&a, h, 1, peer_ip(ip1));
  a.event = "started";
  struct tu_resp r;
  struct tu_benc b;
  announce_ok(&a, &r, &b);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 0);
  assert_int_equal(tu_benc_int(&b, 0, "incomplete"), 1);
  assert_int_equal(tu_benc_int(&b, 0, "interval"), 1800);
  assert_int_equal(tu_benc_int(&b, 0, "min interval"), 900);
  size_t n;
  assert_non_null(tu_benc_str(&b, 0, "peers", &n));
  assert_int_equal(n, 0);
  tu_benc_release(&b);
  tu_resp_release(&r);

  tu_peer_init(&s, h, 2, peer_ip(ip2));
  s.left = 0;
  s.event = "started";
  announce_ok(&s, &r, &b);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 1);
  assert_int_equal(tu_benc_int(&b, 0, "incomplete"), 1);
  const uint8_t *peers = tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6); /* the leecher, never itself */
  char got[32];
  snprintf(got, sizeof got, "%d.%d.%d.%d", peers[0], peers[1], peers[2], peers[3]);
  assert_string_equal(got, ip1);
  assert_int_equal(peers[4] << 8 | peers[5], a.port);
  tu_benc_release(&b);
  tu_resp_release(&r);

  /* the leecher now sees the seeder */
  a.event = NULL;
  announce_ok(&a, &r, &b);
  peers = tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6);
  snprintf(got, sizeof got, "%d.%d.%d.%d", peers[0], peers[1], peers[2], peers[3]);
  assert_string_equal(got, ip2);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static void seeder_gets_leechers_only(void **state) {
  uint8_t h[20];
  char ip[4][32];
  tu_random_hash(h);
  struct tu_peer p[4];
  struct tu_resp r;
  struct tu_benc b;
  for (int i = 0; i < 4; i++) {
    tu_peer_init(&p[i], h, i, peer_ip(ip[i]));
    p[i].left = i < 3 ? 0 : 500; /* three seeders, one leecher */
    announce_ok(&p[i], &r, &b);
    tu_benc_release(&b);
    tu_resp_release(&r);
  }
  announce_ok(&p[0], &r, &b);
  size_t n;
  const uint8_t *peers = tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6);
  assert_int_equal(peers[4] << 8 | peers[5], p[3].port);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 3);
  assert_int_equal(tu_benc_int(&b, 0, "incomplete"), 1);
  tu_benc_release(&b);
  tu_resp_release(&r);
  /* the leecher gets all three seeders */
  announce_ok(&p[3], &r, &b);
  tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 18);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static void numwant_default_and_cap(void **state) {
  uint8_t h[20];
  char ip[32];
  tu_random_hash(h);
  struct tu_peer p;
  struct tu_resp r;
  struct tu_benc b;
  for (int i = 0; i < 60; i++) {
    tu_peer_init(&p, h, i, peer_ip(ip));
    announce_ok(&p, &r, &b);
    size_t n;
    tu_benc_str(&b, 0, "peers", &n);
    assert_int_equal(n, 6 * (size_t)(i < 50 ? i : 50)); /* min(numwant 50, eligible) */
    tu_benc_release(&b);
    tu_resp_release(&r);
  }
  p.numwant = 7;
  announce_ok(&p, &r, &b);
  size_t n;
  tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6 * 7);
  tu_benc_release(&b);
  tu_resp_release(&r);
  p.numwant = 100000; /* capped at WL_NUMWANT_MAX (200); 59 eligible */
  announce_ok(&p, &r, &b);
  const uint8_t *peers = tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 6 * 59);
  for (size_t i = 0; i < n; i += 6) /* never itself */
    assert_false((peers[i + 4] << 8 | peers[i + 5]) == p.port &&
                 memcmp(peers + i, (uint8_t[]){127, 0, 0, 0}, 1) == 0 &&
                 peers[i + 1] == (uint8_t)atoi(strchr(ip, '.') + 1) &&
                 peers[i + 3] == (uint8_t)atoi(strrchr(ip, '.') + 1));
  tu_benc_release(&b);
  tu_resp_release(&r);
}

/* compact=0: a list of dicts with ip and port. Weightless keeps no peer ids (API.md allows it,
 * scripts.c says why), so there is no "peer id", with or without no_peer_id. */
static void non_compact_ip_and_port(void **state) {
  uint8_t h[20];
  char ip1[32], ip2[32];
  tu_random_hash(h);
  struct tu_peer a, c;
  struct tu_resp r;
  struct tu_benc b;
  tu_peer_init(&a, h, 1, peer_ip(ip1));
  a.event = "started";
  announce_ok(&a, &r, &b);
  tu_benc_release(&b);
  tu_resp_release(&r);
  tu_peer_init(&c, h, 2, peer_ip(ip2));
  c.compact = 0;
  announce_ok(&c, &r, &b);
  int64_t li = wl_bdict_gets(&b.doc, 0, "peers");
  assert_true(li >= 0);
  assert_int_equal(b.doc.nodes[li].type, WL_BNODE_LIST);
  assert_int_equal(b.doc.nodes[li].count, 1);
  uint32_t d = (uint32_t)li + 1;
  size_t n;
  const uint8_t *ipv = tu_benc_str(&b, d, "ip", &n);
  assert_non_null(ipv);
  assert_int_equal(n, strlen(ip1));
  assert_memory_equal(ipv, ip1, n);
  assert_int_equal(tu_benc_int(&b, d, "port"), a.port);
  assert_null(tu_benc_str(&b, d, "peer id", &n));
  tu_benc_release(&b);
  tu_resp_release(&r);
  c.extra = "&no_peer_id=1";
  announce_ok(&c, &r, &b);
  li = wl_bdict_gets(&b.doc, 0, "peers");
  d = (uint32_t)li + 1;
  assert_null(tu_benc_str(&b, d, "peer id", &n));
  assert_int_equal(tu_benc_int(&b, d, "port"), a.port);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

/* A big swarm is answered from the workers' short-lived samples (WL_PEER_SAMPLE_MS): the
 * answers keep numwant, never hold the requester, give seeders leechers only, and the counts
 * stay exact, also right after peers leave. Ports tell roles apart: seeders 20000+, leechers
 * 30000+. */
static void big_swarm_answers_from_samples(void **state) {
  enum { NS = 80, NL = 60 };
  uint8_t h[20];
  static char ips[NS + NL][32];
  static struct tu_peer p[NS + NL];
  tu_random_hash(h);
  struct tu_resp r;
  struct tu_benc b;
  for (int i = 0; i < NS + NL; i++) {
    tu_peer_init(&p[i], h, i, peer_ip(ips[i]));
    p[i].port = i < NS ? 20000 + i : 30000 + i;
    p[i].left = i < NS ? 0 : 1000;
    announce_ok(&p[i], &r, &b);
    tu_benc_release(&b);
    tu_resp_release(&r);
  }
  for (int round = 0; round < 3 * (NS + NL); round++) {
    int i = (round * 11) % (NS + NL); /* 11 and 140 are coprime: every peer in turn */
    bool stopped_some = round >= 2 * (NS + NL);
    announce_ok(&p[i], &r, &b);
    assert_int_equal(tu_benc_int(&b, 0, "complete"), NS);
    assert_int_equal(tu_benc_int(&b, 0, "incomplete"), stopped_some ? NL - 10 : NL);
    size_t n;
    const uint8_t *peers = tu_benc_str(&b, 0, "peers", &n);
    assert_non_null(peers);
    if (!stopped_some) assert_int_equal(n, 6 * 50);
    assert_true(n <= 6 * 50);
    for (size_t k = 0; k < n; k += 6) {
      int port = peers[k + 4] << 8 | peers[k + 5];
      assert_false(port == p[i].port); /* never itself (ports are unique here) */
      if (i < NS) assert_true(port >= 30000); /* a seeder gets leechers only */
    }
    tu_benc_release(&b);
    tu_resp_release(&r);
    if (round == 2 * (NS + NL) - 1) {
      for (int k = NS; k < NS + 10; k++) { /* ten leechers leave: counted at once */
        p[k].event = "stopped";
        announce_ok(&p[k], &r, &b);
        tu_benc_release(&b);
        tu_resp_release(&r);
      }
    }
  }
}

/* Scrapes h alone: its downloaded figure, and complete / incomplete. */
static int64_t scrape_one(const uint8_t h[20], const char *ip, int64_t *complete,
                          int64_t *incomplete) {
  char hx[64], url[512];
  struct tu_resp r;
  struct tu_benc b;
  tu_pct(hx, h, 20);
  snprintf(url, sizeof url, "%s/scrape?info_hash=%s", env.http, hx);
  assert_int_equal(tu_http("GET", url, ip, NULL, NULL, 0, &r), 0);
  assert_true(tu_benc_parse(&b, &r));
  int64_t files = wl_bdict_gets(&b.doc, 0, "files");
  assert_true(files >= 0);
  int64_t e = wl_bdict_get(&b.doc, (uint32_t)files, (const char *)h, 20);
  assert_true(e >= 0);
  *complete = tu_benc_int(&b, (uint32_t)e, "complete");
  *incomplete = tu_benc_int(&b, (uint32_t)e, "incomplete");
  int64_t downloaded = tu_benc_int(&b, (uint32_t)e, "downloaded");
  tu_benc_release(&b);
  tu_resp_release(&r);
  return downloaded;
}

static void stopped_and_completed(void **state) {
  uint8_t h[20];
  char ip1[32], ip2[32];
  tu_random_hash(h);
  struct tu_peer a, c;
  struct tu_resp r;
  struct tu_benc b;
  size_t n;
  tu_peer_init(&a, h, 1, peer_ip(ip1));
  tu_peer_init(&c, h, 2, peer_ip(ip2));
  announce_ok(&a, &r, &b);
  tu_benc_release(&b);
  tu_resp_release(&r);
  announce_ok(&c, &r, &b);
  tu_benc_release(&b);
  tu_resp_release(&r);
  /* a completes: one completion, a becomes a seeder */
  a.left = 0;
  a.event = "completed";
  announce_ok(&a, &r, &b);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 1);
  assert_int_equal(tu_benc_int(&b, 0, "incomplete"), 1);
  tu_benc_release(&b);
  tu_resp_release(&r);
  /* a stops: removed, no peers in its answer */
  a.event = "stopped";
  announce_ok(&a, &r, &b);
  tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 0);
  tu_benc_release(&b);
  tu_resp_release(&r);
  c.event = NULL;
  announce_ok(&c, &r, &b);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 0);
  assert_int_equal(tu_benc_int(&b, 0, "incomplete"), 1);
  tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 0);
  tu_benc_release(&b);
  tu_resp_release(&r);
  /* scrape agrees: downloaded 1 */
  int64_t complete, incomplete;
  assert_int_equal(scrape_one(h, ip2, &complete, &incomplete), 1);
  assert_int_equal(complete, 0);
  assert_int_equal(incomplete, 1);
  /* a sends `completed` again (a client retrying after a timeout): still one completion; c
   * completes: two */
  a.event = "completed";
  announce_ok(&a, &r, &b);
  assert_int_equal(tu_benc_int(&b, 0, "complete"), 1);
  tu_benc_release(&b);
  tu_resp_release(&r);
  assert_int_equal(scrape_one(h, ip2, &complete, &incomplete), 1);
  c.left = 0;
  c.event = "completed";
  announce_ok(&c, &r, &b);
  tu_benc_release(&b);
  tu_resp_release(&r);
  assert_int_equal(scrape_one(h, ip2, &complete, &incomplete), 2);
  assert_int_equal(complete, 2);
  assert_int_equal(incomplete, 0);
}

static void scrape_rules(void **state) {
  uint8_t h[3][20];
  char hx[3][64], url[8192], ip[32];
  struct tu_peer p;
  struct tu_resp r;
  struct tu_benc b;
  for (int i = 0; i < 3; i++) {
    tu_random_hash(h[i]);
    tu_pct(hx[i], h[i], 20);
  }
  tu_peer_init(&p, h[0], 1, peer_ip(ip));
  p.left = 0;
  announce_ok(&p, &r, &b);
  tu_benc_release(&b);
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/scrape?info_hash=%s&info_hash=%s&info_hash=%s", env.http, hx[2],
           hx[0], hx[1]);
  assert_int_equal(tu_http("GET", url, ip, NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 200);
  assert_true(tu_benc_parse(&b, &r)); /* strict: sorted keys */
  int64_t files = wl_bdict_gets(&b.doc, 0, "files");
  assert_int_equal(b.doc.nodes[files].count, 3);
  int64_t e0 = wl_bdict_get(&b.doc, (uint32_t)files, (const char *)h[0], 20);
  int64_t e1 = wl_bdict_get(&b.doc, (uint32_t)files, (const char *)h[1], 20);
  assert_int_equal(tu_benc_int(&b, (uint32_t)e0, "complete"), 1);
  assert_int_equal(tu_benc_int(&b, (uint32_t)e1, "complete"), 0); /* unknown: zeros */
  assert_int_equal(tu_benc_int(&b, (uint32_t)e1, "incomplete"), 0);
  assert_int_equal(tu_benc_int(&b, (uint32_t)e1, "downloaded"), 0);
  tu_benc_release(&b);
  tu_resp_release(&r);
  expect_failure(&p, "/scrape", "info_hash");
  /* 65 hashes: over WL_SCRAPE_MAX */
  int n = snprintf(url, sizeof url, "/scrape?");
  for (int i = 0; i < 65; i++) n += snprintf(url + n, sizeof url - (size_t)n, "info_hash=%s&", "aaaaaaaaaaaaaaaaaaa%01");
  expect_failure(&p, url, "at most 64");
}

/* Replaces {H} with the hash and {P} with the peer id in a query template. */
static void fill(char *out, size_t outlen, const char *tpl, const char *hx, const char *id) {
  size_t o = 0;
  for (const char *t = tpl; *t && o + 64 < outlen; t++) {
    if (t[0] == '{' && (t[1] == 'H' || t[1] == 'P') && t[2] == '}') {
      o += (size_t)snprintf(out + o, outlen - o, "%s", t[1] == 'H' ? hx : id);
      t += 2;
    } else {
      out[o++] = *t;
    }
  }
  out[o] = '\0';
}

static void malformed_parameters(void **state) {
  uint8_t h[20];
  char ip[32], url[1024], hx[64], id[64];
  tu_random_hash(h);
  struct tu_peer p;
  tu_peer_init(&p, h, 1, peer_ip(ip));
  tu_pct(hx, h, 20);
  tu_pct(id, p.peer_id, 20);
  const struct { const char *q, *needle; } cases[] = {
      {"peer_id={P}&port=1&uploaded=0&downloaded=0&left=0", "info_hash"},
      {"info_hash=abc&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0", "info_hash"},
      {"info_hash=%zz{H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0", "info_hash"},
      {"info_hash={H}&info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0", "info_hash"},
      {"info_hash={H}&port=1&uploaded=0&downloaded=0&left=0", "peer_id"},
      {"info_hash={H}&peer_id=short&port=1&uploaded=0&downloaded=0&left=0", "peer_id"},
      {"info_hash={H}&peer_id={P}&uploaded=0&downloaded=0&left=0", "port"},
      {"info_hash={H}&peer_id={P}&port=0&uploaded=0&downloaded=0&left=0", "port"},
      {"info_hash={H}&peer_id={P}&port=70000&uploaded=0&downloaded=0&left=0", "port"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=-1&downloaded=0&left=0", "uploaded"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=x&left=0", "downloaded"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0", "left"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=99999999999999999999", "left"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0&event=bogus", "event"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0&numwant=abc", "numwant"},
      {"info_hash={H}&peer_id={P}&port=1&uploaded=0&downloaded=0&left=0&compact=2", "compact"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char q[600];
    fill(q, sizeof q, cases[i].q, hx, id);
    snprintf(url, sizeof url, "/announce?%s", q);
    expect_failure(&p, url, cases[i].needle);
  }
}

static void plus_is_a_literal_byte(void **state) {
  /* "+" in info_hash is the byte 0x2B, so 20 '+' are a valid hash, distinct from spaces */
  char ip[32], url[1024], id[64];
  struct tu_peer p;
  uint8_t plus[20];
  memset(plus, '+', 20);
  tu_peer_init(&p, plus, 1, peer_ip(ip));
  tu_pct(id, p.peer_id, 20);
  snprintf(url, sizeof url,
           "%s/announce?info_hash=++++++++++++++++++++&peer_id=%s&port=6881&uploaded=0&downloaded=0&left=0&event=stopped",
           env.http, id);
  struct tu_resp r;
  struct tu_benc b;
  assert_int_equal(tu_http("GET", url, ip, NULL, NULL, 0, &r), 0);
  assert_true(tu_benc_parse(&b, &r));
  char why[200];
  assert_null(tu_failure(&b, why, sizeof why));
  tu_benc_release(&b);
  tu_resp_release(&r);
}

static void ipv6_peers(void **state) {
  uint8_t h[20];
  char ip[32], url[1024], hx[64], id[64];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  struct tu_resp r;
  struct tu_benc b;
  /* an IPv6 peer on ::1 */
  struct tu_peer v6;
  tu_peer_init(&v6, h, 6, NULL);
  tu_pct(id, v6.peer_id, 20);
  snprintf(url, sizeof url,
           "http://[::1]:%d/announce?info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=0",
           env.http_port, hx, id, v6.port);
  if (tu_http("GET", url, NULL, NULL, NULL, 0, &r) < 0) {
    tu_resp_release(&r);
    skip(); /* no IPv6 loopback on this machine */
  }
  assert_int_equal(r.status, 200);
  tu_resp_release(&r);
  /* an IPv4 leecher gets it in peers6 */
  struct tu_peer p;
  tu_peer_init(&p, h, 7, peer_ip(ip));
  announce_ok(&p, &r, &b);
  size_t n;
  const uint8_t *p6 = tu_benc_str(&b, 0, "peers6", &n);
  assert_non_null(p6);
  assert_int_equal(n, 18);
  static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  assert_memory_equal(p6, loop6, 16);
  assert_int_equal(p6[16] << 8 | p6[17], v6.port);
  tu_benc_str(&b, 0, "peers", &n);
  assert_int_equal(n, 0);
  tu_benc_release(&b);
  tu_resp_release(&r);
}

/* Three announces of one peer each for the swarm hx (peer ids from 10 * batch, ports from
 * port0), pipelined in req. Returns their length. */
static int pipelined_announces(char *req, size_t cap, const char *hx, int batch, int port0) {
  int n = 0;
  for (int i = 0; i < 3; i++)
    n += snprintf(req + n, cap - (size_t)n,
                  "GET /announce?info_hash=%s&peer_id=-WL0001-0000000000%02d&port=%d&uploaded=0&downloaded=0&left=1 HTTP/1.1\r\nHost: x\r\n\r\n",
                  hx, 10 * batch + i, port0 + i);
  return n;
}

/* The "HTTP/1.1 200 OK" status lines in the first got bytes of out (the bodies hold binary peer
 * lists with NUL bytes: memmem). */
static int count_ok(const char *out, long got) {
  int answers = 0;
  for (const char *p = out; (p = memmem(p, (size_t)(out + got - p), "HTTP/1.1 200 OK", 15)) != NULL; p++)
    answers++;
  return answers;
}

static void keepalive_and_pipelining(void **state) {
  char ipbuf[32];
  uint8_t h[20];
  char hx[64], req[8192];
  tu_random_hash(h);
  tu_pct(hx, h, 20);
  int n = pipelined_announces(req, sizeof req, hx, 0, 7000);
  n += snprintf(req + n, sizeof req - (size_t)n, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char out[65536];
  bool closed;
  long got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), req, (size_t)n, out, sizeof out, 5000, &closed);
  assert_true(got > 0);
  assert_true(closed); /* Connection: close on the last one */
  assert_int_equal(count_ok(out, got), 4); /* four answers, in order */
  char *last = memmem(out, (size_t)got, "tracker_announces_total", 23);
  assert_non_null(last);
  /* the same announces, then the client shuts its side: each is answered, then the close */
  n = pipelined_announces(req, sizeof req, hx, 1, 7100);
  got = tu_raw_shut(env.http_port, "127.0.0.1", peer_ip(ipbuf), req, (size_t)n, out, sizeof out, 5000, &closed);
  assert_true(got > 0);
  assert_true(closed);
  assert_int_equal(count_ok(out, got), 3);
  /* HTTP/1.0 without keep-alive: closed after one answer */
  const char r10[] = "GET /metrics HTTP/1.0\r\n\r\n";
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), r10, sizeof r10 - 1, out, sizeof out, 5000, &closed);
  assert_true(got > 0 && closed);
  assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
}

static void malformed_http(void **state) {
  char ipbuf[32];
  char out[65536];
  bool closed;
  const char garbage[] = "\x16\x03\x01\x02\x00garbage\r\n\r\n";
  long got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), garbage, sizeof garbage - 1, out, sizeof out, 5000, &closed);
  assert_true(got > 0 && closed);
  assert_non_null(strstr(out, "HTTP/1.1 400"));
  /* pipelined garbage after a good request: the good one is answered, then 400 and close */
  const char mixed[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nBLAH BLAH BLAH\r\n\r\n";
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), mixed, sizeof mixed - 1, out, sizeof out, 5000, &closed);
  assert_true(got > 0 && closed);
  assert_non_null(strstr(out, "HTTP/1.1 200"));
  assert_non_null(strstr(out, "HTTP/1.1 400"));
  /* bad Content-Length */
  const char badlen[] = "POST /api/registry HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n";
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), badlen, sizeof badlen - 1, out, sizeof out, 5000, &closed);
  assert_true(got > 0 && closed);
  assert_non_null(strstr(out, "HTTP/1.1 400"));
  /* URL too long: 414 */
  static char big[20000];
  int n = snprintf(big, sizeof big, "GET /announce?x=");
  memset(big + n, 'a', 10000);
  n += 10000;
  n += snprintf(big + n, sizeof big - (size_t)n, " HTTP/1.1\r\nHost: x\r\n\r\n");
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), big, (size_t)n, out, sizeof out, 5000, &closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "HTTP/1.1 414"));
  /* headers too large: 431 */
  n = snprintf(big, sizeof big, "GET /metrics HTTP/1.1\r\nX-Big: ");
  memset(big + n, 'b', 17000);
  n += 17000;
  n += snprintf(big + n, sizeof big - (size_t)n, "\r\n\r\n");
  got = tu_raw(env.http_port, "127.0.0.1", peer_ip(ipbuf), big, (size_t)n, out, sizeof out, 5000, &closed);
  assert_true(got > 0);
  assert_non_null(strstr(out, "HTTP/1.1 431"));
  /* 404 JSON and 405 */
  struct tu_resp r;
  char url[256], ct[100];
  snprintf(url, sizeof url, "%s/no/such/path", env.http);
  assert_int_equal(tu_http("GET", url, peer_ip(ipbuf), NULL, NULL, 0, &r), 0);
  assert_int_equal(r.status, 404);
  assert_string_equal(tu_header(&r, "Content-Type", ct, sizeof ct), "application/json");
  assert_non_null(strstr((char *)r.body.data, "\"error\""));
  tu_resp_release(&r);
  snprintf(url, sizeof url, "%s/announce", env.http);
  assert_int_equal(tu_http("POST", url, peer_ip(ipbuf), NULL, "x", 1, &r), 0);
  assert_int_equal(r.status, 405);
  assert_non_null(tu_header(&r, "Allow", ct, sizeof ct));
  tu_resp_release(&r);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s STACK_DIR\n", argv[0]);
    return 2;
  }
  tu_env_load(&env, argv[1]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(first_leecher_and_seeder),
      cmocka_unit_test(seeder_gets_leechers_only),
      cmocka_unit_test(numwant_default_and_cap),
      cmocka_unit_test(big_swarm_answers_from_samples),
      cmocka_unit_test(non_compact_ip_and_port),
      cmocka_unit_test(stopped_and_completed),
      cmocka_unit_test(scrape_rules),
      cmocka_unit_test(malformed_parameters),
      cmocka_unit_test(plus_is_a_literal_byte),
      cmocka_unit_test(ipv6_peers),
      cmocka_unit_test(keepalive_and_pipelining),
      cmocka_unit_test(malformed_http),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
