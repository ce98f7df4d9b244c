/* Query strings and percent-decoding (wl/query.h). Hot path of every announce: no allocation. */
#include "wl/query.h"

#include <string.h>

#include "wl/error.h"

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ssize_t wl_pct_decode(uint8_t *dst, const char *src, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c == '%') {
      if (i + 2 >= n) return WL_EPARSE;
      int hi = hexval((unsigned char)src[i + 1]), lo = hexval((unsigned char)src[i + 2]);
      if (hi < 0 || lo < 0) return WL_EPARSE;
      dst[o++] = (uint8_t)(hi << 4 | lo);
      i += 2;
    } else {
      dst[o++] = c;
    }
  }
  return (ssize_t)o;
}

bool wl_query_next(struct wl_query_iter *it, const char **k, size_t *kl, const char **v,
                   size_t *vl) {
  while (it->p < it->end) {
    const char *start = it->p;
    const char *amp = memchr(start, '&', (size_t)(it->end - start));
    const char *stop = amp ? amp : it->end;
    it->p = amp ? amp + 1 : it->end;
    if (stop == start) continue; /* "&&" */
    const char *eq = memchr(start, '=', (size_t)(stop - start));
    *k = start;
    if (eq) {
      *kl = (size_t)(eq - start);
      *v = eq + 1;
      *vl = (size_t)(stop - eq - 1);
    } else {
      *kl = (size_t)(stop - start);
      *v = stop;
      *vl = 0;
    }
    return true;
  }
  return false;
}

bool wl_query_key_is(const char *k, size_t kl, const char *name) {
  size_t n = strlen(name);
  return kl == n && memcmp(k, name, n) == 0;
}
