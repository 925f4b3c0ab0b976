# shellcheck shell=bash
# The end-to-end runners' common parts (run.sh: both dashboards; ai-generations.sh). Source it, then:
#   e2e_init [--bin PATH]              default artifacts/restgres/restgres; checks Chromium, npm ci once; makes E2E_WORK
#   e2e_start_dev NAME CHECK_PATH STATUS DEV_ARGS...
#                                      `restgres dev DEV_ARGS --data-dir $E2E_WORK/NAME --port FREE` from the repository
#                                      root, waits until GET CHECK_PATH answers STATUS (any 2xx when STATUS is 2xx); sets
#                                      E2E_URL; its banner is $E2E_WORK/NAME.out, its log $E2E_WORK/NAME.err; every
#                                      server started is stopped (TERM, then KILL) on exit
#   e2e_node TEST_FILE... [-- NAME=VALUE...]
#                                      node's test runner on the files (one pass/fail summary) with E2E_BIN, E2E_RESULTS
#                                      and the variables; every server log's tail when it fails
# Screenshots and banners go to test-results/e2e/.
e2e_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
e2e_root="$(cd "$e2e_here/../.." && pwd)"
E2E_RESULTS="$e2e_root/test-results/e2e"

say() { printf 'e2e: %s\n' "$*" >&2; }

e2e_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

e2e_init() {
  E2E_BIN="$e2e_root/artifacts/restgres/restgres"
  while [ $# -gt 0 ]; do
    case "$1" in
      --bin) E2E_BIN="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
      -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
      *) say "unknown argument '$1'"; exit 2 ;;
    esac
  done
  [ -x "$E2E_BIN" ] || { say "no restgres executable at $E2E_BIN (scripts/publish.sh makes it)"; exit 1; }
  [ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (scripts/ensure-deps.sh browser)"; exit 1; }
  if [ ! -d "$e2e_here/node_modules/playwright-core" ]; then
    say "npm ci (playwright-core; the browser is Debian's, nothing else is downloaded)"
    (cd "$e2e_here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
  mkdir -p "$E2E_RESULTS"
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/restgres-e2e.XXXXXX")
  e2e_server_pids=()
  trap _e2e_cleanup EXIT
}

_e2e_cleanup() {
  local pid
  for pid in "${e2e_server_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true   # restgres dev stops its services and PostgreSQL on the way out
  done
  for pid in "${e2e_server_pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$E2E_WORK"
}

e2e_start_dev() {
  local name=$1 check=$2 expected=$3 port pid i code; shift 3
  port=$(e2e_free_port)
  say "starting restgres dev $* on 127.0.0.1:$port (cluster in $E2E_WORK/$name)"
  (cd "$e2e_root" && exec "$E2E_BIN" dev "$@" --data-dir "$E2E_WORK/$name" --port "$port") >"$E2E_WORK/$name.out" 2>"$E2E_WORK/$name.err" &
  pid=$!
  e2e_server_pids+=("$pid")
  E2E_URL="http://127.0.0.1:$port"
  for i in $(seq 1 240); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$E2E_URL$check" 2>/dev/null || true)
    if [ "$code" = "$expected" ] || { [ "$expected" = 2xx ] && [[ "$code" == 2?? ]]; }; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then say "restgres dev ($name) exited:"; cat "$E2E_WORK/$name.err" >&2; exit 1; fi
    [ "$i" = 240 ] && { say "restgres dev ($name) did not answer within 120 s:"; cat "$E2E_WORK/$name.err" >&2; exit 1; }
    sleep 0.5
  done
  say "up: $E2E_URL ($name)"
}

e2e_node() {
  local files=() status=0 f
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  (cd "$e2e_here" && env E2E_BIN="$E2E_BIN" E2E_RESULTS="$E2E_RESULTS" "$@" \
    node --test --test-concurrency=1 --test-reporter=spec "${files[@]}") || status=$?
  if [ "$status" != 0 ]; then
    for f in "$E2E_WORK"/*.err; do say "server log $(basename "$f" .err) (last 40 lines):"; tail -40 "$f" >&2; done
  fi
  return "$status"
}
