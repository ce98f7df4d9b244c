#!/usr/bin/env bash
# CLI hashing speed: times `weightless create` on one file of random data held in the page cache
# (v1, v2 and hybrid at 1 and 2 threads) and libtorrent's create_torrent + set_piece_hashes on
# the same file with the same piece length, and checks that both give the same info hashes.
# Each configuration runs WL_BENCH_HASH_RUNS times; the run with the best wall-clock time is
# reported (wall and CPU of that run). GB/s is file size (10^9 bytes) / wall seconds. For
# weightless that is the whole process (start-up and writing the .torrent included); for
# libtorrent it is timed inside Python around file_storage .. generate(), so the interpreter's
# start-up and `import libtorrent` are left out.
# Usage: bench/hash.sh [BUILD_DIR] [RESULTS_MD]   (RESULTS_MD: append the table there too)
#   env: WL_BENCH_HASH_MIB (2048: file size in MiB), WL_BENCH_HASH_RUNS (2),
#        WL_BENCH_HASH_THREADS ("1 2")
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=${1:-$src/build}
md=${2:-}
mib=${WL_BENCH_HASH_MIB:-2048}
runs=${WL_BENCH_HASH_RUNS:-2}
thread_counts=${WL_BENCH_HASH_THREADS:-"1 2"}
cli=$build/tools/weightless
py=/usr/bin/python3 # Debian's python3-libtorrent is built for the system interpreter
[ -x "$cli" ] || { echo "hash.sh: $cli not built (make build)" >&2; exit 1; }
if ! $py -c 'import libtorrent' 2>/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libtorrent >/dev/null || true
fi

tmp=$(mktemp -d /tmp/wl-hash.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
# the file is named after its size so both tools see the same torrent name
f=$tmp/random-${mib}MiB.bin
avail_mib=$(df -Pm "$tmp" | awk 'NR==2{print $4}')
if [ "$avail_mib" -lt $((mib + 256)) ]; then
  echo "hash.sh: $mib MiB needed in /tmp, $avail_mib free" >&2; exit 1
fi
head -c $((mib * 1024 * 1024)) /dev/urandom >"$f"
cat "$f" >/dev/null # into the page cache
size=$(stat -c %s "$f")

# time_cmd OUT CMD...: runs CMD (stdout to OUT), prints "wall user sys" in seconds
time_cmd() {
  local out=$1; shift
  local TIMEFORMAT='%3R %3U %3S'
  { time "$@" >"$out" 2>"$tmp/stderr"; } 2>&1
}

json_field() { $py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ""))' "$@"; }

lt_script=$tmp/lt.py
cat >"$lt_script" <<'PY'
import json, resource, sys, time
import libtorrent as lt
path, mode, piece = sys.argv[1], sys.argv[2], int(sys.argv[3])
flags = {"v1": lt.create_torrent.v1_only, "v2": lt.create_torrent.v2_only,
         "hybrid": getattr(lt.create_torrent, "canonical_files_no_tail_padding", 0)}[mode]
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
fs = lt.file_storage()
lt.add_files(fs, path)
ct = lt.create_torrent(fs, piece, flags)
lt.set_piece_hashes(ct, path.rsplit("/", 1)[0])
ti = lt.torrent_info(ct.generate())
t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
ih = ti.info_hashes()
print(json.dumps({"seconds": t1 - t0,
                  "cpu_seconds": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                  "v1": str(ih.v1) if ih.has_v1() else "",
                  "v2": str(ih.v2) if ih.has_v2() else "",
                  "version": lt.__version__}))
PY

rows=$tmp/rows.md
: >"$rows"
echo "hashing one $mib MiB file in the page cache (tool, mode, threads, piece, wall s, GB/s, CPU s, same hashes):"
lt_version=$($py -c 'import libtorrent as lt; print(lt.__version__)' 2>/dev/null || echo "")
piece=""
for mode in v1 v2 hybrid; do
  ref_v1="" ref_v2=""
  for j in $thread_counts; do
    best=""
    for _ in $(seq 1 "$runs"); do
      read -r wall user sys < <(time_cmd "$tmp/out.json" "$cli" create "$f" -o "$tmp/w.torrent" \
        --"$mode" -j "$j" --no-tracker --no-date -q --json) || true
      [ -s "$tmp/out.json" ] || { echo "hash.sh: weightless create failed:" >&2; cat "$tmp/stderr" >&2; exit 1; }
      if [ -z "$best" ] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN{exit !(a<b)}'; then
        best="$wall $user $sys"
      fi
    done
    read -r wall user sys <<<"$best"
    piece=$(json_field "$tmp/out.json" piece_length)
    ref_v1=$(json_field "$tmp/out.json" v1_info_hash)
    ref_v2=$(json_field "$tmp/out.json" v2_info_hash)
    line=$(awk -v m="$mode" -v j="$j" -v w="$wall" -v u="$user" -v s="$sys" -v n="$size" -v p="$piece" \
      'BEGIN{printf "| weightless create | %s | %s | %d KiB | %.3f | %.2f | %.2f | |", m, j, p/1024, w, n/w/1e9, u+s}')
    echo "$line" | tee -a "$rows"
  done
  if [ -n "$lt_version" ]; then
    best="" bestj=""
    for _ in $(seq 1 "$runs"); do
      $py "$lt_script" "$f" "$mode" "$piece" >"$tmp/lt.json" 2>"$tmp/stderr" || { cat "$tmp/stderr" >&2; break; }
      w=$(json_field "$tmp/lt.json" seconds)
      if [ -z "$best" ] || awk -v a="$w" -v b="$best" 'BEGIN{exit !(a<b)}'; then
        best=$w; cp "$tmp/lt.json" "$tmp/lt-best.json"
      fi
    done
    if [ -n "$best" ]; then
      cpu_s=$(json_field "$tmp/lt-best.json" cpu_seconds)
      lv1=$(json_field "$tmp/lt-best.json" v1) lv2=$(json_field "$tmp/lt-best.json" v2)
      same=yes
      [ "$mode" != v2 ] && [ "$lv1" != "$ref_v1" ] && same="NO (v1 $lv1 vs $ref_v1)"
      [ "$mode" != v1 ] && [ "$lv2" != "$ref_v2" ] && same="NO (v2 $lv2 vs $ref_v2)"
      line=$(awk -v m="$mode" -v w="$best" -v c="$cpu_s" -v n="$size" -v p="$piece" -v same="$same" -v v="$lt_version" \
        'BEGIN{printf "| libtorrent %s | %s | (its own) | %d KiB | %.3f | %.2f | %.2f | %s |", v, m, p/1024, w, n/w/1e9, c, same}')
      echo "$line" | tee -a "$rows"
    fi
  fi
done

if [ -n "$md" ]; then
  {
    echo
    echo "### CLI hashing: one ${mib} MiB file of random data in the page cache (bench/hash.sh, best of $runs)"
    echo
    echo "| tool | mode | threads | piece | wall s | GB/s | CPU s | same info hashes as weightless |"
    echo "|---|---|---|---|---|---|---|---|"
    cat "$rows"
  } >>"$md"
fi
