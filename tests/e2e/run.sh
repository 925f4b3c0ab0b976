#!/usr/bin/env bash
# End-to-end test of the A/B dashboard: starts `restgres dev` on a throwaway cluster and a free port, then runs
# dashboard.test.mjs (node's test runner, Playwright driving Debian's /usr/bin/chromium headless). Screenshots land in
# test-results/e2e/. Builds the web page and installs playwright-core when missing (npm registry).
#
# Usage: tests/e2e/run.sh [--bin PATH]     (default: artifacts/restgres/restgres, as scripts/publish.sh makes it)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init "$@"
"$e2e_root/examples/ab-dashboard/web/build.sh"
e2e_start_dev /rest/v1/ 200 --events 50000
cp "$E2E_WORK/dev.out" "$E2E_RESULTS/dev-banner.txt"
e2e_node dashboard.test.mjs
