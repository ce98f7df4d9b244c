/* Integration test helpers (testutil.h). */
#include "testutil.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

void tu_env_load(struct tu_env *e, const char *stack_dir) {
  memset(e, 0, sizeof *e);
  snprintf(e->stack_dir, sizeof e->stack_dir, "%s", stack_dir);
  char path[600], line[1024];
  snprintf(path, sizeof path, "%s/env", stack_dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot read %s: is the stack running? (tests/integration/stack.sh)\n", path);
    exit(1);
  }
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = '\0';
    const char *v = eq + 1;
    if (!strcmp(line, "WL_TEST_HTTP")) snprintf(e->http, sizeof e->http, "%s", v);
    else if (!strcmp(line, "WL_TEST_HTTP_PORT")) e->http_port = atoi(v);
    else if (!strcmp(line, "WL_TEST_REDIS_PORT")) e->redis_port = atoi(v);
    else if (!strcmp(line, "WL_TEST_DATA_DIR")) snprintf(e->data_dir, sizeof e->data_dir, "%s", v);
    else if (!strcmp(line, "WL_TEST_BUILD_DIR")) snprintf(e->build_dir, sizeof e->build_dir, "%s", v);
    else if (!strcmp(line, "WL_TEST_SRC_DIR")) snprintf(e->src_dir, sizeof e->src_dir, "%s", v);
    else if (!strcmp(line, "REGISTRY_KEY")) snprintf(e->registry_key, sizeof e->registry_key, "%s", v);
  }
  fclose(f);
}

/* what the exit handler of tu_own_stack stops */
static char own_src[512], own_dir[600];

static void stop_own_stack(void) {
  tu_sh("%s/tests/integration/stack.sh stop %s >/dev/null 2>&1", own_src, own_dir);
}

int tu_own_stack(struct tu_env *e, const char *shared_dir, const char *suffix, const char *vars) {
  struct tu_env shared;
  tu_env_load(&shared, shared_dir);
  snprintf(own_src, sizeof own_src, "%s", shared.src_dir);
  snprintf(own_dir, sizeof own_dir, "%s-%s", shared_dir, suffix);
  atexit(stop_own_stack);
  if (tu_sh("%s/tests/integration/stack.sh start %s %s %s", own_src, own_dir, shared.build_dir,
            vars) != 0) {
    fprintf(stderr, "cannot start the %s stack\n", suffix);
    return -1;
  }
  tu_env_load(e, own_dir);
  return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg) {
  struct wl_buf *b = arg;
  return wl_buf_append(b, p, size * n) < 0 ? 0 : size * n;
}

int tu_http(const char *method, const char *url, const char *src_ip, const char *const *headers,
            const void *body, size_t blen, struct tu_resp *r) {
  memset(r, 0, sizeof *r);
  wl_buf_init(&r->body, 128u << 20);
  wl_buf_init(&r->headers, 1 << 20);
  CURL *c = curl_easy_init();
  struct curl_slist *hl = NULL;
  for (size_t i = 0; headers && headers[i]; i++) hl = curl_slist_append(hl, headers[i]);
  if (body) hl = curl_slist_append(hl, "Expect:");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
  }
  if (hl) curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  if (src_ip) curl_easy_setopt(c, CURLOPT_INTERFACE, src_ip);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  wl_buf_appendc(&r->body, 0); /* NUL for convenience; not counted */
  r->body.len--;
  wl_buf_appendc(&r->headers, 0);
  r->headers.len--;
  if (rc != CURLE_OK) fprintf(stderr, "%s %s: %s\n", method, url, curl_easy_strerror(rc));
  return rc == CURLE_OK ? 0 : -1;
}

void tu_resp_release(struct tu_resp *r) {
  wl_buf_release(&r->body);
  wl_buf_release(&r->headers);
}

const char *tu_header(const struct tu_resp *r, const char *name, char *out, size_t outlen) {
  const char *p = (const char *)r->headers.data;
  size_t nl = strlen(name);
  while (p && *p) {
    const char *eol = strstr(p, "\r\n");
    if (!eol) break;
    if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      snprintf(out, outlen, "%.*s", (int)(eol - v), v);
      return out;
    }
    p = eol + 2;
  }
  return NULL;
}

void tu_pct(char *out, const uint8_t *p, size_t n) {
  static const char hx[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n; i++) {
    out[3 * i] = '%';
    out[3 * i + 1] = hx[p[i] >> 4];
    out[3 * i + 2] = hx[p[i] & 15];
  }
  out[3 * n] = '\0';
}

