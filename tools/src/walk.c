/* The content of a torrent: a file, or every regular file under a directory, as a list sorted
 * the way BEP 52's file tree orders it (component by component, by bytes), which is also the
 * order of the v1 `files` list we write. Choices (docs/cli.md):
 *   - symlinks are followed (a Hugging Face cache snapshot is a directory of symlinks into
 *     blobs/); a dangling link or a link back to an enclosing directory is an error;
 *   - hidden names (leading '.') are included unless --no-hidden;
 *   - empty directories are not representable in a torrent and vanish; empty files are kept;
 *   - fifos, sockets and devices are left out with a warning;
 *   - names must be UTF-8 (BEP 3/52 paths are UTF-8; the registry refuses anything else).
 * Workload: one stat per entry; the list holds two strings per file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli.h"
#include "wl/error.h"
#include "wl/torrent.h"

enum { WALK_MAX_DEPTH = 64 };

struct ancestor {
  dev_t dev;
  ino_t ino;
};

struct walker {
  struct wl_walk *w;
  const struct wl_walk_opts *o;
  struct ancestor stack[WALK_MAX_DEPTH + 1];
  unsigned depth;
  char *err;
  size_t errlen;
};

static bool utf8_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      p++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t i = 1; i <= n; i++) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += n + 1;
  }
  return true;
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 2);
  if (s == NULL) return NULL;
  memcpy(s, a, la);
  s[la] = '/';
  memcpy(s + la + 1, b, lb + 1);
  return s;
}

static int add_file(struct walker *k, char *path, char *src, const struct stat *st) {
  struct wl_walk *w = k->w;
  if (w->n >= WL_TORRENT_MAX_FILES) {
    snprintf(k->err, k->errlen, "too many files: a torrent holds at most %d",
             WL_TORRENT_MAX_FILES);
    return WL_ETOOBIG;
  }
  if (strlen(path) > WL_TORRENT_MAX_PATH) {
    snprintf(k->err, k->errlen, "path too long for a torrent (over %d bytes): %s",
             WL_TORRENT_MAX_PATH, src);
    return WL_ETOOBIG;
  }
  if (w->n == w->cap) {
    size_t ncap = w->cap ? w->cap * 2 : 64;
    struct wl_walk_file *f = realloc(w->files, ncap * sizeof *f);
    if (f == NULL) return WL_ENOMEM;
    w->files = f;
    w->cap = ncap;
  }
  struct wl_walk_file *f = &w->files[w->n++];
  f->path = path;
  f->src = src;
  f->length = (uint64_t)st->st_size;
  f->exec = (st->st_mode & S_IXUSR) != 0;
  w->total += f->length;
  return 0;
}

static int walk_dir(struct walker *k, const char *src, const char *rel, const struct stat *dst);

/* One directory entry: src is its path to open, rel its torrent path (both owned here until
 * handed to the list). */
static int walk_entry(struct walker *k, char *src, char *rel) {
  struct stat st;
  int rv = 0;
  if (stat(src, &st) < 0) {
    struct stat lst;
    if (errno == ENOENT && lstat(src, &lst) == 0 && S_ISLNK(lst.st_mode))
      snprintf(k->err, k->errlen, "dangling symlink: %s", src);
    else if (errno == ELOOP)
      snprintf(k->err, k->errlen, "symlink loop: %s", src);
    else
      snprintf(k->err, k->errlen, "cannot stat %s: %s", src, strerror(errno));
    rv = WL_EIO;
    goto out_free;
  }
  if (S_ISREG(st.st_mode)) {
    rv = add_file(k, rel, src, &st);
    if (rv < 0) goto out_free;
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    rv = walk_dir(k, src, rel, &st);
    goto out_free;
  }
  wl_cli_warn("left out %s: not a regular file or directory", src);
  k->w->skipped++;
out_free:
  free(src);
  free(rel);
  return rv;
}

