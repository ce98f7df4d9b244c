/* Internals of the `weightless` command-line tool shared between its files:
 *   main.c      dispatch, global help, exit codes
 *   util.c      messages, sizes, hashes, whole-file reads and atomic writes
 *   walk.c      a file or directory tree to the sorted file list of a torrent
 *   hash.c      the hashing engine: a pthread pool over pieces (SHA-1 v1, SHA-256 merkle v2)
 *   create.c    `create`: piece size, bencoding of the torrent, info hashes
 *   http.c      a small libcurl client for the registry API
 *   commands.c  publish, search, info, magnet, get, block, unblock, verify, passkey
 * Functions follow the project rule (0 or a negative WL_E* code); the `wl_cmd_*` entry points
 * return a process exit code (enum wl_exit) instead, since that is what they produce. */
#ifndef WL_CLI_H
#define WL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"

#define WL_CLI_VERSION "0.1.0"
#define WL_CLI_DEFAULT_SERVER "http://localhost:8080"

/* Exit codes (documented in docs/cli.md and `weightless --help`). */
enum wl_exit {
  WL_EXIT_OK = 0,
  WL_EXIT_USAGE = 1,       /* bad arguments or a missing setting */
  WL_EXIT_UNREACHABLE = 2, /* the server could not be reached (connect, DNS, timeout) */
  WL_EXIT_HTTP = 3,        /* the server answered with an HTTP error status */
  WL_EXIT_IO = 4,          /* a local file could not be read or written */
  WL_EXIT_DATA = 5,        /* invalid data: a bad .torrent, an answer that makes no sense */
  WL_EXIT_INTERNAL = 6,    /* out of memory or another internal failure */
};

/* ---- util.c ---- */
/* "weightless: <message>\n" on stderr. */
void wl_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "weightless: warning: <message>\n" on stderr. */
void wl_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Environment variable or def when unset or empty. */
const char *wl_cli_env(const char *name, const char *def);
/* Parses "1048576", "256K", "4M", "4MiB", "1G" (binary multiples). 0 or WL_EINVAL. */
int wl_cli_parse_size(const char *s, uint64_t *out);
/* Parses a non-negative decimal integer <= max. 0 or WL_EINVAL. */
int wl_cli_parse_uint(const char *s, uint64_t max, uint64_t *out);
/* "1.5 GiB", "300 B". */
void wl_cli_human_size(uint64_t n, char *out, size_t cap);
/* An info hash argument: 40 or 64 hex digits in any case, written lowercase to out.
 * 0 or WL_EPARSE. */
int wl_cli_parse_hash(const char *s, char out[65]);
/* Reads a whole file (at most max bytes). 0, WL_EIO (errno says why) or WL_ETOOBIG. */
int wl_cli_read_file(const char *path, size_t max, struct wl_buf *out);
/* Writes p[0..n) to path through a temporary file in the same directory and rename(2), so a
 * reader never sees half a file; "-" is stdout. 0 or WL_EIO (errno says why). */
int wl_cli_write_file(const char *path, const void *p, size_t n);
/* Percent-encodes s (everything but RFC 3986 unreserved characters) onto b. 0 or a buf error. */
int wl_cli_pct_encode(struct wl_buf *b, const char *s);
/* Appends a magnet link (API.md): btih for v1, btmh (multihash 0x12 0x20) for v2, dn, tr.
 * v1hex or v2hex may be NULL (not both); tracker may be NULL. 0 or a buf error. */
int wl_cli_magnet(struct wl_buf *b, const char *v1hex, const char *v2hex, const char *name,
                  const char *tracker);
/* Map a WL_E* code from a local operation to an exit code. */
int wl_cli_exit_for(int err);

/* ---- walk.c ---- */
struct wl_walk_file {
  char *path;      /* components joined by '/', relative to the root; the name if single */
  char *src;       /* what to open */
  uint64_t length;
  bool exec;       /* owner-executable: BEP 47 attr "x", as libtorrent writes it */
};

struct wl_walk_opts {
  bool skip_hidden; /* leave out names starting with '.' */
};

