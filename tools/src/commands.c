/* The registry commands of the CLI: publish, search, info, magnet, get, block, unblock, verify,
 * and passkey. Each is one or two requests to the registry API (docs API.md) and a printout;
 * `--json` prints the server's JSON instead. Failures say what is wrong first and map to the
 * exit codes of cli.h: unreachable server 2, HTTP error 3 (with the server's "error" text),
 * local file 4, invalid data 5. The passkey is computed locally from TRACKER_SECRET (HMAC-
 * SHA256, as the gateway checks it) or, without the secret, asked of the server. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wl/bencode.h"
#include "wl/error.h"
#include "wl/hex.h"
#include "wl/torrent.h"

#define JSON_MAX ((size_t)16 << 20)
#define TORRENT_MAX ((size_t)1 << 30)

/* Options every network command takes. */
struct net {
  const char *server;
  const char *key;
  bool json;
};

enum { OPT_SERVER = 's', OPT_KEY = 'k', OPT_JSON = 1000 };

#define NET_LONGOPTS                                                                        \
  {"server", required_argument, NULL, OPT_SERVER}, {"key", required_argument, NULL, OPT_KEY}, \
      {"help", no_argument, NULL, 'h'}

static const char net_help[] =
    "  -s, --server URL   registry server (default $WEIGHTLESS_SERVER, else " WL_CLI_DEFAULT_SERVER
    ")\n"
    "  -k, --key KEY      registry key for write commands (default $WEIGHTLESS_KEY)\n"
    "  -h, --help         this help\n";

static void net_defaults(struct net *n) {
  n->server = wl_cli_env("WEIGHTLESS_SERVER", WL_CLI_DEFAULT_SERVER);
  n->key = wl_cli_env("WEIGHTLESS_KEY", NULL);
  n->json = false;
}

/* Shared end of every getopt loop: the common options, help, unknown options. Returns 0 to go
 * on, -1 after printing help (exit 0), or an exit code. */
static int net_opt(int c, struct net *n, const char *cmd, const char *usage, char **argv) {
  switch (c) {
  case OPT_SERVER:
    n->server = optarg;
    return 0;
  case OPT_KEY:
    n->key = optarg;
    return 0;
  case OPT_JSON:
    n->json = true;
    return 0;
  case 'h':
    fputs(usage, stdout);
    fputs(net_help, stdout);
    return -1;
  default:
    wl_cli_err("%s: unknown or incomplete option '%s' (see weightless %s --help)", cmd,
               argv[optind - 1], cmd);
    return WL_EXIT_USAGE;
  }
}

static const char *status_phrase(long s) {
  switch (s) {
  case 400:
    return "bad request";
  case 401:
    return "not authorized";
  case 403:
    return "forbidden";
  case 404:
    return "not found";
  case 409:
    return "conflict";
  case 413:
    return "too large";
  case 429:
    return "rate limited";
  case 502:
  case 503:
  case 504:
    return "service unavailable";
  default:
    return s >= 500 ? "server error" : "unexpected answer";
  }
}

/* The server's explanation: the "error" of a JSON body, else its first line. */
static void server_message(const struct wl_http_resp *r, char *out, size_t cap) {
  out[0] = '\0';
  if (r->body.len == 0) return;
  json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
  const char *e = j ? json_string_value(json_object_get(j, "error")) : NULL;
  if (e != NULL) {
    snprintf(out, cap, "%s", e);
  } else {
    size_t n = 0;
    while (n < r->body.len && n < cap - 1 && r->body.data[n] != '\n' && r->body.data[n] != '\r')
      n++;
    memcpy(out, r->body.data, n);
    out[n] = '\0';
  }
  json_decref(j);
}

/* One API request; prints the failure and returns an exit code, or 0 with r filled (a 2xx
 * answer). ok404 lets a 404 through to the caller. */
static int api(struct wl_http *h, const char *method, const char *path, const void *body,
               size_t n, const char *ctype, size_t max, struct wl_http_resp *r, bool ok404) {
  int rv = wl_http_request(h, method, path, body, n, ctype, max, r);
  if (rv == WL_EBACKEND) {
    wl_cli_err("cannot reach the server at %s: %s", h->server, h->errbuf);
    return WL_EXIT_UNREACHABLE;
  }
  if (rv == WL_ETOOBIG) {
    wl_cli_err("the server's answer is over %zu bytes (%s %s)", max, method, path);
    return WL_EXIT_DATA;
  }
  if (rv < 0) {
    wl_cli_err("request failed: %s", wl_strerror(rv));
    return WL_EXIT_INTERNAL;
  }
  if (r->status >= 200 && r->status < 300) return 0;
  if (r->status == 404 && ok404) return 0;
  char msg[512];
  server_message(r, msg, sizeof msg);
  const char *hint = "";
  if (r->status == 401)
    hint = h->key ? " (the key given was refused)" : " (set WEIGHTLESS_KEY or pass --key)";
  wl_cli_err("%s (HTTP %ld)%s%s%s", status_phrase(r->status), r->status, msg[0] ? ": " : "", msg,
             hint);
  return WL_EXIT_HTTP;
}