static int walk_dir(struct walker *k, const char *src, const char *rel, const struct stat *dst) {
  for (unsigned i = 0; i < k->depth; i++) {
    if (k->stack[i].dev == dst->st_dev && k->stack[i].ino == dst->st_ino) {
      snprintf(k->err, k->errlen, "symlink loop: %s leads back to an enclosing directory", src);
      return WL_EINVAL;
    }
  }
  if (k->depth >= WALK_MAX_DEPTH) {
    snprintf(k->err, k->errlen, "directories nest deeper than %d levels at %s", WALK_MAX_DEPTH,
             src);
    return WL_ETOOBIG;
  }
  DIR *d = opendir(src);
  if (d == NULL) {
    snprintf(k->err, k->errlen, "cannot read directory %s: %s", src, strerror(errno));
    return WL_EIO;
  }
  k->stack[k->depth].dev = dst->st_dev;
  k->stack[k->depth].ino = dst->st_ino;
  k->depth++;
  int rv = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      if (errno != 0) {
        snprintf(k->err, k->errlen, "cannot read directory %s: %s", src, strerror(errno));
        rv = WL_EIO;
      }
      break;
    }
    const char *name = de->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    if (k->o->skip_hidden && name[0] == '.') {
      k->w->hidden++;
      continue;
    }
    char *csrc = join(src, name);
    char *crel = rel[0] ? join(rel, name) : strdup(name);
    if (csrc == NULL || crel == NULL) {
      free(csrc);
      free(crel);
      rv = WL_ENOMEM;
      break;
    }
    if (!utf8_valid(name)) {
      snprintf(k->err, k->errlen, "file name is not valid UTF-8 (torrents require it): %s",
               csrc);
      free(csrc);
      free(crel);
      rv = WL_EINVAL;
      break;
    }
    rv = walk_entry(k, csrc, crel);
    if (rv < 0) break;
  }
  k->depth--;
  closedir(d);
  return rv;
}

/* Component-wise byte order: '/' sorts before every other byte, so "a/b" < "a-b" < "a.txt",
 * which is the order of the keys of nested dicts. */
static int path_cmp(const void *a, const void *b) {
  const unsigned char *p = (const unsigned char *)((const struct wl_walk_file *)a)->path;
  const unsigned char *q = (const unsigned char *)((const struct wl_walk_file *)b)->path;
  for (;; p++, q++) {
    unsigned x = *p == '\0' ? 0 : (*p == '/' ? 1 : (unsigned)*p + 2);
    unsigned y = *q == '\0' ? 0 : (*q == '/' ? 1 : (unsigned)*q + 2);
    if (x != y) return x < y ? -1 : 1;
    if (x == 0) return 0;
  }
}

/* The name of the torrent: the last component of root, resolved if it is "." or "..". */
static char *root_name(const char *root) {
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && root[b - 1] != '/') b--;
  char *name = strndup(root + b, n - b);
  if (name == NULL) return NULL;
  if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    free(name);
    char *real = realpath(root, NULL);
    if (real == NULL) return NULL;
    const char *slash = strrchr(real, '/');
    name = strdup(slash != NULL && slash[1] ? slash + 1 : "root");
    free(real);
  }
  return name;
}

int wl_walk_run(struct wl_walk *w, const char *root, const struct wl_walk_opts *o, char *err,
                size_t errlen) {
  memset(w, 0, sizeof *w);
  struct walker k = {.w = w, .o = o, .err = err, .errlen = errlen};
  int rv;
  struct stat st;
  if (stat(root, &st) < 0) {
    snprintf(err, errlen, "cannot read %s: %s", root, strerror(errno));
    return WL_EIO;
  }
  w->name = root_name(root);
  if (w->name == NULL) {
    snprintf(err, errlen, "cannot resolve the name of %s: %s", root, strerror(errno));
    return WL_EIO;
  }
  if (!utf8_valid(w->name)) {
    snprintf(err, errlen, "name is not valid UTF-8 (torrents require it): %s", root);
    rv = WL_EINVAL;
    goto out_release;
  }
  if (S_ISREG(st.st_mode)) {
    char *path = strdup(w->name);
    char *src = strdup(root);
    if (path == NULL || src == NULL) {
      free(path);
      free(src);
      rv = WL_ENOMEM;
      goto out_release;
    }
    w->single = true;
    rv = add_file(&k, path, src, &st);
    if (rv < 0) {
      free(path);
      free(src);
      goto out_release;
    }
    return 0;
  }
  if (!S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s is neither a regular file nor a directory", root);
    rv = WL_EINVAL;
    goto out_release;
  }
  /* "dir/" and "dir" list the same paths */
  size_t rl = strlen(root);
  while (rl > 1 && root[rl - 1] == '/') rl--;
  char *top = strndup(root, rl);
  if (top == NULL) {
    rv = WL_ENOMEM;
    goto out_release;
  }
  rv = walk_dir(&k, top, "", &st);
  free(top);
  if (rv == WL_ENOMEM) snprintf(err, errlen, "out of memory listing %s", root);
  if (rv < 0) goto out_release;
  qsort(w->files, w->n, sizeof *w->files, path_cmp);
  return 0;

out_release:
  wl_walk_release(w);
  return rv;
}

void wl_walk_release(struct wl_walk *w) {
  for (size_t i = 0; i < w->n; i++) {
    free(w->files[i].path);
    free(w->files[i].src);
  }
  free(w->files);
  free(w->name);
  memset(w, 0, sizeof *w);
}
