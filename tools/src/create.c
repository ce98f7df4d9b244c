/* `weightless create`: a file or directory to a .torrent, v1, v2 or hybrid (the default).
 * The layout follows libtorrent 2.0's canonical form so the info hashes equal the ones
 * libtorrent computes for the same files and piece size (create_torrent with v1_only, v2_only,
 * or canonical_files_no_tail_padding for hybrid):
 *   - files in file-tree order (component-wise by bytes), also in the v1 `files` list;
 *   - hybrid: a BEP 47 pad file (attr "p", path [".pad", "<length>"]) before every non-empty
 *     file that does not start on a piece boundary; none after the last file;
 *   - v1-only: files laid end to end, no padding;
 *   - attr "x" for owner-executable files, as libtorrent writes it; empty files are listed
 *     (length 0, no `pieces root`); a directory is always a multi-file torrent.
 * The torrent is encoded once into a capped buffer; the info hashes are SHA-1 and SHA-256 of
 * the info dict's bytes there. Workload: building is O(files + pieces); hashing dominates. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "wl/bencode.h"
#include "wl/error.h"
#include "wl/hex.h"
#include "wl/torrent.h"

#define TORRENT_CAP ((size_t)1 << 30)         /* hard cap on the .torrent we write */
#define REGISTRY_DEFAULT_MAX ((size_t)64 << 20) /* WL_TORRENT_MAX's default */
enum { MAX_URLS = 64, AUTO_MAX_PIECES = 2048 };
#define MIN_PIECE ((uint64_t)16 << 10)
#define MAX_AUTO_PIECE ((uint64_t)16 << 20)

static const char usage_text[] =
    "usage: weightless create PATH [options]\n"
    "\n"
    "Hash a file or a directory tree into a .torrent (BEP 3 v1, BEP 52 v2, or a hybrid of\n"
    "both with BEP 47 pad files) and print its info hashes.\n"
    "\n"
    "  -o, --output FILE       where to write (default: NAME.torrent here; '-' is stdout)\n"
    "      --hybrid            v1 + v2 in one torrent (default)\n"
    "      --v1                v1 only (SHA-1 pieces, files end to end)\n"
    "      --v2                v2 only (SHA-256 merkle trees per file)\n"
    "  -p, --piece-size N|auto piece length: a power of two >= 16K, e.g. 4M (default auto:\n"
    "                          the smallest giving at most 2048 pieces, 16 KiB..16 MiB)\n"
    "  -t, --tracker URL       announce URL; repeat for more tiers, commas for one tier\n"
    "                          (default: $WEIGHTLESS_SERVER/announce when that is set)\n"
    "      --no-tracker        no announce URL at all\n"
    "  -n, --name NAME         torrent name (default: the last component of PATH)\n"
    "  -c, --comment TEXT      comment\n"
    "      --private           set the private flag (BEP 27: no DHT, PEX or LSD)\n"
    "  -w, --web-seed URL      BEP 19 web seed; repeatable\n"
    "      --no-hidden         leave out files and directories whose name starts with '.'\n"
    "  -j, --threads N         hashing threads (default: all cores)\n"
    "      --no-date           leave out the creation date (byte-identical re-runs)\n"
    "      --progress          draw the progress bar even when stderr is not a terminal\n"
    "  -q, --quiet             no progress bar\n"
    "      --json              print the result as one JSON object\n"
    "  -h, --help              this help\n"
    "\n"
    "Symlinks are followed, hidden files included, empty directories dropped, empty files\n"
    "kept. See docs/cli.md.\n";

/* Sticky-error bencoder: after the first failure every call is a no-op, checked once. */
struct enc {
  struct wl_buf b;
  int rv;
};

static void e_str(struct enc *e, const void *p, size_t n) {
  if (e->rv == 0) e->rv = wl_benc_str(&e->b, p, n);
}
static void e_strz(struct enc *e, const char *s) {
  if (e->rv == 0) e->rv = wl_benc_strz(&e->b, s);
}
static void e_int(struct enc *e, int64_t v) {
  if (e->rv == 0) e->rv = wl_benc_int(&e->b, v);
}
static void e_dict(struct enc *e) {
  if (e->rv == 0) e->rv = wl_benc_dict_begin(&e->b);
}
static void e_list(struct enc *e) {
  if (e->rv == 0) e->rv = wl_benc_list_begin(&e->b);
}
static void e_end(struct enc *e) {
  if (e->rv == 0) e->rv = wl_benc_end(&e->b);
}

