/* The bus codec (wl_proto.h): msgpack arrays [type, fields...]. Encoding goes through a
 * msgpack_packer writing into a capped wl_buf; decoding unpacks one object and checks every
 * field's type, length and count before use, since any peer on the bus may be broken. */
#include "wl_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wl/error.h"

const char *wl_msg_name(unsigned type) {
  switch (type) {
#define WL_MSG(name, id, doc) \
  case id:                    \
    return #name;
#include "messages.def"
#undef WL_MSG
  default:
    return "UNKNOWN";
  }
}

/* ---- encoding ------------------------------------------------------------------------- */

static int buf_write(void *data, const char *p, size_t n) {
  return wl_buf_append((struct wl_buf *)data, p, n) < 0 ? -1 : 0;
}

struct enc {
  msgpack_packer pk;
  struct wl_buf *b;
  size_t start;
  int err;
};

static void enc_init(struct enc *e, struct wl_buf *b, unsigned type, uint32_t nfields) {
  e->b = b;
  e->start = b->len;
  e->err = 0;
  msgpack_packer_init(&e->pk, b, buf_write);
  e->err |= msgpack_pack_array(&e->pk, nfields + 1);
  e->err |= msgpack_pack_unsigned_int(&e->pk, type);
}

static void enc_str(struct enc *e, const char *s, size_t n) {
  e->err |= msgpack_pack_str(&e->pk, n);
  e->err |= msgpack_pack_str_body(&e->pk, s, n);
}
static void enc_strz(struct enc *e, const char *s) { enc_str(e, s ? s : "", s ? strlen(s) : 0); }
static void enc_bin(struct enc *e, const void *p, size_t n) {
  e->err |= msgpack_pack_bin(&e->pk, n);
  e->err |= msgpack_pack_bin_body(&e->pk, p, n);
}
static void enc_u64(struct enc *e, uint64_t v) { e->err |= msgpack_pack_uint64(&e->pk, v); }
static void enc_i64(struct enc *e, int64_t v) { e->err |= msgpack_pack_int64(&e->pk, v); }
static void enc_bool(struct enc *e, bool v) {
  e->err |= v ? msgpack_pack_true(&e->pk) : msgpack_pack_false(&e->pk);
}
static void enc_array(struct enc *e, size_t n) { e->err |= msgpack_pack_array(&e->pk, n); }

static int enc_done(struct enc *e) {
  if (e->err) {
    e->b->len = e->start; /* leave the buffer as it was */
    return WL_ETOOBIG;
  }
  return 0;
}

int wl_proto_encode_error(struct wl_buf *b, int64_t code, const char *text) {
  struct enc e;
  enc_init(&e, b, WL_MSG_ERROR, 2);
  enc_i64(&e, code);
  enc_strz(&e, text);
  return enc_done(&e);
}

int wl_proto_encode_ping(struct wl_buf *b) {
  struct enc e;
  enc_init(&e, b, WL_MSG_PING, 0);
  return enc_done(&e);
}

int wl_proto_encode_pong(struct wl_buf *b, const char *service, bool ok, const char *detail) {
  struct enc e;
  enc_init(&e, b, WL_MSG_PONG, 3);
  enc_strz(&e, service);
  enc_bool(&e, ok);
  enc_strz(&e, detail);
  return enc_done(&e);
}

int wl_proto_encode_announce(struct wl_buf *b, const struct wl_msg_announce *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_ANNOUNCE, 11);
  enc_bin(&e, m->info_hash, 20);
  enc_bin(&e, m->peer_id, 20);
  enc_bin(&e, m->ip, m->ip_len);
  enc_u64(&e, m->port);
  enc_u64(&e, m->uploaded);
  enc_u64(&e, m->downloaded);
  enc_u64(&e, m->left);
  enc_u64(&e, m->event);
  enc_u64(&e, m->numwant);
  enc_u64(&e, m->flags);
  enc_str(&e, m->user_id ? m->user_id : "", m->user_id ? m->user_id_len : 0);
  return enc_done(&e);
}

