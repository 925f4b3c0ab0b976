#!/usr/bin/env bash
# End-to-end tests of the two dashboard pages, each against its own `restgres dev` on a throwaway cluster and a free
# port: the A/B dashboard (dashboard.test.mjs; `restgres dev`) and the click analytics dashboard
# (click-analytics.test.mjs; `restgres dev --app click-analytics`). Node's test runner drives Debian's
# /usr/bin/chromium headless through Playwright; screenshots land in test-results/e2e/. Builds the A/B page and
# installs playwright-core when missing (npm registry); the click analytics page needs no build.
#
# Usage: tests/e2e/run.sh [--bin PATH] [--only ab|clicks]
#   --bin   the restgres executable (default: artifacts/restgres/restgres, as scripts/publish.sh makes it)
#   --only  one of the two pages (default: both, in one test run, so the runner prints one pass/fail summary)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/artifacts/restgres/restgres"
only=
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "e2e: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
say() { printf 'e2e: %s\n' "$*" >&2; }
case "$only" in ''|ab|clicks) ;; *) say "--only takes ab or clicks, not '$only'"; exit 2 ;; esac
[ -x "$bin" ] || { say "no restgres executable at $bin (scripts/publish.sh makes it)"; exit 1; }
[ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (scripts/ensure-deps.sh browser)"; exit 1; }

if [ "$only" != clicks ]; then "$root/examples/ab-dashboard/web/build.sh"; fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  say "npm ci (playwright-core; the browser is Debian's, nothing else is downloaded)"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/restgres-e2e.XXXXXX")
server_pids=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true   # restgres dev stops its PostgreSQL on the way out
  done
  for pid in "${server_pids[@]}"; do
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# serve NAME READY_PATH DEV_ARGS...: starts `restgres dev DEV_ARGS` on a free port with its cluster in $work/NAME,
# waits until READY_PATH answers, and sets $url. Its banner is $work/NAME.out, its log $work/NAME.err.
serve() {
  local name=$1 ready=$2 port pid i
  shift 2
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  say "starting restgres dev $* on 127.0.0.1:$port (cluster in $work/$name)"
  (cd "$root" && exec "$bin" dev "$@" --data-dir "$work/$name" --port "$port") >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  server_pids+=("$pid")
  url="http://127.0.0.1:$port"
  for i in $(seq 1 240); do
    if curl -fsS -o /dev/null "$url$ready" 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then say "restgres dev ($name) exited:"; cat "$work/$name.err" >&2; exit 1; fi
    [ "$i" = 240 ] && { say "restgres dev ($name) did not answer within 120 s:"; cat "$work/$name.err" >&2; exit 1; }
    sleep 0.5
  done
  say "up: $url ($name)"
}

mkdir -p "$root/test-results/e2e"
files=()
envs=(E2E_BIN="$bin" E2E_RESULTS="$root/test-results/e2e")
if [ "$only" != clicks ]; then
  serve ab /rest/v1/ --events 50000
  cp "$work/ab.out" "$root/test-results/e2e/dev-banner.txt"
  envs+=(E2E_URL="$url" E2E_BANNER="$work/ab.out")
  files+=(dashboard.test.mjs)
fi
if [ "$only" != ab ]; then
  serve clicks /health --app click-analytics
  cp "$work/clicks.out" "$root/test-results/e2e/dev-banner-click-analytics.txt"
  envs+=(E2E_CLICKS_URL="$url" E2E_CLICKS_BANNER="$work/clicks.out")
  files+=(click-analytics.test.mjs)
fi

status=0
(cd "$here" && env "${envs[@]}" node --test --test-concurrency=1 --test-reporter=spec "${files[@]}") || status=$?
if [ "$status" != 0 ]; then
  for f in "$work"/*.err; do say "server log $(basename "$f" .err) (last 40 lines):"; tail -40 "$f" >&2; done
fi
exit "$status"
