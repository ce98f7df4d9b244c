/* WL_TRUSTED_PROXIES: a CIDR list. Only when the socket peer is in it is X-Forwarded-For read,
 * from the right: the right-most entry that is not itself a trusted proxy is the client (the
 * entries to its left were written by the client and prove nothing). That address is used for
 * rate limiting and recorded in the swarm. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct cidr {
  uint8_t addr[16];
  uint8_t len; /* 4 or 16 */
  uint8_t bits;
};

struct proxies {
  size_t n;
  struct cidr c[];
};

static int parse_ip(const char *s, size_t n, uint8_t out[16], uint8_t *len) {
  char tmp[64];
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  if (n == 0 || n >= sizeof tmp) return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  if (inet_pton(AF_INET, tmp, out) == 1) {
    *len = 4;
    return 0;
  }
  if (inet_pton(AF_INET6, tmp, out) == 1) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, mapped, 12) == 0) {
      memmove(out, out + 12, 4);
      *len = 4;
    } else {
      *len = 16;
    }
    return 0;
  }
  return -1;
}

struct proxies *wl_proxies_parse(const char *list, char *err, size_t errlen) {
  if (list == NULL || *list == '\0') return NULL;
  size_t cap = 1;
  for (const char *p = list; *p; p++) cap += *p == ',';
  struct proxies *px = calloc(1, sizeof *px + cap * sizeof(struct cidr));
  if (!px) return NULL;
  const char *p = list;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *slash = memchr(p, '/', n);
    struct cidr *c = &px->c[px->n];
    if (parse_ip(p, slash ? (size_t)(slash - p) : n, c->addr, &c->len) < 0) {
      snprintf(err, errlen, "\"%.*s\" is not an address or CIDR", (int)n, p);
      free(px);
      return NULL;
    }
    int bits = c->len * 8;
    if (slash) {
      char *end;
      long b = strtol(slash + 1, &end, 10);
      if (end != p + n || b < 0 || b > bits) {
        snprintf(err, errlen, "\"%.*s\" has a bad prefix length", (int)n, p);
        free(px);
        return NULL;
      }
      bits = (int)b;
    }
    c->bits = (uint8_t)bits;
    px->n++;
    p = comma ? comma + 1 : p + n;
  }
  return px;
}

void wl_proxies_free(struct proxies *p) { free(p); }

static bool trusted(const struct proxies *px, const uint8_t *ip, uint8_t len) {
  for (size_t i = 0; px && i < px->n; i++) {
    const struct cidr *c = &px->c[i];
    if (c->len != len) continue;
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, ip, (size_t)full) != 0) continue;
    if (rest && ((c->addr[full] ^ ip[full]) & (0xff << (8 - rest)) & 0xff)) continue;
    return true;
  }
  return false;
}

void wl_proxies_client_ip(const struct proxies *px, struct conn *c) {
  memcpy(c->ip, c->sock_ip, 16);
  c->ip_len = c->sock_ip_len;
  if (!px || !trusted(px, c->sock_ip, c->sock_ip_len)) return;
  size_t n;
  const char *xff = wl_http_header(c, H_XFF, &n);
  while (xff && n) {
    const char *comma = NULL;
    for (size_t i = n; i > 0; i--)
      if (xff[i - 1] == ',') {
        comma = xff + i - 1;
        break;
      }
    const char *entry = comma ? comma + 1 : xff;
    size_t elen = (size_t)(xff + n - entry);
    uint8_t ip[16], len;
    if (parse_ip(entry, elen, ip, &len) < 0) return; /* garbage: keep what we have */
    memcpy(c->ip, ip, 16);
    c->ip_len = len;
    if (!trusted(px, ip, len)) return;
    n = comma ? (size_t)(comma - xff) : 0;
  }
}
