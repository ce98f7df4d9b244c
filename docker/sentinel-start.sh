#!/bin/sh
# Starts a Redis Sentinel watching the Weightless primary. Sentinel rewrites its own config file
# (what it learned: the current primary after a failover, the other sentinels, the replicas), so
# the file is written only when it does not exist yet: a restarted sentinel container keeps what
# it learned instead of pointing at a primary that may have been demoted.
#   SENTINEL_MASTER_NAME (mymaster)  SENTINEL_MASTER_HOST (redis)  SENTINEL_MASTER_PORT (6379)
#   SENTINEL_QUORUM (2)  SENTINEL_DOWN_AFTER_MS (3000)  SENTINEL_FAILOVER_TIMEOUT_MS (10000)
#   SENTINEL_ANNOUNCE_HOST (this container's name on the network; empty = its IP)
set -eu
conf=/etc/redis/sentinel/sentinel.conf
name=${SENTINEL_MASTER_NAME:-mymaster}
if [ ! -s "$conf" ]; then
  {
    echo "port 26379"
    echo "protected-mode no"
    echo "dir /data"
    echo "sentinel resolve-hostnames yes"
    echo "sentinel announce-hostnames yes"
    [ -n "${SENTINEL_ANNOUNCE_HOST:-}" ] && echo "sentinel announce-ip ${SENTINEL_ANNOUNCE_HOST}"
    echo "sentinel monitor $name ${SENTINEL_MASTER_HOST:-redis} ${SENTINEL_MASTER_PORT:-6379} ${SENTINEL_QUORUM:-2}"
    echo "sentinel down-after-milliseconds $name ${SENTINEL_DOWN_AFTER_MS:-3000}"
    echo "sentinel failover-timeout $name ${SENTINEL_FAILOVER_TIMEOUT_MS:-10000}"
    echo "sentinel parallel-syncs $name 1"
  } >"$conf"
fi
exec redis-sentinel "$conf"
