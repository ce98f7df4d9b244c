/* wl_strerror: text of the project's error codes (wl/error.h). */
#include "wl/error.h"

const char *wl_strerror(int err) {
  switch (err) {
#define XX(name, val, msg) \
  case (val):              \
    return msg;
    WL_ERRNO_MAP(XX)
#undef XX
  case 0:
    return "success";
  default:
    return "unknown error";
  }
}