void tu_random_hash(uint8_t h[20]) {
  static unsigned seed;
  if (!seed) seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
  for (int i = 0; i < 20; i++) h[i] = (uint8_t)(rand_r(&seed) >> 7);
}

void tu_peer_init(struct tu_peer *p, const uint8_t hash[20], int n, const char *src_ip) {
  memset(p, 0, sizeof *p);
  memcpy(p->info_hash, hash, 20);
  snprintf((char *)p->peer_id, 21, "-WL0001-%012d", n);
  p->port = 10000 + n;
  p->left = 1000;
  p->numwant = -1;
  p->compact = -1;
  p->src_ip = src_ip;
}

int tu_announce(const struct tu_env *e, const struct tu_peer *p, struct tu_resp *r) {
  char url[2048], h[64], id[64];
  tu_pct(h, p->info_hash, 20);
  tu_pct(id, p->peer_id, 20);
  int n = snprintf(url, sizeof url,
                   "%s%s?info_hash=%s&peer_id=%s&port=%d&uploaded=%llu&downloaded=%llu&left=%llu",
                   e->http, p->path ? p->path : "/announce", h, id, p->port,
                   (unsigned long long)p->uploaded, (unsigned long long)p->downloaded,
                   (unsigned long long)p->left);
  if (p->event) n += snprintf(url + n, sizeof url - (size_t)n, "&event=%s", p->event);
  if (p->numwant >= 0) n += snprintf(url + n, sizeof url - (size_t)n, "&numwant=%d", p->numwant);
  if (p->compact >= 0) n += snprintf(url + n, sizeof url - (size_t)n, "&compact=%d", p->compact);
  if (p->extra) snprintf(url + n, sizeof url - (size_t)n, "%s", p->extra);
  return tu_http("GET", url, p->src_ip, NULL, NULL, 0, r);
}

bool tu_benc_parse(struct tu_benc *b, const struct tu_resp *r) {
  struct wl_bencode_limits lim = {.max_depth = 32, .max_nodes = 1000000, .flags = WL_BENCODE_STRICT_KEYS};
  struct wl_bencode_error err;
  b->ok = wl_bencode_parse(r->body.data, r->body.len, &lim, &b->doc, &err) == 0;
  if (!b->ok) fprintf(stderr, "bad bencode at %zu: %s: %.*s\n", err.offset, err.reason,
                      (int)(r->body.len > 300 ? 300 : r->body.len), (const char *)r->body.data);
  return b->ok && b->doc.nodes[0].type == WL_BNODE_DICT;
}

void tu_benc_release(struct tu_benc *b) {
  if (b->ok) wl_bdoc_release(&b->doc);
  b->ok = false;
}

int64_t tu_benc_int(const struct tu_benc *b, uint32_t d, const char *key) {
  int64_t i = wl_bdict_gets(&b->doc, d, key);
  if (i < 0 || b->doc.nodes[i].type != WL_BNODE_INT) return -1;
  return b->doc.nodes[i].ival;
}

const uint8_t *tu_benc_str(const struct tu_benc *b, uint32_t d, const char *key, size_t *len) {
  int64_t i = wl_bdict_gets(&b->doc, d, key);
  if (i < 0 || b->doc.nodes[i].type != WL_BNODE_STR) return NULL;
  *len = b->doc.nodes[i].slen;
  return b->doc.nodes[i].str;
}

const char *tu_failure(const struct tu_benc *b, char *out, size_t outlen) {
  size_t n;
  const uint8_t *s = tu_benc_str(b, 0, "failure reason", &n);
  if (!s) return NULL;
  snprintf(out, outlen, "%.*s", (int)n, (const char *)s);
  return out;
}

static long raw_exchange(int port, const char *host, const char *src_ip, const void *req,
                         size_t len, bool shut, char *out, size_t outlen, int timeout_ms,
                         bool *closed) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  int fam = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (fam == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a->sin_addr);
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, host, &a->sin6_addr);
    sl = sizeof *a;
  }
  int fd = socket(fam, SOCK_STREAM, 0);
  if (fd >= 0 && src_ip && fam == AF_INET) {
    struct sockaddr_in src = {.sin_family = AF_INET};
    inet_pton(AF_INET, src_ip, &src.sin_addr);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
      close(fd);
      return -1;
    }
  }
  if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  if (len && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
    close(fd);
    return -1;
  }
  if (shut) shutdown(fd, SHUT_WR);
  size_t got = 0;
  *closed = false;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (el >= timeout_ms) break;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)(timeout_ms - el)) <= 0) break;
    ssize_t n = recv(fd, out + got, outlen - 1 - got, 0);
    if (n <= 0) {
      *closed = true;
      break;
    }
    got += (size_t)n;
    if (got >= outlen - 1) break;
  }
  out[got] = '\0';
  close(fd);
  return (long)got;
}

