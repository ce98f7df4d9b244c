#!/usr/bin/env bash
# Integration: /metrics passes `promtool check metrics`; a real Prometheus server (Debian's
# package) scrapes the gateway and the series come back through its HTTP API; /health names
# the backend that is down (503) and recovers. Usage: test_metrics.sh SHARED_STACK_DIR
set -euo pipefail
shared=$1
http=$(grep '^WL_TEST_HTTP=' "$shared/env" | cut -d= -f2)
port=$(grep '^WL_TEST_HTTP_PORT=' "$shared/env" | cut -d= -f2)
data=$(grep '^WL_TEST_DATA_DIR=' "$shared/env" | cut -d= -f2)
dir=$shared-prometheus
rm -rf "$dir"; mkdir -p "$dir"
prom_pid=""
trap '[ -n "$prom_pid" ] && kill $prom_pid 2>/dev/null; true' EXIT
get() { curl -s -m 5 --interface "127.60.0.$((RANDOM % 250 + 1))" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

# some traffic first, so counters and the histogram have samples
for i in $(seq 1 5); do
  get "$http/announce?info_hash=metricsmetricsmetric&peer_id=-WLMETR-00000000000$i&port=$((7000+i))&uploaded=0&downloaded=0&left=1" >/dev/null
done
get "$http/scrape?info_hash=metricsmetricsmetric" >/dev/null
get "$http/nope" >/dev/null

body=$(get "$http/metrics")
for m in tracker_announces_total tracker_scrapes_total tracker_active_peers tracker_registered_torrents \
         tracker_swarms_total tracker_http_requests_total tracker_rate_limited_total \
         tracker_http_request_duration_seconds_bucket tracker_backend_errors_total \
         tracker_backend_timeouts_total tracker_announce_workers_connected tracker_registry_stats_lag_seconds; do
  grep -q "^$m" <<<"$body" || fail "metric $m missing"
done
for m in tracker_announces_total tracker_scrapes_total tracker_active_peers tracker_registered_torrents tracker_swarms_total; do
  grep -q "^# HELP $m " <<<"$body" || fail "no HELP for $m"
  grep -q "^# TYPE $m " <<<"$body" || fail "no TYPE for $m"
done
promtool check metrics <<<"$body" || fail "promtool check metrics"
echo "promtool: ok"

# a real Prometheus scraping the gateway
pport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: weightless
    static_configs:
      - targets: ['127.0.0.1:$port']
YML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$dir/prometheus.log" 2>&1 &
prom_pid=$!
ok=""
for i in $(seq 1 100); do
  r=$(curl -s -m 2 "http://127.0.0.1:$pport/api/v1/query?query=tracker_announces_total" || true)
  if grep -q '"value":\[' <<<"$r"; then ok=1; break; fi
  sleep 0.3
done
[ -n "$ok" ] || { tail -20 "$dir/prometheus.log"; fail "Prometheus did not scrape tracker_announces_total: $r"; }
up=$(curl -s "http://127.0.0.1:$pport/api/v1/query?query=up%7Bjob%3D%22weightless%22%7D")
grep -q '"1"\]' <<<"$up" || fail "target not up: $up"
echo "prometheus: scraped $(grep -o '"value":\[[^]]*\]' <<<"$r")"

# /health: 200, then 503 naming the backend that is down, then 200 again
[ "$(get "$http/health")" = OK ] || fail "health not OK at start"
kill -KILL "$(cat "$data/registry.pid")"
h=$(get -w '\n%{http_code}' "$http/health")
grep -q '^503$' <<<"$h" || fail "health with the registry down: $h"
grep -q 'Database unreachable' <<<"$h" || fail "503 body: $h"
grep -q 'registry' <<<"$h" || fail "503 does not name the registry: $h"
for i in $(seq 1 50); do [ "$(get "$http/health")" = OK ] && break; sleep 0.2; done
[ "$(get "$http/health")" = OK ] || fail "health did not recover after the registry restarted"
kill -KILL "$(cat "$data/redis.pid")"
sleep 0.3
h=$(get -w '\n%{http_code}' "$http/health")
grep -q '^503$' <<<"$h" || fail "health with Redis down: $h"
grep -qi 'redis' <<<"$h" || fail "503 does not name Redis: $h"
for i in $(seq 1 75); do [ "$(get "$http/health")" = OK ] && break; sleep 0.2; done
[ "$(get "$http/health")" = OK ] || fail "health did not recover after Redis restarted"
echo "PASS"