static json_t *parse_json(const struct wl_http_resp *r, const char *what) {
  json_error_t e;
  json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, &e);
  if (j == NULL) wl_cli_err("the server's answer to %s is not JSON: %s", what, e.text);
  return j;
}

static int print_raw(const struct wl_http_resp *r) {
  fwrite(r->body.data, 1, r->body.len, stdout);
  if (r->body.len == 0 || r->body.data[r->body.len - 1] != '\n') fputc('\n', stdout);
  return WL_EXIT_OK;
}

static int check_hash_arg(const char *cmd, const char *arg, char hash[65]) {
  if (arg == NULL) {
    wl_cli_err("%s: missing HASH (see weightless %s --help)", cmd, cmd);
    return WL_EXIT_USAGE;
  }
  if (wl_cli_parse_hash(arg, hash) < 0) {
    wl_cli_err("%s: '%s' is not an info hash (40 or 64 hex digits)", cmd, arg);
    return WL_EXIT_USAGE;
  }
  return 0;
}

/* Appends "&name=value" (or "?name=value" for the first) to q. */
static int q_add(struct wl_buf *q, const char *name, const char *value) {
  int rv = wl_buf_appendc(q, q->len == 0 ? '?' : '&');
  if (rv == 0) rv = wl_buf_appends(q, name);
  if (rv == 0) rv = wl_buf_appendc(q, '=');
  if (rv == 0) rv = wl_cli_pct_encode(q, value);
  return rv;
}

static char *announce_url(const char *server) {
  size_t n = strlen(server);
  while (n > 0 && server[n - 1] == '/') n--;
  char *s = malloc(n + sizeof "/announce");
  if (s == NULL) return NULL;
  memcpy(s, server, n);
  memcpy(s + n, "/announce", sizeof "/announce");
  return s;
}

/* The magnet of a registry entry: btih from v1_info_hash or a 40-hex info_hash, btmh from a
 * 64-hex info_hash. Returns a malloc'd string or NULL. */
static char *entry_magnet(json_t *e, const char *tracker) {
  const char *ih = json_string_value(json_object_get(e, "info_hash"));
  const char *v1 = json_string_value(json_object_get(e, "v1_info_hash"));
  const char *name = json_string_value(json_object_get(e, "name"));
  if (ih == NULL) return NULL;
  const char *v2 = NULL;
  if (strlen(ih) == 64)
    v2 = ih;
  else
    v1 = ih;
  struct wl_buf b;
  wl_buf_init(&b, 1 << 16);
  if (wl_cli_magnet(&b, v1, v2, name, tracker) < 0 || wl_buf_appendc(&b, '\0') < 0) {
    wl_buf_release(&b);
    return NULL;
  }
  return (char *)b.data;
}

static void print_field(const char *label, const char *value) {
  if (value != NULL) printf("%-13s %s\n", label, value);
}

static void print_entry(json_t *e, const char *tracker) {
  char tmp[64];
  print_field("name:", json_string_value(json_object_get(e, "name")));
  print_field("info hash:", json_string_value(json_object_get(e, "info_hash")));
  print_field("v1 info hash:", json_string_value(json_object_get(e, "v1_info_hash")));
  json_t *size = json_object_get(e, "size");
  if (json_is_integer(size)) {
    char h[32];
    wl_cli_human_size((uint64_t)json_integer_value(size), h, sizeof h);
    snprintf(tmp, sizeof tmp, "%lld (%s)", (long long)json_integer_value(size), h);
    print_field("size:", tmp);
  }
  print_field("publisher:", json_string_value(json_object_get(e, "publisher")));
  print_field("license:", json_string_value(json_object_get(e, "license")));
  print_field("category:", json_string_value(json_object_get(e, "category")));
  print_field("tags:", json_string_value(json_object_get(e, "tags")));
  print_field("description:", json_string_value(json_object_get(e, "description")));
  json_t *v = json_object_get(e, "verified");
  if (json_is_boolean(v)) print_field("verified:", json_is_true(v) ? "yes" : "no");
  static const char *counts[] = {"seeders", "leechers", "completions"};
  for (size_t i = 0; i < 3; i++) {
    json_t *c = json_object_get(e, counts[i]);
    if (!json_is_integer(c)) continue;
    char label[32];
    snprintf(label, sizeof label, "%s:", counts[i]);
    snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(c));
    print_field(label, tmp);
  }
  print_field("created:", json_string_value(json_object_get(e, "created_at")));
  char *m = entry_magnet(e, tracker);
  print_field("magnet:", m);
  free(m);
}

/* ---------------------------------------------------------------- publish */

