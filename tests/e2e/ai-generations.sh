#!/usr/bin/env bash
# End-to-end test of the AI generations app (examples/ai-generations): starts `restgres dev --app ai-generations` on a
# throwaway cluster and free ports (its dev-services.sh starts the mock provider: 300 ms latency, no random failures),
# then runs ai-generations.test.mjs (node's test runner, Playwright driving Debian's /usr/bin/chromium headless).
# Screenshots land in test-results/e2e/.
#
# Usage: tests/e2e/ai-generations.sh [--bin PATH]     (default: artifacts/restgres/restgres, as scripts/publish.sh makes it)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init "$@"
mock_port=$(e2e_free_port)
export MOCK_PORT=$mock_port MOCK_LATENCY_MS=300 MOCK_JITTER_MS=0 MOCK_FAILURE_RATE=0
e2e_start_dev ai /generations 401 --app ai-generations
cp "$E2E_WORK/ai.out" "$E2E_RESULTS/ai-generations-banner.txt"
e2e_node ai-generations.test.mjs -- E2E_URL="$E2E_URL" E2E_BANNER="$E2E_WORK/ai.out" E2E_MOCK="http://127.0.0.1:$mock_port"
