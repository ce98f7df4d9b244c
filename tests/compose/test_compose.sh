#!/usr/bin/env bash
# The compose stack for real: builds the local Debian base image (docker/make-base-image.sh) and
# every image of compose.yaml from it, starts the stack with 2 announce workers on free host
# ports, and checks from the host, through the published port:
#   1. /health answers 200 (registry database and Redis reachable)
#   2. real announces (a second peer is given the first) and registry calls (POST with and
#      without the key, GET back), the web UI
#   3. Prometheus (the stack's own) scraped the gateway: read back through its HTTP API
#   4. under a steady announce load: scale to 4 workers (all 4 connect) and back to 2, and
#      `docker kill` one worker mid-load: no announce fails
#   5. the Redis primary container is stopped under load: Sentinel promotes the replica and
#      announces recover without restarting anything (the failure window is printed)
#   6. the registry container is recreated: its data survives on the named volume
# and finishes with `docker-compose down -v`. Every container, network and volume of the
# project is removed on every exit path, failures included (checked at the end).
#
# Exit 0 pass, 1 fail, 77 skip (no usable Docker engine or docker-compose: said on stderr).
# Environment: WL_COMPOSE_PROJECT (wltest), WL_COMPOSE_KEEP=1 (leave the stack up on failure,
# for debugging), BASE_IMAGE (weightless/base:bookworm; make-base-image.sh makes it if missing).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
project=${WL_COMPOSE_PROJECT:-wltest}
export BASE_IMAGE=${BASE_IMAGE:-weightless/base:bookworm}
t_start=$(date +%s)

say() { echo "compose-test [$(( $(date +%s) - t_start ))s]: $*" >&2; }
skip() { echo "compose-test: SKIP: $*" >&2; exit 77; }

# ---- can this machine run it at all? -------------------------------------------------------
command -v docker >/dev/null 2>&1 || skip "the docker CLI is not installed (Debian: docker.io)"
docker info >/dev/null 2>&1 ||
  skip "docker info fails, no usable Docker engine: $(docker info 2>&1 | grep -v '^ *$' | tail -n1)"
command -v docker-compose >/dev/null 2>&1 || skip "docker-compose is not installed (Debian: docker-compose)"
for t in curl python3; do command -v $t >/dev/null 2>&1 || skip "$t is not installed"; done

work=$(mktemp -d /tmp/wl-compose-test.XXXXXX)
ctx=$work/src
dc() { docker-compose --no-ansi -p "$project" -f "$ctx/compose.yaml" "$@"; }
failed=0
up_started=0

project_leftovers() {
  local label="label=com.docker.compose.project=$project"
  { docker ps -aq --filter "$label"; docker volume ls -q --filter "$label"
    docker network ls -q --filter "$label"; } 2>/dev/null
}

cleanup() {
  local rc=$?
  [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null
  if [ $up_started = 1 ]; then
    if [ $failed = 1 ] || [ $rc != 0 ]; then
      say "state at failure:"
      dc ps >&2 2>/dev/null
      dc logs --no-color --tail 25 >&2 2>/dev/null
      if [ "${WL_COMPOSE_KEEP:-0}" = 1 ]; then
        say "WL_COMPOSE_KEEP=1: stack left up; remove with: docker-compose -p $project -f $ctx/compose.yaml down -v"
        exit 1
      fi
    fi
    dc down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
    if [ -n "$(project_leftovers)" ]; then
      say "FAIL: down -v left containers, volumes or networks of project $project"
      rc=1
    fi
  fi
  rm -rf "$work"
  [ $failed = 1 ] && rc=1
  say "$([ $rc = 0 ] && echo PASS || echo FAIL) in $(( $(date +%s) - t_start )) s"
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { say "FAIL: $*"; failed=1; exit 1; }

# A free port outside the ephemeral range (32768-60999), where outgoing connections and other
# tests' "port 0" listeners do not land; the up is retried on another port if it is taken anyway.
free_port() {
  python3 -c 'import random, socket
for p in random.sample(range(20000, 30000), 200):
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p)); print(p); break
    except OSError: pass
    finally: s.close()'
}

# ---- images ----------------------------------------------------------------------------------
"$here/docker/make-base-image.sh" || fail "could not make the base image $BASE_IMAGE"
say "base image $BASE_IMAGE ready"

# The build context is a copy of what the images read, so files that other processes write
# under the source tree (build directories, test stacks) cannot change under the build.
mkdir -p "$ctx"
(cd "$here" && cp -a compose.yaml CMakeLists.txt cmake proto libcommon services web docker "$ctx/") ||
  fail "could not copy the sources"

