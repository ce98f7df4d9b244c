/* The web UI: files under WL_WEB_DIR loaded once at start into memory with a gzip copy (when
 * smaller) and a content-hash ETag. Routes: "/" and "/entry/<hash>" serve index.html (the page
 * routes on location.pathname), "/assets/<file>" serves web/assets/<file>. Nothing else: unknown
 * paths stay 404 for BitTorrent clients and probes. */
#include <dirent.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "gateway.h"
#include "wl/hex.h"
#include "wl/log.h"

enum { FILE_MAX = 8 << 20, FILES_MAX = 256 };

struct sfile {
  char name[128]; /* "index.html" or "assets/app.js" */
  const char *ctype;
  uint8_t *data;
  size_t len;
  uint8_t *gz;
  size_t gzlen;
  char etag[24];
};

struct staticfiles {
  struct sfile f[FILES_MAX];
  size_t n;
};

static const char *ctype_of(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot) return "application/octet-stream";
  static const struct { const char *ext, *type; } t[] = {
      {".html", "text/html; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},               {".png", "image/png"},
      {".ico", "image/x-icon"},                {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},   {".woff2", "font/woff2"},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (strcmp(dot, t[i].ext) == 0) return t[i].type;
  return "application/octet-stream";
}

static void load_file(struct staticfiles *s, const char *dir, const char *rel) {
  if (s->n >= FILES_MAX) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  FILE *fp = fopen(path, "rb");
  if (!fp) return;
  struct sfile *f = &s->f[s->n];
  memset(f, 0, sizeof *f);
  snprintf(f->name, sizeof f->name, "%s", rel);
  f->data = malloc(FILE_MAX);
  if (f->data) f->len = fread(f->data, 1, FILE_MAX, fp);
  fclose(fp);
  if (!f->data) return;
  f->ctype = ctype_of(rel);
  uint8_t md[20];
  SHA1(f->data, f->len, md);
  f->etag[0] = '"';
  wl_hex_encode(f->etag + 1, md, 10);
  f->etag[21] = '"';
  f->etag[22] = '\0';
  uLongf gl = compressBound(f->len) + 32;
  f->gz = malloc(gl);
  z_stream z;
  memset(&z, 0, sizeof z);
  if (f->gz && deflateInit2(&z, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
    z.next_in = f->data;
    z.avail_in = (uInt)f->len;
    z.next_out = f->gz;
    z.avail_out = (uInt)gl;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END && z.total_out + 64 < f->len) f->gzlen = z.total_out;
    deflateEnd(&z);
  }
  if (!f->gzlen) {
    free(f->gz);
    f->gz = NULL;
  }
  s->n++;
}

struct staticfiles *wl_static_load(const char *dir) {
  struct staticfiles *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  load_file(s, dir, "index.html");
  char adir[1024];
  snprintf(adir, sizeof adir, "%s/assets", dir);
  DIR *d = opendir(adir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char rel[300];
      snprintf(rel, sizeof rel, "assets/%s", e->d_name);
      load_file(s, dir, rel);
    }
    closedir(d);
  }
  WL_INFO("gateway", "web UI: %zu files from %s", s->n, dir);
  return s;
}

void wl_static_free(struct staticfiles *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    free(s->f[i].data);
    free(s->f[i].gz);
  }
  free(s);
}

static bool accepts_gzip(struct conn *c) {
  size_t n;
  const char *ae = wl_http_header(c, H_AE, &n);
  for (size_t i = 0; ae && i + 4 <= n; i++)
    if (memcmp(ae + i, "gzip", 4) == 0) return true;
  return false;
}

bool wl_static_serve(struct conn *c, const char *path, size_t plen) {
  struct staticfiles *s = c->gw->web;
  const char *rel;
  size_t rl;
  if ((plen == 1 && path[0] == '/') ||
      (plen > 7 && memcmp(path, "/entry/", 7) == 0 && !memchr(path + 7, '/', plen - 7))) {
    rel = "index.html";
    rl = 10;
  } else if (plen > 8 && memcmp(path, "/assets/", 8) == 0) {
    rel = path + 1;
    rl = plen - 1;
  } else {
    return false;
  }
  for (size_t i = 0; s && i < s->n; i++) {
    struct sfile *f = &s->f[i];
    if (strlen(f->name) != rl || memcmp(f->name, rel, rl) != 0) continue;
    char hdr[256];
    bool html = strcmp(f->name, "index.html") == 0;
    size_t inm_len;
    const char *inm = wl_http_header(c, H_INM, &inm_len);
    snprintf(hdr, sizeof hdr, "ETag: %s\r\nCache-Control: %s\r\nVary: Accept-Encoding\r\n%s",
             f->etag, html ? "no-cache" : "public, max-age=300",
             f->gz && accepts_gzip(c) ? "Content-Encoding: gzip\r\n" : "");
    if (inm && inm_len == strlen(f->etag) && memcmp(inm, f->etag, inm_len) == 0) {
      char h2[200];
      snprintf(h2, sizeof h2, "ETag: %s\r\nCache-Control: %s\r\n", f->etag,
               html ? "no-cache" : "public, max-age=300");
      wl_http_respond(c, 304, NULL, h2, "", 0);
      return true;
    }
    if (f->gz && accepts_gzip(c))
      wl_http_respond(c, 200, f->ctype, hdr, f->gz, f->gzlen);
    else
      wl_http_respond(c, 200, f->ctype, hdr, f->data, f->len);
    return true;
  }
  if (rl == 10 && memcmp(rel, "index.html", 10) == 0) {
    wl_http_json_error(c, 404, "the web UI is not installed (WL_WEB_DIR)");
    return true;
  }
  return false;
}
