/* The hashing engine of `weightless create`: every piece of the content is one task, claimed
 * by a pool of pthreads from an atomic counter, read with pread(2) into the worker's own
 * piece-sized buffer and hashed there:
 *   - v1: SHA-1 of the piece; pieces run across file boundaries (contiguous layout);
 *   - v2 and hybrid: files start on piece boundaries (hybrid: BEP 47 pad files in the v1
 *     view), so a piece lies in one file; SHA-256 of each 16 KiB block, then the piece's
 *     merkle subtree; hybrid also takes SHA-1 of the piece, zero-padded to a full piece unless
 *     it is the last piece of the whole torrent.
 * After the pool, each file's piece layer is reduced to its `pieces root` (BEP 52: leaves
 * padded with zero hashes to a power of two; a file of one piece or less is rooted over its
 * blocks padded to the next power of two, not to a full piece).
 * Workload: multi-GB weight files; memory is threads * piece length plus the output hashes;
 * throughput is bound by SHA (SHA-NI: ~1.5-2 GB/s per core for SHA-256) or the disk. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "wl/error.h"

enum { BLOCK = 16384 };

struct job {
  struct wl_hash *h;
  const struct wl_walk *w;
  uint64_t plen;    /* piece length */
  uint32_t bpp;     /* 16 KiB blocks per piece */
  bool v1, v2;      /* which hashes */
  bool aligned;     /* files start on piece boundaries (v2, hybrid) */
  size_t *nz;       /* aligned: indices of the non-empty files, in order */
  size_t nnz;
  uint64_t *offs;   /* v1: offset of each file in the contiguous stream */
  uint8_t pad_piece[32]; /* root of a piece of zero leaves (v2 layer padding) */
  EVP_MD *sha1;
  EVP_MD *sha256;
  _Atomic uint64_t next;       /* next piece to claim */
  _Atomic uint64_t done_bytes; /* progress */
  atomic_bool stop;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned running;
  int rv;
};