int wl_proto_encode_announce_rep(struct wl_buf *b, const struct wl_msg_announce_rep *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_ANNOUNCE_REP, 6);
  enc_str(&e, m->failure ? m->failure : "", m->failure ? m->failure_len : 0);
  enc_u64(&e, m->complete);
  enc_u64(&e, m->incomplete);
  enc_bin(&e, m->peers, m->peers_len);
  enc_bin(&e, m->peers6, m->peers6_len);
  enc_bin(&e, m->peer_ids, m->peer_ids_len);
  return enc_done(&e);
}

int wl_proto_encode_scrape(struct wl_buf *b, const struct wl_msg_scrape *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_SCRAPE, 1);
  enc_array(&e, m->n);
  for (size_t i = 0; i < m->n; i++) enc_bin(&e, m->hashes + 20 * i, 20);
  return enc_done(&e);
}

int wl_proto_encode_scrape_rep(struct wl_buf *b, const char *failure,
                               const struct wl_scrape_file *files, size_t n) {
  struct enc e;
  enc_init(&e, b, WL_MSG_SCRAPE_REP, 2);
  enc_strz(&e, failure);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) {
    enc_array(&e, 4);
    enc_bin(&e, files[i].hash, 20);
    enc_u64(&e, files[i].complete);
    enc_u64(&e, files[i].downloaded);
    enc_u64(&e, files[i].incomplete);
  }
  return enc_done(&e);
}

int wl_proto_encode_stats(struct wl_buf *b) {
  struct enc e;
  enc_init(&e, b, WL_MSG_STATS, 0);
  return enc_done(&e);
}

int wl_proto_encode_stats_rep(struct wl_buf *b, const struct wl_stat_pair *pairs, size_t n) {
  struct enc e;
  enc_init(&e, b, WL_MSG_STATS_REP, 1);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) {
    enc_array(&e, 2);
    enc_str(&e, pairs[i].name, pairs[i].name_len);
    enc_i64(&e, pairs[i].value);
  }
  return enc_done(&e);
}

int wl_proto_encode_reg_http(struct wl_buf *b, const struct wl_msg_reg_http *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_REG_HTTP, 6);
  enc_str(&e, m->method, m->method_len);
  enc_str(&e, m->path, m->path_len);
  enc_str(&e, m->query, m->query_len);
  enc_bin(&e, m->body, m->body_len);
  enc_u64(&e, m->flags);
  enc_str(&e, m->base_url, m->base_url_len);
  return enc_done(&e);
}

int wl_proto_encode_reg_http_rep(struct wl_buf *b, const struct wl_msg_reg_http_rep *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_REG_HTTP_REP, 4);
  enc_u64(&e, m->status);
  enc_str(&e, m->content_type, m->content_type_len);
  enc_array(&e, m->nheaders);
  for (size_t i = 0; i < m->nheaders; i++) {
    enc_array(&e, 2);
    enc_str(&e, m->headers[i].name, m->headers[i].name_len);
    enc_str(&e, m->headers[i].value, m->headers[i].value_len);
  }
  enc_bin(&e, m->body, m->body_len);
  return enc_done(&e);
}

int wl_proto_encode_swarm_stats(struct wl_buf *b, const struct wl_swarm_stat *s, size_t n) {
  struct enc e;
  enc_init(&e, b, WL_MSG_SWARM_STATS, 1);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) {
    enc_array(&e, 5);
    enc_bin(&e, s[i].hash, 20);
    enc_u64(&e, s[i].seeders);
    enc_u64(&e, s[i].leechers);
    enc_u64(&e, s[i].completions);
    enc_u64(&e, s[i].observed_us);
  }
  return enc_done(&e);
}

int wl_proto_encode_block_event(struct wl_buf *b, const struct wl_msg_block_event *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_BLOCK_EVENT, 3);
  enc_bin(&e, m->hash, 20);
  enc_bool(&e, m->blocked);
  enc_str(&e, m->reason ? m->reason : "", m->reason ? m->reason_len : 0);
  return enc_done(&e);
}

int wl_proto_encode_blocklist_get(struct wl_buf *b) {
  struct enc e;
  enc_init(&e, b, WL_MSG_BLOCKLIST_GET, 0);
  return enc_done(&e);
}

