#!/usr/bin/env bash
# Side-by-side benchmark: Weightless (make run's stack, rate limiting off) and opentracker
# (Debian's package, whitelist filled with the same hashes), both on loopback, driven in
# alternation by the same wrk script. Reports per server and scenario: requests/s, p50/p99
# latency, and CPU microseconds per request summed over every process of the server (Redis
# included), from /proc; then RSS. Writes bench/results/results.md and results.png (gnuplot).
# Usage: bench/run.sh [BUILD_DIR]   env: WL_BENCH_SECONDS (10), WL_BENCH_CONNS (64),
#        WL_BENCH_SWARMS ("1000 100000"), WL_ANNOUNCE_WORKERS (2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-$src/build}
secs=${WL_BENCH_SECONDS:-10}
conns=${WL_BENCH_CONNS:-64}
swarm_sizes=${WL_BENCH_SWARMS:-"1000 100000"}
out=$here/results
mkdir -p "$out"
work=$(mktemp -d /tmp/wl-bench.XXXXXX)
for p in wrk opentracker gnuplot; do command -v $p >/dev/null || missing="${missing:-} $p"; done
if [ -n "${missing:-}" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk opentracker gnuplot-nox >/dev/null
fi

ot_pid=""
cleanup() {
  [ -n "$ot_pid" ] && kill "$ot_pid" 2>/dev/null || true
  "$src/tests/integration/stack.sh" stop "$work/wl" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { "$here/cpu.sh" "$@"; }
rss_kb() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $t; }

# one wrk run: prints "rps p50 p99 completed"
drive() { # url mode close
  WL_BENCH_POOL=$pool WL_BENCH_MODE=$2 WL_BENCH_CLOSE=$3 wrk -t1 -c"$conns" -d"${secs}s" --latency \
    -s "$here/announce.lua" "$1" >"$work/wrk.out" 2>&1 || true
  local rps p50 p99 n
  rps=$(awk '/Requests\/sec/{print $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%"{print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%"{print $2}' "$work/wrk.out")
  n=$(awk '/requests in/{print $1}' "$work/wrk.out")
  echo "$rps $p50 $p99 $n"
}

echo "| swarms | server | scenario | req/s | p50 | p99 | CPU µs/req | RSS MiB |" >"$out/results.md"
echo "|---|---|---|---|---|---|---|---|" >>"$out/results.md"
: >"$out/plot.dat"
for swarms in $swarm_sizes; do
  pool=$work/pool-$swarms.txt
  "$here/gen_pool.py" "$swarms" "$pool"
  # opentracker: whitelist-only build; it chroots into -d and opens the whitelist there
  mkdir -p "$work/ot"
  chmod 755 "$work" "$work/ot"
  cp "$pool" "$work/ot/whitelist.txt"
  chmod 644 "$work/ot/whitelist.txt"
  ot_port=$(free_port)
  printf 'access.whitelist whitelist.txt\ntracker.rootdir %s\n' "$work/ot" >"$work/ot/ot.conf"
  # it refuses to run as root: drop to the package's own user
  opentracker -i 127.0.0.1 -p "$ot_port" -P "$ot_port" -d "$work/ot" -u _opentracker \
    -f "$work/ot/ot.conf" >"$work/ot.log" 2>&1 &
  ot_pid=$!
  "$src/tests/integration/stack.sh" start "$work/wl" "$build" WL_RATE_LIMIT_RPS=0 WL_LOG_LEVEL=warn \
    WL_ANNOUNCE_WORKERS=${WL_ANNOUNCE_WORKERS:-2} WL_MAX_CONNECTIONS_PER_IP=100000 >/dev/null
  wl_port=$(grep WL_TEST_HTTP_PORT "$work/wl/env" | cut -d= -f2)
  d=$work/wl/data
  wl_pids="$(cat $d/gateway.pid) $(cat $d/registry.pid) $(cat $d/redis.pid)"
  for f in $d/announce-*.pid; do wl_pids="$wl_pids $(cat $f)"; done
  sleep 1
  for scenario in "announce 0 keep-alive" "announce 1 conn-per-request" "scrape 0 scrape-keep-alive"; do
    set -- $scenario
    mode=$1 close=$2 name=$3
    for server in opentracker weightless; do
      if [ $server = opentracker ]; then
        [ "$close" = 0 ] && [ "$mode" = announce ] && continue  # opentracker closes every connection
        url=http://127.0.0.1:$ot_port pids=$ot_pid
      else
        url=http://127.0.0.1:$wl_port pids=$wl_pids
      fi
      c0=$(cpu $pids)
      read -r rps p50 p99 n < <(drive "$url" "$mode" "$close")
      c1=$(cpu $pids)
      us=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{ if (n>0) printf "%.1f", (b-a)/n*1e6; else print "n/a" }')
      rss=$(awk -v k="$(rss_kb $pids)" 'BEGIN{printf "%.0f", k/1024}')
      echo "| $swarms | $server | $name | $rps | $p50 | $p99 | $us | $rss |" | tee -a "$out/results.md"
      echo "$swarms $server $name $rps $us" >>"$out/plot.dat"
    done
  done
  kill "$ot_pid" 2>/dev/null || true
  wait "$ot_pid" 2>/dev/null || true
  ot_pid=""
  "$src/tests/integration/stack.sh" stop "$work/wl" >/dev/null
done
if command -v gnuplot >/dev/null; then
  awk '$3=="conn-per-request"' "$out/plot.dat" >"$work/cpr.dat"
  gnuplot <<GP || true
set terminal png size 900,450
set output "$out/results.png"
set multiplot layout 1,2
set logscale x
set xlabel "swarms"
set title "announces/s (connection per request)"
plot "< grep weightless $work/cpr.dat" using 1:4 with linespoints title "weightless", \
     "< grep opentracker $work/cpr.dat" using 1:4 with linespoints title "opentracker"
set title "CPU µs per announce (all processes)"
plot "< grep weightless $work/cpr.dat" using 1:5 with linespoints title "weightless", \
     "< grep opentracker $work/cpr.dat" using 1:5 with linespoints title "opentracker"
unset multiplot
GP
fi
echo "results: $out/results.md"
