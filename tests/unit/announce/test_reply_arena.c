/* reply_arena.c: hiredis replies built in the arena are the same as hiredis' own (strings,
 * errors, status, integers, nil, nested arrays, a reply split across feeds), and freeing a
 * reply resets the arena, also after replies bigger than its resident block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reply_arena.h"

static redisReply *get(redisReader *r) {
  void *reply = NULL;
  assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
  return reply;
}

static void types_and_nesting(void **state) {
  (void)state;
  struct wl_rarena a;
  assert_int_equal(wl_rarena_init(&a, 4096), 0);
  redisReader *r = redisReaderCreate();
  wl_rarena_attach(&a, r);
  const char *in = "*6\r\n:42\r\n$3\r\nabc\r\n$-1\r\n*2\r\n$0\r\n\r\n:-7\r\n+OK\r\n*0\r\n"
                   "-NOSCRIPT No matching script\r\n";
  assert_int_equal(redisReaderFeed(r, in, strlen(in)), REDIS_OK);
  redisReply *x = get(r);
  assert_non_null(x);
  assert_int_equal(x->type, REDIS_REPLY_ARRAY);
  assert_int_equal(x->elements, 6);
  assert_int_equal(x->element[0]->integer, 42);
  assert_int_equal(x->element[1]->type, REDIS_REPLY_STRING);
  assert_int_equal(x->element[1]->len, 3);
  assert_string_equal(x->element[1]->str, "abc");
  assert_int_equal(x->element[2]->type, REDIS_REPLY_NIL);
  assert_int_equal(x->element[3]->elements, 2);
  assert_int_equal(x->element[3]->element[0]->len, 0);
  assert_int_equal(x->element[3]->element[1]->integer, -7);
  assert_int_equal(x->element[4]->type, REDIS_REPLY_STATUS);
  assert_string_equal(x->element[4]->str, "OK");
  assert_int_equal(x->element[5]->elements, 0);
  assert_true(a.used > 0);
  r->fn->freeObject(x);
  assert_int_equal(a.used, 0);
  redisReply *e = get(r);
  assert_int_equal(e->type, REDIS_REPLY_ERROR);
  assert_string_equal(e->str, "NOSCRIPT No matching script");
  r->fn->freeObject(e);
  redisReaderFree(r);
  wl_rarena_release(&a);
}

static void split_feeds_and_big_replies(void **state) {
  (void)state;
  struct wl_rarena a;
  assert_int_equal(wl_rarena_init(&a, 256), 0);
  redisReader *r = redisReaderCreate();
  wl_rarena_attach(&a, r);
  /* 300 six-byte peers: far more than the 256-byte resident block */
  char buf[8192];
  size_t n = (size_t)snprintf(buf, sizeof buf, "*300\r\n");
  for (int i = 0; i < 300; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "$6\r\npeer%02d\r\n", i % 100);
  /* fed in two parts: the reply is built across both */
  assert_int_equal(redisReaderFeed(r, buf, 1000), REDIS_OK);
  void *none = NULL;
  assert_int_equal(redisReaderGetReply(r, &none), REDIS_OK);
  assert_null(none);
  assert_int_equal(redisReaderFeed(r, buf + 1000, n - 1000), REDIS_OK);
  redisReply *x = get(r);
  assert_int_equal(x->elements, 300);
  assert_memory_equal(x->element[299]->str, "peer99", 6);
  assert_non_null(a.big);
  r->fn->freeObject(x);
  assert_null(a.big);
  assert_int_equal(a.used, 0);
  /* a partial reply is released with the reader */
  assert_int_equal(redisReaderFeed(r, buf, 500), REDIS_OK);
  assert_int_equal(redisReaderGetReply(r, &none), REDIS_OK);
  redisReaderFree(r);
  assert_null(a.big);
  wl_rarena_release(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(types_and_nesting),
      cmocka_unit_test(split_feeds_and_big_replies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
