/* HTTP/1.1 server on libuv with http-parser: keep-alive, pipelining (one request answered at a
 * time, in order: the parser pauses at each message end and the bytes after it wait in
 * `pending`), HTTP/1.0, limits on URL (414), headers (431) and body (413, decided from
 * Content-Length before the body is read), a header timeout against slow clients, an idle
 * timeout, and caps on connections overall and per client IP (503). Malformed input gets 400
 * and a closed connection. Memory per connection is bounded by those caps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"
#include "wl/error.h"
#include "wl/log.h"

enum { READ_BUF = 64 * 1024, PENDING_PAUSE = 64 * 1024, PARSING_KEEP = 8 * 1024 };

uint64_t wl_now_ms(void) { return uv_hrtime() / 1000000u; }

static const char *reason_phrase(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Unknown";
  }
}

/* ---- connection lifecycle ------------------------------------------------------------------ */

static void ip_key(const struct conn *c, uint8_t key[20]) {
  memset(key, 0, 20);
  memcpy(key, c->sock_ip, c->sock_ip_len);
  key[19] = c->sock_ip_len;
}

static void conn_free(struct conn *c) {
  struct gw *gw = c->gw;
  if (c->counted_ip) {
    uint8_t key[20];
    ip_key(c, key);
    uint32_t *n = wl_hashmap_get(&gw->per_ip, key);
    if (n && --*n == 0) wl_hashmap_remove(&gw->per_ip, key);
  }
  wl_buf_release(&c->url);
  wl_buf_release(&c->hname);
  for (int i = 0; i < H_COUNT; i++) wl_buf_release(&c->hdr[i]);
  wl_buf_release(&c->body);
  wl_buf_release(&c->pending);
  wl_buf_release(&c->parsing);
  wl_buf_release(&c->out);
  gw->nconns--;
  free(c);
}

static void on_closed(uv_handle_t *h) {
  struct conn *c = h->data;
  /* two handles (tcp, timer); the second close frees, unless a backend call still holds c */
  if (++c->closes < 2 || c->waiting) return;
  c->closes = 3;
  conn_free(c);
}

static void conn_close(struct conn *c) {
  if (c->closing) return;
  c->closing = true;
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->timer, on_closed);
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

bool wl_http_breq_done(struct conn *c) {
  c->waiting = false;
  if (!c->closing) return true;
  if (c->closes == 2) {
    c->closes = 3;
    conn_free(c);
  }
  return false;
}

static void on_timeout(uv_timer_t *t) {
  struct conn *c = t->data;
  if (c->busy) return;
  if (c->in_headers || c->url.len || c->body.len) {
    /* slow client: its request did not arrive within WL_HEADER_TIMEOUT */
    c->keep_alive = false;
    wl_http_respond(c, 408, "application/json", NULL, "{\"error\":\"request timeout: the request did not arrive in time\"}", 62);
    return;
  }
  conn_close(c);
}

static void arm_timer(struct conn *c, int64_t seconds) {
  uv_timer_start(&c->timer, on_timeout, (uint64_t)seconds * 1000u, 0);
}

/* ---- parser callbacks -------------------------------------------------------------------- */

static int on_message_begin(http_parser *p) {
  struct conn *c = p->data;
  wl_buf_reset(&c->url);
  wl_buf_reset(&c->hname);
  for (int i = 0; i < H_COUNT; i++) wl_buf_reset(&c->hdr[i]);
  wl_buf_reset(&c->body);
  c->hs.in_value = false;
  c->hs.which = -1;
  c->header_bytes = 0;
  c->early_status = 0;
  c->msg_done = false;
  c->in_headers = true;
  c->req_start_ns = uv_hrtime();
  arm_timer(c, c->gw->cfg->header_timeout);
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (wl_buf_append(&c->url, at, len) < 0) {
    c->early_status = 414;
    return 1;
  }
  return 0;
}

static const char *const hdr_names[H_COUNT] = {
    "host", "x-forwarded-for", "x-weightless-key", "origin", "if-none-match", "accept-encoding",
    "content-type", "access-control-request-method"};