# A leftover of an interrupted run would hold the names and the ports.
if [ -n "$(project_leftovers)" ]; then
  say "removing the leftovers of an earlier run of project $project"
  dc down -v --remove-orphans --timeout 5 >/dev/null 2>&1
fi

export REGISTRY_KEY=compose-test-key
export WL_RATE_LIMIT_RPS=0 # every request of this test comes from one address
export WL_IMAGE_TAG=${WL_IMAGE_TAG:-local}

# The three independent Dockerfiles in parallel (their apt steps are network-bound), then the
# rest, which are cache hits: building every service at once would compile the shared build
# stage of the Weightless images three times over on a cold cache.
t0=$(date +%s)
{ dc build --force-rm --parallel redis prometheus registry && dc build --force-rm; } >"$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; fail "docker-compose build failed"; }
# Tag the build stage so it stays cached, then drop what earlier runs left untagged (old compile
# layers and service images; only images of these Dockerfiles, by their label).
if DOCKER_BUILDKIT=0 docker build -q -f "$ctx/docker/Dockerfile" --target build \
  --build-arg BASE_IMAGE="$BASE_IMAGE" -t "weightless/build:$WL_IMAGE_TAG" "$ctx" >/dev/null 2>&1; then
  docker image prune -f --filter label=org.weightless.image >/dev/null 2>&1
else
  say "could not tag the build stage (legacy builder gone?); not pruning old images"
fi
say "images built in $(( $(date +%s) - t0 )) s"

# ---- up ----------------------------------------------------------------------------------------
up_started=1
t0=$(date +%s)
for attempt in 1 2 3; do
  export WL_COMPOSE_HTTP_PORT=$(free_port) WL_COMPOSE_PROMETHEUS_PORT=$(free_port)
  dc up -d --scale announce=2 >"$work/up.log" 2>&1 && break
  grep -q "address already in use" "$work/up.log" && [ $attempt -lt 3 ] ||
    { cat "$work/up.log" >&2; fail "docker-compose up failed"; }
  say "a published port was taken meanwhile; again with others"
done
http=http://127.0.0.1:$WL_COMPOSE_HTTP_PORT
prom=http://127.0.0.1:$WL_COMPOSE_PROMETHEUS_PORT
say "up -d --scale announce=2 returned in $(( $(date +%s) - t0 )) s; gateway on $http"

wait_for() { # seconds description command...
  local secs=$1 what=$2; shift 2
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt $end ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  fail "$what: not within $secs s"
}

t0=$(date +%s)
wait_for 120 "/health answers 200" curl -fsS -m 2 "$http/health"
say "/health is 200 after $(( $(date +%s) - t0 )) s"

# ---- announces, registry, web UI ---------------------------------------------------------------
python3 - "$http" "$REGISTRY_KEY" <<'PY' || fail "announce / registry checks"
import json, sys, urllib.error, urllib.parse, urllib.request
base, key = sys.argv[1], sys.argv[2]

