#!/usr/bin/env bash
# Test harness: starts a complete stack (private redis-server on a free loopback TCP port,
# registry, announce workers, gateway on a free loopback port) through scripts/run-stack, the
# same script `make run` uses, and stops it.
#   stack.sh start DIR BUILD [VAR=value ...]   writes DIR/env (KEY=VALUE lines for the tests)
#   stack.sh stop DIR [BUILD]
# Extra VAR=value arguments configure that stack (e.g. TRACKER_SECRET=s).
set -euo pipefail
cmd=$1 dir=$2 build=${3:-}
here=$(cd "$(dirname "$0")/../.." && pwd)

# A port free on every address: the gateway binds [::]:PORT (dual-stack), so checking
# 127.0.0.1 alone can pick a port that is taken elsewhere.
free_port() {
  /usr/bin/python3 -c '
import socket
try:
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0); s.bind(("::", 0))
except OSError:
    s = socket.socket(); s.bind(("0.0.0.0", 0))
print(s.getsockname()[1])'
}

stop_stack() {
  [ -f "$dir/run.pid" ] || return 0
  local pid; pid=$(cat "$dir/run.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$dir/run.pid"
}

case "$cmd" in
start)
  shift 3
  stop_stack
  rm -rf "$dir"
  mkdir -p "$dir/data"
  http=$(free_port) redis=$(free_port)
  {
    echo "WL_TEST_HTTP=http://127.0.0.1:$http"
    echo "WL_TEST_HTTP_PORT=$http"
    echo "WL_TEST_REDIS_PORT=$redis"
    echo "WL_TEST_DATA_DIR=$dir/data"
    echo "WL_TEST_BUILD_DIR=$build"
    echo "WL_TEST_SRC_DIR=$here"
    echo "WL_HTTP_ADDR=[::]:$http"
    echo "WL_DATA_DIR=$dir/data"
    echo "WL_REDIS_PORT=$redis"
    echo "REGISTRY_KEY=test-registry-key"
    echo "WL_ANNOUNCE_WORKERS=2"
    echo "WL_LOG_LEVEL=info"
    for kv in "$@"; do echo "$kv"; done
  } >"$dir/env"
  # the env file is also the stack's configuration
  set -a; . "$dir/env"; set +a
  WL_BUILD_DIR=$build setsid "$here/scripts/run-stack" >"$dir/stack.log" 2>&1 &
  echo $! >"$dir/run.pid"
  for i in $(seq 1 150); do
    if curl -fsS -m 1 "http://127.0.0.1:$http${STACK_READY_PATH:-/health}" >/dev/null 2>&1; then
      echo "stack up on port $http (log: $dir/stack.log)"; exit 0
    fi
    sleep 0.2
  done
  echo "stack did not become healthy in 30 s; log follows" >&2
  tail -50 "$dir/stack.log" >&2
  curl -sS -m 2 "http://127.0.0.1:$http/health" >&2 || true
  stop_stack
  exit 1
  ;;
stop)
  stop_stack
  ;;
*)
  echo "usage: $0 start|stop DIR [BUILD] [VAR=value...]" >&2; exit 2 ;;
esac
