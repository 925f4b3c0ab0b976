#!/usr/bin/env bash
# The reliability suite (docs/reliability.md): fuzzing, JWT and injection corpora, faults under load, slow and greedy
# clients, soak. Builds PostgREST's spec fixture database on a private cluster (../shared/conformance/setup-db.sh, a
# free port, a temporary directory), starts artifacts/restgres/restgres with the spec's PGRST_* environment for each
# part, and always stops both at the end. Everything listens on and connects to 127.0.0.1 only.
#
# Usage: tests/reliability/run.sh [--quick | --full] [options]
#   --quick             the bounded run ./test.sh calls (default): 10k fuzz requests, the corpora, short faults and
#                       slow-client runs, no soak; about 60-90 s
#   --full              the documented full run: 100k fuzz requests, every fault, 10k idle connections, 30 min soak
#   --only PART         run only this part (repeatable): inject, jwt, slow, faults, soak, fuzz
#   --skip PART         leave a part out (repeatable)
#   --seed N            fuzzer seed (quick default: 1; full default: derived from the clock, printed)
#   --fuzz-requests N   number of fuzz requests (quick 10000, full 100000)
#   --fuzz-replay I     send fuzz request number I of --seed once and print it with the verdict (with --only fuzz)
#   --fuzz-workers N    concurrent fuzz clients (default 4)
#   --fuzz-max-seconds S  time cap of the fuzz part (quick 60, full 1500)
#   --soak-minutes M    soak duration (full default 30)
#   --no-publish        reuse artifacts/restgres/restgres instead of running scripts/publish.sh first
# Env: CONFORMANCE_DIR (default ../shared/conformance beside the repo), RESTGRES_BIN.
#
# Output: one line per check, figures, then 'reliability: N passed, M failed, K known failures' last. Checks listed in
# tests/reliability/known-failures.txt (open bugs) are reported as known failures and do not fail the run.
# Files: test-results/reliability/results.json, logs/ (server and PostgreSQL logs). Exit 1 when a check failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"
_script_name=reliability
ROOT="$RESTGRES_ROOT"

mode=quick
publish=1
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick; shift ;;
    --full) mode=full; shift ;;
    --no-publish) publish=0; shift ;;
    --only|--skip|--seed|--fuzz-requests|--fuzz-replay|--soak-minutes|--fuzz-workers|--fuzz-max-seconds)
      [ $# -ge 2 ] || die "$1 needs a value"; pass+=("$1" "$2"); shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

CONF="${CONFORMANCE_DIR:-$ROOT/../shared/conformance}"
[ -f "$CONF/setup-db.sh" ] || die "conformance corpus not found in $CONF (set CONFORMANCE_DIR)"
CONF="$(cd "$CONF" && pwd)"

"$ROOT/scripts/ensure-deps.sh" core reliability
if [ "$publish" = 1 ]; then "$ROOT/scripts/publish.sh"; fi
[ -x "$RESTGRES_BIN" ] || die "$RESTGRES_BIN not found; run scripts/publish.sh (or drop --no-publish)"

# 10k idle connections need as many descriptors in this process and in the server (which inherits the limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec python3 -u "$HERE/suite.py" --mode "$mode" --conf "$CONF" --bin "$RESTGRES_BIN" \
  --results "$ROOT/test-results/reliability" ${pass[@]+"${pass[@]}"}
