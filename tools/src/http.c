/* A small libcurl client for the registry API: one easy handle per run, one request at a
 * time, answers collected into a capped buffer. The key goes in X-Weightless-Key only when
 * set. A 429 answer is retried a few times after its Retry-After (at most 5 s each), since the
 * gateway rate-limits every client IP and scripts easily burst past it. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "wl/error.h"

enum { MAX_RETRIES_429 = 4, MAX_RETRY_AFTER_S = 5 };

struct req_state {
  struct wl_http_resp *r;
  long retry_after;
  bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  struct req_state *st = arg;
  size_t len = size * n;
  if (wl_buf_append(&st->r->body, p, len) < 0) {
    st->too_big = true;
    return 0; /* aborts the transfer */
  }
  return len;
}

/* Copies the value of header "Name: value\r\n" if name matches; NULL otherwise. */
static bool header_value(const char *p, size_t len, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':') return false;
  p += nl + 1;
  len -= nl + 1;
  while (len > 0 && (*p == ' ' || *p == '\t')) p++, len--;
  while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' ')) len--;
  if (len >= cap) len = cap - 1;
  memcpy(out, p, len);
  out[len] = '\0';
  return true;
}

/* filename="x.torrent" or filename=x.torrent; the base name only. */
static void disposition_filename(const char *v, char *out, size_t cap) {
  const char *f = strstr(v, "filename=");
  out[0] = '\0';
  if (f == NULL) return;
  f += strlen("filename=");
  bool quoted = *f == '"';
  if (quoted) f++;
  size_t n = 0;
  while (f[n] && (quoted ? f[n] != '"' : (f[n] != ';' && f[n] != ' '))) n++;
  /* never a path: keep what follows the last '/' or '\\' */
  for (size_t i = n; i > 0; i--) {
    if (f[i - 1] == '/' || f[i - 1] == '\\') {
      f += i;
      n -= i;
      break;
    }
  }
  if (n == 0 || n >= cap || (n <= 2 && f[0] == '.')) return;
  memcpy(out, f, n);
  out[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *arg) {
  struct req_state *st = arg;
  size_t len = size * n;
  char v[512];
  if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
    /* a new response (after a redirect or 100-continue): forget the previous headers */
    st->r->total_count = -1;
    st->r->filename[0] = '\0';
    st->r->content_type[0] = '\0';
    st->retry_after = -1;
  } else if (header_value(p, len, "X-Total-Count", v, sizeof v)) {
    uint64_t c;
    if (wl_cli_parse_uint(v, INT64_MAX, &c) == 0) st->r->total_count = (int64_t)c;
  } else if (header_value(p, len, "Content-Disposition", v, sizeof v)) {
    disposition_filename(v, st->r->filename, sizeof st->r->filename);
  } else if (header_value(p, len, "Content-Type", v, sizeof v)) {
    snprintf(st->r->content_type, sizeof st->r->content_type, "%.127s", v);
  } else if (header_value(p, len, "Retry-After", v, sizeof v)) {
    uint64_t s;
    if (wl_cli_parse_uint(v, 86400, &s) == 0) st->retry_after = (long)s;
  }
  return len;
}

int wl_http_init(struct wl_http *h, const char *server, const char *key) {
  memset(h, 0, sizeof *h);
  h->server = server;
  h->key = key;
  h->timeout = 300;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return WL_ENOMEM;
  h->curl = curl_easy_init();
  if (h->curl == NULL) return WL_ENOMEM;
  return 0;
}

void wl_http_release(struct wl_http *h) {
  if (h->curl != NULL) curl_easy_cleanup(h->curl);
  h->curl = NULL;
  curl_global_cleanup();
}

void wl_http_resp_release(struct wl_http_resp *r) { wl_buf_release(&r->body); }

static int perform_once(struct wl_http *h, const char *method, const char *url, const void *body,
                        size_t n, const char *ctype, struct req_state *st) {
  CURL *c = h->curl;
  struct curl_slist *hdrs = NULL;
  char line[1024];
  int rv = 0;
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "weightless/" WL_CLI_VERSION);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, st);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, st);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  h->errbuf[0] = '\0';
  if (h->key != NULL && h->key[0] != '\0') {
    snprintf(line, sizeof line, "X-Weightless-Key: %s", h->key);
    hdrs = curl_slist_append(hdrs, line);
  }
  if (body != NULL) {
    snprintf(line, sizeof line, "Content-Type: %s", ctype ? ctype : "application/octet-stream");
    hdrs = curl_slist_append(hdrs, line);
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
  }
  hdrs = curl_slist_append(hdrs, "Accept: application/json, application/x-bittorrent");
  if (strcmp(method, "GET") != 0 && !(strcmp(method, "POST") == 0 && body != NULL))
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "POST") == 0 && body == NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(c);
  if (cc == CURLE_WRITE_ERROR && st->too_big) {
    rv = WL_ETOOBIG;
  } else if (cc == CURLE_OUT_OF_MEMORY) {
    rv = WL_ENOMEM;
  } else if (cc != CURLE_OK) {
    if (h->errbuf[0] == '\0') snprintf(h->errbuf, sizeof h->errbuf, "%s", curl_easy_strerror(cc));
    rv = WL_EBACKEND;
  } else {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st->r->status);
  }
  curl_slist_free_all(hdrs);
  return rv;
}

int wl_http_request(struct wl_http *h, const char *method, const char *path, const void *body,
                    size_t n, const char *ctype, size_t max_body, struct wl_http_resp *r) {
  char url[8192];
  size_t sl = strlen(h->server);
  while (sl > 0 && h->server[sl - 1] == '/') sl--;
  int k = snprintf(url, sizeof url, "%.*s%s", (int)sl, h->server, path);
  memset(r, 0, sizeof *r);
  wl_buf_init(&r->body, max_body);
  if (k < 0 || (size_t)k >= sizeof url) return WL_ETOOBIG;
  for (int attempt = 0;; attempt++) {
    struct req_state st = {.r = r, .retry_after = -1};
    wl_buf_reset(&r->body);
    r->status = 0;
    r->total_count = -1;
    int rv = perform_once(h, method, url, body, n, ctype, &st);
    if (rv < 0) return rv;
    if (r->status != 429 || attempt >= MAX_RETRIES_429) return 0;
    long wait = st.retry_after < 0 ? 1 : st.retry_after;
    if (wait > MAX_RETRY_AFTER_S) wait = MAX_RETRY_AFTER_S;
    if (wait < 1) wait = 1;
    sleep((unsigned)wait);
  }
}
