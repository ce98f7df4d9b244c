/* Helpers for integration tests against a running stack (tests/integration/stack.sh): the
 * stack's env file, HTTP over libcurl from any loopback source address, raw sockets for
 * pipelining and malformed requests, and announce/scrape builders. */
#ifndef WL_TESTUTIL_H
#define WL_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/bencode.h"
#include "wl/buf.h"

struct tu_env {
  char stack_dir[512];
  char http[128]; /* http://127.0.0.1:PORT */
  int http_port;
  int redis_port;
  char data_dir[512];
  char build_dir[512];
  char src_dir[512];
  char registry_key[128];
};

/* Loads STACK_DIR/env; aborts the test program with a message when it is missing. */
void tu_env_load(struct tu_env *e, const char *stack_dir);
/* A stack of the test program's own, for settings the shared one (at shared_dir) must not
 * have: started at <shared_dir>-<suffix> with the VAR=value settings in vars, its env loaded
 * into *e, stopped when the program exits. One per program. 0, or -1 when it did not start. */
int tu_own_stack(struct tu_env *e, const char *shared_dir, const char *suffix, const char *vars);

struct tu_resp {
  long status;
  struct wl_buf body;
  struct wl_buf headers;
};

/* The value of a /metrics line "NAME VALUE", asked from src_ip (the shared stack rate-limits
 * per address); -1 when there is no 200 answer or no such line. */
int64_t tu_metric(const struct tu_env *e, const char *src_ip, const char *name);

/* One HTTP request. src_ip: loopback source address ("127.0.0.7") or NULL. headers: NULL-
 * terminated "Name: value" list or NULL. 0, or -1 when no answer arrived. */
int tu_http(const char *method, const char *url, const char *src_ip, const char *const *headers,
            const void *body, size_t blen, struct tu_resp *r);
void tu_resp_release(struct tu_resp *r);
/* Value of a response header (case-insensitive name) copied into out, or NULL. */
const char *tu_header(const struct tu_resp *r, const char *name, char *out, size_t outlen);

struct tu_peer {
  uint8_t info_hash[20];
  uint8_t peer_id[20];
  int port;
  uint64_t uploaded, downloaded, left;
  const char *event;   /* NULL: none */
  int numwant;         /* <0: absent */
  int compact;         /* <0: absent */
  const char *src_ip;  /* loopback source address */
  const char *path;    /* default "/announce" */
  const char *extra;   /* appended to the query ("&no_peer_id=1") */
};

void tu_peer_init(struct tu_peer *p, const uint8_t hash[20], int n, const char *src_ip);
/* Percent-encodes every byte of p[0..n) into out (size >= 3n+1). */
void tu_pct(char *out, const uint8_t *p, size_t n);
void tu_random_hash(uint8_t h[20]);
int tu_announce(const struct tu_env *e, const struct tu_peer *p, struct tu_resp *r);

/* Decoded bencoded answer: doc + helpers. */
struct tu_benc {
  struct wl_bdoc doc;
  bool ok;
};
bool tu_benc_parse(struct tu_benc *b, const struct tu_resp *r);
void tu_benc_release(struct tu_benc *b);
/* Integer at key of the top dict (or of dict node d), -1 if absent. */
int64_t tu_benc_int(const struct tu_benc *b, uint32_t d, const char *key);
/* String at key, NULL if absent; *len set. */
const uint8_t *tu_benc_str(const struct tu_benc *b, uint32_t d, const char *key, size_t *len);
/* Failure reason or NULL (NUL-terminated copy in a static buffer of the caller). */
const char *tu_failure(const struct tu_benc *b, char *out, size_t outlen);

/* Raw TCP exchange: sends req, reads until the peer closes or timeout_ms passes. Returns bytes
 * read, and *closed says whether the server closed the connection. */
long tu_raw(int port, const char *host, const char *src_ip, const void *req, size_t len, char *out, size_t outlen,
            int timeout_ms, bool *closed);
/* tu_raw, with the client's side shut (SHUT_WR) once the request is sent. */
long tu_raw_shut(int port, const char *host, const char *src_ip, const void *req, size_t len,
                 char *out, size_t outlen, int timeout_ms, bool *closed);

/* A load of announces to one swarm, each from its own loopback address (ip_prefix.x.y) and
 * peer, `parallel` in flight through one curl multi handle. Announce n: peer id tag + n
 * (tag: 8 characters), port 1024 + n % 60000, left = n % 2 when left < 0, else left.
 * Each loop turn calls tick (may act on the stack: kill a worker...), which says whether to
 * keep sending; the run ends when it says no and nothing is in flight. A load with a count
 * may leave tick NULL: it sends count announces. Each answer goes to
 * done with its curl result, HTTP status and body (ok: a bencoded answer that is no failure). */
struct tu_load {
  const struct tu_env *env;
  const char *hash_pct; /* percent-encoded info hash */
  const char *tag;
  const char *ip_prefix; /* "127.70" */
  int parallel;          /* at most 64 */
  long timeout_ms;
  long left;
  long count;        /* > 0: at most this many announces */
  bool forbid_reuse; /* a connection per request */
  bool (*tick)(struct tu_load *l, double elapsed_s, long sent, long answered);
  void (*done)(struct tu_load *l, long n, int curl_result, long status, const struct wl_buf *body,
               bool ok);
  void *arg;
};
/* Returns the number of announces sent. */
long tu_load_run(struct tu_load *l);
/* Seconds on a monotonic clock. */
double tu_now_s(void);

/* Runs a shell command, returns its exit status. */
int tu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads an integer from a file (pid files). -1 on failure. */
long tu_read_long(const char *path);
void tu_sleep_ms(int ms);

#endif
