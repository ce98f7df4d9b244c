/* Unit tests of the bencode decoder and encoder (libcommon/src/bencode.c): valid documents and
 * their node layout, every malformed form with its exact error offset, key order, depth and
 * node limits, and encoder round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wl/bencode.h"
#include "wl/error.h"

static int parse_s(const char *s, const struct wl_bencode_limits *lim, struct wl_bdoc *doc,
                   struct wl_bencode_error *err) {
  size_t n = strlen(s);
  /* A heap copy of exactly n bytes, so ASan catches any read past the end. */
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, s, n);
  int rv = wl_bencode_parse(p, n, lim, doc, err);
  if (rv == 0) {
    /* Keep the input alive as long as the doc: tests free it with free_doc(). */
    doc->input = p;
  } else {
    free(p);
  }
  return rv;
}

static void free_doc(struct wl_bdoc *doc) {
  free((void *)doc->input);
  wl_bdoc_release(doc);
}

/* Re-encodes node i (and its subtree) with the encoder; returns the next node index. */
static uint32_t reencode(const struct wl_bdoc *d, uint32_t i, struct wl_buf *b) {
  const struct wl_bnode *nd = &d->nodes[i];
  switch (nd->type) {
  case WL_BNODE_INT:
    assert_int_equal(wl_benc_int(b, nd->ival), 0);
    return i + 1;
  case WL_BNODE_STR:
    assert_int_equal(wl_benc_str(b, nd->str, nd->slen), 0);
    return i + 1;
  case WL_BNODE_LIST:
  case WL_BNODE_DICT: {
    assert_int_equal(nd->type == WL_BNODE_LIST ? wl_benc_list_begin(b) : wl_benc_dict_begin(b), 0);
    uint32_t k = i + 1;
    uint32_t items = nd->type == WL_BNODE_LIST ? nd->count : 2 * nd->count;
    for (uint32_t j = 0; j < items; j++) k = reencode(d, k, b);
    assert_int_equal(k, nd->next);
    assert_int_equal(wl_benc_end(b), 0);
    return k;
  }
  }
  fail();
  return 0;
}

static void assert_roundtrip(const char *s) {
  struct wl_bdoc doc;
  struct wl_bencode_error err;
  int rv = parse_s(s, NULL, &doc, &err);
  if (rv != 0) fail_msg("'%s': %s at %zu", s, err.reason, err.offset);
  struct wl_buf b;
  wl_buf_init(&b, 1 << 20);
  assert_int_equal(reencode(&doc, 0, &b), doc.n);
  assert_int_equal(b.len, strlen(s));
  assert_memory_equal(b.data, s, b.len);
  wl_buf_release(&b);
  free_doc(&doc);
}

static void test_scalars(void **state) {
  (void)state;
  struct wl_bdoc doc;
  static const struct {
    const char *in;
    int64_t v;
  } ints[] = {{"i0e", 0},
              {"i1e", 1},
              {"i-1e", -1},
              {"i42e", 42},
              {"i9223372036854775807e", INT64_MAX},
              {"i-9223372036854775808e", INT64_MIN}};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    assert_int_equal(parse_s(ints[i].in, NULL, &doc, NULL), 0);
    assert_int_equal(doc.n, 1);
    assert_int_equal(doc.nodes[0].type, WL_BNODE_INT);
    assert_true(doc.nodes[0].ival == ints[i].v);
    assert_int_equal(doc.nodes[0].start, 0);
    assert_int_equal(doc.nodes[0].end, strlen(ints[i].in));
    assert_int_equal(doc.nodes[0].next, 1);
    free_doc(&doc);
  }
  assert_int_equal(parse_s("0:", NULL, &doc, NULL), 0);
  assert_int_equal(doc.nodes[0].type, WL_BNODE_STR);
  assert_int_equal(doc.nodes[0].slen, 0);
  free_doc(&doc);
  assert_int_equal(parse_s("5:hello", NULL, &doc, NULL), 0);
  assert_int_equal(doc.nodes[0].slen, 5);
  assert_memory_equal(doc.nodes[0].str, "hello", 5);
  assert_ptr_equal(doc.nodes[0].str, doc.input + 2);
  free_doc(&doc);
  /* Binary strings, NUL included. */
  static const uint8_t bin[] = {'3', ':', 0, 0xff, 'e'};
  assert_int_equal(wl_bencode_parse(bin, sizeof bin, NULL, &doc, NULL), 0);
  assert_int_equal(doc.nodes[0].slen, 3);
  assert_int_equal(doc.input_len, sizeof bin);
  wl_bdoc_release(&doc);
  /* A string length of ten or more digits. */
  char big[64];
  snprintf(big, sizeof big, "12:%s", "abcdefghijkl");
  assert_int_equal(parse_s(big, NULL, &doc, NULL), 0);
  assert_int_equal(doc.nodes[0].slen, 12);
  free_doc(&doc);
}

