/* libFuzzer target: every proto decoder on arbitrary bytes (a broken or hostile bus peer). */
#include <stddef.h>
#include <stdint.h>

#include "wl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wl_proto_in in;
  if (wl_proto_in_init(&in, data, size) == 0) {
    union {
      struct wl_msg_announce a;
      struct wl_msg_announce_rep ar;
      struct wl_msg_scrape s;
      struct wl_msg_scrape_rep sr;
      struct wl_msg_pong p;
      struct wl_msg_stats_rep st;
      struct wl_msg_reg_http rh;
      struct wl_msg_reg_http_rep rr;
      struct wl_msg_swarm_stats ss;
      struct wl_msg_block_event be;
      struct wl_msg_blocklist_rep bl;
      struct wl_msg_registered_event re;
      struct wl_msg_user_rep ur;
    } u;
    int64_t code;
    const char *text;
    size_t len;
    /* every decoder, whatever the type says: each must refuse what is not its own */
    wl_proto_decode_error(&in, &code, &text, &len);
    wl_proto_decode_pong(&in, &u.p);
    wl_proto_decode_announce(&in, &u.a);
    wl_proto_decode_announce_rep(&in, &u.ar);
    wl_proto_decode_scrape(&in, &u.s);
    wl_proto_decode_scrape_rep(&in, &u.sr);
    wl_proto_decode_stats_rep(&in, &u.st);
    wl_proto_decode_reg_http(&in, &u.rh);
    wl_proto_decode_reg_http_rep(&in, &u.rr);
    wl_proto_decode_swarm_stats(&in, &u.ss);
    wl_proto_decode_block_event(&in, &u.be);
    wl_proto_decode_blocklist_rep(&in, &u.bl);
    wl_proto_decode_registered_event(&in, &u.re);
    wl_proto_decode_user_get(&in, &text, &len);
    wl_proto_decode_user_rep(&in, &u.ur);
    struct wl_msg_batch bt;
    wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH, &bt);
    wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH_REP, &bt);
  }
  wl_proto_in_release(&in);
  return 0;
}
