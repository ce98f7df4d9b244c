#!/usr/bin/env bash
# Side-by-side benchmark: Weightless (make run's stack, rate limiting off) and opentracker
# (Debian's package, whitelist filled with the same hashes), both on loopback, driven in
# alternation by the same wrk script. Reports per server and scenario: requests/s, p50/p99
# latency, and CPU microseconds per request summed over every process of the server (Redis
# included), from /proc; then RSS. Writes bench/results/results.md and results.png (gnuplot).
# Then three more phases, each a section of results.md (bench/README.md says what each number
# means):
#  - latency at half of peak: on the WL_BENCH_HALF_SWARMS pool, each server driven at 50% of the
#    req/s it reached in its throughput row (Weightless keep-alive, opentracker
#    conn-per-request) with a paced wrk script; achieved req/s, p50, p99, CPU µs/req.
#  - memory: fresh servers loaded with WL_BENCH_MEM_SWARMS x WL_BENCH_MEM_PEERS distinct peers
#    (bench/memory.lua); RSS of every process and Redis used_memory before and after, bytes
#    per peer, and the peer counts each tracker reports.
#  - CLI hashing: bench/hash.sh (weightless create vs libtorrent).
#  - registry search: bench/registry_search.py on WL_BENCH_SEARCH_ENTRIES (1,000,000) entries.
# Usage: bench/run.sh [BUILD_DIR] (or --plot: redraw results.png from results/plot.dat)   env: WL_BENCH_SECONDS (10), WL_BENCH_CONNS (64),
#        WL_BENCH_SWARMS ("1000 100000"), WL_ANNOUNCE_WORKERS (1: on 2 cores wrk takes one),
#        WL_BENCH_WARM_PEERS (200: pools of <= 10,000 swarms are first filled to that many peers
#        per swarm on both servers, so their rows measure big swarms),
#        WL_BENCH_HALF (1; 0 skips), WL_BENCH_HALF_SWARMS (1000: must be one of WL_BENCH_SWARMS),
#        WL_BENCH_HALF_RUNS (3: paced runs per server, alternating; every run and the medians),
#        WL_BENCH_MEMORY (1; 0 skips), WL_BENCH_MEM_SWARMS (100000), WL_BENCH_MEM_PEERS (10),
#        WL_BENCH_MEM_TIMEOUT (900: ceiling in seconds for one pass of one server's load),
#        WL_BENCH_MEM_PASSES (3: walks at most, while the tracker counts fewer peers than sent),
#        WL_BENCH_HASH (1; 0 skips), WL_BENCH_HASH_MIB (2048), WL_BENCH_HASH_RUNS (2),
#        WL_BENCH_SEARCH (1; 0 skips), WL_BENCH_SEARCH_ENTRIES (1000000), WL_BENCH_SEARCH_RUNS (300),
#        WL_BENCH_OUT (bench/results: where results.md, plot.dat and results.png go)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-$src/build}
[ "$build" = --plot ] && build=$src/build
secs=${WL_BENCH_SECONDS:-10}
conns=${WL_BENCH_CONNS:-64}
swarm_sizes=${WL_BENCH_SWARMS:-"1000 100000"}
half=${WL_BENCH_HALF:-1}
half_swarms=${WL_BENCH_HALF_SWARMS:-1000}
half_runs=${WL_BENCH_HALF_RUNS:-3}
memory=${WL_BENCH_MEMORY:-1}
mem_swarms=${WL_BENCH_MEM_SWARMS:-100000}
mem_peers=${WL_BENCH_MEM_PEERS:-10}
mem_timeout=${WL_BENCH_MEM_TIMEOUT:-900}
mem_passes=${WL_BENCH_MEM_PASSES:-3}
do_hash=${WL_BENCH_HASH:-1}
out=${WL_BENCH_OUT:-$here/results}
mkdir -p "$out"
work=$(mktemp -d /tmp/wl-bench.XXXXXX)
for p in wrk opentracker gnuplot; do command -v $p >/dev/null || missing="${missing:-} $p"; done
if [ -n "${missing:-}" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk opentracker gnuplot-nox >/dev/null
fi

ot_pid=""
wrk_pid=""
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  [ -n "$ot_pid" ] && kill "$ot_pid" 2>/dev/null || true
  "$src/tests/integration/stack.sh" stop "$work/wl" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { "$here/cpu.sh" "$@"; }
rss_kb() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status 2>/dev/null || echo 0))); done; echo $t; }

