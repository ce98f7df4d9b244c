/* Logging to stderr with a level and a module tag: "2026-11-29T05:00:00Z warn gateway: ...".
 * The threshold is set once at start from WL_LOG_LEVEL (the one process-wide setting, written
 * before any thread starts and read-only afterwards). */
#ifndef WL_LOG_H
#define WL_LOG_H

enum wl_log_level { WL_LOG_DEBUG = 0, WL_LOG_INFO, WL_LOG_WARN, WL_LOG_ERROR };

void wl_log_set_level(enum wl_log_level lvl);
/* Parses "debug"|"info"|"warn"|"error". 0 or WL_EINVAL. */
int wl_log_parse_level(const char *s, enum wl_log_level *out);
void wl_log(enum wl_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define WL_DEBUG(mod, ...) wl_log(WL_LOG_DEBUG, mod, __VA_ARGS__)
#define WL_INFO(mod, ...) wl_log(WL_LOG_INFO, mod, __VA_ARGS__)
#define WL_WARN(mod, ...) wl_log(WL_LOG_WARN, mod, __VA_ARGS__)
#define WL_ERROR(mod, ...) wl_log(WL_LOG_ERROR, mod, __VA_ARGS__)

#endif