int wl_proto_encode_blocklist_rep(struct wl_buf *b, const uint8_t *hashes,
                                  const struct wl_str *reasons, size_t n,
                                  const uint8_t *registered, size_t nreg) {
  struct enc e;
  enc_init(&e, b, WL_MSG_BLOCKLIST_REP, 3);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) enc_bin(&e, hashes + 20 * i, 20);
  enc_array(&e, nreg);
  for (size_t i = 0; i < nreg; i++) enc_bin(&e, registered + 20 * i, 20);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) enc_str(&e, reasons[i].p, reasons[i].n);
  return enc_done(&e);
}

int wl_proto_encode_registered_event(struct wl_buf *b, const struct wl_msg_registered_event *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_REGISTERED_EVENT, 2);
  enc_bin(&e, m->hash, 20);
  enc_bool(&e, m->registered);
  return enc_done(&e);
}

int wl_proto_encode_user_get(struct wl_buf *b, const char *user, size_t len) {
  struct enc e;
  enc_init(&e, b, WL_MSG_USER_GET, 1);
  enc_str(&e, user, len);
  return enc_done(&e);
}

int wl_proto_encode_user_rep(struct wl_buf *b, const struct wl_msg_user_rep *m) {
  struct enc e;
  enc_init(&e, b, WL_MSG_USER_REP, 3);
  enc_bool(&e, m->found);
  enc_u64(&e, m->uploaded);
  enc_u64(&e, m->downloaded);
  return enc_done(&e);
}

int wl_proto_encode_batch(struct wl_buf *b, unsigned type, const struct wl_msg_part *parts,
                          size_t n) {
  struct enc e;
  enc_init(&e, b, type, 1);
  enc_array(&e, n);
  for (size_t i = 0; i < n; i++) enc_bin(&e, parts[i].p, parts[i].n);
  return enc_done(&e);
}

/* ---- decoding ------------------------------------------------------------------------- */

static int fail(struct wl_proto_in *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct wl_proto_in *in, const char *fmt, ...) {
  /* always WL_EPROTO */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(in->reason, sizeof in->reason, fmt, ap);
  va_end(ap);
  return WL_EPROTO;
}

static uint64_t be(const uint8_t *p, int k) {
  uint64_t v = 0;
  for (int i = 0; i < k; i++) v = v << 8 | p[i];
  return v;
}

/* msgpack-c allocates a container's element array from its declared count before reading the
 * elements, so 7 hostile bytes can ask for gigabytes. Walk the bytes first: every element
 * needs at least one byte, so the elements still owed may never exceed the bytes left. */
static int prescan(const uint8_t *p, size_t n) {
  size_t i = 0;
  uint64_t owed = 1;
  while (owed > 0) {
    if (i >= n) return -1;
    uint8_t t = p[i++];
    owed--;
    uint64_t skip = 0, items = 0;
    int lenbytes = 0;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
      /* fixint, nil, bool */
    } else if (t >= 0x80 && t <= 0x8f) {
      items = 2u * (t & 0x0f);
    } else if (t >= 0x90 && t <= 0x9f) {
      items = t & 0x0f;
    } else if (t >= 0xa0 && t <= 0xbf) {
      skip = t & 0x1f;
    } else {
      switch (t) {
      case 0xc4: case 0xd9: lenbytes = 1; break;            /* bin8, str8 */
      case 0xc5: case 0xda: lenbytes = 2; break;            /* bin16, str16 */
      case 0xc6: case 0xdb: lenbytes = 4; break;            /* bin32, str32 */
      case 0xc7: lenbytes = 1; skip = 1; break;             /* ext8: len, type */
      case 0xc8: lenbytes = 2; skip = 1; break;
      case 0xc9: lenbytes = 4; skip = 1; break;
      case 0xca: skip = 4; break;
      case 0xcb: skip = 8; break;
      case 0xcc: case 0xd0: skip = 1; break;
      case 0xcd: case 0xd1: skip = 2; break;
      case 0xce: case 0xd2: skip = 4; break;
      case 0xcf: case 0xd3: skip = 8; break;
      case 0xd4: skip = 2; break;
      case 0xd5: skip = 3; break;
      case 0xd6: skip = 5; break;
      case 0xd7: skip = 9; break;
      case 0xd8: skip = 17; break;
      case 0xdc: if (n - i < 2) return -1; items = be(p + i, 2); i += 2; break;
      case 0xdd: if (n - i < 4) return -1; items = be(p + i, 4); i += 4; break;
      case 0xde: if (n - i < 2) return -1; items = 2 * be(p + i, 2); i += 2; break;
      case 0xdf: if (n - i < 4) return -1; items = 2 * be(p + i, 4); i += 4; break;
      default: return -1; /* 0xc1 */
      }
    }
    if (lenbytes) {
      if (n - i < (size_t)lenbytes) return -1;
      skip += be(p + i, lenbytes);
      i += (size_t)lenbytes;
    }
    if (skip > n - i) return -1;
    i += skip;
    owed += items;
    if (owed > n - i) return -1;
  }
  return 0;
}