static void test_containers(void **state) {
  (void)state;
  struct wl_bdoc doc;
  /* d 1:a l i1e i2e e 1:b d e 1:c 0: e */
  const char *s = "d1:ali1ei2ee1:bde1:c0:e";
  assert_int_equal(parse_s(s, NULL, &doc, NULL), 0);
  assert_int_equal(doc.n, 9);
  const struct wl_bnode *nd = doc.nodes;
  assert_int_equal(nd[0].type, WL_BNODE_DICT);
  assert_int_equal(nd[0].count, 3);
  assert_int_equal(nd[0].next, 9);
  assert_int_equal(nd[0].start, 0);
  assert_int_equal(nd[0].end, strlen(s));
  assert_int_equal(nd[1].type, WL_BNODE_STR); /* "a" */
  assert_int_equal(nd[2].type, WL_BNODE_LIST);
  assert_int_equal(nd[2].count, 2);
  assert_int_equal(nd[2].next, 5);
  assert_int_equal(nd[2].start, 4);
  assert_int_equal(nd[2].end, 12);
  assert_true(nd[3].ival == 1 && nd[4].ival == 2);
  assert_int_equal(nd[6].type, WL_BNODE_DICT);
  assert_int_equal(nd[6].count, 0);
  assert_int_equal(nd[6].next, 7);
  assert_int_equal(nd[8].slen, 0);

  assert_int_equal(wl_bdict_gets(&doc, 0, "a"), 2);
  assert_int_equal(wl_bdict_gets(&doc, 0, "b"), 6);
  assert_int_equal(wl_bdict_gets(&doc, 0, "c"), 8);
  assert_int_equal(wl_bdict_gets(&doc, 0, "d"), -1);
  assert_int_equal(wl_bdict_gets(&doc, 0, ""), -1);
  assert_int_equal(wl_bdict_gets(&doc, 0, "ab"), -1);
  assert_int_equal(wl_bdict_gets(&doc, 2, "a"), -1);  /* a list */
  assert_int_equal(wl_bdict_gets(&doc, 6, "a"), -1);  /* empty dict */
  assert_int_equal(wl_bdict_gets(&doc, 99, "a"), -1); /* out of range */
  free_doc(&doc);

  /* An empty key, and (without strict keys) duplicates: the first one wins. */
  assert_int_equal(parse_s("d0:i7e1:xi1e1:xi2ee", NULL, &doc, NULL), 0);
  assert_int_equal(doc.nodes[wl_bdict_get(&doc, 0, "", 0)].ival, 7);
  assert_int_equal(doc.nodes[wl_bdict_gets(&doc, 0, "x")].ival, 1);
  free_doc(&doc);

  assert_int_equal(parse_s("le", NULL, &doc, NULL), 0);
  assert_int_equal(doc.n, 1);
  assert_int_equal(doc.nodes[0].count, 0);
  free_doc(&doc);
}

struct bad {
  const char *in;
  int code;
  size_t offset;
  const char *reason;
};

