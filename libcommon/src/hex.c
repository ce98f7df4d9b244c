/* Hex encode/decode (wl/hex.h). Decoding stops at the first byte that is not a hex digit, so a
 * short NUL-terminated input is never read past its NUL. */
#include "wl/hex.h"

#include "wl/error.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void wl_hex_encode(char *dst, const uint8_t *src, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    dst[2 * i] = digits[src[i] >> 4];
    dst[2 * i + 1] = digits[src[i] & 15];
  }
  dst[2 * n] = '\0';
}

int wl_hex_decode(uint8_t *dst, const char *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    /* Check the first digit before reading the second: src may end (NUL) right there. */
    int hi = hexval(src[2 * i]);
    if (hi < 0) return WL_EPARSE;
    int lo = hexval(src[2 * i + 1]);
    if (lo < 0) return WL_EPARSE;
    dst[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}
