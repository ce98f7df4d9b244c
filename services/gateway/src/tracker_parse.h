/* Tracker query parsing (tracker_parse.c): no connection, no I/O, so it can be fuzzed. */
#ifndef WL_GATEWAY_TRACKER_PARSE_H
#define WL_GATEWAY_TRACKER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wl/config.h"
#include "wl_proto.h"

/* Fills *a (user_id left empty) from an announce query. NULL on success, else the failure
 * reason (a constant, or written into reason). client_ip is used unless WL_ALLOW_IP_PARAM and
 * the query has ip/ipv4/ipv6. */
const char *wl_announce_parse(const struct wl_config *cfg, const char *query, size_t qlen,
                              const uint8_t *client_ip, uint8_t client_ip_len,
                              struct wl_msg_announce *a, bool *compact, bool *no_peer_id,
                              char *reason, size_t rlen);

/* Collects the info_hash values of a scrape query (at most cfg->scrape_max) into hashes
 * (room for that many), sorted and unique; *count set. NULL on success, else the reason. */
const char *wl_scrape_parse(const struct wl_config *cfg, const char *query, size_t qlen,
                            uint8_t *hashes, size_t *count, char *reason, size_t rlen);

#endif
