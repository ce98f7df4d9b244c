/* libFuzzer target: the .torrent parser (libcommon/src/torrent.c) on arbitrary bytes, seeded
 * with real torrents. Checks, on success, the invariants the registry relies on: file lengths
 * add up to total_size, paths are safe (no empty, ".", ".." component, no leading '/'), the
 * info span is inside the input and its hashes are the hashes of those bytes; on failure, a
 * reason is always given and nothing is left allocated. */
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#include "wl/error.h"
#include "wl/torrent.h"

#define CHECK(x)                                                                                \
  do {                                                                                          \
    if (!(x)) __builtin_trap();                                                                 \
  } while (0)

static void check_path(const char *p) {
  size_t n = strlen(p);
  CHECK(n > 0 && n <= WL_TORRENT_MAX_PATH);
  const char *s = p;
  for (;;) {
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    CHECK(len > 0);
    CHECK(!(len == 1 && s[0] == '.'));
    CHECK(!(len == 2 && s[0] == '.' && s[1] == '.'));
    if (!slash) break;
    s = slash + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wl_torrent t;
  char err[256];
  int rv = wl_torrent_parse(data, size, &t, err, sizeof err);
  if (rv < 0) {
    CHECK(rv == WL_EPARSE || rv == WL_ETOOBIG || rv == WL_EDEPTH);
    CHECK(err[0] != '\0');
    for (const char *c = err; *c; c++) CHECK((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
    CHECK(t.files == NULL && t.name == NULL && t.strings == NULL);
    return 0;
  }
  CHECK(t.has_v1 || t.has_v2);
  CHECK(t.nfiles > 0 && t.total_size > 0 && t.total_size <= WL_TORRENT_MAX_TOTAL);
  CHECK(t.piece_length > 0 && t.piece_count > 0);
  check_path(t.name);
  uint64_t sum = 0;
  for (size_t i = 0; i < t.nfiles; i++) {
    check_path(t.files[i].path);
    sum += t.files[i].length;
  }
  CHECK(sum == t.total_size);
  if (t.single_file) CHECK(t.nfiles == 1);
  CHECK(t.info_start < t.info_end && t.info_end <= size && data[t.info_start] == 'd');
  uint8_t h[32];
  unsigned hl;
  if (t.has_v1) {
    EVP_Digest(data + t.info_start, t.info_end - t.info_start, h, &hl, EVP_sha1(), NULL);
    CHECK(memcmp(h, t.v1_hash, 20) == 0);
    /* v1 pieces cover the content, padding included. */
    uint64_t all = t.total_size + t.padding_size;
    CHECK(t.piece_count == all / t.piece_length + (all % t.piece_length != 0));
  }
  if (t.has_v2) {
    EVP_Digest(data + t.info_start, t.info_end - t.info_start, h, &hl, EVP_sha256(), NULL);
    CHECK(memcmp(h, t.v2_hash, 32) == 0);
    CHECK(t.piece_length >= 16384 && (t.piece_length & (t.piece_length - 1)) == 0);
  }
  wl_torrent_release(&t);
  return 0;
}
