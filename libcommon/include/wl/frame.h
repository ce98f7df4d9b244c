/* Framed messages on a byte stream: the announce bus between the gateway and its workers
 * (wl/uvlink.h carries them over libuv). A frame is a 12-byte header, then the payload:
 *
 *   u32 payload length (little endian) | u8 kind | 3 zero bytes | u32 request id (LE)
 *
 * The first frame a worker sends is HELLO with WL_FRAME_HELLO_TEXT as its payload, so that a
 * peer speaking anything else (an NNG socket of an older release, a port scanner) is refused
 * with a clear reason instead of being misread. The reader never trusts a length: a frame
 * longer than its limit, an unknown kind or non-zero reserved bytes end the stream. */
#ifndef WL_FRAME_H
#define WL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"

enum wl_frame_kind {
  WL_FRAME_HELLO = 1, /* worker -> gateway, first frame: protocol and version */
  WL_FRAME_REQ = 2,   /* gateway -> worker: a request (msgpack of proto/), answered once */
  WL_FRAME_REP = 3,   /* worker -> gateway: the answer to the request of the same id */
  WL_FRAME_BYE = 4,   /* worker -> gateway: stopping; send nothing new, in-flight ones end */
};
enum {
  WL_FRAME_HDR = 12,
  WL_FRAME_REQ_MAX = 1 << 20, /* a request's payload: workers read no more, the gateway sends no more */
};
#define WL_FRAME_HELLO_TEXT "weightless announce bus 1"

struct wl_frame {
  uint8_t kind;
  uint32_t id;
  const uint8_t *p; /* into the reader's buffer: valid until the reader is next used */
  size_t n;
};

struct wl_frame_reader {
  struct wl_buf in;
  size_t pos;         /* start of the first frame not yet returned */
  size_t max_payload; /* a longer frame is a protocol error */
  char reason[96];    /* why wl_frame_next failed */
};

void wl_frame_reader_init(struct wl_frame_reader *r, size_t max_payload);
void wl_frame_reader_release(struct wl_frame_reader *r);
/* Room for the next read: at least `want` bytes (fewer only when the buffer's cap is near).
 * Moves the unread bytes to the front first. */
int wl_frame_reader_space(struct wl_frame_reader *r, size_t want, uint8_t **p, size_t *n);
/* n bytes were read into the space. */
void wl_frame_reader_commit(struct wl_frame_reader *r, size_t n);
/* Feeds bytes in one go (tests, fuzzing): space + copy + commit. */
int wl_frame_reader_feed(struct wl_frame_reader *r, const void *p, size_t n);
/* The next complete frame: 1 (and *f), 0 when none is complete yet, WL_EPROTO on a bad header
 * (r->reason says why; the stream is unusable from then on). */
int wl_frame_next(struct wl_frame_reader *r, struct wl_frame *f);
/* Appends a frame to out. */
int wl_frame_append(struct wl_buf *out, enum wl_frame_kind kind, uint32_t id, const void *p,
                    size_t n);

#endif