struct create_opts {
  const char *path;
  const char *output;
  enum wl_hash_mode mode;
  uint64_t piece_length; /* 0: auto */
  const char *trackers[MAX_URLS];
  size_t ntrackers;
  bool no_tracker;
  const char *name;
  const char *comment;
  bool is_private;
  const char *web_seeds[MAX_URLS];
  size_t nweb_seeds;
  bool no_hidden;
  unsigned threads;
  bool no_date;
  bool json;
  bool quiet;
  bool force_progress;
};

/* The smallest power of two in [16 KiB, 16 MiB] giving at most AUTO_MAX_PIECES pieces. */
static uint64_t auto_piece_length(uint64_t total) {
  uint64_t p = MIN_PIECE;
  while (p < MAX_AUTO_PIECE && (total + p - 1) / p > AUTO_MAX_PIECES) p <<= 1;
  return p;
}

/* Appends the path components of a '/'-joined path as a bencoded list. */
static void e_path_list(struct enc *e, const char *path) {
  e_list(e);
  const char *s = path;
  for (;;) {
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    e_str(e, s, n);
    if (slash == NULL) break;
    s = slash + 1;
  }
  e_end(e);
}

/* v1 `files`: in file-tree order; hybrid inserts BEP 47 pad files so that every non-empty file
 * starts on a piece boundary. */
static void e_v1_files(struct enc *e, const struct wl_walk *w, uint64_t plen, bool pad) {
  e_list(e);
  uint64_t off = 0;
  for (size_t f = 0; f < w->n; f++) {
    const struct wl_walk_file *wf = &w->files[f];
    if (pad && wf->length > 0 && off % plen != 0) {
      uint64_t n = plen - off % plen;
      char num[24];
      snprintf(num, sizeof num, "%llu", (unsigned long long)n);
      e_dict(e);
      e_strz(e, "attr");
      e_strz(e, "p");
      e_strz(e, "length");
      e_int(e, (int64_t)n);
      e_strz(e, "path");
      e_list(e);
      e_strz(e, ".pad");
      e_strz(e, num);
      e_end(e);
      e_end(e);
      off += n;
    }
    e_dict(e);
    if (wf->exec) {
      e_strz(e, "attr");
      e_strz(e, "x");
    }
    e_strz(e, "length");
    e_int(e, (int64_t)wf->length);
    e_strz(e, "path");
    e_path_list(e, wf->path);
    e_end(e);
    off += wf->length;
  }
  e_end(e);
}

/* Number of leading components two '/'-joined directory paths share; dir lengths exclude the
 * file name. */
static size_t dir_components(const char *path, const char **comps, size_t *lens, size_t max) {
  size_t n = 0;
  const char *s = path;
  for (;;) {
    const char *slash = strchr(s, '/');
    if (slash == NULL) break;
    if (n < max) {
      comps[n] = s;
      lens[n] = (size_t)(slash - s);
    }
    n++;
    s = slash + 1;
  }
  return n;
}

/* BEP 52 `file tree`: nested dicts by path component, each file a dict with the empty key.
 * The files are sorted component-wise, so each directory's children come together and in key
 * order; the encoder only opens and closes directories between neighbours. */
