/* Small helpers of the CLI: messages on stderr, size parsing and printing, info hash
 * arguments, whole-file reads and atomic writes. Nothing here is on a hot path. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "wl/error.h"

void wl_cli_err(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fputs("weightless: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

void wl_cli_warn(const char *fmt, ...) {
  va_list ap;
  fflush(stdout);
  fputs("weightless: warning: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

const char *wl_cli_env(const char *name, const char *def) {
  const char *v = getenv(name);
  return (v != NULL && v[0] != '\0') ? v : def;
}

int wl_cli_parse_uint(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0') return WL_EINVAL;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return WL_EINVAL;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10) return WL_EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

int wl_cli_parse_size(const char *s, uint64_t *out) {
  char num[32];
  size_t i = 0;
  while (s[i] >= '0' && s[i] <= '9' && i < sizeof num - 1) {
    num[i] = s[i];
    i++;
  }
  num[i] = '\0';
  uint64_t v;
  if (wl_cli_parse_uint(num, UINT64_MAX, &v) < 0) return WL_EINVAL;
  const char *suf = s + i;
  unsigned shift = 0;
  if (*suf == '\0' || strcmp(suf, "B") == 0)
    shift = 0;
  else if (strchr("kK", suf[0]) != NULL)
    shift = 10;
  else if (suf[0] == 'M' || suf[0] == 'm')
    shift = 20;
  else if (suf[0] == 'G' || suf[0] == 'g')
    shift = 30;
  else
    return WL_EINVAL;
  if (shift != 0) {
    const char *rest = suf + 1;
    if (*rest != '\0' && strcmp(rest, "B") != 0 && strcmp(rest, "iB") != 0 &&
        strcmp(rest, "ib") != 0 && strcmp(rest, "b") != 0)
      return WL_EINVAL;
  }
  if (shift != 0 && v > (UINT64_MAX >> shift)) return WL_EINVAL;
  *out = v << shift;
  return 0;
}

void wl_cli_human_size(uint64_t n, char *out, size_t cap) {
  static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (n < 1024) {
    snprintf(out, cap, "%llu B", (unsigned long long)n);
    return;
  }
  double v = (double)n;
  unsigned u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    u++;
  }
  snprintf(out, cap, v < 10.0 ? "%.2f %s" : (v < 100.0 ? "%.1f %s" : "%.0f %s"), v, units[u]);
}

int wl_cli_parse_hash(const char *s, char out[65]) {
  size_t n = strlen(s);
  if (n != 40 && n != 64) return WL_EPARSE;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return WL_EPARSE;
    out[i] = c;
  }
  out[n] = '\0';
  return 0;
}

int wl_cli_read_file(const char *path, size_t max, struct wl_buf *out) {
  int rv = 0;
  wl_buf_init(out, max);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return WL_EIO;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    rv = WL_EIO;
    goto out_close;
  }
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    rv = WL_EIO;
    goto out_close;
  }
  for (;;) {
    if (out->len == max) {
      /* exactly max bytes is fine; one more is not */
      char probe;
      ssize_t k = read(fd, &probe, 1);
      rv = k == 0 ? 0 : WL_ETOOBIG;
      break;
    }
    size_t want = max - out->len < 65536 ? max - out->len : 65536;
    rv = wl_buf_reserve(out, want);
    if (rv < 0) break;
    ssize_t k = read(fd, out->data + out->len, out->cap - out->len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rv = WL_EIO;
      break;
    }
    if (k == 0) break;
    out->len += (size_t)k;
  }
  if (rv < 0) {
    int e = errno;
    wl_buf_release(out);
    errno = e;
  }
out_close: {
  int e = errno;
  close(fd);
  errno = e;
}
  return rv;
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *q = p;
  while (n > 0) {
    ssize_t k = write(fd, q, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return WL_EIO;
    q += k;
    n -= (size_t)k;
  }
  return 0;
}

int wl_cli_write_file(const char *path, const void *p, size_t n) {
  if (strcmp(path, "-") == 0) {
    fflush(stdout);
    return write_all(STDOUT_FILENO, p, n);
  }
  char tmp[4096];
  int k = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (k < 0 || (size_t)k >= sizeof tmp) {
    errno = ENAMETOOLONG;
    return WL_EIO;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return WL_EIO;
  int rv = write_all(fd, p, n);
  if (rv < 0) goto out_unlink;
  if (close(fd) < 0) {
    fd = -1;
    rv = WL_EIO;
    goto out_unlink;
  }
  fd = -1;
  if (rename(tmp, path) < 0) {
    rv = WL_EIO;
    goto out_unlink;
  }
  return 0;

out_unlink: {
  int e = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  errno = e;
}
  return rv;
}

int wl_cli_exit_for(int err) {
  switch (err) {
  case 0:
    return WL_EXIT_OK;
  case WL_EIO:
    return WL_EXIT_IO;
  case WL_ENOMEM:
    return WL_EXIT_INTERNAL;
  case WL_EBACKEND:
  case WL_ETIMEOUT:
    return WL_EXIT_UNREACHABLE;
  case WL_EINVAL:
    return WL_EXIT_USAGE;
  default:
    return WL_EXIT_DATA;
  }
}

int wl_cli_pct_encode(struct wl_buf *b, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned c = *p;
    bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == '~';
    int rv;
    if (keep) {
      rv = wl_buf_appendc(b, (uint8_t)c);
    } else {
      char t[3] = {'%', hex[c >> 4], hex[c & 15]};
      rv = wl_buf_append(b, t, 3);
    }
    if (rv < 0) return rv;
  }
  return 0;
}

int wl_cli_magnet(struct wl_buf *b, const char *v1hex, const char *v2hex, const char *name,
                  const char *tracker) {
  int rv = wl_buf_appends(b, "magnet:?");
  const char *sep = "";
  if (rv == 0 && v1hex != NULL) {
    rv = wl_buf_appendf(b, "xt=urn:btih:%s", v1hex);
    sep = "&";
  }
  if (rv == 0 && v2hex != NULL) rv = wl_buf_appendf(b, "%sxt=urn:btmh:1220%s", sep, v2hex);
  if (rv == 0 && name != NULL && name[0]) {
    rv = wl_buf_appends(b, "&dn=");
    if (rv == 0) rv = wl_cli_pct_encode(b, name);
  }
  if (rv == 0 && tracker != NULL && tracker[0]) {
    rv = wl_buf_appends(b, "&tr=");
    if (rv == 0) rv = wl_cli_pct_encode(b, tracker);
  }
  return rv;
}