static int on_header_field(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (c->hs.in_value) {
    c->hs.in_value = false;
    wl_buf_reset(&c->hname);
  }
  c->header_bytes += len;
  if (c->header_bytes > HEADERS_MAX || wl_buf_append(&c->hname, at, len) < 0) {
    c->early_status = 431;
    return 1;
  }
  return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (!c->hs.in_value) {
    c->hs.in_value = true;
    c->hs.which = -1;
    for (int i = 0; i < H_COUNT; i++) {
      size_t n = strlen(hdr_names[i]);
      if (c->hname.len == n && strncasecmp((const char *)c->hname.data, hdr_names[i], n) == 0) {
        c->hs.which = i;
        /* a repeated header: keep them comma-joined (RFC 9110 5.3) */
        if (c->hdr[i].len) wl_buf_appendc(&c->hdr[i], ',');
        break;
      }
    }
  }
  c->header_bytes += len;
  if (c->header_bytes > HEADERS_MAX ||
      (c->hs.which >= 0 && wl_buf_append(&c->hdr[c->hs.which], at, len) < 0)) {
    c->early_status = 431;
    return 1;
  }
  return 0;
}

static size_t body_cap_for(struct conn *c) {
  const char *u = (const char *)c->url.data;
  size_t n = c->url.len;
  if (c->parser.method != HTTP_POST && c->parser.method != HTTP_PUT) return 0;
  if (n >= 22 && memcmp(u, "/api/registry/torrent", 21) == 0 && (n == 21 || u[21] == '?'))
    return (size_t)c->gw->cfg->torrent_max;
  if (n == 21 && memcmp(u, "/api/registry/torrent", 21) == 0) return (size_t)c->gw->cfg->torrent_max;
  return JSON_BODY_MAX;
}

static int on_headers_complete(http_parser *p) {
  struct conn *c = p->data;
  c->in_headers = false;
  if (p->upgrade || p->method == HTTP_CONNECT) {
    c->early_status = 400;
    return -1; /* 1 and 2 mean "no body" to http-parser; anything else is an error */
  }
  c->body_cap = body_cap_for(c);
  bool has_len = (p->flags & F_CONTENTLENGTH) != 0;
  if (has_len && p->content_length > c->body_cap) {
    /* Known too big: answer 413 now, without reading the body. */
    c->early_status = c->body_cap == 0 && (p->method == HTTP_GET || p->method == HTTP_HEAD) ? 400 : 413;
    return -1;
  }
  if ((p->flags & F_CHUNKED) && c->body_cap == 0) {
    c->early_status = 400;
    return -1;
  }
  /* keep the allocation of an earlier body on this connection; only the cap changes
   * (re-initialising here leaked it: found by fuzz_http) */
  wl_buf_reset(&c->body);
  c->body.max = c->body_cap;
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (wl_buf_append(&c->body, at, len) < 0) {
    c->early_status = 413;
    return 1;
  }
  return 0;
}

