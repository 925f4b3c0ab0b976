#!/usr/bin/env bash
# End-to-end test of the AI generations app (examples/ai-generations): starts `restgres dev --app ai-generations` on a
# throwaway cluster and free ports (its dev-services.sh starts the mock provider: 300 ms latency, no random failures),
# then runs ai-generations.test.mjs (node's test runner, Playwright driving Debian's /usr/bin/chromium headless).
# Screenshots land in test-results/e2e/.
#
# Usage: tests/e2e/ai-generations.sh [--bin PATH]     (default: artifacts/restgres/restgres, as scripts/publish.sh makes it)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$root/artifacts/restgres/restgres"
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "e2e: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
say() { printf 'e2e: %s\n' "$*" >&2; }
[ -x "$bin" ] || { say "no restgres executable at $bin (scripts/publish.sh makes it)"; exit 1; }
[ -x /usr/bin/chromium ] || { say "/usr/bin/chromium missing (scripts/ensure-deps.sh browser)"; exit 1; }
if [ ! -d "$here/node_modules/playwright-core" ]; then
  say "npm ci (playwright-core; the browser is Debian's, nothing else is downloaded)"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/restgres-e2e-ai.XXXXXX")
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
mock_port=$(free_port)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true   # restgres dev stops the mock and its PostgreSQL on the way out
    for _ in $(seq 1 60); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

say "starting restgres dev --app ai-generations on 127.0.0.1:$port (mock provider on $mock_port, cluster in $work)"
(cd "$root" && MOCK_PORT=$mock_port MOCK_LATENCY_MS=300 MOCK_JITTER_MS=0 MOCK_FAILURE_RATE=0 \
  exec "$bin" dev --app ai-generations --data-dir "$work/pg" --port "$port") >"$work/dev.out" 2>"$work/dev.err" &
server_pid=$!
url="http://127.0.0.1:$port"
for i in $(seq 1 240); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/generations" 2>/dev/null)" = 401 ]; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then say "restgres dev exited:"; cat "$work/dev.err" >&2; exit 1; fi
  [ "$i" = 240 ] && { say "restgres dev did not answer within 120 s:"; cat "$work/dev.err" >&2; exit 1; }
  sleep 0.5
done
say "up: $url"

mkdir -p "$root/test-results/e2e"
cp "$work/dev.out" "$root/test-results/e2e/ai-generations-banner.txt"
status=0
(cd "$here" && E2E_URL="$url" E2E_BANNER="$work/dev.out" E2E_MOCK="http://127.0.0.1:$mock_port" E2E_RESULTS="$root/test-results/e2e" \
  node --test --test-concurrency=1 --test-reporter=spec ai-generations.test.mjs) || status=$?
[ "$status" = 0 ] || { say "server log (last 40 lines):"; tail -40 "$work/dev.err" >&2; }
exit "$status"
