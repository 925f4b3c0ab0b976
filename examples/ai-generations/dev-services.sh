#!/usr/bin/env bash
# The AI generations app's companion process for `restgres dev --app ai-generations` (./run.sh --app ai-generations),
# which runs this script with the app's folder as working directory:
#
#   dev-services.sh start STATE_DIR DB_URI JWT_SECRET   starts the mock provider (mock-provider/mock_provider.py) on
#       127.0.0.1:${MOCK_PORT:-8089}, waits until it answers, points the generate queue at it (ai.configure_provider)
#       and prints the provider key the jobs engine sends (AI_PROVIDER_KEY=..., set in restgres's environment), the
#       mock's address and a user token (demo@example.com)
#   dev-services.sh stop STATE_DIR                      stops it
#
# MOCK_LATENCY_MS (2000), MOCK_FAILURE_RATE (0.1) and the mock's other MOCK_* settings pass through (see its --help).
set -euo pipefail
action=${1:?start or stop}
state=${2:?state directory}
pidfile="$state/mock-provider.pid"

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  fi
}

case "$action" in
  stop) stop ;;
  start)
    db=${3:?database URI}
    secret=${4:?JWT secret}
    mkdir -p "$state"
    stop   # a mock left over from a run that was killed
    port=${MOCK_PORT:-8089}
    python3 mock-provider/mock_provider.py --port "$port" </dev/null >"$state/mock-provider.log" 2>&1 &
    echo $! >"$pidfile"
    for i in $(seq 1 50); do
      if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/_mock/health', timeout=1)" 2>/dev/null; then
        break
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null || [ "$i" = 50 ]; then
        echo "the mock provider did not start on 127.0.0.1:$port (set MOCK_PORT for another port):" >&2
        cat "$state/mock-provider.log" >&2
        stop
        exit 1
      fi
      sleep 0.2
    done
    psql -X -q -v ON_ERROR_STOP=1 "$db" -c "select ai.configure_provider('http://127.0.0.1:$port', concurrency => 4)" >/dev/null
    token=$(psql -X -q -At -v ON_ERROR_STOP=1 "$db" \
      -c "set app.settings.jwt_secret = '$secret'" \
      -c "select api.login('demo@example.com', 'demo1234') ->> 'access_token'")
    echo "AI_PROVIDER_KEY=${AI_PROVIDER_KEY:-mock-key}"
    echo "Provider    http://127.0.0.1:$port/v1/chat/completions (the mock: latency ${MOCK_LATENCY_MS:-2000} ms, failure rate ${MOCK_FAILURE_RATE:-0.1}; log $state/mock-provider.log)"
    echo "User token  $token"
    echo "            (demo@example.com / demo1234, valid 24 h)"
    ;;
  *) echo "dev-services.sh: start or stop, not '$action'" >&2; exit 2 ;;
esac
