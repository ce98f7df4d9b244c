/* Torrent files through the registry API: every good torrent of tests/data/torrents (made by
 * libtorrent: v1, v2, hybrid, single and multi-file, BEP 47 pad files) uploaded, its hashes,
 * entry, stored bytes, Content-Disposition and /meta compared with what libtorrent reported
 * (expected.txt); every malformed one refused with a 400 and its reason (bad.txt); query
 * overrides, merge with a JSON registration, the v1-only entry upgraded by its hybrid torrent,
 * blocked torrents, size caps. argv[1] is tests/data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "regtest.h"
#include "wl/hex.h"

static const char *g_data = "tests/data";

struct expect_file {
  uint64_t length;
  char path[256];
};

struct expect {
  char torrent[128], version[16], name[256], v1[41], v2[65];
  uint64_t piece_length, piece_count, total_size;
  size_t nfiles;
  struct expect_file files[16];
};

static size_t load_expected(struct expect *out, size_t max) {
  char path[600], line[600];
  snprintf(path, sizeof path, "%s/torrents/expected.txt", g_data);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = 0;
  struct expect *e = NULL;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    char *sp = strchr(line, ' ');
    const char *v = sp ? sp + 1 : "";
    if (sp) *sp = '\0';
    if (strcmp(line, "torrent") == 0) {
      assert_true(n < max);
      e = &out[n++];
      memset(e, 0, sizeof *e);
      snprintf(e->torrent, sizeof e->torrent, "%s", v);
    } else if (e == NULL) {
      continue;
    } else if (strcmp(line, "version") == 0) {
      snprintf(e->version, sizeof e->version, "%s", v);
    } else if (strcmp(line, "name") == 0) {
      snprintf(e->name, sizeof e->name, "%s", v);
    } else if (strcmp(line, "piece_length") == 0) {
      e->piece_length = strtoull(v, NULL, 10);
    } else if (strcmp(line, "piece_count") == 0) {
      e->piece_count = strtoull(v, NULL, 10);
    } else if (strcmp(line, "total_size") == 0) {
      e->total_size = strtoull(v, NULL, 10);
    } else if (strcmp(line, "v1") == 0) {
      snprintf(e->v1, sizeof e->v1, "%s", strcmp(v, "-") ? v : "");
    } else if (strcmp(line, "v2") == 0) {
      snprintf(e->v2, sizeof e->v2, "%s", strcmp(v, "-") ? v : "");
    } else if (strcmp(line, "file") == 0) {
      assert_true(e->nfiles < 16);
      struct expect_file *ef = &e->files[e->nfiles++];
      char *end;
      ef->length = strtoull(v, &end, 10);
      snprintf(ef->path, sizeof ef->path, "%s", end + 1);
    }
  }
  fclose(f);
  return n;
}

static uint8_t *load_torrent(const char *dir, const char *name, size_t *len) {
  char path[600];
  snprintf(path, sizeof path, "%s/torrents/%s/%s", g_data, dir, name);
  uint8_t *p = rt_read_file(path, len);
  if (p == NULL) fail_msg("missing %s", path);
  return p;
}


static json_t *upload(struct rt *t, const char *query, const uint8_t *p, size_t n, unsigned want) {
  struct wl_reg_reply rep;
  rt_req(t, "POST", "/api/registry/torrent", query, p, n, true, &rep);
  if (rep.status != want)
    fail_msg("upload: %u, want %u: %.*s", rep.status, want, (int)rep.body.len, (char *)rep.body.data);
  json_t *j = rt_json(&rep);
  wl_reg_reply_release(&rep);
  return j;
}

static void good_torrents(void **state) {
  struct rt *t = *state;
  struct expect ex[16];
  size_t n = load_expected(ex, 16);
  assert_true(n >= 8);
  for (size_t i = 0; i < n; i++) {
    const struct expect *e = &ex[i];
    size_t len;
    uint8_t *p = load_torrent("good", e->torrent, &len);
    json_t *j = upload(t, NULL, p, len, 201);
    const char *ih = e->v2[0] ? e->v2 : e->v1;
    assert_string_equal(rt_jstr(j, "status"), "created");
    assert_string_equal(rt_jstr(j, "info_hash"), ih);
    if (strcmp(e->version, "hybrid") == 0)
      assert_string_equal(rt_jstr(j, "v1_info_hash"), e->v1);
    else
      assert_null(json_object_get(j, "v1_info_hash"));
    json_decref(j);

    /* the entry: name and size (pad files excluded) from the torrent; found by either hash */
    j = rt_get(t, e->v1[0] ? e->v1 : e->v2);
    assert_non_null(j);
    assert_string_equal(rt_jstr(j, "info_hash"), ih);
    assert_string_equal(rt_jstr(j, "name"), e->name);
    assert_int_equal(json_integer_value(json_object_get(j, "size")), e->total_size);
    json_decref(j);

    /* the stored bytes, unchanged */
    char q[200];
    struct wl_reg_reply rep;
    snprintf(q, sizeof q, "info_hash=%s", e->v1[0] ? e->v1 : e->v2);
    rt_req(t, "GET", "/api/registry/torrent", q, NULL, 0, false, &rep);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.content_type, "application/x-bittorrent");
    assert_int_equal(rep.body.len, len);
    assert_memory_equal(rep.body.data, p, len);
    char cd[400];
    snprintf(cd, sizeof cd, "attachment; filename=\"%s.torrent\"", e->name);
    assert_string_equal(rt_header(&rep, "Content-Disposition"), cd);
    wl_reg_reply_release(&rep);

    /* meta, compared with libtorrent */
    rt_req(t, "GET", "/api/registry/meta", q, NULL, 0, false, &rep);
    assert_int_equal(rep.status, 200);
    j = rt_json(&rep);
    wl_reg_reply_release(&rep);
    assert_string_equal(rt_jstr(j, "name"), e->name);
    assert_string_equal(rt_jstr(j, "version"), e->version);
    assert_string_equal(rt_jstr(j, "info_hash"), ih);
    if (strcmp(e->version, "hybrid") == 0) assert_string_equal(rt_jstr(j, "v1_info_hash"), e->v1);
    else assert_null(json_object_get(j, "v1_info_hash"));
    assert_int_equal(json_integer_value(json_object_get(j, "piece_length")), e->piece_length);
    assert_int_equal(json_integer_value(json_object_get(j, "piece_count")), e->piece_count);
    assert_int_equal(json_integer_value(json_object_get(j, "total_size")), e->total_size);
    json_t *files = json_object_get(j, "files");
    if (json_array_size(files) != e->nfiles)
      fail_msg("%s: %zu files, want %zu", e->torrent, json_array_size(files), e->nfiles);
    for (size_t k = 0; k < e->nfiles; k++) {
      json_t *f = json_array_get(files, k);
      assert_string_equal(rt_jstr(f, "path"), e->files[k].path);
      assert_int_equal(json_integer_value(json_object_get(f, "length")), e->files[k].length);
    }
    json_decref(j);

    /* again: updated, same entry */
    j = upload(t, NULL, p, len, 201);
    assert_string_equal(rt_jstr(j, "status"), "updated");
    json_decref(j);
    free(p);
  }
  assert_int_equal(t->reg.nentries, (int64_t)n);
  /* a search sees them */
  struct wl_reg_reply rep;
  rt_req(t, "GET", "/api/registry/search", "q=multi", NULL, 0, false, &rep);
  assert_int_equal(rep.status, 200);
  assert_int_not_equal(strcmp(rt_header(&rep, "X-Total-Count"), "0"), 0);
  wl_reg_reply_release(&rep);
}

