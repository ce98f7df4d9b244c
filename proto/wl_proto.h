/* The message contract of the Weightless bus (proto/messages.def), with one codec shared by
 * every service. Encoders append one msgpack array to a wl_buf; decoders treat their input as
 * hostile (types, lengths and counts are checked) and return WL_EPROTO with a reason.
 *
 * Decoded messages point into a struct wl_proto_in, which owns the unpacked msgpack data and
 * must outlive them. */
#ifndef WL_PROTO_H
#define WL_PROTO_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"

enum wl_msg_type {
#define WL_MSG(name, id, doc) WL_MSG_##name = (id),
#include "messages.def"
#undef WL_MSG
};

enum { WL_PROTO_MAX_MSG = 96 * 1024 * 1024 }; /* a torrent upload (64 MiB) plus framing */
enum { WL_SCRAPE_HASHES_MAX = 1000 };
enum { WL_STATS_BATCH_MAX = 100000 };
enum { WL_ANNOUNCE_BATCH_MAX = 64 }; /* announces per ANNOUNCE_BATCH */

const char *wl_msg_name(unsigned type);

/* Announce events (BEP 3) */
enum wl_event { WL_EV_NONE = 0, WL_EV_STARTED, WL_EV_COMPLETED, WL_EV_STOPPED, WL_EV_PAUSED };
enum { WL_ANN_COMPACT = 1, WL_ANN_NO_PEER_ID = 2 };

struct wl_msg_announce {
  uint8_t info_hash[20];
  uint8_t peer_id[20];
  uint8_t ip[16];
  uint8_t ip_len; /* 4 or 16 */
  uint16_t port;
  uint64_t uploaded, downloaded, left;
  uint8_t event;   /* enum wl_event */
  uint32_t numwant; /* already clamped by the gateway */
  uint32_t flags;   /* WL_ANN_* */
  const char *user_id; /* "" when no passkey */
  size_t user_id_len;
};

struct wl_msg_announce_rep {
  const char *failure; /* empty = success */
  size_t failure_len;
  uint64_t complete, incomplete;
  const uint8_t *peers;   size_t peers_len;   /* 6-byte entries */
  const uint8_t *peers6;  size_t peers6_len;  /* 18-byte entries */
  const uint8_t *peer_ids; size_t peer_ids_len; /* 20-byte entries, peers then peers6, or empty
                                                 * (the current worker keeps no peer ids) */
};

struct wl_scrape_file {
  uint8_t hash[20];
  uint64_t complete, downloaded, incomplete;
};

struct wl_msg_scrape {
  const uint8_t *hashes; /* 20-byte entries */
  size_t n;
};

struct wl_msg_scrape_rep {
  const char *failure; size_t failure_len;
  size_t n;
  struct wl_scrape_file *files; /* owned by the wl_proto_in */
};

struct wl_msg_pong {
  const char *service; size_t service_len;
  bool ok;
  const char *detail; size_t detail_len;
};

struct wl_stat_pair {
  const char *name; size_t name_len;
  int64_t value;
};

struct wl_msg_stats_rep {
  size_t n;
  struct wl_stat_pair *pairs; /* owned by the wl_proto_in */
};

enum { WL_REG_AUTHORIZED = 1 }; /* REG_HTTP flags: the gateway checked REGISTRY_KEY */

struct wl_msg_reg_http {
  const char *method; size_t method_len;
  const char *path; size_t path_len;
  const char *query; size_t query_len; /* raw, still percent-encoded */
  const uint8_t *body; size_t body_len;
  uint32_t flags;
  const char *base_url; size_t base_url_len; /* "http://host:port" as the client saw it */
};

struct wl_http_header {
  const char *name; size_t name_len;
  const char *value; size_t value_len;
};

struct wl_msg_reg_http_rep {
  uint32_t status;
  const char *content_type; size_t content_type_len;
  size_t nheaders;
  struct wl_http_header *headers; /* owned by the wl_proto_in */
  const uint8_t *body; size_t body_len;
};

struct wl_swarm_stat {
  uint8_t hash[20];
  uint64_t seeders, leechers, completions;
  uint64_t observed_us; /* Redis server time (µs) of the figures; 0 = unknown. Several workers
                           report the same swarm, so the registry keeps the newest, not the
                           last to arrive. */
};

struct wl_msg_swarm_stats {
  size_t n;
  struct wl_swarm_stat *swarms; /* owned by the wl_proto_in */
};

struct wl_msg_block_event {
  uint8_t hash[20];
  bool blocked;
  const char *reason; size_t reason_len;
};

struct wl_str {
  const char *p; /* not NUL-terminated */
  size_t n;
};

struct wl_msg_blocklist_rep {
  const uint8_t *hashes; size_t n;         /* 20-byte entries, contiguous, owned by wl_proto_in */
  const uint8_t *registered; size_t nreg;  /* 20-byte entries (curated mode) */
  const struct wl_str *reasons;            /* n entries, or NULL (an older registry) */
};

struct wl_msg_registered_event {
  uint8_t hash[20];
  bool registered;
};

