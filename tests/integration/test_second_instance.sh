#!/usr/bin/env bash
# Integration: one stack per data directory. On the shared stack's data directory, a second
# `scripts/run-stack` stops at once and says why; a second gateway and a second registry started
# by hand refuse to take over the live sockets there, and exit; the shared stack goes on serving
# announces through its workers all along. Usage: test_second_instance.sh SHARED_STACK_DIR
set -euo pipefail
shared=$1
http=$(grep '^WL_TEST_HTTP=' "$shared/env" | cut -d= -f2)
data=$(grep '^WL_TEST_DATA_DIR=' "$shared/env" | cut -d= -f2)
build=$(grep '^WL_TEST_BUILD_DIR=' "$shared/env" | cut -d= -f2)
src=$(grep '^WL_TEST_SRC_DIR=' "$shared/env" | cut -d= -f2)
data=$(cd "$data" && pwd) build=$(cd "$build" && pwd) # as the services print them
dir=$shared-second
rm -rf "$dir"; mkdir -p "$dir"
fail() { echo "FAIL: $*"; exit 1; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
n=0
announce_ok() { # an announce through the shared stack's workers is answered
  n=$((n + 1))
  local body
  body=$(curl -s -m 5 --interface "127.61.0.$((n % 250 + 1))" \
    "$http/announce?info_hash=secondinstancesecond&peer_id=-WLSECOND-000000000$((n % 10))&port=$((7100 + n))&uploaded=0&downloaded=0&left=1" |
    tr -d '\0')
  grep -q "8:intervali" <<<"$body" || fail "announce through the shared stack: $body"
}
# runs "$@" with a 30 s bound; its exit status, its output in $dir/out
bounded() { local rc=0; timeout 30 "$@" >"$dir/out" 2>&1 || rc=$?; echo $rc; }

announce_ok
[ -S "$data/announce.ipc" ] || fail "no announce.ipc in the shared data directory"

# a second stack on the same data directory
rc=$(bounded env WL_DATA_DIR="$data" WL_HTTP_ADDR="127.0.0.1:$(free_port)" WL_BUILD_DIR="$build" \
  "$src/scripts/run-stack")
[ "$rc" = 1 ] || { cat "$dir/out"; fail "second run-stack exited $rc, not 1"; }
grep -q "another stack runs on $data" "$dir/out" || { cat "$dir/out"; fail "no reason given"; }
echo "second run-stack: $(head -1 "$dir/out")"
announce_ok

# a second gateway by hand: its HTTP port is free, the announce bus socket is not
gw=$(find "$build/services" -name wl-gateway -type f | head -1)
rc=$(bounded env WL_DATA_DIR="$data" WL_HTTP_ADDR="127.0.0.1:$(free_port)" REGISTRY_KEY=k "$gw")
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$dir/out"; fail "second gateway exited $rc"; }
grep -q "another process listens on $data/announce.ipc" "$dir/out" || { cat "$dir/out"; fail "gateway: no reason given"; }
echo "second gateway: exit $rc, $(grep -m1 'another process' "$dir/out")"
[ -S "$data/announce.ipc" ] || fail "the second gateway removed the live announce.ipc"

# a second registry by hand
reg=$(find "$build/services" -name wl-registry -type f | head -1)
rc=$(bounded env WL_DATA_DIR="$data" REGISTRY_KEY=k "$reg")
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { cat "$dir/out"; fail "second registry exited $rc"; }
grep -q "another process listens on $data/registry.ipc" "$dir/out" || { cat "$dir/out"; fail "registry: no reason given"; }
grep -q "database" "$dir/out" && { cat "$dir/out"; fail "the second registry opened the database"; }
echo "second registry: exit $rc, $(grep -m1 'another process' "$dir/out")"

# the shared stack is untouched: announces go on, a new worker connection still reaches the
# gateway (a worker restarted now dials the same socket), and /health is OK
announce_ok
w=$(cat "$data/announce-1.pid")
kill -KILL "$w"
for i in $(seq 1 50); do
  nw=$(cat "$data/announce-1.pid" 2>/dev/null || echo "$w")
  [ "$nw" != "$w" ] && break
  sleep 0.2
done
[ "$nw" != "$w" ] || fail "worker 1 was not restarted"
for i in $(seq 1 50); do
  c=$(curl -s -m 5 --interface 127.61.1.1 "$http/metrics" | awk '/^tracker_announce_workers_connected /{print $2}')
  [ "$c" = 2 ] && break
  sleep 0.2
done
[ "$c" = 2 ] || fail "the restarted worker did not reach the gateway ($c workers connected)"
announce_ok
curl -fsS -m 5 --interface 127.61.1.2 "$http/health" >/dev/null || fail "/health"
echo "shared stack: still serving; a restarted worker reconnected"
rm -rf "$dir"