struct wl_walk {
  struct wl_walk_file *files; /* owned; sorted component by component (v2 file tree order) */
  size_t n;
  size_t cap;
  uint64_t total;  /* sum of lengths */
  bool single;     /* PATH was a file: a single-file torrent */
  char *name;      /* owned: basename of PATH */
  size_t skipped;  /* special files (fifos, sockets, devices) left out */
  size_t hidden;   /* hidden entries left out (skip_hidden) */
};

/* Lists the regular files under root (or root itself). Symlinks are followed; a loop, a
 * dangling link or an unreadable directory is an error. On failure returns WL_EIO, WL_EINVAL
 * (a name that is not UTF-8), WL_ETOOBIG or WL_ENOMEM with a sentence in err. */
int wl_walk_run(struct wl_walk *w, const char *root, const struct wl_walk_opts *o, char *err,
                size_t errlen);
void wl_walk_release(struct wl_walk *w);

/* ---- hash.c ---- */
enum wl_hash_mode { WL_HASH_V1 = 1, WL_HASH_V2 = 2, WL_HASH_HYBRID = 3 };

struct wl_hash_file {
  uint64_t first_piece; /* aligned modes: index of the file's first piece */
  uint64_t npieces;     /* ceil(length / piece_length) */
  uint8_t root[32];     /* v2 pieces root (files of non-zero length) */
  uint8_t *layer;       /* owned: v2 piece layer, npieces * 32 bytes, when npieces > 1 */
};

struct wl_hash {
  /* in */
  const struct wl_walk *walk;
  uint64_t piece_length; /* power of two >= 16 KiB */
  enum wl_hash_mode mode;
  unsigned threads;
  bool progress; /* draw a progress bar on stderr */
  /* out */
  uint64_t npieces;     /* v1: ceil(total / piece_length); v2, hybrid: sum of per-file pieces */
  uint8_t *v1_pieces;   /* owned: npieces * 20 bytes (v1 and hybrid) */
  struct wl_hash_file *files; /* owned: one per walk file */
  double seconds;
  char err[512];
};

/* Hashes every file of h->walk. 0, or WL_EIO / WL_ENOMEM / WL_EINVAL with a sentence in
 * h->err. Memory: threads * piece_length for reading, plus the hashes themselves. */
int wl_hash_run(struct wl_hash *h);
void wl_hash_release(struct wl_hash *h);
/* Default thread count: the online CPUs. */
unsigned wl_hash_default_threads(void);

/* ---- http.c ---- */
struct wl_http {
  void *curl;         /* CURL * */
  const char *server; /* base URL, no trailing '/' needed */
  const char *key;    /* X-Weightless-Key or NULL */
  long timeout;       /* seconds for a whole request */
  char errbuf[256];   /* curl's sentence after a transport failure */
};

struct wl_http_resp {
  long status;
  struct wl_buf body;
  int64_t total_count; /* X-Total-Count, or -1 */
  char filename[256];  /* from Content-Disposition, or "" */
  char content_type[128];
};

int wl_http_init(struct wl_http *h, const char *server, const char *key);
void wl_http_release(struct wl_http *h);
/* One request to server + path (path includes the query). body may be NULL. Retries a 429
 * answer a few times after its Retry-After. 0 with r filled (any HTTP status), WL_EBACKEND
 * when the server could not be reached (h->errbuf says why), WL_ETOOBIG for an answer over
 * max_body bytes, WL_ENOMEM. Release r with wl_http_resp_release. */
int wl_http_request(struct wl_http *h, const char *method, const char *path, const void *body,
                    size_t n, const char *ctype, size_t max_body, struct wl_http_resp *r);
void wl_http_resp_release(struct wl_http_resp *r);

/* ---- commands ---- */
int wl_cmd_create(int argc, char **argv);
int wl_cmd_publish(int argc, char **argv);
int wl_cmd_search(int argc, char **argv);
int wl_cmd_info(int argc, char **argv);
int wl_cmd_magnet(int argc, char **argv);
int wl_cmd_get(int argc, char **argv);
int wl_cmd_block(int argc, char **argv);
int wl_cmd_unblock(int argc, char **argv);
int wl_cmd_verify(int argc, char **argv);
int wl_cmd_passkey(int argc, char **argv);

#endif