int wl_proto_in_init(struct wl_proto_in *in, const void *p, size_t n) {
  msgpack_unpacked_init(&in->up);
  in->type = 0;
  in->scratch = NULL;
  in->reason[0] = '\0';
  if (n > WL_PROTO_MAX_MSG) return fail(in, "message of %zu bytes is too large", n);
  if (prescan(p, n) < 0) return fail(in, "not a complete msgpack object");
  size_t off = 0;
  msgpack_unpack_return r = msgpack_unpack_next(&in->up, p, n, &off);
  if (r != MSGPACK_UNPACK_SUCCESS) return fail(in, "not a complete msgpack object");
  if (off != n) return fail(in, "%zu trailing bytes after the message", n - off);
  msgpack_object *o = &in->up.data;
  if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
    return fail(in, "message is not a non-empty array");
  msgpack_object *t = &o->via.array.ptr[0];
  if (t->type != MSGPACK_OBJECT_POSITIVE_INTEGER || t->via.u64 > 1000)
    return fail(in, "message type is not a small unsigned integer");
  in->type = (unsigned)t->via.u64;
  return 0;
}

void wl_proto_in_release(struct wl_proto_in *in) {
  msgpack_unpacked_destroy(&in->up);
  free(in->scratch);
  in->scratch = NULL;
}

/* Field access with checks. */
static int fields(struct wl_proto_in *in, unsigned type, uint32_t n, msgpack_object **f) {
  *f = NULL;
  if (in->type != type)
    return fail(in, "expected %s, got %s", wl_msg_name(type), wl_msg_name(in->type));
  msgpack_object *o = &in->up.data;
  if (o->via.array.size != n + 1)
    return fail(in, "%s has %u fields, expected %u", wl_msg_name(type), o->via.array.size - 1, n);
  *f = o->via.array.ptr + 1;
  return 0;
}

static int get_u64(struct wl_proto_in *in, msgpack_object *o, const char *name, uint64_t max,
                   uint64_t *out) {
  *out = 0;
  if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
    return fail(in, "field %s is not an unsigned integer", name);
  if (o->via.u64 > max) return fail(in, "field %s is out of range", name);
  *out = o->via.u64;
  return 0;
}

static int get_i64(struct wl_proto_in *in, msgpack_object *o, const char *name, int64_t *out) {
  if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
    if (o->via.u64 > INT64_MAX) return fail(in, "field %s is out of range", name);
    *out = (int64_t)o->via.u64;
    return 0;
  }
  if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
    *out = o->via.i64;
    return 0;
  }
  return fail(in, "field %s is not an integer", name);
}

static int get_bool(struct wl_proto_in *in, msgpack_object *o, const char *name, bool *out) {
  if (o->type != MSGPACK_OBJECT_BOOLEAN) return fail(in, "field %s is not a boolean", name);
  *out = o->via.boolean;
  return 0;
}

static int get_str(struct wl_proto_in *in, msgpack_object *o, const char *name, size_t max,
                   const char **p, size_t *n) {
  *p = "";
  *n = 0;
  if (o->type != MSGPACK_OBJECT_STR) return fail(in, "field %s is not a string", name);
  if (o->via.str.size > max) return fail(in, "field %s is too long", name);
  *p = o->via.str.size ? o->via.str.ptr : "";
  *n = o->via.str.size;
  return 0;
}

static int get_bin(struct wl_proto_in *in, msgpack_object *o, const char *name, size_t max,
                   const uint8_t **p, size_t *n) {
  *p = NULL;
  *n = 0;
  if (o->type != MSGPACK_OBJECT_BIN) return fail(in, "field %s is not binary", name);
  if (o->via.bin.size > max) return fail(in, "field %s is too long", name);
  *p = (const uint8_t *)o->via.bin.ptr;
  *n = o->via.bin.size;
  return 0;
}

