/* proto codec: every message round-trips, and hostile input (truncated, oversized, wrongly
 * typed, wrong arity, trailing bytes, unknown type) is refused with a reason, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/error.h"
#include "wl_proto.h"

static struct wl_msg_announce sample_announce(void) {
  struct wl_msg_announce a;
  memset(&a, 0, sizeof a);
  memset(a.info_hash, 0xab, 20);
  memset(a.peer_id, 'p', 20);
  a.ip[0] = 127;
  a.ip[3] = 9;
  a.ip_len = 4;
  a.port = 6881;
  a.uploaded = 1;
  a.downloaded = 2;
  a.left = INT64_MAX;
  a.event = WL_EV_COMPLETED;
  a.numwant = 50;
  a.flags = WL_ANN_COMPACT;
  a.user_id = "alice";
  a.user_id_len = 5;
  return a;
}

static void announce_round_trip(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 4096);
  struct wl_msg_announce a = sample_announce(), d;
  assert_int_equal(wl_proto_encode_announce(&b, &a), 0);
  struct wl_proto_in in;
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(in.type, WL_MSG_ANNOUNCE);
  assert_int_equal(wl_proto_decode_announce(&in, &d), 0);
  assert_memory_equal(d.info_hash, a.info_hash, 20);
  assert_memory_equal(d.peer_id, a.peer_id, 20);
  assert_int_equal(d.ip_len, 4);
  assert_int_equal(d.port, 6881);
  assert_int_equal(d.left, INT64_MAX);
  assert_int_equal(d.event, WL_EV_COMPLETED);
  assert_int_equal(d.user_id_len, 5);
  assert_memory_equal(d.user_id, "alice", 5);
  wl_proto_in_release(&in);
  wl_buf_release(&b);
}

static void every_truncation_is_refused(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 4096);
  struct wl_msg_announce a = sample_announce(), d;
  assert_int_equal(wl_proto_encode_announce(&b, &a), 0);
  for (size_t n = 0; n < b.len; n++) {
    struct wl_proto_in in;
    int rv = wl_proto_in_init(&in, b.data, n);
    if (rv == 0) rv = wl_proto_decode_announce(&in, &d);
    assert_int_equal(rv, WL_EPROTO);
    assert_true(in.reason[0] != '\0');
    wl_proto_in_release(&in);
  }
  /* trailing garbage */
  wl_buf_appendc(&b, 0xc0);
  struct wl_proto_in in;
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), WL_EPROTO);
  wl_proto_in_release(&in);
  wl_buf_release(&b);
}

/* Builds a msgpack message by hand for the negative cases. */
static void pack(struct wl_buf *b, void (*fn)(msgpack_packer *pk)) {
  msgpack_sbuffer sb;
  msgpack_sbuffer_init(&sb);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
  fn(&pk);
  wl_buf_reset(b);
  wl_buf_append(b, sb.data, sb.size);
  msgpack_sbuffer_destroy(&sb);
}