static void e_file_tree(struct enc *e, const struct wl_walk *w, const struct wl_hash *h,
                        const char *single_name) {
  enum { MAXD = 128 };
  const char *open_c[MAXD];
  size_t open_l[MAXD];
  size_t nopen = 0;
  e_dict(e);
  for (size_t f = 0; f < w->n; f++) {
    const struct wl_walk_file *wf = &w->files[f];
    const char *path = single_name ? single_name : wf->path;
    const char *c[MAXD];
    size_t l[MAXD];
    size_t nd = dir_components(path, c, l, MAXD);
    if (nd > MAXD) {
      e->rv = WL_ETOOBIG;
      return;
    }
    size_t common = 0;
    while (common < nopen && common < nd && open_l[common] == l[common] &&
           memcmp(open_c[common], c[common], l[common]) == 0)
      common++;
    while (nopen > common) {
      e_end(e);
      nopen--;
    }
    for (size_t i = common; i < nd; i++) {
      e_str(e, c[i], l[i]);
      e_dict(e);
      open_c[nopen] = c[i];
      open_l[nopen] = l[i];
      nopen++;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    e_strz(e, base);
    e_dict(e);
    e_strz(e, "");
    e_dict(e);
    if (wf->exec) {
      e_strz(e, "attr");
      e_strz(e, "x");
    }
    e_strz(e, "length");
    e_int(e, (int64_t)wf->length);
    if (wf->length > 0) {
      e_strz(e, "pieces root");
      e_str(e, h->files[f].root, 32);
    }
    e_end(e);
    e_end(e);
  }
  while (nopen > 0) {
    e_end(e);
    nopen--;
  }
  e_end(e);
}

struct layer_ref {
  const uint8_t *root;
  const uint8_t *layer;
  uint64_t n;
};

static int layer_cmp(const void *a, const void *b) {
  return memcmp(((const struct layer_ref *)a)->root, ((const struct layer_ref *)b)->root, 32);
}

/* `piece layers`: pieces root -> the layer at piece size, for files longer than one piece;
 * keys sorted, identical files share one entry. */
static void e_piece_layers(struct enc *e, const struct wl_walk *w, const struct wl_hash *h) {
  size_t n = 0;
  for (size_t f = 0; f < w->n; f++)
    if (h->files[f].npieces > 1) n++;
  struct layer_ref *v = malloc((n ? n : 1) * sizeof *v);
  if (v == NULL) {
    e->rv = WL_ENOMEM;
    return;
  }
  n = 0;
  for (size_t f = 0; f < w->n; f++) {
    if (h->files[f].npieces <= 1) continue;
    v[n].root = h->files[f].root;
    v[n].layer = h->files[f].layer;
    v[n].n = h->files[f].npieces;
    n++;
  }
  qsort(v, n, sizeof *v, layer_cmp);
  e_dict(e);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && memcmp(v[i].root, v[i - 1].root, 32) == 0) continue;
    e_str(e, v[i].root, 32);
    e_str(e, v[i].layer, (size_t)v[i].n * 32);
  }
  e_end(e);
  free(v);
}

static bool any_layers(const struct wl_walk *w, const struct wl_hash *h) {
  for (size_t f = 0; f < w->n; f++)
    if (h->files[f].npieces > 1) return true;
  return false;
}

/* Each --tracker is one tier; commas split it into several URLs. Counts the URLs. */
static size_t count_urls(const struct create_opts *o) {
  size_t n = 0;
  for (size_t t = 0; t < o->ntrackers; t++) {
    n++;
    for (const char *s = o->trackers[t]; *s; s++)
      if (*s == ',') n++;
  }
  return n;
}

static void e_tiers(struct enc *e, const struct create_opts *o) {
  e_list(e);
  for (size_t t = 0; t < o->ntrackers; t++) {
    e_list(e);
    const char *s = o->trackers[t];
    for (;;) {
      const char *comma = strchr(s, ',');
      size_t n = comma ? (size_t)(comma - s) : strlen(s);
      if (n > 0) e_str(e, s, n);
      if (comma == NULL) break;
      s = comma + 1;
    }
    e_end(e);
  }
  e_end(e);
}

static size_t first_url_len(const char *s) {
  const char *comma = strchr(s, ',');
  return comma ? (size_t)(comma - s) : strlen(s);
}

