/* A small JSON writer for the registry's answers: appends to a capped wl_buf with a sticky
 * error (the first failed append is remembered, later calls do nothing), so a long answer is
 * written without checking every call. Strings are escaped per RFC 8259; bytes that are not
 * valid UTF-8 (never expected: every input is validated) come out as U+FFFD. jansson is used
 * for parsing requests only: writing by hand keeps key order and avoids a tree per answer
 * (a meta answer can list a million files). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "registry.h"
#include "wl/error.h"

void wl__jw_init(struct wl_jw *w, struct wl_buf *b) {
  w->b = b;
  w->err = 0;
  w->first = true;
}

static void put(struct wl_jw *w, const void *p, size_t n) {
  if (w->err == 0) w->err = wl_buf_append(w->b, p, n);
}

void wl__jw_raw(struct wl_jw *w, const char *s) { put(w, s, strlen(s)); }

void wl__jw_obj_open(struct wl_jw *w) {
  put(w, "{", 1);
  w->first = true;
}
void wl__jw_obj_close(struct wl_jw *w) {
  put(w, "}", 1);
  w->first = false;
}
void wl__jw_arr_open(struct wl_jw *w) {
  put(w, "[", 1);
  w->first = true;
}
void wl__jw_arr_close(struct wl_jw *w) {
  put(w, "]", 1);
  w->first = false;
}

void wl__jw_elem(struct wl_jw *w) {
  if (!w->first) put(w, ",", 1);
  w->first = false;
}

void wl__jw_key(struct wl_jw *w, const char *key) {
  wl__jw_elem(w);
  wl__jw_strz(w, key);
  put(w, ":", 1);
  w->first = true; /* the value follows without a comma */
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n) {
  unsigned c = p[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
  else return 0;
  if (n < len) return 0;
  unsigned cp = c & (0x3f >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

bool wl__utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t l = utf8_len(p + i, n - i);
    if (l == 0) return false;
    i += l;
  }
  return true;
}

void wl__jw_str(struct wl_jw *w, const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  put(w, "\"", 1);
  size_t run = 0; /* start of the bytes not yet copied */
  for (size_t i = 0; i < n && w->err == 0;) {
    unsigned c = p[i];
    const char *esc = NULL;
    char tmp[8];
    size_t l = 1;
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20 || c == 0x7f) {
      snprintf(tmp, sizeof tmp, "\\u%04x", c);
      esc = tmp;
    } else if (c >= 0x80) {
      l = utf8_len(p + i, n - i);
      if (l == 0) {
        esc = "\\ufffd";
        l = 1;
      }
    }
    if (esc) {
      put(w, p + run, i - run);
      wl__jw_raw(w, esc);
      run = i + l;
    }
    i += l;
  }
  put(w, p + run, n - run);
  put(w, "\"", 1);
  w->first = false;
}

void wl__jw_strz(struct wl_jw *w, const char *s) { wl__jw_str(w, s, strlen(s)); }

void wl__jw_i64(struct wl_jw *w, int64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
  put(w, tmp, (size_t)n);
  w->first = false;
}

void wl__jw_u64(struct wl_jw *w, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
  put(w, tmp, (size_t)n);
  w->first = false;
}

void wl__jw_bool(struct wl_jw *w, bool v) {
  wl__jw_raw(w, v ? "true" : "false");
  w->first = false;
}

void wl__jw_kstr(struct wl_jw *w, const char *key, const char *s) {
  wl__jw_key(w, key);
  wl__jw_strz(w, s);
}

void wl__jw_ki64(struct wl_jw *w, const char *key, int64_t v) {
  wl__jw_key(w, key);
  wl__jw_i64(w, v);
}

void wl__jw_time(struct wl_jw *w, int64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  char tmp[64];
  if (ms < 0 || gmtime_r(&secs, &tm) == NULL) {
    wl__jw_strz(w, "1970-01-01T00:00:00.000Z");
    return;
  }
  snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
  wl__jw_strz(w, tmp);
}

/* An optional text column: omitted when NULL. */
static void opt_text(struct wl_jw *w, sqlite3_stmt *st, int col, const char *key) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return;
  const char *s = (const char *)sqlite3_column_text(st, col);
  wl__jw_key(w, key);
  wl__jw_str(w, s ? s : "", (size_t)sqlite3_column_bytes(st, col));
}

void wl__jw_entry(struct wl_jw *w, sqlite3_stmt *st) {
  wl__jw_obj_open(w);
  opt_text(w, st, WL_COL_INFO_HASH, "info_hash");
  opt_text(w, st, WL_COL_V1, "v1_info_hash");
  opt_text(w, st, WL_COL_NAME, "name");
  wl__jw_key(w, "verified");
  wl__jw_bool(w, sqlite3_column_int(st, WL_COL_VERIFIED) != 0);
  wl__jw_ki64(w, "completions", sqlite3_column_int64(st, WL_COL_COMPLETIONS));
  opt_text(w, st, WL_COL_DESCRIPTION, "description");
  opt_text(w, st, WL_COL_PUBLISHER, "publisher");
  opt_text(w, st, WL_COL_LICENSE, "license");
  if (sqlite3_column_type(st, WL_COL_SIZE) != SQLITE_NULL)
    wl__jw_ki64(w, "size", sqlite3_column_int64(st, WL_COL_SIZE));
  opt_text(w, st, WL_COL_CATEGORY, "category");
  opt_text(w, st, WL_COL_TAGS, "tags");
  wl__jw_ki64(w, "seeders", sqlite3_column_int64(st, WL_COL_SEEDERS));
  wl__jw_ki64(w, "leechers", sqlite3_column_int64(st, WL_COL_LEECHERS));
  wl__jw_key(w, "created_at");
  wl__jw_time(w, sqlite3_column_int64(st, WL_COL_CREATED_AT));
  wl__jw_obj_close(w);
}
