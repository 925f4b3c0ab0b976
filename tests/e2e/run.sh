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
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only=
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$only" in ''|ab|clicks) ;; *) say "--only takes ab or clicks, not '$only'"; exit 2 ;; esac
e2e_init "${args[@]}"
if [ "$only" != clicks ]; then "$e2e_root/examples/ab-dashboard/web/build.sh"; fi

files=()
envs=()
if [ "$only" != clicks ]; then
  e2e_start_dev ab /rest/v1/ 2xx --events 50000
  cp "$E2E_WORK/ab.out" "$E2E_RESULTS/dev-banner.txt"
  envs+=(E2E_URL="$E2E_URL" E2E_BANNER="$E2E_WORK/ab.out")
  files+=(dashboard.test.mjs)
fi
if [ "$only" != ab ]; then
  e2e_start_dev clicks /health 2xx --app click-analytics
  cp "$E2E_WORK/clicks.out" "$E2E_RESULTS/dev-banner-click-analytics.txt"
  envs+=(E2E_CLICKS_URL="$E2E_URL" E2E_CLICKS_BANNER="$E2E_WORK/clicks.out")
  files+=(click-analytics.test.mjs)
fi
e2e_node "${files[@]}" -- "${envs[@]}"