static void check_bad(const struct bad *cases, size_t n, const struct wl_bencode_limits *lim) {
  int failed = 0;
  for (size_t i = 0; i < n; i++) {
    struct wl_bdoc doc;
    struct wl_bencode_error err;
    memset(&err, 'x', sizeof err);
    int rv = parse_s(cases[i].in, lim, &doc, &err);
    if (rv != cases[i].code || err.offset != cases[i].offset ||
        strstr(err.reason, cases[i].reason) == NULL) {
      print_error("'%s': got %d at %zu '%s', want %d at %zu '%s'\n", cases[i].in, rv,
                  err.offset, err.reason, cases[i].code, cases[i].offset, cases[i].reason);
      failed++;
    }
    if (rv == 0) free_doc(&doc);
    else assert_null(doc.nodes);
  }
  assert_int_equal(failed, 0);
}

static void test_malformed(void **state) {
  (void)state;
  static const struct bad cases[] = {
      {"", WL_EPARSE, 0, "empty input"},
      /* integers */
      {"ie", WL_EPARSE, 1, "integer has no digits"},
      {"i-e", WL_EPARSE, 2, "integer has no digits"},
      {"i-0e", WL_EPARSE, 2, "negative zero"},
      {"i-00e", WL_EPARSE, 2, "negative zero"},
      {"i05e", WL_EPARSE, 2, "leading zero in integer"},
      {"i00e", WL_EPARSE, 2, "leading zero in integer"},
      {"i1x", WL_EPARSE, 2, "unexpected byte 'x' in integer"},
      {"i+1e", WL_EPARSE, 1, "unexpected byte '+' in integer"},
      {"i 1e", WL_EPARSE, 1, "unexpected byte ' ' in integer"},
      {"i1.5e", WL_EPARSE, 2, "unexpected byte '.' in integer"},
      {"i--1e", WL_EPARSE, 2, "unexpected byte '-' in integer"},
      {"i", WL_EPARSE, 1, "input ends inside an integer"},
      {"i-", WL_EPARSE, 2, "input ends inside an integer"},
      {"i12", WL_EPARSE, 3, "input ends inside an integer"},
      {"i9223372036854775808e", WL_EPARSE, 19, "integer overflows 64 bits"},
      {"i-9223372036854775809e", WL_EPARSE, 20, "integer overflows 64 bits"},
      {"i99999999999999999999999e", WL_EPARSE, 19, "integer overflows 64 bits"},
      /* strings */
      {"05:hello", WL_EPARSE, 0, "leading zero in string length"},
      {"00:", WL_EPARSE, 0, "leading zero in string length"},
      {"5:abc", WL_EPARSE, 0, "string length 5 exceeds the remaining 3 bytes"},
      {"1:", WL_EPARSE, 0, "string length 1 exceeds the remaining 0 bytes"},
      {"99999999999999999999999999:x", WL_EPARSE, 0, "string length exceeds"},
      {"18446744073709551616:", WL_EPARSE, 0, "string length exceeds"},
      {"5abc", WL_EPARSE, 1, "expected ':' after string length, got 'a'"},
      {"-1:a", WL_EPARSE, 0, "unexpected byte '-' where a value should start"},
      {"5", WL_EPARSE, 1, "input ends inside a string length"},
      {"12", WL_EPARSE, 2, "input ends inside a string length"},
      /* containers */
      {"l", WL_EPARSE, 1, "input ends inside a list"},
      {"li1e", WL_EPARSE, 4, "input ends inside a list"},
      {"lli1ee", WL_EPARSE, 6, "input ends inside a list"},
      {"d", WL_EPARSE, 1, "input ends inside a dict"},
      {"d1:a", WL_EPARSE, 4, "input ends inside a dict"},
      {"d1:ai1e", WL_EPARSE, 7, "input ends inside a dict"},
      {"d1:ae", WL_EPARSE, 4, "dict key without a value"},
      {"di1ei2ee", WL_EPARSE, 1, "dict key is not a string (starts with 'i')"},
      {"dlei1ee", WL_EPARSE, 1, "dict key is not a string (starts with 'l')"},
      {"ddei1ee", WL_EPARSE, 1, "dict key is not a string (starts with 'd')"},
      {"d1:a1:bi1ei2ee", WL_EPARSE, 7, "dict key is not a string"},
      {"e", WL_EPARSE, 0, "unexpected byte 'e' where a value should start"},
      {"x", WL_EPARSE, 0, "unexpected byte 'x'"},
      {"l\x01" "e", WL_EPARSE, 1, "unexpected byte 0x01"},
      {"li1e\x80" "e", WL_EPARSE, 4, "unexpected byte 0x80"},
      /* trailing data */
      {"i1ee", WL_EPARSE, 3, "1 bytes of trailing data"},
      {"i1ei2e", WL_EPARSE, 3, "3 bytes of trailing data"},
      {"lee", WL_EPARSE, 2, "trailing data"},
      {"0: ", WL_EPARSE, 2, "trailing data"},
      {"de\n", WL_EPARSE, 2, "trailing data"},
  };
  check_bad(cases, sizeof cases / sizeof *cases, NULL);

  /* Truncation at every point of a valid document is an error at the end of the input. */
  const char *full = "d3:bari-42e3:fool1:xi0ed1:y0:eee";
  for (size_t cut = 0; cut < strlen(full); cut++) {
    char tmp[64];
    memcpy(tmp, full, cut);
    tmp[cut] = '\0';
    struct wl_bdoc doc;
    struct wl_bencode_error err;
    assert_int_equal(parse_s(tmp, NULL, &doc, &err), WL_EPARSE);
    assert_true(err.offset <= cut);
  }
}