def get(path, headers=None, data=None, method=None):
    req = urllib.request.Request(base + path, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

def check(cond, what):
    if not cond:
        sys.exit("compose-test: " + what)

ih = bytes(range(0x41, 0x55))  # 20 bytes
def announce(port, left, event=""):
    q = "info_hash=%s&peer_id=%s&port=%d&uploaded=0&downloaded=0&left=%d&compact=1%s" % (
        urllib.parse.quote_from_bytes(ih), urllib.parse.quote_from_bytes(b"-WL0001-%012d" % port),
        port, left, "&event=" + event if event else "")
    st, h, body = get("/announce?" + q)
    check(st == 200, "announce: HTTP %d" % st)
    check(b"failure reason" not in body, "announce failed: %r" % body)
    return body

b1 = announce(51001, 0, "started")
check(b"8:intervali1800e" in b1 and b"8:completei1e" in b1, "first announce: %r" % b1)
b2 = announce(51002, 100, "started")
check(b"8:completei1e10:incompletei1e" in b2, "second announce counts: %r" % b2)
i = b2.index(b"5:peers") + len(b"5:peers")
n = int(b2[i:b2.index(b":", i)])
peers = b2[b2.index(b":", i) + 1:][:n]
check(n == 6 and int.from_bytes(peers[4:6], "big") == 51001,
      "the second peer is given the first (%r)" % peers)
st, h, body = get("/scrape?info_hash=" + urllib.parse.quote_from_bytes(ih))
check(st == 200 and b"8:completei1e" in body and b"10:incompletei1e" in body, "scrape: %r" % body)

h64 = "ab" * 32
entry = json.dumps({"info_hash": h64, "name": "compose-test-model", "publisher": "compose",
                    "license": "MIT", "size": 12345, "tags": "test,compose"}).encode()
ct = {"Content-Type": "application/json"}
st, h, body = get("/api/registry", ct, entry, "POST")
check(st == 401, "POST without the key: %d %r (want 401)" % (st, body))
st, h, body = get("/api/registry", dict(ct, **{"X-Weightless-Key": key}), entry, "POST")
check(st == 201 and json.loads(body).get("status") == "created", "POST: %d %r" % (st, body))
st, h, body = get("/api/registry?info_hash=" + h64)
check(st == 200 and json.loads(body).get("name") == "compose-test-model", "GET entry: %d %r" % (st, body))
st, h, body = get("/api/registry/search?q=compose-test")
check(st == 200 and len(json.loads(body)) == 1, "search: %d %r" % (st, body))
st, h, body = get("/")
check(st == 200 and b"<" in body, "web UI: %d" % st)
print("compose-test: announce, scrape, registry POST/GET/search and web UI OK", file=sys.stderr)
PY
say "announces, scrape, registry calls and web UI answer through port $WL_COMPOSE_HTTP_PORT"

# ---- Prometheus scraped the gateway --------------------------------------------------------------
prom_value() { # query -> the first sample's value, or nothing
  curl -fsS -m 3 -G "$prom/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
prom_is() { [ "$(prom_value "$1")" = "$2" ]; }
t0=$(date +%s)
wait_for 60 "Prometheus reports up{job=\"weightless-gateway\"} == 1" prom_is 'up{job="weightless-gateway"}' 1
wait_for 30 "Prometheus has scraped tracker_announces_total >= 2" \
  prom_is 'tracker_announces_total{job="weightless-gateway"} >= bool 2' 1
wait_for 30 "Prometheus sees 2 announce workers" prom_is 'tracker_announce_workers_connected' 2
say "Prometheus scraped the gateway (up=1, tracker_announces_total=$(prom_value tracker_announces_total), workers=2) after $(( $(date +%s) - t0 )) s"

# ---- load, scaling, killing a worker, Redis failover -----------------------------------------------
cat >"$work/load.py" <<'PY'
# Steady announce load until the stop file appears: 8 threads with keep-alive connections. Writes
# a JSON summary (rewritten every 0.5 s): ok, failures by reason, transport errors, first/last
# bad time and the time now (seconds since the start).
import http.client, json, os, random, sys, threading, time, urllib.parse
host, port, stopfile, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
res = {"ok": 0, "failures": {}, "errors": {}, "first_bad": None, "last_bad": None, "last_ok": None}
t0 = time.time()
hashes = [bytes([i]) * 20 for i in range(1, 33)]

def bad(kind, what):
    with lock:
        d = res[kind]
        d[what] = d.get(what, 0) + 1
        t = round(time.time() - t0, 2)
        res["first_bad"] = res["first_bad"] if res["first_bad"] is not None else t
        res["last_bad"] = t

def run(n):
    conn = None
    while not os.path.exists(stopfile):
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=15)
        p = random.randrange(1024, 65535)
        q = "info_hash=%s&peer_id=-LD0001-%012d&port=%d&uploaded=0&downloaded=0&left=%d&numwant=5" % (
            urllib.parse.quote_from_bytes(random.choice(hashes)), n * 100000 + p, p, random.choice([0, 1]))
        try:
            conn.request("GET", "/announce?" + q)
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                bad("errors", "HTTP %d" % r.status)
            elif body.startswith(b"d14:failure reason"):
                bad("failures", body[18:].split(b":", 1)[1][:-1].decode(errors="replace"))
            else:
                with lock:
                    res["ok"] += 1
                    res["last_ok"] = round(time.time() - t0, 2)
        except Exception as e:
            bad("errors", type(e).__name__)
            conn.close()
            conn = None
            time.sleep(0.05)

def dump():
    with lock:
        res["t"] = round(time.time() - t0, 2)
        json.dump(res, open(out + ".tmp", "w"))
    os.replace(out + ".tmp", out)

ts = [threading.Thread(target=run, args=(i,)) for i in range(8)]
for t in ts: t.start()
while any(t.is_alive() for t in ts):  # the summary so far, every 0.5 s, for the test to watch
    dump()
    time.sleep(0.5)
dump()
PY

load_start() { # name
  rm -f "$work/stop" "$work/load-$1.json"
  python3 "$work/load.py" 127.0.0.1 "$WL_COMPOSE_HTTP_PORT" "$work/stop" "$work/load-$1.json" &
  load_pid=$!
  sleep 2
}
load_stop() { # name -> prints the summary
  touch "$work/stop"
  wait "$load_pid"
  load_pid=
  cat "$work/load-$1.json"
}
load_field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$work/load-$1.json" "$2"; }

workers_connected() { # -> the gateway's count of connected announce workers
  curl -fsS -m 2 "$http/metrics" | awk '$1 == "tracker_announce_workers_connected" { print $2 }'
}
workers_are() { [ "$(workers_connected)" = "$1" ]; }

load_start scale
t0=$(date +%s)
dc up -d --no-recreate --scale announce=4 >"$work/scale.log" 2>&1 || { cat "$work/scale.log" >&2; fail "scale to 4"; }
wait_for 30 "4 announce workers connected to the gateway" workers_are 4
say "scaled to 4: all 4 workers connected after $(( $(date +%s) - t0 )) s"
sleep 3
t0=$(date +%s)
dc up -d --no-recreate --scale announce=2 >"$work/scale.log" 2>&1 || { cat "$work/scale.log" >&2; fail "scale to 2"; }
wait_for 30 "2 announce workers left" workers_are 2
say "scaled back to 2 after $(( $(date +%s) - t0 )) s"
sleep 2
summary=$(load_stop scale)
say "load during scaling: $summary"
[ "$(load_field scale 'r["ok"] > 0 and not r["failures"] and not r["errors"]')" = True ] ||
  fail "announces failed while scaling 2 -> 4 -> 2"

load_start kill
victim=$(dc ps -q announce | head -1)
docker kill "$victim" >/dev/null || fail "docker kill of an announce container"
say "killed announce container ${victim:0:12} under load"
sleep 5
summary=$(load_stop kill)
say "load while killing a worker: $summary"
[ "$(load_field kill 'r["ok"] > 0 and not r["failures"] and not r["errors"]')" = True ] ||
  fail "announces failed when an announce worker was killed"
dc up -d --no-recreate --scale announce=2 >/dev/null 2>&1 # replace it (restart policy or not)
wait_for 30 "2 announce workers connected again" workers_are 2

load_start failover
t0=$(date +%s)
dc stop -t 2 redis >/dev/null 2>&1 || fail "stopping the Redis primary"
say "stopped the Redis primary under load; waiting for Sentinel to promote the replica"
primary() { dc exec -T sentinel-1 redis-cli -p 26379 sentinel get-master-addr-by-name mymaster 2>/dev/null | head -1 | tr -d '\r'; }
primary_is() { [ "$(primary)" = "$1" ]; }
wait_for 60 "Sentinel promotes redis-replica" primary_is redis-replica
say "Sentinel names redis-replica the primary after $(( $(date +%s) - t0 )) s"
# recovered = announces succeed now and the last 5 s went without a failure
recovered() {
  [ "$(load_field failover '(r["last_ok"] is not None and r["t"] - r["last_ok"] < 1 and
       (r["last_bad"] is None or r["t"] - r["last_bad"] >= 5))')" = True ]
}
end=$(( $(date +%s) + 60 ))
until recovered; do
  [ "$(date +%s)" -lt $end ] || fail "announces did not recover within 60 s of the failover: $(cat "$work/load-failover.json")"
  sleep 0.5
done
summary=$(load_stop failover)
say "load across the failover: $summary"
[ "$(load_field failover 'r["ok"] > 0 and not r["errors"]')" = True ] ||
  fail "transport errors during the Redis failover (only failure reasons are acceptable)"
say "Redis failover: announces answered failure reasons for $(load_field failover \
  '"%.1f s (%s)" % (r["last_bad"] - r["first_bad"], r["failures"]) if r["first_bad"] is not None else "0 s (no failure)"') and recovered"
dc start redis >/dev/null 2>&1 # the old primary rejoins; Sentinel makes it a replica

# ---- the registry's data lives on its volume ------------------------------------------------------
t0=$(date +%s)
dc up -d --no-deps --force-recreate registry >/dev/null 2>&1 || fail "recreating the registry container"
entry_back() { curl -fsS -m 2 "$http/api/registry?info_hash=$(printf 'ab%.0s' $(seq 32))" | grep -q compose-test-model; }
wait_for 60 "the registry entry is back after recreating the registry container" entry_back
say "registry recreated: its entry survived on the volume ($(( $(date +%s) - t0 )) s)"

# ---- down -v -------------------------------------------------------------------------------------
t0=$(date +%s)
dc down -v --remove-orphans --timeout 10 >"$work/down.log" 2>&1 || { cat "$work/down.log" >&2; fail "down -v"; }
up_started=0
[ -z "$(project_leftovers)" ] || fail "down -v left containers, volumes or networks behind"
say "down -v in $(( $(date +%s) - t0 )) s; nothing of project $project is left"
exit 0