struct worker {
  struct job *j;
  pthread_t tid;
  uint8_t *buf;    /* plen bytes */
  uint8_t *leaves; /* bpp * 32 bytes */
  EVP_MD_CTX *ctx;
  int fd;
  size_t fd_file;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t pow2_ceil(uint64_t n) {
  uint64_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

/* Records the first failure and stops the pool. */
static void job_fail(struct job *j, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_fail(struct job *j, int rv, const char *fmt, ...) {
  pthread_mutex_lock(&j->mu);
  if (j->rv == 0) {
    j->rv = rv;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->h->err, sizeof j->h->err, fmt, ap);
    va_end(ap);
  }
  pthread_mutex_unlock(&j->mu);
  atomic_store(&j->stop, true);
}

static int digest(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a, size_t na, const void *b,
                  size_t nb, uint8_t *out) {
  if (EVP_DigestInit_ex(ctx, md, NULL) != 1) return WL_ENOMEM;
  if (EVP_DigestUpdate(ctx, a, na) != 1) return WL_ENOMEM;
  if (nb > 0 && EVP_DigestUpdate(ctx, b, nb) != 1) return WL_ENOMEM;
  if (EVP_DigestFinal_ex(ctx, out, NULL) != 1) return WL_ENOMEM;
  return 0;
}

/* Reduces n 32-byte nodes (n >= 1), conceptually followed by width - n copies of pad, to the
 * root of a tree of `width` leaves (a power of two). Works in place in nodes. */
static int merkle_reduce(EVP_MD_CTX *ctx, const EVP_MD *md, uint8_t *nodes, uint64_t n,
                         uint64_t width, const uint8_t pad0[32], uint8_t out[32]) {
  uint8_t pad[32], tmp[32];
  memcpy(pad, pad0, 32);
  while (width > 1) {
    for (uint64_t i = 0; 2 * i < n; i++) {
      const uint8_t *l = nodes + 64 * i;
      const uint8_t *r = 2 * i + 1 < n ? nodes + 64 * i + 32 : pad;
      int rv = digest(ctx, md, l, 32, r, 32, tmp);
      if (rv < 0) return rv;
      memcpy(nodes + 32 * i, tmp, 32);
    }
    n = (n + 1) / 2;
    int rv = digest(ctx, md, pad, 32, pad, 32, tmp);
    if (rv < 0) return rv;
    memcpy(pad, tmp, 32);
    width /= 2;
  }
  memcpy(out, nodes, 32);
  return 0;
}

/* Reads len bytes of file f at off into dst. */
static int read_at(struct worker *k, size_t f, uint64_t off, uint8_t *dst, size_t len) {
  struct job *j = k->j;
  const struct wl_walk_file *wf = &j->w->files[f];
  if (k->fd_file != f) {
    if (k->fd >= 0) close(k->fd);
    k->fd_file = SIZE_MAX;
    k->fd = open(wf->src, O_RDONLY | O_CLOEXEC);
    if (k->fd < 0) {
      job_fail(j, WL_EIO, "cannot open %s: %s", wf->src, strerror(errno));
      return WL_EIO;
    }
    posix_fadvise(k->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    k->fd_file = f;
  }
  while (len > 0) {
    ssize_t r = pread(k->fd, dst, len, (off_t)off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      job_fail(j, WL_EIO, "cannot read %s: %s", wf->src, strerror(errno));
      return WL_EIO;
    }
    if (r == 0) {
      job_fail(j, WL_EIO, "%s changed while it was being hashed (now shorter than %llu bytes)",
               wf->src, (unsigned long long)wf->length);
      return WL_EIO;
    }
    dst += r;
    off += (uint64_t)r;
    len -= (size_t)r;
  }
  return 0;
}

/* v1 layout: piece i covers [i*plen, min((i+1)*plen, total)) of the files laid end to end. */
static int hash_piece_contiguous(struct worker *k, uint64_t i) {
  struct job *j = k->j;
  const struct wl_walk *w = j->w;
  uint64_t start = i * j->plen;
  uint64_t len = w->total - start < j->plen ? w->total - start : j->plen;
  /* last file whose offset is <= start */
  size_t lo = 0, hi = w->n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (j->offs[mid] <= start)
      lo = mid;
    else
      hi = mid;
  }
  size_t f = lo;
  uint64_t got = 0;
  while (got < len) {
    while (f < w->n && start + got >= j->offs[f] + w->files[f].length) f++;
    if (f >= w->n) break;
    uint64_t off = start + got - j->offs[f];
    uint64_t take = w->files[f].length - off;
    if (take > len - got) take = len - got;
    int rv = read_at(k, f, off, k->buf + got, (size_t)take);
    if (rv < 0) return rv;
    got += take;
  }
  int rv = digest(k->ctx, j->sha1, k->buf, (size_t)len, NULL, 0, j->h->v1_pieces + 20 * i);
  if (rv < 0) return rv;
  atomic_fetch_add(&j->done_bytes, len);
  return 0;
}

/* v2 / hybrid layout: piece i is piece p of one file. */
static int hash_piece_aligned(struct worker *k, uint64_t i) {
  struct job *j = k->j;
  struct wl_hash *h = j->h;
  size_t lo = 0, hi = j->nnz;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->files[j->nz[mid]].first_piece <= i)
      lo = mid;
    else
      hi = mid;
  }
  size_t f = j->nz[lo];
  struct wl_hash_file *hf = &h->files[f];
  uint64_t length = j->w->files[f].length;
  uint64_t p = i - hf->first_piece;
  uint64_t off = p * j->plen;
  size_t len = (size_t)(length - off < j->plen ? length - off : j->plen);
  int rv = read_at(k, f, off, k->buf, len);
  if (rv < 0) return rv;

  if (j->v2) {
    uint64_t nb = (len + BLOCK - 1) / BLOCK;
    for (uint64_t b = 0; b < nb; b++) {
      size_t bl = len - b * BLOCK < BLOCK ? len - b * BLOCK : BLOCK;
      rv = digest(k->ctx, j->sha256, k->buf + b * BLOCK, bl, NULL, 0, k->leaves + 32 * b);
      if (rv < 0) return rv;
    }
    static const uint8_t zero[32];
    /* A file of one piece is rooted over its own blocks; longer files pad each piece's
     * subtree to a full piece so the piece layer lines up. */
    uint64_t width = hf->npieces > 1 ? j->bpp : pow2_ceil(nb);
    uint8_t *dst = hf->npieces > 1 ? hf->layer + 32 * p : hf->root;
    rv = merkle_reduce(k->ctx, j->sha256, k->leaves, nb, width, zero, dst);
    if (rv < 0) return rv;
  }
  if (j->v1) {
    bool last = i + 1 == h->npieces;
    size_t hl = len;
    if (len < j->plen && !last) {
      /* the BEP 47 pad file after this file fills the rest of the piece with zeros */
      memset(k->buf + len, 0, (size_t)j->plen - len);
      hl = (size_t)j->plen;
    }
    rv = digest(k->ctx, j->sha1, k->buf, hl, NULL, 0, h->v1_pieces + 20 * i);
    if (rv < 0) return rv;
  }
  atomic_fetch_add(&j->done_bytes, len);
  return 0;
}

static void *worker_main(void *arg) {
  struct worker *k = arg;
  struct job *j = k->j;
  while (!atomic_load(&j->stop)) {
    uint64_t i = atomic_fetch_add(&j->next, 1);
    if (i >= j->h->npieces) break;
    int rv = j->aligned ? hash_piece_aligned(k, i) : hash_piece_contiguous(k, i);
    if (rv < 0) {
      if (rv == WL_ENOMEM) job_fail(j, rv, "out of memory while hashing");
      break;
    }
  }
  pthread_mutex_lock(&j->mu);
  j->running--;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  return NULL;
}

