#!/usr/bin/env bash
# Integration: Redis Sentinel failover. A primary, a replica and one Sentinel on free loopback
# ports; a stack whose workers find the primary through WL_REDIS_SENTINELS. Announces work;
# the primary is SIGKILLed; Sentinel promotes the replica; announces recover without
# restarting any Weightless service. Usage: test_sentinel.sh SHARED_STACK_DIR
set -euo pipefail
shared=$1
src=$(grep '^WL_TEST_SRC_DIR=' "$shared/env" | cut -d= -f2)
build=$(grep '^WL_TEST_BUILD_DIR=' "$shared/env" | cut -d= -f2)
dir=$shared-sentinel
rm -rf "$dir"; mkdir -p "$dir"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
p1=$(free_port) p2=$(free_port) ps=$(free_port)
pids=()
cleanup() {
  "$src/tests/integration/stack.sh" stop "$dir/stack" >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
redis-server --port "$p1" --bind 127.0.0.1 --save "" --dir "$dir" --dbfilename p1.rdb --loglevel warning >"$dir/p1.log" 2>&1 & pids+=($!)
redis-server --port "$p2" --bind 127.0.0.1 --save "" --dir "$dir" --dbfilename p2.rdb --replicaof 127.0.0.1 "$p1" --loglevel warning >"$dir/p2.log" 2>&1 & pids+=($!)
cat >"$dir/sentinel.conf" <<CONF
port $ps
bind 127.0.0.1
sentinel monitor wltest 127.0.0.1 $p1 1
sentinel down-after-milliseconds wltest 1000
sentinel failover-timeout wltest 5000
CONF
redis-server "$dir/sentinel.conf" --sentinel >"$dir/sentinel.log" 2>&1 & pids+=($!)
for i in $(seq 1 50); do redis-cli -p "$p2" info replication 2>/dev/null | grep -q master_link_status:up && break; sleep 0.1; done

"$src/tests/integration/stack.sh" start "$dir/stack" "$build" WL_REDIS_SENTINELS=127.0.0.1:$ps \
  WL_REDIS_MASTER_NAME=wltest WL_LOG_LEVEL=${WL_TEST_LOG_LEVEL:-info} >/dev/null
http=$(grep '^WL_TEST_HTTP=' "$dir/stack/env" | cut -d= -f2)
announce() { # src-ip -> body
  curl -s -m 5 --interface "$1" "$http/announce?info_hash=sentinelsentinelsent&peer_id=-WLSENT-000000000001&port=5555&uploaded=0&downloaded=0&left=0"
}
# Sentinel learns replicas from the primary's INFO (every 10 s): a failover before it knows the
# replica aborts with no-good-slave, so wait for it
for i in $(seq 1 150); do
  redis-cli -p "$ps" sentinel replicas wltest 2>/dev/null | grep -q "$p2" && break
  sleep 0.2
done
redis-cli -p "$ps" sentinel replicas wltest | grep -q "$p2" || { echo "FAIL: Sentinel never saw the replica"; exit 1; }
body=$(announce 127.40.0.1)
case "$body" in d8:complete*) ;; *) echo "FAIL: first announce: $body"; exit 1 ;; esac
kill -KILL "${pids[0]}"
echo "primary on $p1 killed; waiting for failover to $p2"
ok=0
t0=$(date +%s.%N)
for i in $(seq 1 150); do
  body=$(announce "127.40.1.$((i % 250 + 1))" || true)
  case "$body" in d8:complete*) ok=1; break ;; esac
  sleep 0.2
done
[ $ok = 1 ] || { echo "FAIL: announces did not recover after failover: $body"; tail -20 "$dir/stack/stack.log"; exit 1; }
redis-cli -p "$p2" role | head -1 | grep -q master || { echo "FAIL: replica was not promoted"; exit 1; }
echo "PASS: announces recovered after Sentinel failover, $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s of failure reasons"