static const char publish_usage[] =
    "usage: weightless publish FILE.torrent [options]\n"
    "\n"
    "Upload a .torrent to the registry (POST /api/registry/torrent), then print the entry and\n"
    "its magnet link. The file is checked locally first. Name and size come from the torrent\n"
    "unless given here.\n"
    "\n"
    "      --name NAME\n"
    "      --description TEXT\n"
    "      --publisher NAME\n"
    "      --license SPDX-ID\n"
    "      --category NAME\n"
    "      --tags a,b,c\n"
    "      --json         print the entry as JSON\n";

int wl_cmd_publish(int argc, char **argv) {
  static const struct option longopts[] = {
      {"name", required_argument, NULL, 'N'},     {"description", required_argument, NULL, 'D'},
      {"publisher", required_argument, NULL, 'P'}, {"license", required_argument, NULL, 'L'},
      {"category", required_argument, NULL, 'C'},  {"tags", required_argument, NULL, 'T'},
      {"json", no_argument, NULL, OPT_JSON},       NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  static const char *const fields[] = {"name", "description", "publisher", "license",
                                       "category", "tags"};
  const char *values[6] = {NULL};
  struct net n;
  net_defaults(&n);
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:h", longopts, NULL);
    if (c == -1) break;
    const char *letters = "NDPLCT";
    const char *at = c > 0 && c < 128 ? strchr(letters, c) : NULL;
    if (at != NULL) {
      values[at - letters] = optarg;
      continue;
    }
    int ex = net_opt(c, &n, "publish", publish_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  if (optind + 1 != argc) {
    wl_cli_err(optind >= argc ? "publish: missing FILE.torrent (see weightless publish --help)"
                              : "publish: exactly one FILE.torrent, got more");
    return WL_EXIT_USAGE;
  }
  const char *file = argv[optind];
  int ex = WL_EXIT_OK;
  struct wl_buf data;
  int rv = wl_cli_read_file(file, TORRENT_MAX, &data);
  if (rv < 0) {
    if (rv == WL_ETOOBIG)
      wl_cli_err("%s is larger than %zu bytes: not a torrent this registry takes", file,
                 TORRENT_MAX);
    else
      wl_cli_err("cannot read %s: %s", file, strerror(errno));
    return rv == WL_ETOOBIG ? WL_EXIT_DATA : WL_EXIT_IO;
  }
  struct wl_torrent t;
  memset(&t, 0, sizeof t);
  char perr[256];
  rv = wl_torrent_parse(data.data, data.len, &t, perr, sizeof perr);
  if (rv < 0) {
    wl_cli_err("%s is not a valid torrent: %s", file, perr);
    ex = rv == WL_ENOMEM ? WL_EXIT_INTERNAL : WL_EXIT_DATA;
    goto out_data;
  }

  struct wl_buf q;
  wl_buf_init(&q, 1 << 20);
  rv = wl_buf_appends(&q, "/api/registry/torrent");
  size_t base = q.len;
  for (size_t i = 0; i < 6 && rv == 0; i++) {
    if (values[i] == NULL) continue;
    /* q_add decides '?' from an empty buffer: count from the path's end */
    rv = wl_buf_appendc(&q, q.len == base ? '?' : '&');
    if (rv == 0) rv = wl_buf_appends(&q, fields[i]);
    if (rv == 0) rv = wl_buf_appendc(&q, '=');
    if (rv == 0) rv = wl_cli_pct_encode(&q, values[i]);
  }
  if (rv == 0) rv = wl_buf_appendc(&q, '\0');
  if (rv < 0) {
    wl_cli_err("publish: options too long");
    ex = WL_EXIT_USAGE;
    goto out_q;
  }

  struct wl_http h;
  if (wl_http_init(&h, n.server, n.key) < 0) {
    ex = WL_EXIT_INTERNAL;
    goto out_http;
  }
  struct wl_http_resp r;
  ex = api(&h, "POST", (const char *)q.data, data.data, data.len, "application/x-bittorrent",
           JSON_MAX, &r, false);
  if (ex != 0) goto out_resp;
  json_t *j = parse_json(&r, "publish");
  if (j == NULL) {
    ex = WL_EXIT_DATA;
    goto out_resp;
  }
  const char *status = json_string_value(json_object_get(j, "status"));
  const char *ih = json_string_value(json_object_get(j, "info_hash"));
  char want[65];
  wl_hex_encode(want, t.has_v2 ? t.v2_hash : t.v1_hash, t.has_v2 ? 32 : 20);
  if (ih == NULL || strcmp(ih, want) != 0) {
    wl_cli_err("the server registered info hash %s, but %s has %s", ih ? ih : "(none)", file,
               want);
    ex = WL_EXIT_DATA;
    goto out_json;
  }

  struct wl_http_resp r2;
  char path[160];
  snprintf(path, sizeof path, "/api/registry?info_hash=%s", want);
  ex = api(&h, "GET", path, NULL, 0, NULL, JSON_MAX, &r2, false);
  if (ex != 0) goto out_resp2;
  json_t *e = parse_json(&r2, "the entry lookup");
  if (e == NULL) {
    ex = WL_EXIT_DATA;
    goto out_resp2;
  }
  char *tracker = announce_url(n.server);
  char *m = entry_magnet(e, tracker);
  if (n.json) {
    json_t *o = json_pack("{s:s?, s:O, s:s?}", "status", status, "entry", e, "magnet", m);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
  } else {
    printf("%-13s %s\n", "published:", status ? status : "ok");
    print_entry(e, tracker);
  }
  free(m);
  free(tracker);
  json_decref(e);
out_resp2:
  wl_http_resp_release(&r2);
out_json:
  json_decref(j);
out_resp:
  wl_http_resp_release(&r);
out_http:
  wl_http_release(&h);
out_q:
  wl_buf_release(&q);
  wl_torrent_release(&t);
out_data:
  wl_buf_release(&data);
  return ex;
}

/* ---------------------------------------------------------------- search */

static const char search_usage[] =
    "usage: weightless search [QUERY] [options]\n"
    "\n"
    "Search the registry by name (case-insensitive substring) and filters; newest first.\n"
    "\n"
    "      --category NAME   exact category\n"
    "      --publisher NAME  exact publisher\n"
    "      --tags TAG        substring of the tags\n"
    "      --sort KEY        created_at (default), completions or seeders\n"
    "      --limit N         at most N results (server default 50, at most 100)\n"
    "      --offset N        skip N results\n"
    "      --json            print the server's JSON array\n";

int wl_cmd_search(int argc, char **argv) {
  static const struct option longopts[] = {
      {"category", required_argument, NULL, 'C'}, {"publisher", required_argument, NULL, 'P'},
      {"tags", required_argument, NULL, 'T'},     {"sort", required_argument, NULL, 'S'},
      {"limit", required_argument, NULL, 'l'},    {"offset", required_argument, NULL, 'O'},
      {"json", no_argument, NULL, OPT_JSON},      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  const char *category = NULL, *publisher = NULL, *tags = NULL, *sort = NULL, *limit = NULL,
             *offset = NULL;
  struct net n;
  net_defaults(&n);
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:hl:", longopts, NULL);
    if (c == -1) break;
    uint64_t v;
    switch (c) {
    case 'C':
      category = optarg;
      continue;
    case 'P':
      publisher = optarg;
      continue;
    case 'T':
      tags = optarg;
      continue;
    case 'S':
      if (strcmp(optarg, "created_at") != 0 && strcmp(optarg, "completions") != 0 &&
          strcmp(optarg, "seeders") != 0) {
        wl_cli_err("search: unknown --sort '%s' (created_at, completions or seeders)", optarg);
        return WL_EXIT_USAGE;
      }
      sort = optarg;
      continue;
    case 'l':
    case 'O':
      if (wl_cli_parse_uint(optarg, 1000000000, &v) < 0) {
        wl_cli_err("search: --%s must be a non-negative number, not '%s'",
                   c == 'l' ? "limit" : "offset", optarg);
        return WL_EXIT_USAGE;
      }
      if (c == 'l')
        limit = optarg;
      else
        offset = optarg;
      continue;
    default: {
      int ex = net_opt(c, &n, "search", search_usage, argv);
      if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
    }
    }
  }
  if (argc - optind > 1) {
    wl_cli_err("search: one QUERY at most (quote it if it has spaces)");
    return WL_EXIT_USAGE;
  }
  const char *query = optind < argc ? argv[optind] : NULL;

  int ex = WL_EXIT_OK;
  struct wl_buf q;
  wl_buf_init(&q, 1 << 20);
  int rv = 0;
  const char *names[] = {"q", "category", "publisher", "tags", "sort", "limit", "offset"};
  const char *vals[] = {query, category, publisher, tags, sort, limit, offset};
  for (size_t i = 0; i < 7 && rv == 0; i++)
    if (vals[i] != NULL) rv = q_add(&q, names[i], vals[i]);
  struct wl_buf path;
  wl_buf_init(&path, 1 << 20);
  if (rv == 0) rv = wl_buf_appends(&path, "/api/registry/search");
  if (rv == 0 && q.len > 0) rv = wl_buf_append(&path, q.data, q.len);
  if (rv == 0) rv = wl_buf_appendc(&path, '\0');
  if (rv < 0) {
    wl_cli_err("search: arguments too long");
    ex = WL_EXIT_USAGE;
    goto out_bufs;
  }
  struct wl_http h;
  if (wl_http_init(&h, n.server, n.key) < 0) {
    ex = WL_EXIT_INTERNAL;
    goto out_http;
  }
  struct wl_http_resp r;
  ex = api(&h, "GET", (const char *)path.data, NULL, 0, NULL, JSON_MAX, &r, false);
  if (ex != 0) goto out_resp;
  if (n.json) {
    ex = print_raw(&r);
    goto out_resp;
  }
  json_t *j = parse_json(&r, "search");
  if (j == NULL || !json_is_array(j)) {
    if (j != NULL) wl_cli_err("the server's answer to search is not a JSON array");
    json_decref(j);
    ex = WL_EXIT_DATA;
    goto out_resp;
  }
  size_t count = json_array_size(j);
  if (count == 0) {
    printf("no torrents match\n");
  } else {
    printf("%-32s %10s %5s %5s %5s %3s  %s\n", "NAME", "SIZE", "SEED", "LEECH", "DONE", "OK",
           "INFO HASH");
    for (size_t i = 0; i < count; i++) {
      json_t *e = json_array_get(j, i);
      const char *name = json_string_value(json_object_get(e, "name"));
      const char *ih = json_string_value(json_object_get(e, "info_hash"));
      json_t *size = json_object_get(e, "size");
      char hs[32] = "-";
      if (json_is_integer(size))
        wl_cli_human_size((uint64_t)json_integer_value(size), hs, sizeof hs);
      printf("%-32s %10s %5lld %5lld %5lld %3s  %s\n", name ? name : "?", hs,
             (long long)json_integer_value(json_object_get(e, "seeders")),
             (long long)json_integer_value(json_object_get(e, "leechers")),
             (long long)json_integer_value(json_object_get(e, "completions")),
             json_is_true(json_object_get(e, "verified")) ? "yes" : "-", ih ? ih : "?");
    }
    if (r.total_count >= 0)
      printf("%zu of %lld shown\n", count, (long long)r.total_count);
  }
  json_decref(j);
out_resp:
  wl_http_resp_release(&r);
out_http:
  wl_http_release(&h);
out_bufs:
  wl_buf_release(&path);
  wl_buf_release(&q);
  return ex;
}

/* ---------------------------------------------------------------- info */

static const char info_usage[] =
    "usage: weightless info HASH [options]\n"
    "\n"
    "Show a registry entry (v2 or v1 info hash) and the file tree of its stored torrent.\n"
    "\n"
    "      --json         print {\"entry\": ..., \"meta\": ...} as the server gave them\n";

/* Prints the files of a meta answer as an indented tree. */
static void print_tree(json_t *files) {
  const char *prev = "";
  size_t prevlen = 0; /* bytes of prev's directory part, '/' included */
  for (size_t i = 0; i < json_array_size(files); i++) {
    json_t *f = json_array_get(files, i);
    const char *path = json_string_value(json_object_get(f, "path"));
    if (path == NULL) continue;
    /* shared directory prefix with the previous file */
    size_t common = 0, k = 0;
    while (k < prevlen && path[k] == prev[k]) {
      if (path[k] == '/') common = k + 1;
      k++;
    }
    size_t depth = 0;
    for (size_t x = 0; x < common; x++)
      if (path[x] == '/') depth++;
    const char *s = path + common;
    for (;;) {
      const char *slash = strchr(s, '/');
      if (slash == NULL) break;
      printf("  %*s%.*s/\n", (int)(2 * depth), "", (int)(slash - s), s);
      depth++;
      s = slash + 1;
    }
    char hs[32];
    wl_cli_human_size((uint64_t)json_integer_value(json_object_get(f, "length")), hs, sizeof hs);
    int pad = 48 - (int)(2 * depth) - (int)strlen(s);
    printf("  %*s%s %*s\n", (int)(2 * depth), "", s, pad > 0 ? pad + 10 : 10, hs);
    prev = path;
    const char *last = strrchr(path, '/');
    prevlen = last ? (size_t)(last - path) + 1 : 0;
  }
}

int wl_cmd_info(int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:h", longopts, NULL);
    if (c == -1) break;
    int ex = net_opt(c, &n, "info", info_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("info", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  if (argc - optind > 1) {
    wl_cli_err("info: one HASH at a time");
    return WL_EXIT_USAGE;
  }
  struct wl_http h;
  if (wl_http_init(&h, n.server, n.key) < 0) {
    wl_http_release(&h);
    return WL_EXIT_INTERNAL;
  }
  char path[160];
  struct wl_http_resp r, rm;
  memset(&rm, 0, sizeof rm);
  json_t *e = NULL, *meta = NULL;
  snprintf(path, sizeof path, "/api/registry?info_hash=%s", hash);
  ex = api(&h, "GET", path, NULL, 0, NULL, JSON_MAX, &r, true);
  if (ex != 0) goto out;
  if (r.status == 404) {
    wl_cli_err("not found (HTTP 404): no registry entry has info hash %s", hash);
    ex = WL_EXIT_HTTP;
    goto out;
  }
  e = parse_json(&r, "the entry lookup");
  if (e == NULL) {
    ex = WL_EXIT_DATA;
    goto out;
  }
  /* the file tree needs the stored torrent; an entry registered by JSON alone has none */
  snprintf(path, sizeof path, "/api/registry/meta?info_hash=%s", hash);
  ex = api(&h, "GET", path, NULL, 0, NULL, JSON_MAX, &rm, true);
  if (ex != 0) goto out;
  if (rm.status == 200) {
    meta = parse_json(&rm, "the metadata lookup");
    if (meta == NULL) {
      ex = WL_EXIT_DATA;
      goto out;
    }
  }
  if (n.json) {
    json_t *o = json_pack("{s:O, s:O?}", "entry", e, "meta", meta);
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s) printf("%s\n", s);
    free(s);
    json_decref(o);
    goto out;
  }
  char *tracker = announce_url(n.server);
  print_entry(e, tracker);
  free(tracker);
  if (meta == NULL) {
    printf("%-13s %s\n", "files:", "(no .torrent stored for this entry)");
    goto out;
  }
  print_field("version:", json_string_value(json_object_get(meta, "version")));
  char tmp[64], hs[32];
  uint64_t pl = (uint64_t)json_integer_value(json_object_get(meta, "piece_length"));
  wl_cli_human_size(pl, hs, sizeof hs);
  snprintf(tmp, sizeof tmp, "%llu (%s)", (unsigned long long)pl, hs);
  print_field("piece length:", tmp);
  snprintf(tmp, sizeof tmp, "%lld",
           (long long)json_integer_value(json_object_get(meta, "piece_count")));
  print_field("pieces:", tmp);
  json_t *files = json_object_get(meta, "files");
  printf("files (%zu):\n", json_array_size(files));
  print_tree(files);
out:
  json_decref(e);
  json_decref(meta);
  wl_http_resp_release(&r);
  wl_http_resp_release(&rm);
  wl_http_release(&h);
  return ex;
}

/* ---------------------------------------------------------------- magnet */

static const char magnet_usage[] =
    "usage: weightless magnet HASH [options]\n"
    "\n"
    "Print the magnet link of a registry entry (v1 btih and v2 btmh as the entry has them).\n"
    "\n"
    "  -t, --tracker URL  tracker in the link (default SERVER/announce)\n"
    "      --no-tracker   no tracker in the link\n";

int wl_cmd_magnet(int argc, char **argv) {
  enum { OPT_NO_TRACKER = 1001 };
  static const struct option longopts[] = {
      {"tracker", required_argument, NULL, 't'},
      {"no-tracker", no_argument, NULL, OPT_NO_TRACKER},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  const char *tracker_opt = NULL;
  bool no_tracker = false;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:ht:", longopts, NULL);
    if (c == -1) break;
    if (c == 't') {
      tracker_opt = optarg;
      continue;
    }
    if (c == OPT_NO_TRACKER) {
      no_tracker = true;
      continue;
    }
    int ex = net_opt(c, &n, "magnet", magnet_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("magnet", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  struct wl_http h;
  if (wl_http_init(&h, n.server, n.key) < 0) {
    wl_http_release(&h);
    return WL_EXIT_INTERNAL;
  }
  char path[160];
  snprintf(path, sizeof path, "/api/registry?info_hash=%s", hash);
  struct wl_http_resp r;
  ex = api(&h, "GET", path, NULL, 0, NULL, JSON_MAX, &r, false);
  if (ex != 0) goto out_resp;
  json_t *e = parse_json(&r, "the entry lookup");
  if (e == NULL) {
    ex = WL_EXIT_DATA;
    goto out_resp;
  }
  char *tracker = no_tracker ? NULL : (tracker_opt ? strdup(tracker_opt) : announce_url(n.server));
  char *m = entry_magnet(e, tracker);
  if (m == NULL) {
    wl_cli_err("the server's entry has no info_hash");
    ex = WL_EXIT_DATA;
  } else {
    printf("%s\n", m);
  }
  free(m);
  free(tracker);
  json_decref(e);
out_resp:
  wl_http_resp_release(&r);
  wl_http_release(&h);
  return ex;
}

/* ---------------------------------------------------------------- get */

static const char get_usage[] =
    "usage: weightless get HASH [-o FILE]\n"
    "\n"
    "Download the stored .torrent of a registry entry, check that its info hash is the one\n"
    "asked for, and write it (atomically; an existing file is replaced).\n"
    "\n"
    "  -o, --output FILE  where to write (default: the server's file name, else HASH.torrent;\n"
    "                     '-' is stdout)\n";

int wl_cmd_get(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  const char *output = NULL;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:ho:", longopts, NULL);
    if (c == -1) break;
    if (c == 'o') {
      output = optarg;
      continue;
    }
    int ex = net_opt(c, &n, "get", get_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("get", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  struct wl_http h;
  if (wl_http_init(&h, n.server, n.key) < 0) {
    wl_http_release(&h);
    return WL_EXIT_INTERNAL;
  }
  char path[160];
  snprintf(path, sizeof path, "/api/registry/torrent?info_hash=%s", hash);
  struct wl_http_resp r;
  struct wl_torrent t;
  memset(&t, 0, sizeof t);
  ex = api(&h, "GET", path, NULL, 0, NULL, TORRENT_MAX, &r, false);
  if (ex != 0) goto out;
  char perr[256];
  if (wl_torrent_parse(r.body.data, r.body.len, &t, perr, sizeof perr) < 0) {
    wl_cli_err("the server sent an invalid torrent: %s", perr);
    ex = WL_EXIT_DATA;
    goto out;
  }
  char v1[41] = "", v2[65] = "";
  if (t.has_v1) wl_hex_encode(v1, t.v1_hash, 20);
  if (t.has_v2) wl_hex_encode(v2, t.v2_hash, 32);
  /* HASH may be the torrent's v1 or its v2 info hash */
  bool match = strcmp(hash, v1) == 0 || strcmp(hash, v2) == 0;
  if (!match) {
    wl_cli_err("the server sent a torrent with info hash %s, not %s", t.has_v2 ? v2 : v1, hash);
    ex = WL_EXIT_DATA;
    goto out;
  }
  char def[300];
  if (output == NULL) {
    if (r.filename[0] != '\0')
      snprintf(def, sizeof def, "%s", r.filename);
    else
      snprintf(def, sizeof def, "%s.torrent", hash);
    output = def;
  }
  if (wl_cli_write_file(output, r.body.data, r.body.len) < 0) {
    wl_cli_err("cannot write %s: %s", output, strerror(errno));
    ex = WL_EXIT_IO;
    goto out;
  }
  FILE *f = strcmp(output, "-") == 0 ? stderr : stdout;
  fprintf(f, "wrote %s (%zu bytes): %s, %s, %zu file%s\n", output, r.body.len, t.name,
          wl_torrent_version_name(t.version), t.nfiles, t.nfiles == 1 ? "" : "s");
out:
  wl_torrent_release(&t);
  wl_http_resp_release(&r);
  wl_http_release(&h);
  return ex;
}

/* ---------------------------------------------------------------- admin: block, unblock, verify */

static const char block_usage[] =
    "usage: weightless block HASH --reason TEXT\n"
    "\n"
    "Admin: delete the entry (if any), drop its swarms and block both of its info hashes so the\n"
    "tracker refuses them (DELETE /api/registry). Needs the registry key.\n"
    "\n"
    "  -r, --reason TEXT  why (required; shown to clients that announce it)\n";

static const char unblock_usage[] =
    "usage: weightless unblock HASH\n"
    "\n"
    "Admin: lift a block (DELETE /api/blocklist). The entry stays deleted. Needs the key.\n";

static const char verify_usage[] =
    "usage: weightless verify HASH [--revoke]\n"
    "\n"
    "Admin: mark an entry verified (POST /api/registry/verify). Needs the registry key.\n"
    "\n"
    "      --revoke       mark it unverified instead\n";

/* One key-protected request whose answer is {"status": ...}; prints line on success. */
static int admin_request(const struct net *n, const char *method, const char *path,
                         const char *done_fmt, const char *hash, const char *extra) {
  struct wl_http h;
  if (wl_http_init(&h, n->server, n->key) < 0) {
    wl_http_release(&h);
    return WL_EXIT_INTERNAL;
  }
  struct wl_http_resp r;
  int ex = api(&h, method, path, NULL, 0, NULL, JSON_MAX, &r, false);
  if (ex == 0) {
    if (n->json)
      print_raw(&r);
    else
      printf(done_fmt, hash, extra ? extra : "");
  }
  wl_http_resp_release(&r);
  wl_http_release(&h);
  return ex;
}

int wl_cmd_block(int argc, char **argv) {
  static const struct option longopts[] = {
      {"reason", required_argument, NULL, 'r'},
      {"json", no_argument, NULL, OPT_JSON},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  const char *reason = NULL;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:hr:", longopts, NULL);
    if (c == -1) break;
    if (c == 'r') {
      reason = optarg;
      continue;
    }
    int ex = net_opt(c, &n, "block", block_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("block", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  if (reason == NULL || reason[0] == '\0') {
    wl_cli_err("block: --reason is required (it is kept with the block)");
    return WL_EXIT_USAGE;
  }
  struct wl_buf p;
  wl_buf_init(&p, 1 << 16);
  int rv = wl_buf_appendf(&p, "/api/registry?info_hash=%s&reason=", hash);
  if (rv == 0) rv = wl_cli_pct_encode(&p, reason);
  if (rv == 0) rv = wl_buf_appendc(&p, '\0');
  if (rv < 0) {
    wl_buf_release(&p);
    wl_cli_err("block: --reason too long");
    return WL_EXIT_USAGE;
  }
  ex = admin_request(&n, "DELETE", (const char *)p.data, "blocked %s: %s\n", hash, reason);
  wl_buf_release(&p);
  return ex;
}

int wl_cmd_unblock(int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, OPT_JSON},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:h", longopts, NULL);
    if (c == -1) break;
    int ex = net_opt(c, &n, "unblock", unblock_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("unblock", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  char path[160];
  snprintf(path, sizeof path, "/api/blocklist?info_hash=%s", hash);
  return admin_request(&n, "DELETE", path, "unblocked %s%s\n", hash, NULL);
}

int wl_cmd_verify(int argc, char **argv) {
  enum { OPT_REVOKE = 1001 };
  static const struct option longopts[] = {
      {"revoke", no_argument, NULL, OPT_REVOKE},
      {"json", no_argument, NULL, OPT_JSON},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  bool revoke = false;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:h", longopts, NULL);
    if (c == -1) break;
    if (c == OPT_REVOKE) {
      revoke = true;
      continue;
    }
    int ex = net_opt(c, &n, "verify", verify_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  char hash[65];
  int ex = check_hash_arg("verify", optind < argc ? argv[optind] : NULL, hash);
  if (ex != 0) return ex;
  char path[200];
  snprintf(path, sizeof path, "/api/registry/verify?info_hash=%s&verified=%s", hash,
           revoke ? "false" : "true");
  return admin_request(&n, "POST", path, revoke ? "%s is no longer verified%s\n"
                                                : "%s is verified%s\n",
                       hash, NULL);
}

/* ---------------------------------------------------------------- passkey */

static const char passkey_usage[] =
    "usage: weightless passkey USER_ID [--announce]\n"
    "\n"
    "Print the tracker passkey of USER_ID ([A-Za-z0-9_-], 1 to 64 characters): USER_ID + '.'\n"
    "+ hex HMAC-SHA256(TRACKER_SECRET, USER_ID). Computed locally when TRACKER_SECRET is set;\n"
    "otherwise asked of the server (POST /api/passkeys, needs the registry key).\n"
    "\n"
    "      --announce     print the announce URL SERVER/announce/PASSKEY instead\n";

static bool user_id_valid(const char *u) {
  size_t n = strlen(u);
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; i++) {
    char c = u[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-'))
      return false;
  }
  return true;
}

int wl_cmd_passkey(int argc, char **argv) {
  enum { OPT_ANNOUNCE = 1001 };
  static const struct option longopts[] = {
      {"announce", no_argument, NULL, OPT_ANNOUNCE},
      NET_LONGOPTS,
      {NULL, 0, NULL, 0},
  };
  struct net n;
  net_defaults(&n);
  bool announce = false;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "s:k:h", longopts, NULL);
    if (c == -1) break;
    if (c == OPT_ANNOUNCE) {
      announce = true;
      continue;
    }
    int ex = net_opt(c, &n, "passkey", passkey_usage, argv);
    if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;
  }
  if (optind >= argc) {
    wl_cli_err("passkey: missing USER_ID (see weightless passkey --help)");
    return WL_EXIT_USAGE;
  }
  const char *user = argv[optind];
  if (argc - optind > 1) {
    wl_cli_err("passkey: one USER_ID at a time");
    return WL_EXIT_USAGE;
  }
  if (!user_id_valid(user)) {
    wl_cli_err("passkey: invalid USER_ID '%s': use 1 to 64 of A-Z a-z 0-9 _ -", user);
    return WL_EXIT_USAGE;
  }
  char passkey[64 + 1 + 64 + 1];
  const char *secret = getenv("TRACKER_SECRET");
  int ex = WL_EXIT_OK;
  if (secret != NULL && secret[0] != '\0') {
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)user,
             strlen(user), mac, &maclen) == NULL ||
        maclen != 32) {
      wl_cli_err("passkey: HMAC-SHA256 failed");
      return WL_EXIT_INTERNAL;
    }
    char hex[65];
    wl_hex_encode(hex, mac, 32);
    snprintf(passkey, sizeof passkey, "%s.%s", user, hex);
  } else {
    struct wl_http h;
    if (wl_http_init(&h, n.server, n.key) < 0) {
      wl_http_release(&h);
      return WL_EXIT_INTERNAL;
    }
    json_t *body = json_pack("{s:s}", "user_id", user);
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    struct wl_http_resp r;
    if (s == NULL) {
      wl_http_release(&h);
      return WL_EXIT_INTERNAL;
    }
    ex = api(&h, "POST", "/api/passkeys", s, strlen(s), "application/json", JSON_MAX, &r,
             false);
    free(s);
    if (ex == 0) {
      json_t *j = parse_json(&r, "passkeys");
      const char *pk = j ? json_string_value(json_object_get(j, "passkey")) : NULL;
      if (pk == NULL || strlen(pk) >= sizeof passkey) {
        if (j != NULL) wl_cli_err("the server's answer has no passkey");
        ex = WL_EXIT_DATA;
      } else {
        snprintf(passkey, sizeof passkey, "%s", pk);
      }
      json_decref(j);
    } else {
      fprintf(stderr, "weightless: (TRACKER_SECRET is not set here, so the server was asked)\n");
    }
    wl_http_resp_release(&r);
    wl_http_release(&h);
    if (ex != 0) return ex;
  }
  if (announce) {
    char *a = announce_url(n.server);
    if (a == NULL) return WL_EXIT_INTERNAL;
    printf("%s/%s\n", a, passkey);
    free(a);
  } else {
    printf("%s\n", passkey);
  }
  return ex;
}
