/* Stored .torrent files: POST /api/registry/torrent (validate with the strict parser, compute
 * the info hashes over the info dict's exact bytes, upsert the entry, store the bytes), GET
 * /api/registry/torrent (the stored bytes, unchanged) and GET /api/registry/meta (parsed from
 * the stored bytes on each request, so it always agrees with the file).
 *
 * Uploads are hostile and up to WL_TORRENT_MAX (64 MiB by default): the parser bounds its own
 * memory, and a bad file is a 400 with the parser's reason. */
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "wl/error.h"
#include "wl/hex.h"
#include "wl/log.h"
#include "wl/torrent.h"

/* ---- POST /api/registry/torrent ----------------------------------------------------------- */

void wl__registry_torrent_post(struct wl_registry *reg, const struct wl_reg_query *q,
                               const uint8_t *body, size_t len, struct wl_reg_reply *rep) {
  struct wl_torrent t;
  struct wl_reg_entry_in in;
  char err[512], reason[WL_REG_REASON_MAX + 128];
  int rv;
  memset(&t, 0, sizeof t);
  memset(&in, 0, sizeof in);
  if (len > (size_t)reg->cfg->torrent_max) {
    wl__reply_error(rep, 413, "Torrent file too large: at most %lld bytes (WL_TORRENT_MAX).",
                    (long long)reg->cfg->torrent_max);
    return;
  }
  if (len == 0) {
    wl__reply_error(rep, 400, "Empty body: send the .torrent file as the request body.");
    return;
  }
  if (wl__param_text(q, P_NAME, WL_REG_NAME_MAX, &in.name, rep) < 0 ||
      wl__param_text(q, P_DESCRIPTION, WL_REG_DESCRIPTION_MAX, &in.description, rep) < 0 ||
      wl__param_text(q, P_PUBLISHER, WL_REG_SHORT_MAX, &in.publisher, rep) < 0 ||
      wl__param_text(q, P_LICENSE, WL_REG_SHORT_MAX, &in.license, rep) < 0 ||
      wl__param_text(q, P_CATEGORY, WL_REG_SHORT_MAX, &in.category, rep) < 0 ||
      wl__param_text(q, P_TAGS, WL_REG_TAGS_MAX, &in.tags, rep) < 0)
    return;

  rv = wl_torrent_parse(body, len, &t, err, sizeof err);
  if (rv == WL_ENOMEM) {
    wl__reply_internal(rep, rv);
    goto out;
  }
  if (rv < 0) {
    wl__reply_error(rep, 400, "Invalid torrent file: %s", err);
    goto out;
  }
  if (t.has_v2) {
    wl__registry_hash_from_bytes(&in.ih, t.v2_hash, 32);
    if (t.has_v1) wl__registry_hash_from_bytes(&in.v1, t.v1_hash, 20);
  } else {
    wl__registry_hash_from_bytes(&in.ih, t.v1_hash, 20);
  }
  if (in.name == NULL) in.name = t.name;
  in.has_size = true;
  in.size = (int64_t)t.total_size;

  bool created = false;
  int64_t id = 0;
  struct wl_reg_swarms before, after;
  rv = wl__registry_begin(reg);
  if (rv == 0)
    rv = wl__registry_upsert(reg, &in, WL_UPSERT_MERGE, &created, &id, &before, &after, reason,
                             sizeof reason);
  if (rv == 0) {
    sqlite3_stmt *st = reg->st.torrent_put;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob64(st, 2, body, len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, reg->now_ms());
    int rc = sqlite3_step(st);
    wl__registry_done(st);
    if (rc != SQLITE_DONE) rv = wl__registry_sqlerr(reg, "storing a torrent file");
  }
  if (rv == 0) rv = wl__registry_commit(reg);
  if (rv < 0) {
    wl__registry_rollback(reg);
    if (rv == WL_EBLOCKED)
      wl__reply_error(rep, 409, "This torrent is blocked on this tracker: %s", reason);
    else if (rv == WL_EEXISTS)
      wl__reply_error(rep, 409, "Conflict: %s.", reason);
    else
      wl__reply_internal(rep, rv);
    goto out;
  }
  if (created) reg->nentries++;
  wl__registry_publish_diff(reg, &before, &after);
  WL_INFO("registry", "stored torrent %s (%zu bytes, %s)", in.ih.hex, len,
          wl_torrent_version_name(t.version));

  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_obj_open(&w);
  wl__jw_kstr(&w, "status", created ? "created" : "updated");
  wl__jw_kstr(&w, "info_hash", in.ih.hex);
  if (in.v1.len) wl__jw_kstr(&w, "v1_info_hash", in.v1.hex);
  wl__jw_obj_close(&w);
  rep->status = 201;
out:
  wl_torrent_release(&t);
}

/* ---- GET /api/registry/torrent ------------------------------------------------------------ */

/* Content-Disposition for name.torrent: a plain ASCII filename (quotes, backslashes, slashes,
 * control and non-ASCII bytes replaced by '_'), plus RFC 6266 filename* when the name is not
 * plain ASCII. The name is cut at ~200 bytes (at a character boundary). */