static int on_message_complete(http_parser *p) {
  struct conn *c = p->data;
  c->msg_done = true;
  c->keep_alive = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- reading and dispatch ---------------------------------------------------------------- */

static void feed(struct conn *c, const char *data, size_t len);

/* Reading goes on while a request is answered (stopping and restarting it cost two epoll_ctl
 * calls per request, ~5% of the gateway's CPU): what a pipelining client sends meanwhile waits
 * in `pending`, and reading pauses only when that holds PENDING_PAUSE bytes. */
static void start_request(struct conn *c) {
  c->busy = true;
  c->status = 0;
  uv_timer_stop(&c->timer);
  wl_route(c);
}

static void pause_reading(struct conn *c) {
  if (c->read_paused) return;
  c->read_paused = true;
  uv_read_stop((uv_stream_t *)&c->tcp);
}

static void feed(struct conn *c, const char *data, size_t len) {
  if (c->closing) return;
  if (c->busy) {
    if (wl_buf_append(&c->pending, data, len) < 0) {
      conn_close(c); /* cannot happen: reading pauses long before the cap */
      return;
    }
    if (c->pending.len >= PENDING_PAUSE) pause_reading(c); /* until this one is answered */
    return;
  }
  size_t n = http_parser_execute(&c->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
  if (c->msg_done) {
    if (n < len && wl_buf_append(&c->pending, data + n, len - n) < 0) {
      conn_close(c);
      return;
    }
    start_request(c);
    return;
  }
  if (e != HPE_OK || n != len) {
    int status = c->early_status ? c->early_status : 400;
    const char *msg = status == 414   ? "URI too long"
                      : status == 431 ? "request header fields too large"
                      : status == 413 ? "request body too large"
                                      : http_errno_description(e);
    char body[256];
    int bl = snprintf(body, sizeof body, "{\"error\":\"bad request: %s\"}", msg);
    c->busy = true;
    c->keep_alive = false;
    c->route = R_OTHER;
    pause_reading(c);
    wl_http_respond(c, status, "application/json", NULL, body, (size_t)bl);
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct conn *c = h->data;
  buf->base = c->gw->rbuf;
  buf->len = READ_BUF;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct conn *c = s->data;
  if (nread == UV_EOF && c->busy) {
    /* the client sent its last requests and shut its side: answer them, then close */
    c->peer_eof = true;
    pause_reading(c);
    return;
  }
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0) return;
  if (!c->busy && !c->in_headers && c->url.len == 0) arm_timer(c, c->gw->cfg->header_timeout);
  feed(c, buf->base, (size_t)nread);
}

/* ---- responses ----------------------------------------------------------------------------- */

/* The response in c->out is written (status 0) or could not be (status < 0). */
static void write_done(struct conn *c, int status) {
  c->writing = false;
  c->served++;
  wl_buf_reset(&c->out);
  if (status < 0 || !c->keep_alive || c->gw->stopping) {
    conn_close(c);
    return;
  }
  /* Next request: first whatever was pipelined behind the last one. */
  c->busy = false;
  c->msg_done = false;
  wl_buf_reset(&c->url);
  wl_buf_reset(&c->body);
  http_parser_pause(&c->parser, 0);
  if (c->pending.len) {
    /* the bytes move to `parsing` (two buffers swapped: no allocation per pipelined request);
     * what the parse leaves over goes back to `pending` */
    struct wl_buf tmp = c->parsing;
    c->parsing = c->pending;
    c->pending = tmp;
    wl_buf_reset(&c->pending);
    feed(c, (const char *)c->parsing.data, c->parsing.len);
    if (c->parsing.cap > PARSING_KEEP && !c->closing) { /* a burst: not kept while idle */
      wl_buf_release(&c->parsing);
      wl_buf_init(&c->parsing, c->pending.max);
    }
    if (c->busy || c->closing) return;
  }
  if (c->peer_eof) {
    conn_close(c);
    return;
  }
  /* a request begun in what was pipelined keeps the header timer its first bytes started */
  if (!c->in_headers && c->url.len == 0) arm_timer(c, c->gw->cfg->idle_timeout);
  if (c->read_paused) {
    c->read_paused = false;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
}

static void after_write(uv_write_t *w, int status) { write_done(w->data, status); }

static void cors_headers(struct conn *c) {
  const char *origins = c->gw->cfg->cors_origins;
  size_t olen;
  const char *origin = wl_http_header(c, H_ORIGIN, &olen);
  if (!*origins || !origin) return;
  bool ok = strcmp(origins, "*") == 0;
  for (const char *p = origins; !ok && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    while (n && *p == ' ') p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if (n == olen && memcmp(p, origin, n) == 0) ok = true;
    p = comma ? comma + 1 : p + strlen(p);
  }
  if (!ok) return;
  if (strcmp(origins, "*") == 0) {
    wl_buf_appends(&c->out, "Access-Control-Allow-Origin: *\r\n");
  } else {
    wl_buf_appends(&c->out, "Access-Control-Allow-Origin: ");
    wl_buf_append(&c->out, origin, olen);
    wl_buf_appends(&c->out, "\r\nVary: Origin\r\n");
  }
  wl_buf_appends(&c->out, "Access-Control-Expose-Headers: X-Total-Count\r\n");
}

void wl_http_respond(struct conn *c, int status, const char *ctype, const char *extra_headers,
                     const void *body, size_t len) {
  if (c->closing || c->writing) return;
  struct gw *gw = c->gw;
  c->status = status;
  wl_buf_reset(&c->out);
  wl_buf_appends(&c->out, "HTTP/1.1 ");
  wl_buf_append_u64(&c->out, (uint64_t)status);
  wl_buf_appendc(&c->out, ' ');
  wl_buf_appends(&c->out, reason_phrase(status));
  if (ctype) {
    wl_buf_appends(&c->out, "\r\nContent-Type: ");
    wl_buf_appends(&c->out, ctype);
  }
  wl_buf_appends(&c->out, "\r\nContent-Length: ");
  wl_buf_append_u64(&c->out, len);
  wl_buf_appends(&c->out, "\r\n");
  if (extra_headers) wl_buf_appends(&c->out, extra_headers);
  cors_headers(c);
  if (!c->keep_alive || gw->stopping) {
    c->keep_alive = false;
    wl_buf_appends(&c->out, "Connection: close\r\n");
  } else if (c->parser.http_major == 1 && c->parser.http_minor == 0) {
    wl_buf_appends(&c->out, "Connection: keep-alive\r\n");
  }
  wl_buf_appends(&c->out, "\r\n");
  if (c->parser.method != HTTP_HEAD || !c->msg_done) {
    if (wl_buf_append(&c->out, body, len) < 0) {
      WL_ERROR("gateway", "response of %zu bytes does not fit the output buffer", len);
    }
  }
  double secs = (double)(uv_hrtime() - c->req_start_ns) / 1e9;
  wl_metrics_observe(gw, c->route, status, secs);
  uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
  c->writing = true;
  /* Written here when the socket takes it all, the common case (wl_uv_write_now: ~1 syscall
   * in 3 of a keep-alive announce saved). Not with pipelined bytes waiting: finishing now
   * would parse the next request inside this call, and so on down the stack. */
  if (c->pending.len == 0) {
    int rv = wl_uv_write_now((uv_stream_t *)&c->tcp, &b);
    if (rv <= 0) {
      write_done(c, rv);
      return;
    }
  }
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, after_write) < 0) {
    c->writing = false;
    conn_close(c);
  }
}

void wl_http_json_error(struct conn *c, int status, const char *msg) {
  struct wl_buf b;
  wl_buf_init(&b, 4096);
  wl_buf_appends(&b, "{\"error\":\"");
  for (const char *p = msg; *p; p++) {
    if (*p == '"' || *p == '\\') wl_buf_appendc(&b, '\\');
    if ((unsigned char)*p < 0x20) continue;
    wl_buf_appendc(&b, (uint8_t)*p);
  }
  wl_buf_appends(&b, "\"}");
  wl_http_respond(c, status, "application/json", NULL, b.data, b.len);
  wl_buf_release(&b);
}

const char *wl_http_header(struct conn *c, enum hdr_id h, size_t *len) {
  *len = c->hdr[h].len;
  return c->hdr[h].len ? (const char *)c->hdr[h].data : NULL;
}

/* ---- accepting ------------------------------------------------------------------------------ */

static void peer_address(struct conn *c) {
  struct sockaddr_storage ss;
  int sl = sizeof ss;
  c->ip_len = 0;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) < 0) return;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    memcpy(c->ip, &a->sin_addr, 4);
    c->ip_len = 4;
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a->sin6_addr.s6_addr, mapped, 12) == 0) {
      memcpy(c->ip, a->sin6_addr.s6_addr + 12, 4); /* IPv4-mapped: an IPv4 peer */
      c->ip_len = 4;
    } else {
      memcpy(c->ip, a->sin6_addr.s6_addr, 16);
      c->ip_len = 16;
    }
  }
}