/* Encodes the whole torrent into e; info_start and info_end delimit the info dict. */
static void encode_torrent(struct enc *e, const struct create_opts *o, const struct wl_walk *w,
                           const struct wl_hash *h, const char *name, size_t *info_start,
                           size_t *info_end) {
  bool v1 = o->mode != WL_HASH_V2, v2 = o->mode != WL_HASH_V1;
  e_dict(e);
  if (o->ntrackers > 0) {
    e_strz(e, "announce");
    e_str(e, o->trackers[0], first_url_len(o->trackers[0]));
    if (count_urls(o) > 1) {
      e_strz(e, "announce-list");
      e_tiers(e, o);
    }
  }
  if (o->comment != NULL) {
    e_strz(e, "comment");
    e_strz(e, o->comment);
  }
  e_strz(e, "created by");
  e_strz(e, "weightless " WL_CLI_VERSION);
  if (!o->no_date) {
    e_strz(e, "creation date");
    e_int(e, (int64_t)time(NULL));
  }
  e_strz(e, "info");
  *info_start = e->b.len;
  e_dict(e);
  if (v2) {
    e_strz(e, "file tree");
    e_file_tree(e, w, h, w->single ? name : NULL);
  }
  if (v1 && !w->single) {
    e_strz(e, "files");
    e_v1_files(e, w, h->piece_length, v2);
  }
  if (v1 && w->single) {
    if (w->files[0].exec) {
      e_strz(e, "attr");
      e_strz(e, "x");
    }
    e_strz(e, "length");
    e_int(e, (int64_t)w->total);
  }
  if (v2) {
    e_strz(e, "meta version");
    e_int(e, 2);
  }
  e_strz(e, "name");
  e_strz(e, name);
  e_strz(e, "piece length");
  e_int(e, (int64_t)h->piece_length);
  if (v1) {
    e_strz(e, "pieces");
    e_str(e, h->v1_pieces, (size_t)h->npieces * 20);
  }
  if (o->is_private) {
    e_strz(e, "private");
    e_int(e, 1);
  }
  e_end(e);
  *info_end = e->b.len;
  if (v2 && any_layers(w, h)) {
    e_strz(e, "piece layers");
    e_piece_layers(e, w, h);
  }
  if (o->nweb_seeds > 0) {
    e_strz(e, "url-list");
    e_list(e);
    for (size_t i = 0; i < o->nweb_seeds; i++) e_strz(e, o->web_seeds[i]);
    e_end(e);
  }
  e_end(e);
}

static int parse_args(int argc, char **argv, struct create_opts *o) {
  enum {
    OPT_V1 = 256, OPT_V2, OPT_HYBRID, OPT_NO_TRACKER, OPT_PRIVATE, OPT_NO_HIDDEN, OPT_NO_DATE,
    OPT_JSON, OPT_PROGRESS
  };
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"v1", no_argument, NULL, OPT_V1},
      {"v2", no_argument, NULL, OPT_V2},
      {"hybrid", no_argument, NULL, OPT_HYBRID},
      {"piece-size", required_argument, NULL, 'p'},
      {"tracker", required_argument, NULL, 't'},
      {"no-tracker", no_argument, NULL, OPT_NO_TRACKER},
      {"name", required_argument, NULL, 'n'},
      {"comment", required_argument, NULL, 'c'},
      {"private", no_argument, NULL, OPT_PRIVATE},
      {"web-seed", required_argument, NULL, 'w'},
      {"no-hidden", no_argument, NULL, OPT_NO_HIDDEN},
      {"threads", required_argument, NULL, 'j'},
      {"no-date", no_argument, NULL, OPT_NO_DATE},
      {"json", no_argument, NULL, OPT_JSON},
      {"progress", no_argument, NULL, OPT_PROGRESS},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof *o);
  o->mode = WL_HASH_HYBRID;
  int modes = 0;
  optind = 0;
  opterr = 0;
  for (;;) {
    int c = getopt_long(argc, argv, "o:p:t:n:c:w:j:qh", longopts, NULL);
    if (c == -1) break;
    uint64_t v;
    switch (c) {
    case 'o':
      o->output = optarg;
      break;
    case OPT_V1:
      o->mode = WL_HASH_V1;
      modes++;
      break;
    case OPT_V2:
      o->mode = WL_HASH_V2;
      modes++;
      break;
    case OPT_HYBRID:
      o->mode = WL_HASH_HYBRID;
      modes++;
      break;
    case 'p':
      if (strcmp(optarg, "auto") == 0) {
        o->piece_length = 0;
        break;
      }
      if (wl_cli_parse_size(optarg, &v) < 0 || v < MIN_PIECE || (v & (v - 1)) != 0 ||
          v > WL_TORRENT_MAX_PIECE_LENGTH) {
        wl_cli_err("invalid --piece-size '%s': use a power of two from 16K to 1G (e.g. 4M) "
                   "or 'auto'",
                   optarg);
        return WL_EXIT_USAGE;
      }
      o->piece_length = v;
      break;
    case 't':
      if (o->ntrackers == MAX_URLS) {
        wl_cli_err("too many --tracker options (at most %d)", MAX_URLS);
        return WL_EXIT_USAGE;
      }
      if (optarg[0] == '\0' || first_url_len(optarg) == 0) {
        wl_cli_err("empty --tracker URL");
        return WL_EXIT_USAGE;
      }
      o->trackers[o->ntrackers++] = optarg;
      break;
    case OPT_NO_TRACKER:
      o->no_tracker = true;
      break;
    case 'n':
      if (optarg[0] == '\0' || strchr(optarg, '/') != NULL || strcmp(optarg, ".") == 0 ||
          strcmp(optarg, "..") == 0) {
        wl_cli_err("invalid --name '%s': a non-empty name without '/'", optarg);
        return WL_EXIT_USAGE;
      }
      o->name = optarg;
      break;
    case 'c':
      o->comment = optarg;
      break;
    case OPT_PRIVATE:
      o->is_private = true;
      break;
    case 'w':
      if (o->nweb_seeds == MAX_URLS) {
        wl_cli_err("too many --web-seed options (at most %d)", MAX_URLS);
        return WL_EXIT_USAGE;
      }
      o->web_seeds[o->nweb_seeds++] = optarg;
      break;
    case OPT_NO_HIDDEN:
      o->no_hidden = true;
      break;
    case 'j':
      if (wl_cli_parse_uint(optarg, 256, &v) < 0 || v == 0) {
        wl_cli_err("invalid --threads '%s': a number from 1 to 256", optarg);
        return WL_EXIT_USAGE;
      }
      o->threads = (unsigned)v;
      break;
    case OPT_NO_DATE:
      o->no_date = true;
      break;
    case OPT_JSON:
      o->json = true;
      break;
    case OPT_PROGRESS:
      o->force_progress = true;
      break;
    case 'q':
      o->quiet = true;
      break;
    case 'h':
      fputs(usage_text, stdout);
      return -1;
    default:
      wl_cli_err("create: unknown or incomplete option '%s' (see weightless create --help)",
                 argv[optind - 1]);
      return WL_EXIT_USAGE;
    }
  }
  if (modes > 1) {
    wl_cli_err("create: choose one of --v1, --v2, --hybrid");
    return WL_EXIT_USAGE;
  }
  if (o->no_tracker && o->ntrackers > 0) {
    wl_cli_err("create: --no-tracker and --tracker contradict each other");
    return WL_EXIT_USAGE;
  }
  if (optind + 1 != argc) {
    wl_cli_err(optind >= argc ? "create: missing PATH (see weightless create --help)"
                              : "create: exactly one PATH, got more");
    return WL_EXIT_USAGE;
  }
  o->path = argv[optind];
  return 0;
}

