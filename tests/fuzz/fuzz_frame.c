/* libFuzzer target: the announce bus's frame reader (libcommon/src/frame.c), which reads what a
 * peer on the bus sends. The input is fed in chunks (their sizes taken from the input itself,
 * as reads would split it); every frame returned must be well formed and, encoded again, give
 * back exactly the bytes it was read from. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"
#include "wl/frame.h"

#define CHECK(x)                                                                                \
  do {                                                                                          \
    if (!(x)) __builtin_trap();                                                                 \
  } while (0)

enum { MAX_PAYLOAD = 4096 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = (size_t)data[0] % 64 + 1; /* bytes per simulated read */
  data++;
  size--;
  struct wl_frame_reader r;
  wl_frame_reader_init(&r, MAX_PAYLOAD);
  struct wl_buf again;
  wl_buf_init(&again, 1 << 24);
  size_t fed = 0;
  int rv = 0;
  while (fed < size && rv >= 0) {
    size_t n = size - fed < chunk ? size - fed : chunk;
    CHECK(wl_frame_reader_feed(&r, data + fed, n) == 0);
    fed += n;
    struct wl_frame f;
    while ((rv = wl_frame_next(&r, &f)) == 1) {
      CHECK(f.kind >= WL_FRAME_HELLO && f.kind <= WL_FRAME_BYE);
      CHECK(f.n <= MAX_PAYLOAD);
      CHECK(wl_frame_append(&again, f.kind, f.id, f.p, f.n) == 0);
    }
    CHECK(rv == 0 || rv == WL_EPROTO);
  }
  /* what was returned is a prefix of the input, byte for byte */
  CHECK(again.len <= size);
  CHECK(again.len == 0 || memcmp(again.data, data, again.len) == 0);
  if (rv == 0) CHECK(size - again.len < WL_FRAME_HDR + MAX_PAYLOAD); /* the rest is partial */
  wl_buf_release(&again);
  wl_frame_reader_release(&r);
  return 0;
}