static int get_bin_exact(struct wl_proto_in *in, msgpack_object *o, const char *name, size_t len,
                         uint8_t *out) {
  const uint8_t *p;
  size_t n;
  int rv = get_bin(in, o, name, len, &p, &n);
  if (rv < 0) return rv;
  if (n != len) return fail(in, "field %s has %zu bytes, expected %zu", name, n, len);
  memcpy(out, p, len);
  return 0;
}

static int get_array(struct wl_proto_in *in, msgpack_object *o, const char *name, size_t max,
                     msgpack_object **items, size_t *n) {
  *items = NULL;
  *n = 0;
  if (o->type != MSGPACK_OBJECT_ARRAY) return fail(in, "field %s is not an array", name);
  if (o->via.array.size > max) return fail(in, "field %s has too many items", name);
  *items = o->via.array.ptr;
  *n = o->via.array.size;
  return 0;
}

/* Scratch arrays live until wl_proto_in_release; one per message is all any decoder needs. */
static void *scratch(struct wl_proto_in *in, size_t n, size_t size) {
  free(in->scratch);
  in->scratch = calloc(n ? n : 1, size);
  return in->scratch;
}

#define TRY(x)               \
  do {                       \
    rv = (x);                \
    if (rv < 0) goto out;    \
  } while (0)

int wl_proto_decode_error(struct wl_proto_in *in, int64_t *code, const char **text, size_t *len) {
  msgpack_object *f;
  int rv;
  TRY(fields(in, WL_MSG_ERROR, 2, &f));
  TRY(get_i64(in, &f[0], "code", code));
  TRY(get_str(in, &f[1], "text", 4096, text, len));
out:
  return rv;
}

int wl_proto_decode_pong(struct wl_proto_in *in, struct wl_msg_pong *m) {
  msgpack_object *f;
  int rv;
  TRY(fields(in, WL_MSG_PONG, 3, &f));
  TRY(get_str(in, &f[0], "service", 64, &m->service, &m->service_len));
  TRY(get_bool(in, &f[1], "ok", &m->ok));
  TRY(get_str(in, &f[2], "detail", 1024, &m->detail, &m->detail_len));
out:
  return rv;
}

int wl_proto_decode_announce(struct wl_proto_in *in, struct wl_msg_announce *m) {
  msgpack_object *f;
  const uint8_t *ip;
  size_t iplen;
  uint64_t v;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_ANNOUNCE, 11, &f));
  TRY(get_bin_exact(in, &f[0], "info_hash", 20, m->info_hash));
  TRY(get_bin_exact(in, &f[1], "peer_id", 20, m->peer_id));
  TRY(get_bin(in, &f[2], "ip", 16, &ip, &iplen));
  if (iplen != 4 && iplen != 16) {
    rv = fail(in, "field ip has %zu bytes, expected 4 or 16", iplen);
    goto out;
  }
  memcpy(m->ip, ip, iplen);
  m->ip_len = (uint8_t)iplen;
  TRY(get_u64(in, &f[3], "port", 65535, &v));
  m->port = (uint16_t)v;
  TRY(get_u64(in, &f[4], "uploaded", INT64_MAX, &m->uploaded));
  TRY(get_u64(in, &f[5], "downloaded", INT64_MAX, &m->downloaded));
  TRY(get_u64(in, &f[6], "left", INT64_MAX, &m->left));
  TRY(get_u64(in, &f[7], "event", WL_EV_PAUSED, &v));
  m->event = (uint8_t)v;
  TRY(get_u64(in, &f[8], "numwant", 100000, &v));
  m->numwant = (uint32_t)v;
  TRY(get_u64(in, &f[9], "flags", 0xffff, &v));
  m->flags = (uint32_t)v;
  TRY(get_str(in, &f[10], "user_id", 64, &m->user_id, &m->user_id_len));
out:
  return rv;
}

