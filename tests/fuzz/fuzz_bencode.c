/* libFuzzer target: the bencode decoder (libcommon/src/bencode.c) on arbitrary bytes.
 * Beyond "no crash, no leak, no UB" it checks what the decoder promises: every node's span and
 * subtree index lie inside the input and the node array; a document that decodes re-encodes,
 * through the encoder, to exactly the input (so only canonical forms are accepted); strict-key
 * success implies plain success; dictionary lookup finds every key it was given. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wl/bencode.h"
#include "wl/buf.h"
#include "wl/error.h"

#define CHECK(x)                                                                                \
  do {                                                                                          \
    if (!(x)) __builtin_trap();                                                                 \
  } while (0)

static uint32_t reencode(const struct wl_bdoc *d, uint32_t i, struct wl_buf *b, unsigned depth) {
  const struct wl_bnode *nd = &d->nodes[i];
  CHECK(i < d->n);
  CHECK(nd->next > i && nd->next <= d->n);
  CHECK(nd->start < nd->end && nd->end <= d->input_len);
  switch (nd->type) {
  case WL_BNODE_INT:
    CHECK(wl_benc_int(b, nd->ival) == 0);
    CHECK(nd->next == i + 1);
    return i + 1;
  case WL_BNODE_STR:
    CHECK(nd->str >= d->input && nd->str + nd->slen == d->input + nd->end);
    CHECK(wl_benc_str(b, nd->str, nd->slen) == 0);
    CHECK(nd->next == i + 1);
    return i + 1;
  case WL_BNODE_LIST:
  case WL_BNODE_DICT: {
    CHECK(depth < 64);
    CHECK((nd->type == WL_BNODE_LIST ? wl_benc_list_begin(b) : wl_benc_dict_begin(b)) == 0);
    uint32_t k = i + 1;
    uint64_t items = nd->type == WL_BNODE_LIST ? nd->count : 2 * (uint64_t)nd->count;
    for (uint64_t j = 0; j < items; j++) {
      const struct wl_bnode *c = &d->nodes[k];
      CHECK(c->start >= nd->start && c->end < nd->end);
      if (nd->type == WL_BNODE_DICT && j % 2 == 0) {
        CHECK(c->type == WL_BNODE_STR);
        /* The first value under this key: lookup returns it, or an earlier duplicate's. */
        int64_t v = wl_bdict_get(d, i, (const char *)c->str, c->slen);
        CHECK(v > (int64_t)i && v <= (int64_t)k + 1);
      }
      k = reencode(d, k, b, depth + 1);
    }
    CHECK(k == nd->next);
    CHECK(wl_benc_end(b) == 0);
    return k;
  }
  }
  CHECK(0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct wl_bencode_limits lim = {64, 100000, 0};
  struct wl_bencode_limits strict = {64, 100000, WL_BENCODE_STRICT_KEYS};
  struct wl_bdoc doc;
  struct wl_bencode_error err;

  int rv = wl_bencode_parse(data, size, &lim, &doc, &err);
  if (rv < 0) {
    CHECK(rv == WL_EPARSE || rv == WL_EDEPTH || rv == WL_ETOOBIG);
    CHECK(err.offset <= size);
    CHECK(memchr(err.reason, '\0', sizeof err.reason) != NULL && err.reason[0] != '\0');
    CHECK(doc.nodes == NULL);
  } else {
    CHECK(doc.n >= 1 && doc.nodes[0].next == doc.n);
    CHECK(doc.nodes[0].start == 0 && doc.nodes[0].end == size);
    struct wl_buf b;
    wl_buf_init(&b, size);
    CHECK(reencode(&doc, 0, &b, 0) == doc.n);
    CHECK(b.len == size && (size == 0 || memcmp(b.data, data, size) == 0));
    wl_buf_release(&b);
    wl_bdoc_release(&doc);
  }

  int srv = wl_bencode_parse(data, size, &strict, &doc, &err);
  if (srv == 0) {
    CHECK(rv == 0);
    wl_bdoc_release(&doc);
  } else if (rv < 0) {
    CHECK(srv < 0); /* strictness only adds errors */
  }
  return 0;
}
