/* Project-wide error codes: one X-macro list, negative values, with wl_strerror() (libuv's
 * UV_ERRNO_MAP). Actions return 0 on success or one of these on failure. */
#ifndef WL_ERROR_H
#define WL_ERROR_H

#define WL_ERRNO_MAP(XX)                                                 \
  XX(NOMEM, -1, "out of memory")                                         \
  XX(TOOBIG, -2, "value exceeds its size limit")                         \
  XX(INVAL, -3, "invalid argument")                                      \
  XX(PARSE, -4, "malformed input")                                       \
  XX(DEPTH, -5, "nesting too deep")                                      \
  XX(NOTFOUND, -6, "not found")                                          \
  XX(IO, -7, "input/output error")                                       \
  XX(CLOSED, -8, "closed")                                               \
  XX(TIMEOUT, -9, "timed out")                                           \
  XX(BACKEND, -10, "backend unavailable")                                \
  XX(PROTO, -11, "protocol error")                                       \
  XX(RANGE, -12, "value out of range")                                   \
  XX(EXISTS, -13, "already exists")                                      \
  XX(BLOCKED, -14, "blocked")                                            \
  XX(AUTH, -15, "not authorized")

enum wl_err {
#define XX(name, val, msg) WL_E##name = (val),
  WL_ERRNO_MAP(XX)
#undef XX
};

/* Human text of a WL_E* code (or "unknown error"). Never NULL. */
const char *wl_strerror(int err);

#endif
