/* Hex encoding (lowercase out, any case in). */
#ifndef WL_HEX_H
#define WL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*n lowercase hex digits and a NUL to dst (size >= 2*n+1). */
void wl_hex_encode(char *dst, const uint8_t *src, size_t n);
/* Decodes exactly 2*n hex digits from src (any case) into dst[0..n). 0 or WL_EPARSE. */
int wl_hex_decode(uint8_t *dst, const char *src, size_t n);

#endif