static void refuse_write_done(uv_write_t *w, int status) {
  struct conn *c = w->data;
  conn_close(c);
}

/* A new connection's state, before any byte of it is read (also the fuzz target's set-up). */
static void conn_init(struct conn *c, struct gw *gw) {
  c->gw = gw;
  gw->nconns++;
  c->tcp.data = c->timer.data = c;
  wl_buf_init(&c->url, URL_MAX);
  wl_buf_init(&c->hname, 256);
  for (int i = 0; i < H_COUNT; i++) wl_buf_init(&c->hdr[i], 8192);
  wl_buf_init(&c->body, 0);
  wl_buf_init(&c->pending, 256 * 1024);
  wl_buf_init(&c->parsing, 256 * 1024);
  wl_buf_init(&c->out, 96u << 20);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
}

static void on_connection(uv_stream_t *server, int status) {
  struct gw *gw = server->data;
  if (status < 0) return;
  struct conn *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  uv_tcp_init(gw->loop, &c->tcp);
  uv_timer_init(gw->loop, &c->timer);
  conn_init(c, gw);
  gw->m.connections_total++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
    conn_close(c);
    return;
  }
  peer_address(c);
  memcpy(c->sock_ip, c->ip, 16);
  c->sock_ip_len = c->ip_len;

  bool refuse = gw->nconns > (size_t)gw->cfg->max_connections;
  if (!refuse && c->sock_ip_len) {
    uint8_t key[20];
    ip_key(c, key);
    uint32_t *n = wl_hashmap_put(&gw->per_ip, key, NULL);
    if (n == NULL || *n >= (uint32_t)gw->cfg->max_conn_per_ip) {
      refuse = true;
    } else {
      ++*n;
      c->counted_ip = true;
    }
  }
  if (refuse) {
    static const char msg[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
        "Content-Length: 44\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
        "{\"error\":\"too many connections, try later\"}";
    gw->m.connections_refused++;
    c->busy = true;
    c->writing = true;
    c->wreq.data = c;
    uv_buf_t b = uv_buf_init((char *)msg, sizeof msg - 1);
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, refuse_write_done) < 0) conn_close(c);
    return;
  }
  arm_timer(c, gw->cfg->idle_timeout);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static int parse_addr(const char *s, struct sockaddr_storage *ss, bool *v6any) {
  char host[256];
  const char *colon;
  *v6any = false;
  if (s[0] == '[') {
    const char *end = strchr(s, ']');
    if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host) return WL_EINVAL;
    memcpy(host, s + 1, (size_t)(end - s - 1));
    host[end - s - 1] = '\0';
    colon = end + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return WL_EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
  }
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535) return WL_EINVAL;
  if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0) return 0;
  if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0) {
    *v6any = strcmp(host, "::") == 0;
    return 0;
  }
  return WL_EINVAL;
}

