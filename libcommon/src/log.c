/* Logging (wl/log.h): one line per call, written with a single write(2) so lines from several
 * threads or processes sharing stderr do not interleave. */
#include "wl/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl/error.h"

static enum wl_log_level g_level = WL_LOG_INFO; /* set once at start, before threads */

void wl_log_set_level(enum wl_log_level lvl) { g_level = lvl; }

int wl_log_parse_level(const char *s, enum wl_log_level *out) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = (enum wl_log_level)i;
      return 0;
    }
  }
  return WL_EINVAL;
}

void wl_log(enum wl_log_level lvl, const char *module, const char *fmt, ...) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (lvl < g_level) return;
  char line[1024];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
  int m = snprintf(line + n, sizeof line - n, "%s %s[%d]: ", names[lvl], module, (int)getpid());
  if (m > 0) n += (size_t)m < sizeof line - n ? (size_t)m : sizeof line - n - 1;
  va_list ap;
  va_start(ap, fmt);
  m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  if (m > 0) n += (size_t)m < sizeof line - n - 1 ? (size_t)m : sizeof line - n - 2;
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w;
}