static const char *mode_name(enum wl_hash_mode m) {
  return m == WL_HASH_V1 ? "v1" : (m == WL_HASH_V2 ? "v2" : "hybrid");
}

static int info_hashes(const uint8_t *p, size_t n, uint8_t v1[20], uint8_t v2[32]) {
  unsigned int len;
  if (EVP_Digest(p, n, v1, &len, EVP_sha1(), NULL) != 1) return WL_ENOMEM;
  if (EVP_Digest(p, n, v2, &len, EVP_sha256(), NULL) != 1) return WL_ENOMEM;
  return 0;
}

/* CPU seconds of the whole process so far (user + system, every thread). */
static double cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) < 0) return 0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_result(const struct create_opts *o, const char *out, const char *name,
                         const struct wl_walk *w, const struct wl_hash *h, const char *v1hex,
                         const char *v2hex, const char *magnet, unsigned threads) {
  FILE *f = strcmp(out, "-") == 0 ? stderr : stdout;
  double mbs = h->seconds > 0 ? (double)w->total / h->seconds / 1e6 : 0;
  double cpu = cpu_seconds();
  if (o->json) {
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:i}", "torrent",
                          out, "name", name, "version", mode_name(o->mode), "files",
                          (json_int_t)w->n, "size", (json_int_t)w->total, "piece_length",
                          (json_int_t)h->piece_length, "pieces", (json_int_t)h->npieces,
                          "seconds", h->seconds, "cpu_seconds", cpu, "mb_per_s", mbs, "threads",
                          (int)threads);
    if (j == NULL) return;
    if (v1hex) json_object_set_new(j, "v1_info_hash", json_string(v1hex));
    if (v2hex) json_object_set_new(j, "v2_info_hash", json_string(v2hex));
    json_object_set_new(j, "info_hash", json_string(v2hex ? v2hex : v1hex));
    json_object_set_new(j, "magnet", json_string(magnet));
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) fprintf(f, "%s\n", s);
    free(s);
    json_decref(j);
    return;
  }
  char size[32], plen[32];
  wl_cli_human_size(w->total, size, sizeof size);
  wl_cli_human_size(h->piece_length, plen, sizeof plen);
  fprintf(f, "torrent:      %s\n", out);
  fprintf(f, "name:         %s\n", name);
  fprintf(f, "version:      %s\n", mode_name(o->mode));
  fprintf(f, "files:        %zu%s\n", w->n, w->single ? " (single file)" : "");
  fprintf(f, "size:         %llu (%s)\n", (unsigned long long)w->total, size);
  fprintf(f, "piece length: %llu (%s)\n", (unsigned long long)h->piece_length, plen);
  fprintf(f, "pieces:       %llu\n", (unsigned long long)h->npieces);
  if (v1hex) fprintf(f, "v1 info hash: %s\n", v1hex);
  if (v2hex) fprintf(f, "v2 info hash: %s\n", v2hex);
  fprintf(f, "magnet:       %s\n", magnet);
  fprintf(f, "hashed:       %s in %.2f s (%.0f MB/s, %u thread%s, %.2f s of CPU)\n", size,
          h->seconds, mbs, threads, threads == 1 ? "" : "s", cpu);
}