int wl_http_listen(struct gw *gw) {
  struct sockaddr_storage ss;
  bool v6any;
  memset(&ss, 0, sizeof ss);
  if (parse_addr(gw->cfg->http_addr, &ss, &v6any) < 0) {
    WL_ERROR("gateway", "WL_HTTP_ADDR: cannot parse \"%s\" (expected host:port or [v6]:port)",
             gw->cfg->http_addr);
    return WL_EINVAL;
  }
  gw->rbuf = malloc(READ_BUF);
  if (gw->rbuf == NULL) return WL_ENOMEM;
  if (wl_hashmap_init(&gw->per_ip, sizeof(uint32_t), (size_t)gw->cfg->max_connections + 16) < 0)
    return WL_ENOMEM;
  uv_tcp_init(gw->loop, &gw->listener);
  gw->listener.data = gw;
  /* [::]:PORT listens dual-stack (IPv4 arrives as IPv4-mapped and is treated as IPv4). */
  int rv = uv_tcp_bind(&gw->listener, (struct sockaddr *)&ss, 0);
  /* Linux copies TCP_NODELAY from the listening socket to every accepted one: one setsockopt
   * here instead of one per connection (a connection per request costs ~8 syscalls) */
  if (rv == 0) rv = uv_tcp_nodelay(&gw->listener, 1);
  if (rv == 0) rv = uv_listen((uv_stream_t *)&gw->listener, 4096, on_connection);
  if (rv < 0) {
    WL_ERROR("gateway", "cannot listen on %s: %s", gw->cfg->http_addr, uv_strerror(rv));
    return WL_EIO;
  }
  WL_INFO("gateway", "listening on http://%s%s", gw->cfg->http_addr, v6any ? " (dual-stack)" : "");
  return 0;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (h->type == UV_TCP && h->data && !uv_is_closing(h)) {
    struct conn *c = h->data;
    /* Close keep-alive connections idle between requests. A connection that has not sent
     * its first request yet (or is halfway through one) is served, with Connection: close:
     * its client may already have sent the request. */
    if ((uv_handle_t *)&c->tcp == h && !c->busy && c->served > 0 && !c->in_headers &&
        c->url.len == 0)
      conn_close(c);
  }
}

void wl_http_stop(struct gw *gw) {
  uv_close((uv_handle_t *)&gw->listener, NULL);
  gw->listener.data = NULL;
  /* idle keep-alive connections close now; busy ones after their answer */
  uv_walk(gw->loop, close_walk, NULL);
}