static void disposition(char *out, size_t outlen, const char *name, size_t n) {
  char ascii[256], pct[3 * 200 + 1];
  size_t a = 0, p = 0;
  bool plain = true;
  if (n > 200) {
    n = 200;
    while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80) n--;
  }
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    bool ok = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '/';
    if (c >= 0x80 || !ok) plain = false;
    ascii[a++] = ok ? (char)c : '_';
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        (c && strchr("-._~", c))) {
      pct[p++] = (char)c;
    } else {
      snprintf(pct + p, sizeof pct - p, "%%%02X", c);
      p += 3;
    }
  }
  ascii[a] = '\0';
  pct[p] = '\0';
  if (plain)
    snprintf(out, outlen, "attachment; filename=\"%s.torrent\"", ascii);
  else
    snprintf(out, outlen, "attachment; filename=\"%s.torrent\"; filename*=UTF-8''%s.torrent", ascii,
             pct);
}

void wl__registry_torrent_get(struct wl_registry *reg, const struct wl_reg_query *q,
                              struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  if (wl__param_hash(q, &h, rep) < 0) return;
  sqlite3_stmt *st = reg->st.torrent_get;
  sqlite3_bind_text(st, 1, h.hex, (int)h.len, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const void *data = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const char *name = (const char *)sqlite3_column_text(st, 1);
    char cd[WL_REG_HEADER_VALUE_MAX];
    disposition(cd, sizeof cd, name ? name : "torrent", name ? (size_t)sqlite3_column_bytes(st, 1) : 7);
    wl_buf_reset(&rep->body);
    int rv = wl_buf_append(&rep->body, data, n);
    wl__registry_done(st);
    if (rv < 0) {
      wl__reply_internal(rep, rv);
      return;
    }
    rep->status = 200;
    rep->content_type = "application/x-bittorrent";
    wl__reply_header(rep, "Content-Disposition", "%s", cd);
    return;
  }
  wl__registry_done(st);
  if (rc != SQLITE_DONE) {
    wl__reply_internal(rep, wl__registry_sqlerr(reg, "reading a torrent file"));
    return;
  }
  /* tell "no such entry" from "an entry without a file" */
  int found = wl__registry_find(reg, h.hex);
  if (found > 0) wl__registry_done(reg->st.entry_find);
  if (found < 0)
    wl__reply_internal(rep, found);
  else if (found)
    wl__reply_error(rep, 404, "No torrent file is stored for info_hash %s.", h.hex);
  else
    wl__reply_error(rep, 404, "No registry entry has info_hash %s.", h.hex);
}

/* ---- GET /api/registry/meta --------------------------------------------------------------- */

void wl__registry_meta(struct wl_registry *reg, const struct wl_reg_query *q,
                       struct wl_reg_reply *rep) {
  struct wl_reg_hash h;
  struct wl_torrent t;
  char err[512], hex[65];
  memset(&t, 0, sizeof t);
  if (wl__param_hash(q, &h, rep) < 0) return;
  sqlite3_stmt *st = reg->st.torrent_get;
  sqlite3_bind_text(st, 1, h.hex, (int)h.len, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    wl__registry_done(st);
    if (rc != SQLITE_DONE) {
      wl__reply_internal(rep, wl__registry_sqlerr(reg, "reading a torrent file"));
      return;
    }
    int found = wl__registry_find(reg, h.hex);
    if (found > 0) wl__registry_done(reg->st.entry_find);
    if (found < 0)
      wl__reply_internal(rep, found);
    else if (found)
      wl__reply_error(rep, 404, "No torrent file is stored for info_hash %s.", h.hex);
    else
      wl__reply_error(rep, 404, "No registry entry has info_hash %s.", h.hex);
    return;
  }
  int rv = wl_torrent_parse(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &t,
                            err, sizeof err);
  wl__registry_done(st);
  if (rv < 0) {
    WL_ERROR("registry", "the stored torrent of %s no longer parses: %s", h.hex, err);
    wl__reply_error(rep, 500, "The stored torrent file of %s cannot be read: %s", h.hex, err);
    goto out;
  }
  struct wl_jw w;
  wl_buf_reset(&rep->body);
  wl__jw_init(&w, &rep->body);
  wl__jw_obj_open(&w);
  wl__jw_kstr(&w, "name", t.name);
  wl__jw_key(&w, "piece_length");
  wl__jw_u64(&w, t.piece_length);
  wl__jw_key(&w, "piece_count");
  wl__jw_u64(&w, t.piece_count);
  wl__jw_key(&w, "total_size");
  wl__jw_u64(&w, t.total_size);
  wl__jw_key(&w, "files");
  wl__jw_arr_open(&w);
  for (size_t i = 0; i < t.nfiles && w.err == 0; i++) {
    wl__jw_elem(&w);
    wl__jw_obj_open(&w);
    wl__jw_kstr(&w, "path", t.files[i].path);
    wl__jw_key(&w, "length");
    wl__jw_u64(&w, t.files[i].length);
    wl__jw_obj_close(&w);
  }
  wl__jw_arr_close(&w);
  wl__jw_kstr(&w, "version", wl_torrent_version_name(t.version));
  if (t.has_v2) {
    wl_hex_encode(hex, t.v2_hash, 32);
    wl__jw_kstr(&w, "info_hash", hex);
    if (t.has_v1) {
      wl_hex_encode(hex, t.v1_hash, 20);
      wl__jw_kstr(&w, "v1_info_hash", hex);
    }
  } else {
    wl_hex_encode(hex, t.v1_hash, 20);
    wl__jw_kstr(&w, "info_hash", hex);
  }
  wl__jw_obj_close(&w);
  if (w.err < 0) {
    wl__reply_internal(rep, w.err);
    goto out;
  }
  rep->status = 200;
out:
  wl_torrent_release(&t);
}