int wl_proto_decode_announce_rep(struct wl_proto_in *in, struct wl_msg_announce_rep *m) {
  msgpack_object *f;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_ANNOUNCE_REP, 6, &f));
  TRY(get_str(in, &f[0], "failure", 1024, &m->failure, &m->failure_len));
  TRY(get_u64(in, &f[1], "complete", INT64_MAX, &m->complete));
  TRY(get_u64(in, &f[2], "incomplete", INT64_MAX, &m->incomplete));
  TRY(get_bin(in, &f[3], "peers", 6 * 100000, &m->peers, &m->peers_len));
  TRY(get_bin(in, &f[4], "peers6", 18 * 100000, &m->peers6, &m->peers6_len));
  TRY(get_bin(in, &f[5], "peer_ids", 20 * 200000, &m->peer_ids, &m->peer_ids_len));
  if (m->peers_len % 6 || m->peers6_len % 18 || m->peer_ids_len % 20) {
    rv = fail(in, "peer lists are not whole entries");
    goto out;
  }
  if (m->peer_ids_len && m->peer_ids_len / 20 != m->peers_len / 6 + m->peers6_len / 18) {
    rv = fail(in, "peer_ids does not match the peer lists");
    goto out;
  }
out:
  return rv;
}

static int decode_hash_list(struct wl_proto_in *in, msgpack_object *o, const char *name,
                            size_t max, uint8_t *dst, size_t *n) {
  msgpack_object *items;
  int rv = get_array(in, o, name, max, &items, n);
  for (size_t i = 0; rv == 0 && i < *n; i++) rv = get_bin_exact(in, &items[i], name, 20, dst + 20 * i);
  return rv;
}

int wl_proto_decode_scrape(struct wl_proto_in *in, struct wl_msg_scrape *m) {
  msgpack_object *f, *items;
  size_t n;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_SCRAPE, 1, &f));
  TRY(get_array(in, &f[0], "hashes", WL_SCRAPE_HASHES_MAX, &items, &n));
  uint8_t *h = scratch(in, n, 20);
  if (h == NULL) return WL_ENOMEM;
  TRY(decode_hash_list(in, &f[0], "hashes", WL_SCRAPE_HASHES_MAX, h, &n));
  m->hashes = h;
  m->n = n;
out:
  return rv;
}

int wl_proto_decode_scrape_rep(struct wl_proto_in *in, struct wl_msg_scrape_rep *m) {
  msgpack_object *f, *items, *e;
  size_t n, ne;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_SCRAPE_REP, 2, &f));
  TRY(get_str(in, &f[0], "failure", 1024, &m->failure, &m->failure_len));
  TRY(get_array(in, &f[1], "files", WL_SCRAPE_HASHES_MAX, &items, &n));
  m->files = scratch(in, n, sizeof *m->files);
  if (m->files == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    TRY(get_array(in, &items[i], "files[]", 4, &e, &ne));
    if (ne != 4) {
      rv = fail(in, "files[%zu] has %zu items, expected 4", i, ne);
      goto out;
    }
    TRY(get_bin_exact(in, &e[0], "hash", 20, m->files[i].hash));
    TRY(get_u64(in, &e[1], "complete", INT64_MAX, &m->files[i].complete));
    TRY(get_u64(in, &e[2], "downloaded", INT64_MAX, &m->files[i].downloaded));
    TRY(get_u64(in, &e[3], "incomplete", INT64_MAX, &m->files[i].incomplete));
  }
  m->n = n;
out:
  return rv;
}

int wl_proto_decode_stats_rep(struct wl_proto_in *in, struct wl_msg_stats_rep *m) {
  msgpack_object *f, *items, *e;
  size_t n, ne;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_STATS_REP, 1, &f));
  TRY(get_array(in, &f[0], "pairs", 1024, &items, &n));
  m->pairs = scratch(in, n, sizeof *m->pairs);
  if (m->pairs == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    TRY(get_array(in, &items[i], "pairs[]", 2, &e, &ne));
    if (ne != 2) {
      rv = fail(in, "pairs[%zu] has %zu items, expected 2", i, ne);
      goto out;
    }
    TRY(get_str(in, &e[0], "name", 128, &m->pairs[i].name, &m->pairs[i].name_len));
    TRY(get_i64(in, &e[1], "value", &m->pairs[i].value));
  }
  m->n = n;
out:
  return rv;
}