static void test_strict_keys(void **state) {
  (void)state;
  struct wl_bencode_limits strict = {64, 1000, WL_BENCODE_STRICT_KEYS};
  static const struct bad cases[] = {
      {"d1:bi1e1:ai2ee", WL_EPARSE, 7, "dict keys not sorted"},
      {"d1:ai1e1:ai2ee", WL_EPARSE, 7, "duplicate dict key"},
      {"d2:abi1e1:ai2ee", WL_EPARSE, 8, "dict keys not sorted"}, /* prefix sorts first */
      {"d0:i1e0:i2ee", WL_EPARSE, 6, "duplicate dict key"},
      {"d1:\xff" "i1e1:ai2ee", WL_EPARSE, 7, "dict keys not sorted"}, /* bytewise, unsigned */
      {"d1:ad1:yi1e1:xi2eee", WL_EPARSE, 11, "dict keys not sorted"},   /* nested */
      {"ld1:bi1e1:ai2eee", WL_EPARSE, 8, "dict keys not sorted"},
  };
  check_bad(cases, sizeof cases / sizeof *cases, &strict);
  /* Sorted and unique: fine, as are the same keys in different dicts. */
  struct wl_bdoc doc;
  assert_int_equal(parse_s("d0:i0e1:ai1e2:aai2e1:bd1:ai1e1:bi2eee", &strict, &doc, NULL), 0);
  free_doc(&doc);
  assert_int_equal(parse_s("d1:\x7fi1e1:\x80i2ee", &strict, &doc, NULL), 0);
  free_doc(&doc);
  /* Without the flag the same unsorted input is accepted. */
  assert_int_equal(parse_s("d1:bi1e1:ai2ee", NULL, &doc, NULL), 0);
  free_doc(&doc);
}

