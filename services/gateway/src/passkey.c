/* Signed passkeys: "{user_id}.{hex HMAC-SHA256(TRACKER_SECRET, user_id)}", checked in the
 * gateway before anything reaches a worker (no state, no database: the key proves the user). */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/hex.h"

static bool user_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '_' || ch == '-';
}

bool wl_passkey_user_valid(const char *u, size_t n) {
  if (n < 1 || n > 64) return false;
  for (size_t i = 0; i < n; i++)
    if (!user_char(u[i])) return false;
  return true;
}

int wl_passkey_check(const struct wl_config *cfg, const char *pk, size_t n, const char **user,
                     size_t *ulen, char *reason, size_t rlen) {
  bool required = cfg->tracker_secret && *cfg->tracker_secret;
  *user = "";
  *ulen = 0;
  if (pk == NULL || n == 0) {
    if (!required) return 0;
    snprintf(reason, rlen, "Missing passkey: announce to /announce/{passkey}");
    return WL_EAUTH;
  }
  const char *dot = memchr(pk, '.', n);
  size_t ul = dot ? (size_t)(dot - pk) : 0;
  bool ok = dot && n - ul - 1 == 64 && wl_passkey_user_valid(pk, ul);
  for (size_t i = ul + 1; ok && i < n; i++)
    ok = (pk[i] >= '0' && pk[i] <= '9') || (pk[i] >= 'a' && pk[i] <= 'f');
  if (!ok) {
    if (!required) return 0; /* accepted, user not tracked */
    snprintf(reason, rlen, "Malformed passkey: expected user_id.signature");
    return WL_EAUTH;
  }
  if (!required) return 0;
  uint8_t mac[32];
  unsigned maclen = 0;
  HMAC(EVP_sha256(), cfg->tracker_secret, (int)strlen(cfg->tracker_secret),
       (const unsigned char *)pk, ul, mac, &maclen);
  char hex[65];
  wl_hex_encode(hex, mac, 32);
  if (CRYPTO_memcmp(hex, dot + 1, 64) != 0) {
    snprintf(reason, rlen, "Invalid passkey: bad signature");
    return WL_EAUTH;
  }
  *user = pk;
  *ulen = ul;
  return 0;
}