# one wrk run: prints "rps p50 p99 completed"
drive() { # url mode close [rate: paced at that many req/s]
  WL_BENCH_POOL=$pool WL_BENCH_MODE=$2 WL_BENCH_CLOSE=$3 WL_BENCH_RATE=${4:-} \
    timeout $((secs + 60)) wrk -t1 -c"$conns" -d"${secs}s" --latency \
    -s "$here/announce.lua" "$1" >"$work/wrk.out" 2>&1 || true
  local rps p50 p99 n
  rps=$(awk '/Requests\/sec/{print $2}' "$work/wrk.out")
  p50=$(awk '$1=="50%"{print $2}' "$work/wrk.out")
  p99=$(awk '$1=="99%"{print $2}' "$work/wrk.out")
  n=$(awk '/requests in/{print $1}' "$work/wrk.out")
  echo "$rps $p50 $p99 $n"
}

start_servers() { # pool: opentracker (whitelist = pool) and a Weightless stack; sets ot_port ot_pid wl_port wl_pids
  # opentracker: whitelist-only build; it chroots into -d and opens the whitelist there
  mkdir -p "$work/ot"
  chmod 755 "$work" "$work/ot"
  cp "$1" "$work/ot/whitelist.txt"
  chmod 644 "$work/ot/whitelist.txt"
  ot_port=$(free_port)
  printf 'access.whitelist whitelist.txt\ntracker.rootdir %s\naccess.stats 127.0.0.1\n' "$work/ot" >"$work/ot/ot.conf"
  # it refuses to run as root: drop to the package's own user
  opentracker -i 127.0.0.1 -p "$ot_port" -P "$ot_port" -d "$work/ot" -u _opentracker \
    -f "$work/ot/ot.conf" >"$work/ot.log" 2>&1 &
  ot_pid=$!
  "$src/tests/integration/stack.sh" start "$work/wl" "$build" WL_RATE_LIMIT_RPS=0 WL_LOG_LEVEL=warn \
    WL_ANNOUNCE_WORKERS=${WL_ANNOUNCE_WORKERS:-1} WL_MAX_CONNECTIONS_PER_IP=100000 >/dev/null
  wl_port=$(grep WL_TEST_HTTP_PORT "$work/wl/env" | cut -d= -f2)
  d=$work/wl/data
  wl_pids="$(cat $d/gateway.pid) $(cat $d/registry.pid) $(cat $d/redis.pid)"
  for f in $d/announce-*.pid; do wl_pids="$wl_pids $(cat $f)"; done
  sleep 1
}
stop_servers() {
  kill "$ot_pid" 2>/dev/null || true
  wait "$ot_pid" 2>/dev/null || true
  ot_pid=""
  "$src/tests/integration/stack.sh" stop "$work/wl" >/dev/null
}

plot_results() { # plot.dat -> results.png: announces/s and CPU per announce against swarms
  local dat=$1 png=$2 tmp
  tmp=$(mktemp -d)
  awk '$2=="weightless" && $3=="keep-alive"' "$dat" >"$tmp/wk.dat"
  awk '$2=="weightless" && $3=="conn-per-request"' "$dat" >"$tmp/wc.dat"
  awk '$2=="opentracker" && $3=="conn-per-request"' "$dat" >"$tmp/oc.dat"
  gnuplot <<GP || true
set terminal png size 900,450
set output "$png"
set multiplot layout 1,2
set logscale x
set xrange [300:300000]
set yrange [0:*]
set key bottom left
set xlabel "swarms"
set title "announces/s (64 connections)"
plot "$tmp/wk.dat" using 1:4 with linespoints title "weightless keep-alive", \
     "$tmp/wc.dat" using 1:4 with linespoints title "weightless conn/request", \
     "$tmp/oc.dat" using 1:4 with linespoints title "opentracker (conn/request)"
set title "CPU µs per announce (all processes)"
plot "$tmp/wk.dat" using 1:5 with linespoints title "weightless keep-alive", \
     "$tmp/wc.dat" using 1:5 with linespoints title "weightless conn/request", \
     "$tmp/oc.dat" using 1:5 with linespoints title "opentracker (conn/request)"
unset multiplot
GP
  rm -rf "$tmp"
}
if [ "${1:-}" = --plot ]; then # bench/run.sh --plot: redraw results.png from plot.dat
  plot_results "$out/plot.dat" "$out/results.png"
  exit 0