static void test_limits(void **state) {
  (void)state;
  struct wl_bdoc doc;
  struct wl_bencode_error err;
  struct wl_bencode_limits lim = {3, 1000, 0};
  assert_int_equal(parse_s("llleee", &lim, &doc, NULL), 0);
  free_doc(&doc);
  assert_int_equal(parse_s("d1:ad1:ali1eeee", &lim, &doc, NULL), 0);
  free_doc(&doc);
  assert_int_equal(parse_s("lllleeee", &lim, &doc, &err), WL_EDEPTH);
  assert_int_equal(err.offset, 3);
  assert_string_equal(err.reason, "nesting deeper than 3");
  assert_int_equal(parse_s("d1:ad1:ad1:ad1:aeeeee", &lim, &doc, &err), WL_EDEPTH);
  assert_int_equal(err.offset, 12);

  struct wl_bencode_limits flat = {0, 10, 0};
  assert_int_equal(parse_s("i5e", &flat, &doc, NULL), 0);
  free_doc(&doc);
  assert_int_equal(parse_s("le", &flat, &doc, &err), WL_EDEPTH);
  assert_int_equal(err.offset, 0);

  /* Node limit: exactly max_nodes values pass, one more fails at that value. */
  struct wl_bencode_limits few = {64, 4, 0};
  assert_int_equal(parse_s("li1ei2ei3ee", &few, &doc, NULL), 0);
  assert_int_equal(doc.n, 4);
  free_doc(&doc);
  assert_int_equal(parse_s("li1ei2ei3ei4ee", &few, &doc, &err), WL_ETOOBIG);
  assert_int_equal(err.offset, 10);
  assert_string_equal(err.reason, "more than 4 values");
  struct wl_bencode_limits none = {64, 0, 0};
  assert_int_equal(parse_s("0:", &none, &doc, &err), WL_ETOOBIG);

  /* Deep nesting with the default limit (64): 64 passes, 65 fails; 100000 costs nothing. */
  size_t deep = 100000;
  char *s = malloc(2 * deep + 1);
  for (size_t d = 64; d <= 65; d++) {
    memset(s, 'l', d);
    memset(s + d, 'e', d);
    s[2 * d] = '\0';
    assert_int_equal(parse_s(s, NULL, &doc, &err), d == 64 ? 0 : WL_EDEPTH);
    if (d == 64) free_doc(&doc);
  }
  memset(s, 'l', deep);
  memset(s + deep, 'e', deep);
  s[2 * deep] = '\0';
  struct wl_bencode_limits huge_depth = {UINT32_MAX, UINT32_MAX, 0};
  assert_int_equal(parse_s(s, &huge_depth, &doc, &err), 0);
  assert_int_equal(doc.n, deep);
  assert_int_equal(doc.nodes[0].next, deep);
  assert_int_equal(doc.nodes[deep - 1].next, deep);
  free_doc(&doc);
  free(s);

  /* Many values: the node array grows past its first sizes. */
  size_t count = 200000;
  s = malloc(3 * count + 3);
  size_t o = 0;
  s[o++] = 'l';
  for (size_t i = 0; i < count; i++) {
    memcpy(s + o, "i7e", 3);
    o += 3;
  }
  s[o++] = 'e';
  s[o] = '\0';
  assert_int_equal(parse_s(s, NULL, &doc, NULL), 0);
  assert_int_equal(doc.n, count + 1);
  assert_int_equal(doc.nodes[0].count, count);
  assert_int_equal(doc.nodes[count].ival, 7);
  free_doc(&doc);
  free(s);
}

static void test_api_edges(void **state) {
  (void)state;
  struct wl_bdoc doc;
  assert_int_equal(wl_bencode_parse(NULL, 0, NULL, &doc, NULL), WL_EPARSE);
  assert_int_equal(wl_bencode_parse(NULL, 5, NULL, &doc, NULL), WL_EINVAL);
  wl_bdoc_release(NULL);
  memset(&doc, 0, sizeof doc);
  wl_bdoc_release(&doc);
  assert_int_equal(wl_bdict_gets(&doc, 0, "a"), -1);
  assert_int_equal(wl_bdict_gets(NULL, 0, "a"), -1);
}

