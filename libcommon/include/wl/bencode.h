/* Bencoding (BEP 3): a strict decoder into a flat node array and an encoder into a wl_buf.
 *
 * Decoder: canonical integers only ("i0e", "i-5e"; never "i-0e", "i05e", "ie"), string lengths
 * without leading zeros, dictionary keys strings, optionally sorted and unique
 * (WL_BENCODE_STRICT_KEYS), nesting depth and node count limits, nothing after the top-level
 * value. Every node records its exact byte span in the input, so a caller can hash the info
 * dictionary as it stands in the file. Errors give the byte offset and a reason.
 *
 * Nodes are stored in document order in one array; a container's children follow it, and
 * `next` is the index just past the node's whole subtree (so siblings are walked with
 * i = nodes[i].next). The input must outlive the document (strings point into it). */
#ifndef WL_BENCODE_H
#define WL_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/buf.h"

enum wl_bnode_type { WL_BNODE_INT = 1, WL_BNODE_STR, WL_BNODE_LIST, WL_BNODE_DICT };

struct wl_bnode {
  enum wl_bnode_type type;
  uint32_t next;   /* index of the node after this subtree */
  uint32_t count;  /* list: items; dict: key/value pairs; else 0 */
  size_t start;    /* offset of the first byte of this value in the input */
  size_t end;      /* offset just past its last byte */
  int64_t ival;    /* INT */
  const uint8_t *str; /* STR: points into the input */
  size_t slen;        /* STR */
};

enum { WL_BENCODE_STRICT_KEYS = 1 }; /* dict keys must be sorted and unique */

struct wl_bencode_limits {
  uint32_t max_depth; /* e.g. 64 */
  uint32_t max_nodes; /* e.g. 1,000,000 */
  unsigned flags;
};

struct wl_bdoc {
  struct wl_bnode *nodes; /* owned */
  uint32_t n;
  const uint8_t *input;
  size_t input_len;
};

struct wl_bencode_error {
  size_t offset;    /* byte offset where decoding failed */
  char reason[96];  /* e.g. "leading zero in integer" */
};

/* Decodes p[0..n) completely. On success fills *doc (release with wl_bdoc_release) and returns
 * 0; on failure returns WL_EPARSE / WL_EDEPTH / WL_ETOOBIG / WL_ENOMEM, fills *err if non-NULL,
 * and *doc holds nothing to release. lim NULL means depth 64, 1,000,000 nodes, no flags. */
int wl_bencode_parse(const uint8_t *p, size_t n, const struct wl_bencode_limits *lim,
                     struct wl_bdoc *doc, struct wl_bencode_error *err);
void wl_bdoc_release(struct wl_bdoc *doc);

/* Dictionary lookup: index of the value whose key equals key (length klen) in the dict at index
 * d, or -1. Children of a dict alternate key, value. */
int64_t wl_bdict_get(const struct wl_bdoc *doc, uint32_t d, const char *key, size_t klen);
static inline int64_t wl_bdict_gets(const struct wl_bdoc *doc, uint32_t d, const char *key) {
  size_t n = 0;
  while (key[n]) n++;
  return wl_bdict_get(doc, d, key, n);
}

/* Encoder: each appends to b and returns 0 or WL_ETOOBIG/WL_ENOMEM. The caller writes dict keys
 * in sorted order. */
int wl_benc_int(struct wl_buf *b, int64_t v);
int wl_benc_str(struct wl_buf *b, const void *p, size_t n);
int wl_benc_strz(struct wl_buf *b, const char *s);
int wl_benc_list_begin(struct wl_buf *b);
int wl_benc_dict_begin(struct wl_buf *b);
int wl_benc_end(struct wl_buf *b);

#endif
