#!/usr/bin/env bash
# End-to-end test of the A/B dashboard: starts `restgres dev` on a throwaway cluster and a free port, then runs
# dashboard.test.mjs (node's test runner, Playwright driving Debian's /usr/bin/chromium headless). Screenshots land in
# test-results/e2e/. Builds the web page and installs playwright-core when missing (npm registry).
#
# Usage: tests/e2e/run.sh [--bin PATH]     (default: artifacts/restgres/restgres, as scripts/publish.sh makes it)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/artifacts/restgres/restgres"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "e2e: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
say() { printf 'e2e: %s\n' "$*" >&2; }
[ -x "$bin" ] || { say "no restgres executable at $bin (scripts/publish.sh makes it)"; exit 1; }
[ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (scripts/ensure-deps.sh browser)"; exit 1; }

"$root/examples/ab-dashboard/web/build.sh"
if [ ! -d "$here/node_modules/playwright-core" ]; then
  say "npm ci (playwright-core; the browser is Debian's, nothing else is downloaded)"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/restgres-e2e.XXXXXX")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true   # restgres dev stops its PostgreSQL on the way out
    for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "starting restgres dev on 127.0.0.1:$port (cluster in $work)"
(cd "$root" && exec "$bin" dev --data-dir "$work/pg" --port "$port" --events 50000) >"$work/dev.out" 2>"$work/dev.err" &
server_pid=$!
url="http://127.0.0.1:$port"
for i in $(seq 1 240); do
  if curl -fsS -o /dev/null "$url/rest/v1/" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then say "restgres dev exited:"; cat "$work/dev.err" >&2; exit 1; fi
  [ "$i" = 240 ] && { say "restgres dev did not answer within 120 s:"; cat "$work/dev.err" >&2; exit 1; }
  sleep 0.5
done
say "up: $url"

mkdir -p "$root/test-results/e2e"
cp "$work/dev.out" "$root/test-results/e2e/dev-banner.txt"
status=0
(cd "$here" && E2E_URL="$url" E2E_BANNER="$work/dev.out" E2E_BIN="$bin" E2E_RESULTS="$root/test-results/e2e" \
  node --test --test-concurrency=1 --test-reporter=spec dashboard.test.mjs) || status=$?
[ "$status" = 0 ] || { say "server log (last 40 lines):"; tail -40 "$work/dev.err" >&2; }
exit "$status"