static void pk_wrong_type(msgpack_packer *pk) {
  msgpack_pack_array(pk, 12);
  msgpack_pack_uint8(pk, WL_MSG_ANNOUNCE);
  msgpack_pack_str(pk, 20); /* info_hash as str, not bin */
  msgpack_pack_str_body(pk, "aaaaaaaaaaaaaaaaaaaa", 20);
  for (int i = 0; i < 10; i++) msgpack_pack_uint8(pk, 1);
}
static void pk_short_hash(msgpack_packer *pk) {
  msgpack_pack_array(pk, 12);
  msgpack_pack_uint8(pk, WL_MSG_ANNOUNCE);
  msgpack_pack_bin(pk, 19);
  msgpack_pack_bin_body(pk, "aaaaaaaaaaaaaaaaaaa", 19);
  for (int i = 0; i < 10; i++) msgpack_pack_uint8(pk, 1);
}
static void pk_wrong_arity(msgpack_packer *pk) {
  msgpack_pack_array(pk, 3);
  msgpack_pack_uint8(pk, WL_MSG_ANNOUNCE);
  msgpack_pack_nil(pk);
  msgpack_pack_nil(pk);
}
static void pk_not_array(msgpack_packer *pk) { msgpack_pack_map(pk, 0); }
static void pk_negative_type(msgpack_packer *pk) {
  msgpack_pack_array(pk, 1);
  msgpack_pack_int8(pk, -1);
}
static void pk_huge_scrape(msgpack_packer *pk) {
  msgpack_pack_array(pk, 2);
  msgpack_pack_uint8(pk, WL_MSG_SCRAPE);
  msgpack_pack_array(pk, WL_SCRAPE_HASHES_MAX + 1);
  for (int i = 0; i <= WL_SCRAPE_HASHES_MAX; i++) {
    msgpack_pack_bin(pk, 20);
    msgpack_pack_bin_body(pk, "aaaaaaaaaaaaaaaaaaaa", 20);
  }
}
static void pk_port_range(msgpack_packer *pk) {
  msgpack_pack_array(pk, 12);
  msgpack_pack_uint8(pk, WL_MSG_ANNOUNCE);
  msgpack_pack_bin(pk, 20);
  msgpack_pack_bin_body(pk, "aaaaaaaaaaaaaaaaaaaa", 20);
  msgpack_pack_bin(pk, 20);
  msgpack_pack_bin_body(pk, "aaaaaaaaaaaaaaaaaaaa", 20);
  msgpack_pack_bin(pk, 4);
  msgpack_pack_bin_body(pk, "\x7f\0\0\1", 4);
  msgpack_pack_uint32(pk, 70000); /* port out of range */
  for (int i = 0; i < 6; i++) msgpack_pack_uint8(pk, 0);
  msgpack_pack_str(pk, 0);
}
static void pk_header_injection(msgpack_packer *pk) {
  msgpack_pack_array(pk, 5);
  msgpack_pack_uint8(pk, WL_MSG_REG_HTTP_REP);
  msgpack_pack_uint16(pk, 200);
  msgpack_pack_str(pk, 4);
  msgpack_pack_str_body(pk, "text", 4);
  msgpack_pack_array(pk, 1);
  msgpack_pack_array(pk, 2);
  msgpack_pack_str(pk, 1);
  msgpack_pack_str_body(pk, "X", 1);
  msgpack_pack_str(pk, 9);
  msgpack_pack_str_body(pk, "a\r\nSet: b", 9);
  msgpack_pack_bin(pk, 0);
}

static void hostile_messages(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 1 << 20);
  struct wl_proto_in in;
  struct wl_msg_announce a;
  struct wl_msg_scrape s;
  struct wl_msg_reg_http_rep rep;

  pack(&b, pk_wrong_type);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce(&in, &a), WL_EPROTO);
  assert_non_null(strstr(in.reason, "info_hash"));
  wl_proto_in_release(&in);

  pack(&b, pk_short_hash);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce(&in, &a), WL_EPROTO);
  wl_proto_in_release(&in);

  pack(&b, pk_wrong_arity);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce(&in, &a), WL_EPROTO);
  wl_proto_in_release(&in);

  pack(&b, pk_not_array);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), WL_EPROTO);
  wl_proto_in_release(&in);

  pack(&b, pk_negative_type);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), WL_EPROTO);
  wl_proto_in_release(&in);

  pack(&b, pk_huge_scrape);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_scrape(&in, &s), WL_EPROTO);
  wl_proto_in_release(&in);

  pack(&b, pk_port_range);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce(&in, &a), WL_EPROTO);
  assert_non_null(strstr(in.reason, "port"));
  wl_proto_in_release(&in);

  pack(&b, pk_header_injection);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_reg_http_rep(&in, &rep), WL_EPROTO);
  wl_proto_in_release(&in);

  /* a message of one type decoded as another */
  wl_buf_reset(&b);
  wl_proto_encode_ping(&b);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce(&in, &a), WL_EPROTO);
  assert_non_null(strstr(in.reason, "PING"));
  wl_proto_in_release(&in);
  wl_buf_release(&b);
}