struct wl_msg_user_rep {
  bool found;
  uint64_t uploaded, downloaded;
};

/* ANNOUNCE_BATCH / ANNOUNCE_BATCH_REP: each item is a complete encoded message. */
struct wl_msg_part {
  const uint8_t *p;
  size_t n;
};
struct wl_msg_batch {
  size_t n;
  struct wl_msg_part *parts; /* owned by the wl_proto_in */
};

/* Holds one decoded message. */
struct wl_proto_in {
  msgpack_unpacked up;
  unsigned type;
  void *scratch; /* arrays built by decoders, freed by wl_proto_in_release */
  char reason[96]; /* why decoding failed */
};

/* Unpacks exactly one msgpack array from p[0..n) and reads its type. 0, or WL_EPROTO with
 * in->reason set. Release with wl_proto_in_release in both cases. */
int wl_proto_in_init(struct wl_proto_in *in, const void *p, size_t n);
void wl_proto_in_release(struct wl_proto_in *in);

/* Decoders: each checks in->type and every field. 0 or WL_EPROTO (in->reason says why). */
int wl_proto_decode_error(struct wl_proto_in *in, int64_t *code, const char **text, size_t *len);
int wl_proto_decode_pong(struct wl_proto_in *in, struct wl_msg_pong *m);
int wl_proto_decode_announce(struct wl_proto_in *in, struct wl_msg_announce *m);
int wl_proto_decode_announce_rep(struct wl_proto_in *in, struct wl_msg_announce_rep *m);
int wl_proto_decode_scrape(struct wl_proto_in *in, struct wl_msg_scrape *m);
int wl_proto_decode_scrape_rep(struct wl_proto_in *in, struct wl_msg_scrape_rep *m);
int wl_proto_decode_stats_rep(struct wl_proto_in *in, struct wl_msg_stats_rep *m);
int wl_proto_decode_reg_http(struct wl_proto_in *in, struct wl_msg_reg_http *m);
int wl_proto_decode_reg_http_rep(struct wl_proto_in *in, struct wl_msg_reg_http_rep *m);
int wl_proto_decode_swarm_stats(struct wl_proto_in *in, struct wl_msg_swarm_stats *m);
int wl_proto_decode_block_event(struct wl_proto_in *in, struct wl_msg_block_event *m);
int wl_proto_decode_blocklist_rep(struct wl_proto_in *in, struct wl_msg_blocklist_rep *m);
int wl_proto_decode_registered_event(struct wl_proto_in *in, struct wl_msg_registered_event *m);
int wl_proto_decode_user_get(struct wl_proto_in *in, const char **user, size_t *len);
int wl_proto_decode_user_rep(struct wl_proto_in *in, struct wl_msg_user_rep *m);
/* type: WL_MSG_ANNOUNCE_BATCH or WL_MSG_ANNOUNCE_BATCH_REP */
int wl_proto_decode_batch(struct wl_proto_in *in, unsigned type, struct wl_msg_batch *m);

/* Encoders: append one message to b. 0, or WL_ETOOBIG/WL_ENOMEM. */
int wl_proto_encode_error(struct wl_buf *b, int64_t code, const char *text);
int wl_proto_encode_ping(struct wl_buf *b);
int wl_proto_encode_pong(struct wl_buf *b, const char *service, bool ok, const char *detail);
int wl_proto_encode_announce(struct wl_buf *b, const struct wl_msg_announce *m);
int wl_proto_encode_announce_rep(struct wl_buf *b, const struct wl_msg_announce_rep *m);
int wl_proto_encode_scrape(struct wl_buf *b, const struct wl_msg_scrape *m);
int wl_proto_encode_scrape_rep(struct wl_buf *b, const char *failure,
                               const struct wl_scrape_file *files, size_t n);
int wl_proto_encode_stats(struct wl_buf *b);
int wl_proto_encode_stats_rep(struct wl_buf *b, const struct wl_stat_pair *pairs, size_t n);
int wl_proto_encode_reg_http(struct wl_buf *b, const struct wl_msg_reg_http *m);
int wl_proto_encode_reg_http_rep(struct wl_buf *b, const struct wl_msg_reg_http_rep *m);
int wl_proto_encode_swarm_stats(struct wl_buf *b, const struct wl_swarm_stat *s, size_t n);
int wl_proto_encode_block_event(struct wl_buf *b, const struct wl_msg_block_event *m);
int wl_proto_encode_blocklist_get(struct wl_buf *b);
/* reasons: n entries, parallel to hashes */
int wl_proto_encode_blocklist_rep(struct wl_buf *b, const uint8_t *hashes,
                                  const struct wl_str *reasons, size_t n,
                                  const uint8_t *registered, size_t nreg);
int wl_proto_encode_registered_event(struct wl_buf *b, const struct wl_msg_registered_event *m);
int wl_proto_encode_user_get(struct wl_buf *b, const char *user, size_t len);
int wl_proto_encode_user_rep(struct wl_buf *b, const struct wl_msg_user_rep *m);
int wl_proto_encode_batch(struct wl_buf *b, unsigned type, const struct wl_msg_part *parts,
                          size_t n);

#endif
