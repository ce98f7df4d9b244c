/* libFuzzer target: the gateway's announce and scrape query parsers
 * (services/gateway/src/tracker_parse.c), with and without WL_ALLOW_IP_PARAM. A successful
 * parse must produce a message the codec can encode and decode back unchanged. */
#include <stdlib.h>
#include <string.h>

#include "tracker_parse.h"
#include "wl/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wl_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.numwant_default = 50;
  cfg.numwant_max = 200;
  cfg.scrape_max = 64;
  cfg.allow_ip_param = size > 0 && (data[0] & 1);
  static const uint8_t ip[4] = {127, 0, 0, 1};
  char reason[200];
  struct wl_msg_announce a;
  bool compact, no_peer_id;
  const char *q = (const char *)data;
  if (!wl_announce_parse(&cfg, q, size, ip, 4, &a, &compact, &no_peer_id, reason, sizeof reason)) {
    if (a.numwant > 200 || a.port == 0 || (a.ip_len != 4 && a.ip_len != 16)) abort();
    a.user_id = "";
    struct wl_buf b;
    wl_buf_init(&b, 4096);
    if (wl_proto_encode_announce(&b, &a) != 0) abort();
    struct wl_proto_in in;
    struct wl_msg_announce d;
    if (wl_proto_in_init(&in, b.data, b.len) != 0 || wl_proto_decode_announce(&in, &d) != 0) abort();
    if (memcmp(d.info_hash, a.info_hash, 20) || d.port != a.port || d.left != a.left) abort();
    wl_proto_in_release(&in);
    wl_buf_release(&b);
  }
  uint8_t hashes[64 * 20];
  size_t n;
  if (!wl_scrape_parse(&cfg, q, size, hashes, &n, reason, sizeof reason)) {
    if (n == 0 || n > 64) abort();
    for (size_t i = 1; i < n; i++)
      if (memcmp(hashes + 20 * (i - 1), hashes + 20 * i, 20) >= 0) abort();
  }
  return 0;
}