static void draw_progress(uint64_t done, uint64_t total, double elapsed, bool final) {
  char a[32], b[32];
  double frac = total ? (double)done / (double)total : 1.0;
  int width = 24, fill = (int)(frac * width + 0.5);
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  wl_cli_human_size(done, a, sizeof a);
  wl_cli_human_size(total, b, sizeof b);
  double rate = elapsed > 0 ? (double)done / elapsed / 1e6 : 0;
  char eta[32] = "";
  if (!final && rate > 0 && done < total) {
    unsigned long s = (unsigned long)((double)(total - done) / (rate * 1e6));
    snprintf(eta, sizeof eta, "  ETA %lu:%02lu", s / 60, s % 60);
  }
  fprintf(stderr, "\rhashing [%s] %5.1f%%  %s / %s  %.0f MB/s%s\033[K", bar, frac * 100.0, a, b,
          rate, eta);
  if (final) fputc('\n', stderr);
  fflush(stderr);
}

unsigned wl_hash_default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > 256) n = 256;
  return (unsigned)n;
}

static int job_setup(struct job *j, struct wl_hash *h) {
  const struct wl_walk *w = h->walk;
  j->h = h;
  j->w = w;
  j->plen = h->piece_length;
  j->bpp = (uint32_t)(h->piece_length / BLOCK);
  j->v1 = h->mode == WL_HASH_V1 || h->mode == WL_HASH_HYBRID;
  j->v2 = h->mode == WL_HASH_V2 || h->mode == WL_HASH_HYBRID;
  j->aligned = j->v2;
  j->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
  j->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  if (j->sha1 == NULL || j->sha256 == NULL) {
    snprintf(h->err, sizeof h->err, "OpenSSL has no SHA-1 or SHA-256");
    return WL_EINVAL;
  }
  h->files = calloc(w->n ? w->n : 1, sizeof *h->files);
  if (h->files == NULL) return WL_ENOMEM;
  if (j->aligned) {
    j->nz = malloc((w->n ? w->n : 1) * sizeof *j->nz);
    if (j->nz == NULL) return WL_ENOMEM;
    uint64_t piece = 0;
    for (size_t f = 0; f < w->n; f++) {
      struct wl_hash_file *hf = &h->files[f];
      hf->npieces = (w->files[f].length + j->plen - 1) / j->plen;
      hf->first_piece = piece;
      if (hf->npieces == 0) continue;
      j->nz[j->nnz++] = f;
      piece += hf->npieces;
      if (j->v2 && hf->npieces > 1) {
        hf->layer = malloc(hf->npieces * 32);
        if (hf->layer == NULL) return WL_ENOMEM;
      }
    }
    h->npieces = piece;
  } else {
    j->offs = malloc((w->n ? w->n : 1) * sizeof *j->offs);
    if (j->offs == NULL) return WL_ENOMEM;
    uint64_t off = 0;
    for (size_t f = 0; f < w->n; f++) {
      j->offs[f] = off;
      off += w->files[f].length;
      h->files[f].npieces = (w->files[f].length + j->plen - 1) / j->plen;
    }
    h->npieces = (w->total + j->plen - 1) / j->plen;
  }
  if (j->v1) {
    h->v1_pieces = malloc(h->npieces ? h->npieces * 20 : 1);
    if (h->v1_pieces == NULL) return WL_ENOMEM;
  }
  /* root of a piece's worth of zero leaves: pads the piece layer up to a power of two */
  memset(j->pad_piece, 0, 32);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return WL_ENOMEM;
  for (uint32_t width = j->bpp; width > 1; width /= 2) {
    uint8_t tmp[32];
    int rv = digest(ctx, j->sha256, j->pad_piece, 32, j->pad_piece, 32, tmp);
    if (rv < 0) {
      EVP_MD_CTX_free(ctx);
      return rv;
    }
    memcpy(j->pad_piece, tmp, 32);
  }
  EVP_MD_CTX_free(ctx);
  return 0;
}

static void job_release(struct job *j) {
  free(j->nz);
  free(j->offs);
  EVP_MD_free(j->sha1);
  EVP_MD_free(j->sha256);
}