static void declared_sizes_cannot_exhaust_memory(void **state) {
  /* found by fuzz_proto: an array of 301M elements in 7 bytes made msgpack-c allocate 8.6 GB */
  static const uint8_t oom[] = {0x95, 0xdd, 0x12, 0x00, 0x00, 0x00, 0x7c};
  static const uint8_t bigmap[] = {0x91, 0xdf, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t bigstr[] = {0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
  struct wl_proto_in in;
  assert_int_equal(wl_proto_in_init(&in, oom, sizeof oom), WL_EPROTO);
  wl_proto_in_release(&in);
  assert_int_equal(wl_proto_in_init(&in, bigmap, sizeof bigmap), WL_EPROTO);
  wl_proto_in_release(&in);
  assert_int_equal(wl_proto_in_init(&in, bigstr, sizeof bigstr), WL_EPROTO);
  wl_proto_in_release(&in);
}

static void oversized_encode_leaves_buffer_unchanged(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 64);
  uint8_t big[200];
  memset(big, 1, sizeof big);
  struct wl_msg_announce_rep rep = {.peers = big, .peers_len = 198};
  assert_int_equal(wl_proto_encode_announce_rep(&b, &rep), WL_ETOOBIG);
  assert_int_equal(b.len, 0);
  wl_buf_release(&b);
}

static void replies_round_trip(void **state) {
  struct wl_buf b;
  wl_buf_init(&b, 1 << 20);
  struct wl_proto_in in;
  uint8_t peers[12] = {127, 0, 0, 1, 0, 80, 127, 0, 0, 2, 0, 81};
  uint8_t ids[40];
  memset(ids, 'i', 40);
  struct wl_msg_announce_rep rep = {.complete = 3, .incomplete = 4, .peers = peers,
                                    .peers_len = 12, .peer_ids = ids, .peer_ids_len = 40}, d;
  assert_int_equal(wl_proto_encode_announce_rep(&b, &rep), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce_rep(&in, &d), 0);
  assert_int_equal(d.complete, 3);
  assert_int_equal(d.peers_len, 12);
  assert_int_equal(d.peer_ids_len, 40);
  wl_proto_in_release(&in);

  /* peer_ids that do not match the peers are refused */
  wl_buf_reset(&b);
  rep.peer_ids_len = 20;
  assert_int_equal(wl_proto_encode_announce_rep(&b, &rep), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_announce_rep(&in, &d), WL_EPROTO);
  wl_proto_in_release(&in);

  struct wl_scrape_file f[2] = {{.complete = 1, .downloaded = 2, .incomplete = 3},
                                {.complete = 4, .downloaded = 5, .incomplete = 6}};
  memset(f[0].hash, 1, 20);
  memset(f[1].hash, 2, 20);
  struct wl_msg_scrape_rep sr;
  wl_buf_reset(&b);
  assert_int_equal(wl_proto_encode_scrape_rep(&b, "", f, 2), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_scrape_rep(&in, &sr), 0);
  assert_int_equal(sr.n, 2);
  assert_int_equal(sr.files[1].incomplete, 6);
  wl_proto_in_release(&in);

  struct wl_http_header h = {"X-Total-Count", 13, "42", 2};
  struct wl_msg_reg_http_rep hr = {.status = 200, .content_type = "application/json",
                                   .content_type_len = 16, .nheaders = 1, .headers = &h,
                                   .body = (const uint8_t *)"[]", .body_len = 2}, hd;
  wl_buf_reset(&b);
  assert_int_equal(wl_proto_encode_reg_http_rep(&b, &hr), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_reg_http_rep(&in, &hd), 0);
  assert_int_equal(hd.status, 200);
  assert_int_equal(hd.nheaders, 1);
  assert_memory_equal(hd.headers[0].value, "42", 2);
  wl_proto_in_release(&in);

  struct wl_swarm_stat ss = {.seeders = 7, .leechers = 8, .completions = 9};
  struct wl_msg_swarm_stats sd;
  wl_buf_reset(&b);
  assert_int_equal(wl_proto_encode_swarm_stats(&b, &ss, 1), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_swarm_stats(&in, &sd), 0);
  assert_int_equal(sd.swarms[0].completions, 9);
  wl_proto_in_release(&in);

  uint8_t hs[40];
  memset(hs, 7, 40);
  struct wl_msg_blocklist_rep bl;
  wl_buf_reset(&b);
  struct wl_str why = {"malware", 7};
  assert_int_equal(wl_proto_encode_blocklist_rep(&b, hs, &why, 1, hs + 20, 1), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_blocklist_rep(&in, &bl), 0);
  assert_int_equal(bl.n, 1);
  assert_int_equal(bl.nreg, 1);
  assert_non_null(bl.reasons);
  assert_int_equal(bl.reasons[0].n, 7);
  assert_memory_equal(bl.reasons[0].p, "malware", 7);
  wl_proto_in_release(&in);
  /* a registry from before the reasons: two fields */
  static const uint8_t old_rep[] = {0x93, 0x0e, 0x90, 0x90};
  assert_int_equal(wl_proto_in_init(&in, old_rep, sizeof old_rep), 0);
  assert_int_equal(wl_proto_decode_blocklist_rep(&in, &bl), 0);
  assert_int_equal(bl.n, 0);
  assert_null(bl.reasons);
  wl_proto_in_release(&in);
  /* reasons that do not match the hashes are refused */
  static const uint8_t bad_rep[] = {0x94, 0x0e, 0x90, 0x90, 0x91, 0xa1, 'x'};
  assert_int_equal(wl_proto_in_init(&in, bad_rep, sizeof bad_rep), 0);
  assert_int_equal(wl_proto_decode_blocklist_rep(&in, &bl), WL_EPROTO);
  wl_proto_in_release(&in);
  wl_buf_release(&b);
}

static void batch_round_trip(void **state) {
  struct wl_buf one, b;
  wl_buf_init(&one, 4096);
  wl_buf_init(&b, 1 << 20);
  struct wl_msg_announce a = sample_announce(), d;
  assert_int_equal(wl_proto_encode_announce(&one, &a), 0);
  struct wl_msg_part parts[3] = {{one.data, one.len}, {one.data, one.len}, {one.data, one.len}};
  assert_int_equal(wl_proto_encode_batch(&b, WL_MSG_ANNOUNCE_BATCH, parts, 3), 0);
  struct wl_proto_in in, sub;
  struct wl_msg_batch m;
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH_REP, &m), WL_EPROTO);
  assert_int_equal(wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH, &m), 0);
  assert_int_equal(m.n, 3);
  assert_int_equal(wl_proto_in_init(&sub, m.parts[2].p, m.parts[2].n), 0);
  assert_int_equal(wl_proto_decode_announce(&sub, &d), 0);
  assert_int_equal(d.port, 6881);
  wl_proto_in_release(&sub);
  wl_proto_in_release(&in);
  /* more than WL_ANNOUNCE_BATCH_MAX items is refused */
  struct wl_msg_part many[WL_ANNOUNCE_BATCH_MAX + 1];
  for (int i = 0; i <= WL_ANNOUNCE_BATCH_MAX; i++) many[i] = parts[0];
  wl_buf_reset(&b);
  assert_int_equal(wl_proto_encode_batch(&b, WL_MSG_ANNOUNCE_BATCH, many, WL_ANNOUNCE_BATCH_MAX + 1), 0);
  assert_int_equal(wl_proto_in_init(&in, b.data, b.len), 0);
  assert_int_equal(wl_proto_decode_batch(&in, WL_MSG_ANNOUNCE_BATCH, &m), WL_EPROTO);
  wl_proto_in_release(&in);
  wl_buf_release(&one);
  wl_buf_release(&b);
}

static void every_message_has_a_name(void **state) {
  assert_string_equal(wl_msg_name(WL_MSG_ANNOUNCE), "ANNOUNCE");
  assert_string_equal(wl_msg_name(999), "UNKNOWN");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(announce_round_trip),
      cmocka_unit_test(every_truncation_is_refused),
      cmocka_unit_test(hostile_messages),
      cmocka_unit_test(declared_sizes_cannot_exhaust_memory),
      cmocka_unit_test(oversized_encode_leaves_buffer_unchanged),
      cmocka_unit_test(replies_round_trip),
      cmocka_unit_test(batch_round_trip),
      cmocka_unit_test(every_message_has_a_name),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