int wl_cmd_create(int argc, char **argv) {
  struct create_opts o;
  int ex = parse_args(argc, argv, &o);
  if (ex != 0) return ex < 0 ? WL_EXIT_OK : ex;

  char *default_tracker = NULL;
  if (o.ntrackers == 0 && !o.no_tracker) {
    const char *server = getenv("WEIGHTLESS_SERVER");
    if (server != NULL && server[0] != '\0') {
      size_t n = strlen(server);
      while (n > 0 && server[n - 1] == '/') n--;
      default_tracker = malloc(n + sizeof "/announce");
      if (default_tracker == NULL) return WL_EXIT_INTERNAL;
      memcpy(default_tracker, server, n);
      memcpy(default_tracker + n, "/announce", sizeof "/announce");
      o.trackers[o.ntrackers++] = default_tracker;
    }
  }

  struct wl_walk w;
  struct wl_walk_opts wo = {.skip_hidden = o.no_hidden};
  char err[1024];
  int rv = wl_walk_run(&w, o.path, &wo, err, sizeof err);
  if (rv < 0) {
    wl_cli_err("%s", err);
    ex = rv == WL_EIO ? WL_EXIT_IO : (rv == WL_ENOMEM ? WL_EXIT_INTERNAL : WL_EXIT_DATA);
    goto out_free_tracker;
  }
  if (w.total == 0) {
    wl_cli_err("nothing to share: %s holds %s", o.path,
               w.n == 0 ? "no files" : "only empty files (a torrent needs at least one byte)");
    ex = WL_EXIT_DATA;
    goto out_walk;
  }
  const char *name = o.name ? o.name : w.name;

  struct wl_hash h;
  memset(&h, 0, sizeof h);
  h.walk = &w;
  h.mode = o.mode;
  h.piece_length = o.piece_length ? o.piece_length : auto_piece_length(w.total);
  h.threads = o.threads ? o.threads : wl_hash_default_threads();
  h.progress = !o.quiet && (o.force_progress || isatty(STDERR_FILENO));
  if (o.mode == WL_HASH_HYBRID) {
    /* pad files count toward the registry's file limit */
    size_t files = w.n;
    uint64_t off = 0;
    for (size_t f = 0; f < w.n; f++) {
      if (w.files[f].length > 0 && off % h.piece_length != 0) {
        files++;
        off += h.piece_length - off % h.piece_length;
      }
      off += w.files[f].length;
    }
    if (files > WL_TORRENT_MAX_FILES) {
      wl_cli_err("too many files: %zu with padding, a torrent holds at most %d", files,
                 WL_TORRENT_MAX_FILES);
      ex = WL_EXIT_DATA;
      goto out_walk;
    }
  }
  if (w.skipped > 0) wl_cli_warn("%zu special file(s) left out", w.skipped);
  if (o.mode == WL_HASH_V2 && !w.single && w.n == 1 && strchr(w.files[0].path, '/') == NULL)
    wl_cli_warn("%s holds one file: in a v2-only torrent that is indistinguishable from the "
                "single file '%s' and v2 clients save it as such (use --hybrid to keep the "
                "directory)",
                o.path, w.files[0].path);

  rv = wl_hash_run(&h);
  if (rv < 0) {
    wl_cli_err("%s", h.err);
    ex = rv == WL_EIO ? WL_EXIT_IO : WL_EXIT_INTERNAL;
    goto out_walk;
  }

  struct enc e = {.rv = 0};
  wl_buf_init(&e.b, TORRENT_CAP);
  size_t is = 0, ie = 0;
  encode_torrent(&e, &o, &w, &h, name, &is, &ie);
  if (e.rv < 0) {
    wl_cli_err("cannot encode the torrent: %s", wl_strerror(e.rv));
    ex = WL_EXIT_INTERNAL;
    goto out_buf;
  }
  uint8_t v1[20], v2[32];
  char v1hex[41], v2hex[65];
  rv = info_hashes(e.b.data + is, ie - is, v1, v2);
  if (rv < 0) {
    wl_cli_err("cannot hash the info dictionary");
    ex = WL_EXIT_INTERNAL;
    goto out_buf;
  }
  wl_hex_encode(v1hex, v1, 20);
  wl_hex_encode(v2hex, v2, 32);
  const char *v1p = o.mode != WL_HASH_V2 ? v1hex : NULL;
  const char *v2p = o.mode != WL_HASH_V1 ? v2hex : NULL;

  /* Our output must pass the registry's own parser; a failure here is a bug worth seeing. */
  struct wl_torrent t;
  memset(&t, 0, sizeof t);
  char perr[256];
  if (wl_torrent_parse(e.b.data, e.b.len, &t, perr, sizeof perr) < 0)
    wl_cli_warn("the torrent does not pass the registry's checks: %s", perr);
  wl_torrent_release(&t);
  if (e.b.len > REGISTRY_DEFAULT_MAX)
    wl_cli_warn("the torrent is %zu bytes; the registry accepts %zu by default "
                "(WL_TORRENT_MAX): a larger --piece-size makes it smaller",
                e.b.len, REGISTRY_DEFAULT_MAX);

  char *out = NULL;
  if (o.output == NULL) {
    size_t n = strlen(name) + sizeof ".torrent";
    out = malloc(n);
    if (out == NULL) {
      ex = WL_EXIT_INTERNAL;
      goto out_buf;
    }
    snprintf(out, n, "%s.torrent", name);
  }
  const char *outp = o.output ? o.output : out;
  rv = wl_cli_write_file(outp, e.b.data, e.b.len);
  if (rv < 0) {
    wl_cli_err("cannot write %s: %s", outp, strerror(errno));
    ex = WL_EXIT_IO;
    goto out_free_out;
  }

  struct wl_buf mag;
  wl_buf_init(&mag, 1 << 16);
  const char *tr = NULL;
  char trbuf[2048] = "";
  if (o.ntrackers > 0) {
    size_t n = first_url_len(o.trackers[0]);
    if (n < sizeof trbuf) {
      memcpy(trbuf, o.trackers[0], n);
      trbuf[n] = '\0';
      tr = trbuf;
    }
  }
  rv = wl_cli_magnet(&mag, v1p, v2p, name, tr);
  if (rv == 0) rv = wl_buf_appendc(&mag, '\0');
  if (rv < 0) {
    ex = WL_EXIT_INTERNAL;
    wl_buf_release(&mag);
    goto out_free_out;
  }
  if (o.ntrackers == 0 && !o.no_tracker && !o.json)
    wl_cli_warn("no tracker in the torrent: pass --tracker URL or set WEIGHTLESS_SERVER");
  print_result(&o, outp, name, &w, &h, v1p, v2p, (const char *)mag.data, h.threads);
  wl_buf_release(&mag);
  ex = WL_EXIT_OK;

out_free_out:
  free(out);
out_buf:
  wl_buf_release(&e.b);
  wl_hash_release(&h);
out_walk:
  wl_walk_release(&w);
out_free_tracker:
  free(default_tracker);
  return ex;
}
