/* libFuzzer target: percent-decoding and query iteration (libcommon/src/query.c), the first
 * thing every announce does with attacker bytes. Checks wl_pct_decode against a plain reference
 * decoder (out of place and in place, into exactly sized buffers), that percent-encoding any
 * bytes decodes back to them, and that the iterator's pairs stay inside the query and cover it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"
#include "wl/query.h"

#define CHECK(x)                                                                                \
  do {                                                                                          \
    if (!(x)) __builtin_trap();                                                                 \
  } while (0)

static int hv(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') return (c | 0x20) - 'a' + 10;
  return -1;
}

/* Reference: -1 on a bad escape, else the decoded length. */
static long ref_decode(uint8_t *dst, const uint8_t *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      dst[o++] = s[i];
      continue;
    }
    if (n - i < 3 || hv(s[i + 1]) < 0 || hv(s[i + 2]) < 0) return -1;
    dst[o++] = (uint8_t)(hv(s[i + 1]) * 16 + hv(s[i + 2]));
    i += 2;
  }
  return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t cap = size ? size : 1;
  uint8_t *dst = malloc(cap), *ref = malloc(cap), *inplace = malloc(cap);
  char *src = malloc(cap); /* a heap copy of exactly size bytes */
  CHECK(dst && ref && inplace && src);
  memcpy(src, data, size);

  ssize_t r = wl_pct_decode(dst, src, size);
  long want = ref_decode(ref, data, size);
  if (want < 0) {
    CHECK(r == WL_EPARSE);
  } else {
    CHECK(r == want && (r == 0 || memcmp(dst, ref, (size_t)r) == 0));
  }
  memcpy(inplace, data, size);
  ssize_t r2 = wl_pct_decode(inplace, (const char *)inplace, size);
  CHECK(r2 == r);
  if (r > 0) CHECK(memcmp(inplace, ref, (size_t)r) == 0);

  /* Encode every byte, decode, compare. */
  static const char hx[] = "0123456789abcdef";
  char *enc = malloc(3 * cap);
  uint8_t *back = malloc(cap);
  CHECK(enc && back);
  for (size_t i = 0; i < size; i++) {
    enc[3 * i] = '%';
    enc[3 * i + 1] = hx[data[i] >> 4];
    enc[3 * i + 2] = hx[data[i] & 15];
  }
  CHECK(wl_pct_decode(back, enc, 3 * size) == (ssize_t)size);
  CHECK(size == 0 || memcmp(back, data, size) == 0);

  /* Iteration: every pair lies in the query; keys and values plus separators cover it. */
  struct wl_query_iter it;
  wl_query_init(&it, src, size);
  const char *k, *v;
  size_t kl, vl, covered = 0, pairs = 0;
  while (wl_query_next(&it, &k, &kl, &v, &vl)) {
    CHECK(k >= src && k + kl <= src + size);
    CHECK(v >= k + kl && v + vl <= src + size);
    CHECK(memchr(k, '&', kl) == NULL && memchr(k, '=', kl) == NULL);
    CHECK(memchr(v, '&', vl) == NULL);
    CHECK(kl + vl > 0 || (v > k && v[-1] == '='));
    covered += kl + vl + (v > k + kl);
    pairs++;
    CHECK(pairs <= size);
  }
  size_t amps = 0;
  for (size_t i = 0; i < size; i++) amps += src[i] == '&';
  CHECK(covered + amps == size);

  free(back);
  free(enc);
  free(src);
  free(inplace);
  free(ref);
  free(dst);
  return 0;
}