int tu_sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int rc = system(cmd);
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

long tu_read_long(const char *path) {
  FILE *f = fopen(path, "r");
  long v = -1;
  if (f) {
    if (fscanf(f, "%ld", &v) != 1) v = -1;
    fclose(f);
  }
  return v;
}

void tu_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

double tu_now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

long tu_load_run(struct tu_load *l) {
  enum { MAX = 64 };
  struct {
    struct wl_buf body;
    char url[512], ip[32];
    long n;
  } slot[MAX];
  int par = l->parallel < 1 ? 1 : l->parallel > MAX ? MAX : l->parallel;
  int free_slots[MAX], nfree = par;
  for (int i = 0; i < par; i++) free_slots[i] = i;
  CURLM *m = curl_multi_init();
  long sent = 0, answered = 0;
  bool sending = true;
  double t0 = tu_now_s();
  while (sending || nfree < par) {
    if (sending && l->tick) sending = l->tick(l, tu_now_s() - t0, sent, answered);
    if (l->count > 0 && sent >= l->count) sending = false;
    while (sending && nfree > 0 && (l->count <= 0 || sent < l->count)) {
      int i = free_slots[--nfree];
      long n = sent++;
      slot[i].n = n;
      wl_buf_init(&slot[i].body, 1 << 20);
      snprintf(slot[i].ip, sizeof slot[i].ip, "%s.%ld.%ld", l->ip_prefix, n / 250 % 250, n % 250 + 1);
      snprintf(slot[i].url, sizeof slot[i].url,
               "%s/announce?info_hash=%s&peer_id=%s%012ld&port=%ld&uploaded=0&downloaded=0&left=%ld",
               l->env->http, l->hash_pct, l->tag, n, 1024 + n % 60000, l->left < 0 ? n % 2 : l->left);
      CURL *c = curl_easy_init();
      curl_easy_setopt(c, CURLOPT_URL, slot[i].url);
      curl_easy_setopt(c, CURLOPT_INTERFACE, slot[i].ip);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &slot[i].body);
      curl_easy_setopt(c, CURLOPT_PRIVATE, (char *)(intptr_t)i);
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, l->timeout_ms);
      if (l->forbid_reuse) curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
      curl_multi_add_handle(m, c);
    }
    int running, left;
    curl_multi_perform(m, &running);
    curl_multi_poll(m, NULL, 0, 50, NULL);
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
      if (msg->msg != CURLMSG_DONE) continue;
      char *priv;
      long status = 0;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
      int i = (int)(intptr_t)priv;
      const struct wl_buf *b = &slot[i].body;
      bool ok = msg->data.result == CURLE_OK && status == 200 && b->len > 0 && b->data[0] == 'd' &&
                !memmem(b->data, b->len, "failure reason", 14);
      answered++;
      l->done(l, slot[i].n, (int)msg->data.result, status, b, ok);
      wl_buf_release(&slot[i].body);
      free_slots[nfree++] = i;
      curl_multi_remove_handle(m, msg->easy_handle);
      curl_easy_cleanup(msg->easy_handle);
    }
  }
  curl_multi_cleanup(m);
  return sent;
}

long tu_raw(int port, const char *host, const char *src_ip, const void *req, size_t len, char *out,
            size_t outlen, int timeout_ms, bool *closed) {
  return raw_exchange(port, host, src_ip, req, len, false, out, outlen, timeout_ms, closed);
}

long tu_raw_shut(int port, const char *host, const char *src_ip, const void *req, size_t len,
                 char *out, size_t outlen, int timeout_ms, bool *closed) {
  return raw_exchange(port, host, src_ip, req, len, true, out, outlen, timeout_ms, closed);
}

int64_t tu_metric(const struct tu_env *e, const char *src_ip, const char *name) {
  char url[300], needle[128];
  struct tu_resp r;
  snprintf(url, sizeof url, "%s/metrics", e->http);
  if (tu_http("GET", url, src_ip, NULL, NULL, 0, &r) < 0) return -1;
  snprintf(needle, sizeof needle, "\n%s ", name);
  const char *p = r.status == 200 ? strstr((char *)r.body.data, needle) : NULL;
  int64_t v = p ? atoll(p + strlen(needle)) : -1;
  tu_resp_release(&r);
  return v;
}