static void bad_torrents(void **state) {
  struct rt *t = *state;
  char path[600], line[600];
  snprintf(path, sizeof path, "%s/torrents/bad.txt", g_data);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int count = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#' || line[0] == '\n') continue;
    line[strcspn(line, "\n")] = '\0';
    char *name = strtok(line, "\t");
    strtok(NULL, "\t");
    char *reason = strtok(NULL, "\t");
    char file[200];
    snprintf(file, sizeof file, "%s.torrent", name);
    size_t len;
    uint8_t *p = load_torrent("bad", file, &len);
    struct wl_reg_reply rep;
    rt_req(t, "POST", "/api/registry/torrent", NULL, p, len, true, &rep);
    if (len == 0) {
      assert_int_equal(rep.status, 400);
    } else {
      if (rep.status != 400) fail_msg("%s: %u", file, rep.status);
      json_t *j = rt_json(&rep);
      const char *err = rt_jstr(j, "error");
      assert_non_null(strstr(err, "Invalid torrent file: "));
      if (reason && !strstr(err, reason)) fail_msg("%s: \"%s\" lacks \"%s\"", file, err, reason);
      json_decref(j);
    }
    wl_reg_reply_release(&rep);
    free(p);
    count++;
  }
  fclose(f);
  assert_true(count > 50);
  assert_int_equal(t->reg.nentries, 0);
  assert_int_equal(t->nev, 0);
}