static void test_encoder(void **state) {
  (void)state;
  struct wl_buf b;
  wl_buf_init(&b, 4096);
  assert_int_equal(wl_benc_dict_begin(&b), 0);
  assert_int_equal(wl_benc_strz(&b, "complete"), 0);
  assert_int_equal(wl_benc_int(&b, 5), 0);
  assert_int_equal(wl_benc_strz(&b, "max"), 0);
  assert_int_equal(wl_benc_int(&b, INT64_MAX), 0);
  assert_int_equal(wl_benc_strz(&b, "min"), 0);
  assert_int_equal(wl_benc_int(&b, INT64_MIN), 0);
  assert_int_equal(wl_benc_strz(&b, "peers"), 0);
  assert_int_equal(wl_benc_str(&b, "\0\x01\x02\x03\x04\x05", 6), 0);
  assert_int_equal(wl_benc_strz(&b, "z"), 0);
  assert_int_equal(wl_benc_list_begin(&b), 0);
  assert_int_equal(wl_benc_int(&b, 0), 0);
  assert_int_equal(wl_benc_int(&b, -1), 0);
  assert_int_equal(wl_benc_str(&b, "", 0), 0);
  assert_int_equal(wl_benc_end(&b), 0);
  assert_int_equal(wl_benc_end(&b), 0);
  static const char want[] = "d8:completei5e3:maxi9223372036854775807e3:mini-9223372036854775808e"
                             "5:peers6:\0\x01\x02\x03\x04\x05" "1:zli0ei-1e0:ee";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.data, want, b.len);

  /* The encoder's output decodes, strictly, to the same values. */
  struct wl_bencode_limits strict = {64, 100, WL_BENCODE_STRICT_KEYS};
  struct wl_bdoc doc;
  assert_int_equal(wl_bencode_parse(b.data, b.len, &strict, &doc, NULL), 0);
  assert_true(doc.nodes[wl_bdict_gets(&doc, 0, "min")].ival == INT64_MIN);
  assert_true(doc.nodes[wl_bdict_gets(&doc, 0, "max")].ival == INT64_MAX);
  assert_int_equal(doc.nodes[wl_bdict_gets(&doc, 0, "peers")].slen, 6);
  wl_bdoc_release(&doc);
  wl_buf_release(&b);

  /* A long string: the length prefix has many digits. */
  wl_buf_init(&b, 1 << 20);
  char *big = malloc(123456);
  memset(big, 'q', 123456);
  assert_int_equal(wl_benc_str(&b, big, 123456), 0);
  assert_memory_equal(b.data, "123456:", 7);
  assert_int_equal(b.len, 7 + 123456);
  free(big);
  wl_buf_release(&b);
}

/* At the buffer's cap a token is appended whole or not at all. */
static void test_encoder_cap(void **state) {
  (void)state;
  struct wl_buf b;
  wl_buf_init(&b, 10);
  assert_int_equal(wl_benc_str(&b, "abcdef", 6), 0); /* "6:abcdef" = 8 */
  assert_int_equal(b.len, 8);
  assert_int_equal(wl_benc_str(&b, "x", 1), WL_ETOOBIG); /* "1:x" = 3 > 2 left */
  assert_int_equal(b.len, 8);
  assert_int_equal(wl_benc_int(&b, 10), WL_ETOOBIG); /* "i10e" */
  assert_int_equal(b.len, 8);
  assert_int_equal(wl_benc_int(&b, -1), WL_ETOOBIG); /* "i-1e" */
  assert_int_equal(b.len, 8);
  assert_int_equal(wl_benc_end(&b), 0);
  assert_int_equal(wl_benc_end(&b), 0);
  assert_int_equal(b.len, 10);
  assert_int_equal(wl_benc_list_begin(&b), WL_ETOOBIG);
  assert_int_equal(wl_benc_dict_begin(&b), WL_ETOOBIG);
  assert_int_equal(wl_benc_str(&b, "", 0), WL_ETOOBIG);
  assert_int_equal(wl_benc_str(&b, "", SIZE_MAX), WL_ETOOBIG); /* no overflow */
  assert_int_equal(b.len, 10);
  assert_memory_equal(b.data, "6:abcdefee", 10);
  wl_buf_release(&b);
}

static void test_roundtrip(void **state) {
  (void)state;
  static const char *docs[] = {
      "i0e", "i-7e", "0:", "4:spam", "le", "de", "lli1eeli2eee", "d1:ad1:bd1:clleeeee",
      "d8:intervali1800e5:peers12:abcdefghijkle",
      "d1:bi1e1:ai2ee", /* unsorted: kept as it is */
      "l0:0:0:d0:0:ee",
  };
  for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) assert_roundtrip(docs[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalars),     cmocka_unit_test(test_containers),
      cmocka_unit_test(test_malformed),   cmocka_unit_test(test_strict_keys),
      cmocka_unit_test(test_limits),      cmocka_unit_test(test_api_edges),
      cmocka_unit_test(test_encoder),     cmocka_unit_test(test_encoder_cap),
      cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