fi

half_rows=$work/half.md
: >"$half_rows"
ratio_rows=$work/ratio.md
: >"$ratio_rows"
warm_peers=${WL_BENCH_WARM_PEERS:-200}
# wrk's latency ("812.00us", "1.45ms", "1.02s") in ms
to_ms() { awk -v v="$1" 'BEGIN{ u = v; sub(/^[0-9.]+/, "", u); n = v + 0;
  printf "%.2f", u == "us" ? n / 1000 : u == "s" ? n * 1000 : u == "m" ? n * 60000 : n }'; }
# the median of the numbers on stdin
median() { sort -g | awk '{ a[NR] = $1 } END{ if (NR) printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# drives each server at half the req/s it reached in its throughput row on this pool,
# half_runs times in alternation (a p99 over one 10 s run moves by a millisecond or more between
# runs on these shared 2-core machines: every run is listed, then the medians)
half_peak() { # ot_peak wl_peak
  local server peak rate url pids close name c0 c1 rps p50 p99 n us run
  echo "latency at half of peak (swarms, server, scenario, run, peak, target, achieved req/s, p50, p99, CPU µs/req):"
  : >"$work/half-runs"
  for run in $(seq 1 "$half_runs"); do
    for server in opentracker weightless; do
      if [ $server = opentracker ]; then
        peak=$1 url=http://127.0.0.1:$ot_port pids=$ot_pid close=1 name=conn-per-request
      else
        peak=$2 url=http://127.0.0.1:$wl_port pids=$wl_pids close=0 name=keep-alive
      fi
      if [ -z "$peak" ]; then echo "half-peak: no peak for $server; skipped" >&2; continue; fi
      rate=$(awk -v p="$peak" 'BEGIN{printf "%d", p / 2}')
      c0=$(cpu $pids)
      read -r rps p50 p99 n < <(drive "$url" announce "$close" "$rate")
      c1=$(cpu $pids)
      us=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN{ if (n>0) printf "%.1f", (b-a)/n*1e6; else print "n/a" }')
      echo "| $swarms | $server | $name | $run | $peak | $rate | $rps | $p50 | $p99 | $us |" | tee -a "$half_rows"
      echo "$server $name $peak $rate $rps $(to_ms "$p50") $(to_ms "$p99") $us" >>"$work/half-runs"
    done
  done
  for server in opentracker weightless; do
    grep -q "^$server " "$work/half-runs" || continue
    read -r name peak rate < <(awk -v s=$server '$1==s{print $2, $3, $4; exit}' "$work/half-runs")
    echo "| $swarms | $server | $name | **median of $half_runs** | $peak | $rate |" \
      "$(awk -v s=$server '$1==s{print $5}' "$work/half-runs" | median) |" \
      "$(awk -v s=$server '$1==s{print $6}' "$work/half-runs" | median)ms |" \
      "**$(awk -v s=$server '$1==s{print $7}' "$work/half-runs" | median)ms** |" \
      "$(awk -v s=$server '$1==s{print $8}' "$work/half-runs" | median) |" | tee -a "$half_rows"
  done
}

echo "| swarms | server | scenario | req/s | p50 | p99 | CPU µs/req | RSS MiB |" >"$out/results.md"
echo "|---|---|---|---|---|---|---|---|" >>"$out/results.md"
: >"$out/plot.dat"
for swarms in $swarm_sizes; do
  pool=$work/pool-$swarms.txt
  "$here/gen_pool.py" "$swarms" "$pool"
  start_servers "$pool"
  ot_peak="" wl_peak="" ot_ann_us="" ot_scr_us=""
  : >"$work/wl-rows"
  # big swarms: the small pool is first filled to ~warm_peers peers per swarm on both servers
  # (every announce of announce.lua is a new peer, so swarms keep growing during the rows)
  if [ "$swarms" -le 10000 ] && [ "$warm_peers" -gt 0 ]; then
    warm_n=$((swarms * warm_peers))
    for url in http://127.0.0.1:$ot_port http://127.0.0.1:$wl_port; do
      WL_BENCH_POOL=$pool WL_BENCH_MODE=announce WL_BENCH_CLOSE=0 WL_BENCH_LIMIT=$warm_n \
        timeout 300 wrk -t1 -c"$conns" -d300s -s "$here/announce.lua" "$url" >/dev/null 2>&1 || true
    done
    echo "warmed the $swarms-swarm pool with $warm_n announces per server (~$warm_peers peers per swarm)"
  fi
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
      [ $server = opentracker ] && [ "$mode" = announce ] && ot_ann_us=$us
      [ $server = opentracker ] && [ "$mode" = scrape ] && ot_scr_us=$us
      [ $server = weightless ] && echo "$mode $name $us" >>"$work/wl-rows"
      [ "$mode" = announce ] && [ $server = opentracker ] && ot_peak=$rps
      [ "$mode" = announce ] && [ $server = weightless ] && [ "$close" = 0 ] && wl_peak=$rps
    done
  done
  # ratios against opentracker's rows of this pool (announces: its conn-per-request row)
  while read -r mode name us; do
    ref=$ot_ann_us
    [ "$mode" = scrape ] && ref=$ot_scr_us
    awk -v w="$us" -v o="$ref" -v s="$swarms" -v n="$name" \
      'BEGIN{ if (o > 0 && w > 0) printf "| %s | %s | %.1f | %.1f | %.2f |\n", s, n, w, o, w/o }' >>"$ratio_rows"
  done <"$work/wl-rows"
  if [ "$half" != 0 ] && [ "$swarms" = "$half_swarms" ]; then
    half_peak "$ot_peak" "$wl_peak"
  fi
  stop_servers
done
if [ -s "$ratio_rows" ]; then
  {
    echo
    echo "### CPU per request, Weightless / opentracker (same run; opentracker closes every connection, so its conn-per-request rows are the reference)"
    echo
    echo "| swarms | Weightless scenario | Weightless µs | opentracker µs | ratio |"
    echo "|---|---|---|---|---|"
    cat "$ratio_rows"
  } | tee -a "$out/results.md"
fi
if [ -s "$half_rows" ]; then
  {
    echo
    echo "### Latency at half of peak (announces, paced: bench/announce.lua with WL_BENCH_RATE, $conns connections, ${secs} s)"
    echo
    echo "| swarms | server | scenario | run | peak req/s | target req/s | achieved req/s | p50 | p99 | CPU µs/req |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    cat "$half_rows"
  } >>"$out/results.md"
fi

# Memory: fresh servers, mem_swarms x mem_peers distinct peers, RSS and Redis before and after
mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
per_peer() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN{printf "%.0f", (b-a)/n}'; }
redis_used() { redis-cli -s "$work/wl/data/redis.sock" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
ot_count() { curl -sS -m 5 "http://127.0.0.1:$ot_port/stats?mode=peer" | head -1; }
wl_count() { redis-cli -s "$work/wl/data/redis.sock" HGET wl:g peers | tr -d '\r'; }
# Runs bench/memory.lua against URL; sets load_secs, load_rps (first pass) and load_passes.
# opentracker closes every connection after its reply without saying Connection: close (wrk
# counts a read error per reply); once in a while wrk has already taken its next request and
# written it on that connection, and that peer never reaches the tracker (15 and 144 peers of
# 1,000,000 in two runs, each missing from a different swarm, while wrk had sent all 1,000,000
# and had a 2xx reply for as many requests). So when the tracker counts fewer peers than were
# sent, the whole walk runs again (announces are idempotent: a peer already there is updated in
# place), up to mem_passes passes.
load_peers() { # url close log count_function
  local pass gen landed
  for pass in $(seq 1 "$mem_passes"); do
    WL_BENCH_POOL=$pool WL_BENCH_MEM_SWARMS=$mem_swarms WL_BENCH_MEM_PEERS=$mem_peers WL_BENCH_CONNS=$conns \
      WL_BENCH_CLOSE=$2 timeout $((mem_timeout + 60)) wrk -t1 -c"$conns" -d"${mem_timeout}s" \
      -s "$here/memory.lua" "$1" >"$3.$pass" 2>&1 &
    wrk_pid=$!
    wait "$wrk_pid" || true
    wrk_pid=""
    gen=$(awk '/^memory.lua:/{print $3}' "$3.$pass")
    if [ "$gen" != "$total_peers" ]; then
      echo "memory: wrk sent ${gen:-no} new peers of $total_peers; its output:" >&2
      cat "$3.$pass" >&2
    fi
    if [ "$pass" = 1 ]; then
      read -r load_secs load_rps < <(awk '/requests in/{t=$4; sub(/,$/, "", t); v=t+0; if (t ~ /ms$/) v/=1000; else if (t ~ /m$/) v*=60; s=v}
           /Requests\/sec/{r=$2} END{printf "%.1f %.0f\n", s, r}' "$3.$pass")
    fi
    load_passes=$pass
    sleep 1
    landed=$($4 || true)
    case "$landed" in ''|*[!0-9]*) landed=0 ;; esac
    echo "memory: pass $pass: $(grep -E 'requests in|Socket errors|Non-2xx' "$3.$pass" | tr -s ' ' | tr '\n' ';') tracker counts $landed peers"
    [ "$landed" -ge "$total_peers" ] && break
    # a pass that memory.lua did not end itself ran into the -d ceiling (or wrk failed): no retry
    replies=$(awk '/^memory.lua:/{print $5}' "$3.$pass")
    if [ "${replies:-0}" -lt $((total_peers + conns)) ]; then
      echo "memory: pass $pass ended with ${replies:-no} replies of $((total_peers + conns)) (ceiling ${mem_timeout} s?); no further pass" >&2
      break
    fi
  done
}
if [ "$memory" != 0 ]; then
  total_peers=$((mem_swarms * mem_peers))
  pool=$work/pool-mem-$mem_swarms.txt
  "$here/gen_pool.py" "$mem_swarms" "$pool"
  start_servers "$pool"
  sleep 1
  ot_rss0=$(( $(rss_kb $ot_pid) * 1024 ))
  wl_rss0=$(( $(rss_kb $wl_pids) * 1024 ))
  rd_rss0=$(( $(rss_kb $(cat $work/wl/data/redis.pid)) * 1024 ))
  rd_used0=$(redis_used)
  echo "memory: loading $total_peers peers ($mem_swarms swarms x $mem_peers) into opentracker"
  load_peers "http://127.0.0.1:$ot_port" 1 "$work/mem-ot.out" ot_count
  ot_secs=$load_secs ot_rps=$load_rps ot_passes=$load_passes
  ot_rss1=$(( $(rss_kb $ot_pid) * 1024 ))
  ot_stats=$(curl -sS -m 5 "http://127.0.0.1:$ot_port/stats?mode=peer" | tr '\n' ' ' || true)
  ot_landed=$(echo "$ot_stats" | awk '{print $1}')
  ot_torrents=$(echo "$ot_stats" | awk '{for (i=1;i<NF;i++) if ($i=="serving") print $(i+1)}')
  echo "memory: loading $total_peers peers into weightless"
  load_peers "http://127.0.0.1:$wl_port" 0 "$work/mem-wl.out" wl_count
  wl_secs=$load_secs wl_rps=$load_rps wl_passes=$load_passes
  sleep 1 # /metrics caches the workers' figures for 1 s
  wl_rss1=$(( $(rss_kb $wl_pids) * 1024 ))
  rd_rss1=$(( $(rss_kb $(cat $work/wl/data/redis.pid)) * 1024 ))
  rd_used1=$(redis_used)
  metrics=$(curl -sS -m 5 "http://127.0.0.1:$wl_port/metrics" || true)
  wl_landed=$(echo "$metrics" | awk '$1=="tracker_active_peers"{print $2}')
  wl_swarms=$(echo "$metrics" | awk '$1=="tracker_swarms"{print $2}')
  wl_fail=$(echo "$metrics" | awk '$1=="tracker_announce_failures_total"{print $2}')
  rd_peers=$(redis-cli -s "$work/wl/data/redis.sock" HGET wl:g peers | tr -d '\r')
  stop_servers
  wl_pp=$(per_peer "$wl_rss0" "$wl_rss1" "$total_peers")
  rd_pp=$(per_peer "$rd_used0" "$rd_used1" "$total_peers")
  ot_pp=$(per_peer "$ot_rss0" "$ot_rss1" "$total_peers")
  {
    echo
    echo "### Memory: $total_peers peers ($mem_swarms swarms x $mem_peers, bench/memory.lua, $conns connections), fresh servers"
    echo
    echo "| server | what | before MiB | after MiB | bytes per peer | passes | first pass s (req/s) | peers reported |"
    echo "|---|---|---|---|---|---|---|---|"
    echo "| opentracker | RSS | $(mib $ot_rss0) | $(mib $ot_rss1) | $ot_pp | $ot_passes | $ot_secs ($ot_rps) | ${ot_landed:-?} peers, ${ot_torrents:-?} torrents (/stats?mode=peer) |"
    echo "| weightless | RSS, all processes | $(mib $wl_rss0) | $(mib $wl_rss1) | $wl_pp | $wl_passes | $wl_secs ($wl_rps) | ${wl_landed:-?} peers, ${wl_swarms:-?} swarms (/metrics) |"
    echo "| weightless | of which Redis RSS | $(mib $rd_rss0) | $(mib $rd_rss1) | $(per_peer "$rd_rss0" "$rd_rss1" "$total_peers") | | | ${rd_peers:-?} (wl:g peers) |"
    echo "| weightless | Redis used_memory | $(mib $rd_used0) | $(mib $rd_used1) | $rd_pp | | | |"
    echo
    awk -v w="$wl_pp" -v r="$rd_pp" -v o="$ot_pp" 'BEGIN{ if (o > 0) printf "Per peer, Weightless (all processes) / opentracker = %.1f; Redis used_memory / opentracker = %.1f.\n", w/o, r/o }'
    [ "${wl_fail:-0}" != 0 ] && echo "Weightless counted $wl_fail announce failures (tracker_announce_failures_total) during the load."
    [ "${wl_landed:-}" != "$total_peers" ] && echo "WARNING: Weightless reports ${wl_landed:-no} peers, $total_peers were sent."
    [ "${ot_landed:-}" != "$total_peers" ] && echo "WARNING: opentracker reports ${ot_landed:-no} peers, $total_peers were sent."
    true
  } | tee "$work/mem.md"
  cat "$work/mem.md" >>"$out/results.md"
fi

if [ "$do_hash" != 0 ]; then
  "$here/hash.sh" "$build" "$out/results.md" || echo "hash.sh failed" >&2
fi
# Registry search on WL_BENCH_SEARCH_ENTRIES generated entries (bench/registry_search.py)
if [ "${WL_BENCH_SEARCH:-1}" != 0 ]; then
  entries=${WL_BENCH_SEARCH_ENTRIES:-1000000}
  if timeout 1800 /usr/bin/python3 "$here/registry_search.py" --build "$build" --entries "$entries" \
      --runs "${WL_BENCH_SEARCH_RUNS:-300}" >"$work/search.out" 2>&1; then
    {
      echo
      echo "### Registry search: $entries entries (bench/registry_search.py, warm cache, through the gateway)"
      echo
      echo '```'
      sed -n '/^Registry search latency/,$p' "$work/search.out"
      echo '```'
    } | tee -a "$out/results.md"
  else
    echo "registry_search.py failed:" >&2
    tail -20 "$work/search.out" >&2
  fi
fi
if command -v gnuplot >/dev/null; then
  plot_results "$out/plot.dat" "$out/results.png"
fi
echo "results: $out/results.md"