static void overrides_and_merge(void **state) {
  struct rt *t = *state;
  size_t len;
  uint8_t *p = load_torrent("good", "v2_multi.torrent", &len);
  const char *ih = "ba6ac373046becf5ca14354f54faa0d9a3153bcb9f079cf19fb7811753cbb9bf";
  char body[400];
  /* registered by JSON first, with metadata the torrent does not carry */
  snprintf(body, sizeof body,
           "{\"info_hash\":\"%s\",\"name\":\"Nice name\",\"publisher\":\"lab\",\"license\":\"MIT\","
           "\"description\":\"d\",\"size\":1}",
           ih);
  assert_int_equal(rt_post(t, body), 201);
  json_t *j = upload(t, "category=models&tags=a%2Cb&description=new+text", p, len, 201);
  assert_string_equal(rt_jstr(j, "status"), "updated");
  json_decref(j);
  j = rt_get(t, ih);
  assert_string_equal(rt_jstr(j, "name"), "model"); /* from the torrent: no name parameter */
  assert_string_equal(rt_jstr(j, "publisher"), "lab");
  assert_string_equal(rt_jstr(j, "license"), "MIT");
  assert_string_equal(rt_jstr(j, "description"), "new text");
  assert_string_equal(rt_jstr(j, "category"), "models");
  assert_string_equal(rt_jstr(j, "tags"), "a,b");
  assert_int_equal(json_integer_value(json_object_get(j, "size")), 91684);
  json_decref(j);
  /* a name parameter, non-ASCII, in the download's file name */
  j = upload(t, "name=Caf%C3%A9+%22x%22%2Fy", p, len, 201);
  json_decref(j);
  char q[200];
  snprintf(q, sizeof q, "info_hash=%s", ih);
  struct wl_reg_reply rep;
  rt_req(t, "GET", "/api/registry/torrent", q, NULL, 0, false, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rt_header(&rep, "Content-Disposition"),
                      "attachment; filename=\"Caf__ _x__y.torrent\"; "
                      "filename*=UTF-8''Caf%C3%A9%20%22x%22%2Fy.torrent");
  wl_reg_reply_release(&rep);
  free(p);

  /* an entry with no file: 404 naming which */
  char other[41];
  rt_hash(other, 40, 77);
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"no file\"}", other);
  assert_int_equal(rt_post(t, body), 201);
  snprintf(q, sizeof q, "info_hash=%s", other);
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry/torrent", q, NULL, false, 404), "No torrent file"));
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry/meta", q, NULL, false, 404), "No torrent file"));
  rt_hash(other, 40, 78);
  snprintf(q, sizeof q, "info_hash=%s", other);
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry/torrent", q, NULL, false, 404), "No registry entry"));
  assert_non_null(strstr(rt_error(t, "GET", "/api/registry/meta", q, NULL, false, 404), "No registry entry"));
  rt_error(t, "GET", "/api/registry/torrent", "", NULL, false, 400);
  rt_error(t, "GET", "/api/registry/meta", "info_hash=12", NULL, false, 400);
  rt_error(t, "POST", "/api/registry/torrent", "", "", true, 400);
  rt_error(t, "POST", "/api/registry/torrent", "name=%zz", "d4:infodee", true, 400);
}

static void upgrade_and_block(void **state) {
  struct rt *t = *state;
  const char *v1 = "d231d2c6b11bb742d3439ca7612e24c8179fa052";
  const char *v2 = "3dc40883d00c80ec8e2a7368214677a7ce47f331d684c0cf52e59356082c0ab7";
  char body[300];
  /* someone registered the hybrid by its v1 hash alone */
  snprintf(body, sizeof body, "{\"info_hash\":\"%s\",\"name\":\"early\",\"publisher\":\"p\"}", v1);
  assert_int_equal(rt_post(t, body), 201);
  t->nev = 0;
  size_t len;
  uint8_t *p = load_torrent("good", "hybrid_multi.torrent", &len);
  json_t *j = upload(t, NULL, p, len, 201);
  assert_string_equal(rt_jstr(j, "status"), "updated");
  json_decref(j);
  assert_int_equal(t->reg.nentries, 1);
  j = rt_get(t, v1);
  assert_string_equal(rt_jstr(j, "info_hash"), v2);
  assert_string_equal(rt_jstr(j, "v1_info_hash"), v1);
  assert_string_equal(rt_jstr(j, "publisher"), "p");
  json_decref(j);
  /* the truncated v2 swarm is now registered too */
  assert_int_equal(t->nev, 1);
  assert_true(t->ev[0].on);
  uint8_t raw[32];
  wl_hex_decode(raw, v2, 32);
  assert_memory_equal(t->ev[0].hash, raw, 20);

  /* deleted (by v2): both blocked; uploading it again is a 409 */
  char q[200];
  snprintf(q, sizeof q, "info_hash=%s&reason=spam", v2);
  struct wl_reg_reply rep;
  rt_req(t, "DELETE", "/api/registry", q, NULL, 0, true, &rep);
  assert_int_equal(rep.status, 200);
  wl_reg_reply_release(&rep);
  j = upload(t, NULL, p, len, 409);
  assert_non_null(strstr(rt_jstr(j, "error"), "spam"));
  json_decref(j);
  snprintf(q, sizeof q, "info_hash=%s", v1);
  rt_error(t, "GET", "/api/registry/torrent", q, NULL, false, 404);
  free(p);
}

static void size_cap(void **state) {
  struct rt *t = *state;
  t->cfg.torrent_max = 1024;
  size_t len;
  uint8_t *p = load_torrent("good", "hybrid_model.torrent", &len);
  assert_true(len > 1024);
  json_t *j = upload(t, NULL, p, len, 413);
  assert_non_null(strstr(rt_jstr(j, "error"), "WL_TORRENT_MAX"));
  json_decref(j);
  free(p);
}

int main(int argc, char **argv) {
  if (argc > 1) g_data = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(good_torrents, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(bad_torrents, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(overrides_and_merge, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(upgrade_and_block, rt_setup, rt_teardown),
      cmocka_unit_test_setup_teardown(size_cap, rt_setup, rt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