/* Roots of files longer than one piece, from their layers. */
static int reduce_layers(struct job *j) {
  struct wl_hash *h = j->h;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return WL_ENOMEM;
  uint8_t *tmp = NULL;
  size_t tmpcap = 0;
  int rv = 0;
  for (size_t f = 0; f < j->w->n; f++) {
    struct wl_hash_file *hf = &h->files[f];
    if (hf->npieces <= 1) continue;
    if (tmpcap < hf->npieces * 32) {
      free(tmp);
      tmpcap = hf->npieces * 32;
      tmp = malloc(tmpcap);
      if (tmp == NULL) {
        rv = WL_ENOMEM;
        break;
      }
    }
    memcpy(tmp, hf->layer, hf->npieces * 32);
    rv = merkle_reduce(ctx, j->sha256, tmp, hf->npieces, pow2_ceil(hf->npieces), j->pad_piece,
                       hf->root);
    if (rv < 0) break;
  }
  free(tmp);
  EVP_MD_CTX_free(ctx);
  return rv;
}

int wl_hash_run(struct wl_hash *h) {
  struct job j;
  memset(&j, 0, sizeof j);
  h->err[0] = '\0';
  h->v1_pieces = NULL;
  h->files = NULL;
  h->npieces = 0;
  if (h->piece_length < BLOCK || (h->piece_length & (h->piece_length - 1)) != 0) {
    snprintf(h->err, sizeof h->err, "piece length must be a power of two of at least 16 KiB");
    return WL_EINVAL;
  }
  int rv = job_setup(&j, h);
  if (rv < 0) {
    if (rv == WL_ENOMEM) snprintf(h->err, sizeof h->err, "out of memory preparing to hash");
    goto out_release;
  }
  unsigned nt = h->threads ? h->threads : wl_hash_default_threads();
  if (nt > h->npieces) nt = h->npieces ? (unsigned)h->npieces : 1;
  struct worker *ws = calloc(nt, sizeof *ws);
  if (ws == NULL) {
    rv = WL_ENOMEM;
    snprintf(h->err, sizeof h->err, "out of memory preparing to hash");
    goto out_release;
  }
  pthread_mutex_init(&j.mu, NULL);
  pthread_cond_init(&j.cv, NULL);
  double t0 = now_s();
  unsigned started = 0;
  for (unsigned t = 0; t < nt; t++) {
    struct worker *k = &ws[t];
    k->j = &j;
    k->fd = -1;
    k->fd_file = SIZE_MAX;
    k->buf = malloc((size_t)h->piece_length);
    k->leaves = malloc((size_t)j.bpp * 32);
    k->ctx = EVP_MD_CTX_new();
    if (k->buf == NULL || k->leaves == NULL || k->ctx == NULL) {
      job_fail(&j, WL_ENOMEM, "out of memory for %u hashing buffers of %llu bytes", nt,
               (unsigned long long)h->piece_length);
      break;
    }
    pthread_mutex_lock(&j.mu);
    j.running++;
    pthread_mutex_unlock(&j.mu);
    if (pthread_create(&k->tid, NULL, worker_main, k) != 0) {
      pthread_mutex_lock(&j.mu);
      j.running--;
      pthread_mutex_unlock(&j.mu);
      job_fail(&j, WL_ENOMEM, "cannot start hashing threads: %s", strerror(errno));
      break;
    }
    started++;
  }

  /* Wait, drawing the bar a few times a second. */
  pthread_mutex_lock(&j.mu);
  while (j.running > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&j.cv, &j.mu, &ts);
    if (h->progress && j.running > 0) {
      pthread_mutex_unlock(&j.mu);
      draw_progress(atomic_load(&j.done_bytes), h->walk->total, now_s() - t0, false);
      pthread_mutex_lock(&j.mu);
    }
  }
  pthread_mutex_unlock(&j.mu);
  for (unsigned t = 0; t < started; t++) pthread_join(ws[t].tid, NULL);
  for (unsigned t = 0; t < nt; t++) {
    free(ws[t].buf);
    free(ws[t].leaves);
    EVP_MD_CTX_free(ws[t].ctx);
    if (ws[t].fd >= 0) close(ws[t].fd);
  }
  free(ws);
  pthread_cond_destroy(&j.cv);
  pthread_mutex_destroy(&j.mu);
  rv = j.rv;
  if (rv == 0 && j.v2) {
    rv = reduce_layers(&j);
    if (rv < 0) snprintf(h->err, sizeof h->err, "out of memory building merkle trees");
  }
  h->seconds = now_s() - t0;
  if (h->progress && rv == 0) draw_progress(h->walk->total, h->walk->total, h->seconds, true);
  if (h->progress && rv < 0) fputc('\n', stderr);

out_release:
  job_release(&j);
  if (rv < 0) wl_hash_release(h);
  return rv;
}

void wl_hash_release(struct wl_hash *h) {
  if (h->files != NULL && h->walk != NULL) {
    for (size_t f = 0; f < h->walk->n; f++) free(h->files[f].layer);
  }
  free(h->files);
  free(h->v1_pieces);
  h->files = NULL;
  h->v1_pieces = NULL;
}
