/* wl-registry: the single owner of registry entries, stored .torrent files, the blocklist and
 * the live swarm figures, in SQLite (WAL) at <WL_DATA_DIR>/registry.db. Started with no
 * arguments; configuration comes from the environment (libcommon's config table). It creates
 * the data directory if missing, migrates the schema, listens on its three bus sockets and
 * serves until SIGTERM/SIGINT, then applies the figures already received, checkpoints the WAL
 * and exits 0. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

#include "bus.h"
#include "registry.h"
#include "wl/error.h"
#include "wl/log.h"

/* mkdir -p. 0 or WL_EIO (errno set). */
static int mkdir_p(const char *dir) {
  char tmp[4096];
  int n = snprintf(tmp, sizeof tmp, "%s", dir);
  if (n <= 0 || (size_t)n >= sizeof tmp) {
    errno = ENAMETOOLONG;
    return WL_EIO;
  }
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return WL_EIO;
    *p = '/';
  }
  if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return WL_EIO;
  return 0;
}

int main(int argc, char **argv) {
  struct wl_config cfg;
  struct wl_registry reg;
  struct wl_registry_bus bus;
  char err[512], path[4200];
  enum wl_log_level lvl;
  int rv, status = 1, sigfd, locks[3] = {-1, -1, -1};
  (void)argv;

  if (argc > 1) {
    fprintf(stderr, "usage: wl-registry (configured through WL_* environment variables)\n");
    return 2;
  }
  if (wl_config_load(&cfg, err, sizeof err) < 0) {
    fprintf(stderr, "wl-registry: invalid configuration: %s\n", err);
    return 2;
  }
  if (wl_log_parse_level(cfg.log_level, &lvl) < 0) {
    fprintf(stderr, "wl-registry: invalid configuration: WL_LOG_LEVEL: expected debug, info, "
                    "warn or error\n");
    return 2;
  }
  wl_log_set_level(lvl);
  signal(SIGPIPE, SIG_IGN);
  sigfd = wl_registry_signalfd();
  if (sigfd < 0) {
    WL_ERROR("registry", "cannot set up signal handling: %s", strerror(errno));
    return 1;
  }
  if (mkdir_p(cfg.data_dir) < 0) {
    WL_ERROR("registry", "cannot create the data directory %s: %s", cfg.data_dir, strerror(errno));
    goto out_sigfd;
  }
  if (snprintf(path, sizeof path, "%s/registry.db", cfg.data_dir) >= (int)sizeof path) {
    WL_ERROR("registry", "WL_DATA_DIR is too long");
    goto out_sigfd;
  }
  /* before the database: a second registry on this data directory must not touch it */
  if (wl_registry_bus_lock(&cfg, locks) < 0) goto out_sigfd;
  /* One thread uses SQLite (NNG's threads never do): no mutexes at all, and no allocation
   * statistics behind one. The pthread mutex calls of the default mode were ~12% of the
   * registry's profile while it applied swarm figures (100,000 swarms under announce load). */
  sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  rv = wl_registry_open(&reg, &cfg, path, err, sizeof err);
  if (rv < 0) {
    WL_ERROR("registry", "cannot open the database: %s", err);
    goto out_db;
  }
  WL_INFO("registry", "database %s: %lld entries", path, (long long)reg.nentries);
  rv = wl_registry_bus_open(&bus, &reg);
  if (rv < 0) goto out_bus;
  WL_INFO("registry", "ready");
  rv = wl_registry_bus_run(&bus, sigfd);
  if (rv == 0) status = 0;
out_bus:
  wl_registry_bus_close(&bus);
out_db:
  wl_registry_close(&reg);
  if (status == 0) WL_INFO("registry", "stopped");
  wl_registry_bus_unlock(locks);
out_sigfd:
  close(sigfd);
  return status;
}