int wl_proto_decode_reg_http(struct wl_proto_in *in, struct wl_msg_reg_http *m) {
  msgpack_object *f;
  uint64_t v;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_REG_HTTP, 6, &f));
  TRY(get_str(in, &f[0], "method", 16, &m->method, &m->method_len));
  TRY(get_str(in, &f[1], "path", 8192, &m->path, &m->path_len));
  TRY(get_str(in, &f[2], "query", 65536, &m->query, &m->query_len));
  TRY(get_bin(in, &f[3], "body", WL_PROTO_MAX_MSG, &m->body, &m->body_len));
  TRY(get_u64(in, &f[4], "flags", 0xffff, &v));
  m->flags = (uint32_t)v;
  TRY(get_str(in, &f[5], "base_url", 1024, &m->base_url, &m->base_url_len));
out:
  return rv;
}

int wl_proto_decode_reg_http_rep(struct wl_proto_in *in, struct wl_msg_reg_http_rep *m) {
  msgpack_object *f, *items, *e;
  size_t n, ne;
  uint64_t v;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_REG_HTTP_REP, 4, &f));
  TRY(get_u64(in, &f[0], "status", 599, &v));
  if (v < 100) {
    rv = fail(in, "field status is out of range");
    goto out;
  }
  m->status = (uint32_t)v;
  TRY(get_str(in, &f[1], "content_type", 256, &m->content_type, &m->content_type_len));
  TRY(get_array(in, &f[2], "headers", 32, &items, &n));
  m->headers = scratch(in, n, sizeof *m->headers);
  if (m->headers == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    TRY(get_array(in, &items[i], "headers[]", 2, &e, &ne));
    if (ne != 2) {
      rv = fail(in, "headers[%zu] has %zu items, expected 2", i, ne);
      goto out;
    }
    TRY(get_str(in, &e[0], "header name", 128, &m->headers[i].name, &m->headers[i].name_len));
    TRY(get_str(in, &e[1], "header value", 4096, &m->headers[i].value, &m->headers[i].value_len));
    /* A header is copied into the HTTP answer: refuse anything that could split it. */
    for (size_t k = 0; k < m->headers[i].name_len + m->headers[i].value_len; k++) {
      char c = k < m->headers[i].name_len ? m->headers[i].name[k]
                                           : m->headers[i].value[k - m->headers[i].name_len];
      if (c == '\r' || c == '\n' || c == '\0') {
        rv = fail(in, "headers[%zu] contains a line break", i);
        goto out;
      }
    }
  }
  m->nheaders = n;
  TRY(get_bin(in, &f[3], "body", WL_PROTO_MAX_MSG, &m->body, &m->body_len));
out:
  return rv;
}

int wl_proto_decode_swarm_stats(struct wl_proto_in *in, struct wl_msg_swarm_stats *m) {
  msgpack_object *f, *items, *e;
  size_t n, ne;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_SWARM_STATS, 1, &f));
  TRY(get_array(in, &f[0], "swarms", WL_STATS_BATCH_MAX, &items, &n));
  m->swarms = scratch(in, n, sizeof *m->swarms);
  if (m->swarms == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    TRY(get_array(in, &items[i], "swarms[]", 5, &e, &ne));
    if (ne != 4 && ne != 5) {
      rv = fail(in, "swarms[%zu] has %zu items, expected 4 or 5", i, ne);
      goto out;
    }
    m->swarms[i].observed_us = 0;
    if (ne == 5) TRY(get_u64(in, &e[4], "observed_us", INT64_MAX, &m->swarms[i].observed_us));
    TRY(get_bin_exact(in, &e[0], "hash", 20, m->swarms[i].hash));
    TRY(get_u64(in, &e[1], "seeders", INT64_MAX, &m->swarms[i].seeders));
    TRY(get_u64(in, &e[2], "leechers", INT64_MAX, &m->swarms[i].leechers));
    TRY(get_u64(in, &e[3], "completions", INT64_MAX, &m->swarms[i].completions));
  }
  m->n = n;
out:
  return rv;
}

int wl_proto_decode_block_event(struct wl_proto_in *in, struct wl_msg_block_event *m) {
  msgpack_object *f;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_BLOCK_EVENT, 3, &f));
  TRY(get_bin_exact(in, &f[0], "hash", 20, m->hash));
  TRY(get_bool(in, &f[1], "blocked", &m->blocked));
  TRY(get_str(in, &f[2], "reason", 1024, &m->reason, &m->reason_len));
