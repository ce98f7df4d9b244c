/* .torrent files (BEP 3 v1, BEP 52 v2, hybrids of both, BEP 47 pad files): a validating parser
 * for the registry (uploads are hostile) and the CLI.
 *
 * The file is decoded with the strict bencode decoder. Outside the info dict keys may be in any
 * order (real files from old tools are sometimes unsorted; "info" must appear once). Inside the
 * info dict every dict's keys must be sorted and unique: the info hashes are computed over the
 * exact bytes of the info dict as they stand in the file (never re-encoded), and a non-canonical
 * info dict would hash differently in clients that re-encode it, splitting the swarm.
 *
 * v1 hash: SHA-1 of the info dict, computed when it has `pieces`. v2 hash: SHA-256 of the same
 * bytes, computed when `meta version` is 2. Both present: a hybrid, whose v1 file list (pad files
 * left out) must equal its v2 file tree, in the same order, and whose v1 pieces must line up with
 * the v2 files (same piece count).
 *
 * What is rejected, each with a reason naming the field ("info.files[3].path[1]: '..' is not
 * allowed"): bad bencoding; wrong types; missing name / piece length / pieces / files; negative
 * lengths; a piece length that is not positive (v1) or not a power of two >= 16 KiB (v2) or over
 * 1 GiB; `pieces` not a multiple of 20 or not matching the total length (padding included);
 * path components that are empty, ".", "..", or contain '/' or NUL; names and path components
 * that are not UTF-8; duplicate paths and a path that is both a file and a directory; a total
 * over WL_TORRENT_MAX_TOTAL; more than WL_TORRENT_MAX_FILES files (pad files included); a joined
 * path longer than WL_TORRENT_MAX_PATH; an empty torrent (no bytes at all).
 * Not checked: the v2 `piece layers` beyond their shape (a dict of 32-byte keys to strings of a
 * multiple of 32 bytes), trackers, and anything else outside the info dict.
 *
 * Memory: about 56 bytes per bencoded value while parsing (the input is capped at
 * WL_TORRENT_MAX_VALUES values), then the file list; nothing is sized from a declared length. */
#ifndef WL_TORRENT_H
#define WL_TORRENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  WL_TORRENT_MAX_FILES = 1000000,   /* entries in the file list, pad files included */
  WL_TORRENT_MAX_PATH = 4096,       /* bytes of one joined path (and of the name) */
  WL_TORRENT_MAX_DEPTH = 96,        /* bencode nesting (v2 directories nest) */
  WL_TORRENT_MAX_VALUES = 1 << 23,  /* bencoded values in the whole file */
};
#define WL_TORRENT_MAX_TOTAL ((uint64_t)1 << 50)             /* 1 PiB: sum of file lengths */
#define WL_TORRENT_MAX_PIECE_LENGTH ((uint64_t)1 << 30)      /* 1 GiB */
#define WL_TORRENT_MAX_PATH_BYTES ((size_t)256 * 1024 * 1024) /* all joined paths together */

enum wl_torrent_version { WL_TORRENT_V1 = 1, WL_TORRENT_V2 = 2, WL_TORRENT_HYBRID = 3 };

struct wl_torrent_file {
  /* Components joined with '/', relative to the torrent's root, without the torrent's name;
   * for a single-file torrent, the name. NUL-terminated, valid UTF-8. Points into the
   * torrent's string storage: valid until wl_torrent_release. */
  const char *path;
  uint64_t length;
};

struct wl_torrent {
  char *name;                      /* owned; NUL-terminated UTF-8 */
  enum wl_torrent_version version; /* from has_v1 / has_v2 */
  bool has_v1;                     /* `pieces` present: v1_hash is set */
  bool has_v2;                     /* `meta version` 2: v2_hash is set */
  bool single_file;                /* the content is one file called name, not a directory */
  bool is_private;                 /* info.private is a nonzero integer (BEP 27) */
  uint64_t piece_length;
  /* v1 and hybrid: len(pieces) / 20; v2-only: sum over files of ceil(length / piece_length). */
  uint64_t piece_count;
  uint64_t total_size;   /* sum of the file lengths; BEP 47 pad files excluded */
  uint64_t padding_size; /* sum of the v1 pad files' lengths (0 for v2-only) */
  /* Files in the torrent's order (v2 file tree order for v2 and hybrid). Pad files are left
   * out: every entry is a real file. */
  struct wl_torrent_file *files; /* owned */
  size_t nfiles;
  uint8_t v1_hash[20]; /* SHA-1 of the info dict, when has_v1 */
  uint8_t v2_hash[32]; /* SHA-256 of the info dict, when has_v2 */
  size_t info_start;   /* the info dict's bytes in the input: [info_start, info_end) */
  size_t info_end;
  char *strings; /* owned storage of the file paths */
};

/* Parses and validates the .torrent p[0..n). On success fills *t (release with
 * wl_torrent_release) and returns 0. On failure returns WL_EPARSE (malformed), WL_ETOOBIG (a
 * limit above was exceeded), WL_EDEPTH or WL_ENOMEM, writes a one-line reason naming the field
 * to err (if errlen > 0; truncated to errlen), and leaves *t empty (releasing it is harmless). */
int wl_torrent_parse(const uint8_t *p, size_t n, struct wl_torrent *t, char *err, size_t errlen);

/* Frees what *t owns and zeroes it. Safe on a zeroed or already released struct. */
void wl_torrent_release(struct wl_torrent *t);

/* "v1", "v2" or "hybrid". */
const char *wl_torrent_version_name(enum wl_torrent_version v);

#endif
