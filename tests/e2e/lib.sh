# shellcheck shell=bash
# The end-to-end runner of the AI generations app (ai-generations.sh) in parts a runner sources (run.sh, which serves
# both dashboards at once, has its own serve()). Source it, then:
#   e2e_init "$@"                      --bin PATH (default artifacts/restgres/restgres); checks Chromium, npm ci once
#   e2e_start_dev CHECK_PATH STATUS DEV_ARGS...
#                                      `restgres dev DEV_ARGS --data-dir TMP --port FREE` from the repository root,
#                                      waits until GET CHECK_PATH answers STATUS; sets E2E_URL, E2E_WORK (its stdout is
#                                      $E2E_WORK/dev.out); stopped (TERM, then KILL) on exit
#   e2e_node TEST_FILE [NAME=VALUE...] node's test runner on TEST_FILE with E2E_URL, E2E_BANNER, E2E_BIN, E2E_RESULTS
#                                      and the extra variables; the server log's tail when it fails
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
      -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
      *) say "unknown argument '$1'"; exit 2 ;;
    esac
  done
  [ -x "$E2E_BIN" ] || { say "no restgres executable at $E2E_BIN (scripts/publish.sh makes it)"; exit 1; }
  [ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (scripts/ensure-deps.sh browser)"; exit 1; }
  if [ ! -d "$e2e_here/node_modules/playwright-core" ]; then
    say "npm ci (playwright-core; the browser is Debian's, nothing else is downloaded)"
    (cd "$e2e_here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/restgres-e2e.XXXXXX")
  e2e_server_pid=
  trap _e2e_cleanup EXIT
}

_e2e_cleanup() {
  if [ -n "$e2e_server_pid" ] && kill -0 "$e2e_server_pid" 2>/dev/null; then
    kill -TERM "$e2e_server_pid" 2>/dev/null || true   # restgres dev stops its services and PostgreSQL on the way out
    for _ in $(seq 1 60); do kill -0 "$e2e_server_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$e2e_server_pid" 2>/dev/null || true
  fi
  rm -rf "$E2E_WORK"
}

e2e_start_dev() {
  local check=$1 expected=$2; shift 2
  local port i
  port=$(e2e_free_port)
  say "starting restgres dev $* on 127.0.0.1:$port (cluster in $E2E_WORK)"
  (cd "$e2e_root" && exec "$E2E_BIN" dev "$@" --data-dir "$E2E_WORK/pg" --port "$port") >"$E2E_WORK/dev.out" 2>"$E2E_WORK/dev.err" &
  e2e_server_pid=$!
  E2E_URL="http://127.0.0.1:$port"
  for i in $(seq 1 240); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$E2E_URL$check" 2>/dev/null)" = "$expected" ]; then break; fi
    if ! kill -0 "$e2e_server_pid" 2>/dev/null; then say "restgres dev exited:"; cat "$E2E_WORK/dev.err" >&2; exit 1; fi
    [ "$i" = 240 ] && { say "restgres dev did not answer within 120 s:"; cat "$E2E_WORK/dev.err" >&2; exit 1; }
    sleep 0.5
  done
  say "up: $E2E_URL"
  mkdir -p "$E2E_RESULTS"
}

e2e_node() {
  local file=$1 status=0; shift
  (cd "$e2e_here" && env E2E_URL="$E2E_URL" E2E_BANNER="$E2E_WORK/dev.out" E2E_BIN="$E2E_BIN" E2E_RESULTS="$E2E_RESULTS" "$@" \
    node --test --test-concurrency=1 --test-reporter=spec "$file") || status=$?
  [ "$status" = 0 ] || { say "server log (last 40 lines):"; tail -40 "$E2E_WORK/dev.err" >&2; }
  return "$status"
}