out:
  return rv;
}

int wl_proto_decode_blocklist_rep(struct wl_proto_in *in, struct wl_msg_blocklist_rep *m) {
  msgpack_object *f, *a, *b, *r = NULL;
  size_t n, nreg, nr = 0;
  int rv;
  memset(m, 0, sizeof *m);
  /* two fields from a registry that sends no reasons, three with them */
  if (in->type == WL_MSG_BLOCKLIST_REP && in->up.data.via.array.size == 3)
    TRY(fields(in, WL_MSG_BLOCKLIST_REP, 2, &f));
  else
    TRY(fields(in, WL_MSG_BLOCKLIST_REP, 3, &f));
  TRY(get_array(in, &f[0], "hashes", 10000000, &a, &n));
  TRY(get_array(in, &f[1], "registered", 10000000, &b, &nreg));
  if (in->up.data.via.array.size == 4) {
    TRY(get_array(in, &f[2], "reasons", 10000000, &r, &nr));
    if (nr != n) TRY(fail(in, "%zu reasons for %zu hashes", nr, n));
  }
  /* one allocation: the reasons (aligned first), then the hashes */
  size_t rbytes = nr * sizeof(struct wl_str);
  uint8_t *mem = scratch(in, rbytes + 20 * (n + nreg), 1);
  if (mem == NULL) return WL_ENOMEM;
  struct wl_str *reasons = nr ? (struct wl_str *)(void *)mem : NULL;
  uint8_t *h = mem + rbytes;
  for (size_t i = 0; i < nr; i++) TRY(get_str(in, &r[i], "reason", 4096, &reasons[i].p, &reasons[i].n));
  TRY(decode_hash_list(in, &f[0], "hashes", 10000000, h, &n));
  TRY(decode_hash_list(in, &f[1], "registered", 10000000, h + 20 * n, &nreg));
  m->hashes = h;
  m->n = n;
  m->registered = h + 20 * n;
  m->nreg = nreg;
  m->reasons = r ? reasons : NULL;
out:
  return rv;
}

int wl_proto_decode_registered_event(struct wl_proto_in *in, struct wl_msg_registered_event *m) {
  msgpack_object *f;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_REGISTERED_EVENT, 2, &f));
  TRY(get_bin_exact(in, &f[0], "hash", 20, m->hash));
  TRY(get_bool(in, &f[1], "registered", &m->registered));
out:
  return rv;
}

int wl_proto_decode_user_get(struct wl_proto_in *in, const char **user, size_t *len) {
  msgpack_object *f;
  int rv;
  TRY(fields(in, WL_MSG_USER_GET, 1, &f));
  TRY(get_str(in, &f[0], "user_id", 64, user, len));
out:
  return rv;
}

int wl_proto_decode_user_rep(struct wl_proto_in *in, struct wl_msg_user_rep *m) {
  msgpack_object *f;
  int rv;
  memset(m, 0, sizeof *m);
  TRY(fields(in, WL_MSG_USER_REP, 3, &f));
  TRY(get_bool(in, &f[0], "found", &m->found));
  TRY(get_u64(in, &f[1], "uploaded", INT64_MAX, &m->uploaded));
  TRY(get_u64(in, &f[2], "downloaded", INT64_MAX, &m->downloaded));
out:
  return rv;
}

int wl_proto_decode_batch(struct wl_proto_in *in, unsigned type, struct wl_msg_batch *m) {
  msgpack_object *f, *items;
  size_t n;
  int rv;
  memset(m, 0, sizeof *m);
  if (type != WL_MSG_ANNOUNCE_BATCH && type != WL_MSG_ANNOUNCE_BATCH_REP)
    return fail(in, "not a batch type");
  TRY(fields(in, type, 1, &f));
  TRY(get_array(in, &f[0], "items", WL_ANNOUNCE_BATCH_MAX, &items, &n));
  m->parts = scratch(in, n, sizeof *m->parts);
  if (m->parts == NULL) return WL_ENOMEM;
  for (size_t i = 0; i < n; i++) TRY(get_bin(in, &items[i], "items[]", 1 << 20, &m->parts[i].p, &m->parts[i].n));
  m->n = n;
out:
  return rv;
}
