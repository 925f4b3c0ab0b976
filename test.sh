#!/usr/bin/env bash
# Run every test: installs what is missing, builds (Release), runs the .NET test projects, the example apps' pgTAP
# tests (pg_prove; each app's tests/run.sh also runs `restgres check` against its check.expect, docs/check.md) and the
# end-to-end tests of the A/B and click analytics dashboards (Playwright + Chromium), then, when ../shared/conformance
# exists, the PostgREST conformance suite and the quick reliability run (tests/reliability/run.sh --quick: fuzzing,
# JWT and injection corpora, faults under load, slow clients; about 90 s). Exits non-zero if the build fails, any .NET, pgTAP,
# e2e or reliability check fails (known failures, tests/reliability/known-failures.txt, are listed but do not count),
# or conformance falls below tests/conformance/floor. When ../shared/pgrst-io exists, PostgREST's own process-level
# test suite (tests/pgrst-io/run.sh: CLI flags, env, sockets, reloads, logs; about 5 min) runs and must not fall below
# tests/pgrst-io/floor. Last, a short load run of the glucose API (any error fails it) and the click analytics app's
# short durability run (kill -9 of Restgres and an immediate stop of PostgreSQL under load: any lost or doubled
# acknowledged event, or any answer other than 2xx or 503 with Retry-After, fails it; under 2 minutes).
#
# Usage: ./test.sh [--no-unit] [--no-pgtap] [--no-e2e] [--no-conformance] [--no-reliability] [--no-pgrst-io] [--no-load]
#                  [--no-durability]
# Results: test-results/unit/*.trx, test-results/pgtap.txt, test-results/e2e/ (screenshots), test-results/conformance/,
# test-results/reliability/, test-results/pgrst-io/ (gitignored).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

run_unit=1
run_pgtap=1
run_load=1
run_durability=1
run_e2e=1
run_conformance=1
run_reliability=1
run_pgrst_io=1
for arg in "$@"; do
  case "$arg" in
    --no-unit) run_unit=0 ;;
    --no-pgtap) run_pgtap=0 ;;
    --no-load) run_load=0 ;;
    --no-durability) run_durability=0 ;;
    --no-e2e) run_e2e=0 ;;
    --no-conformance) run_conformance=0 ;;
    --no-reliability) run_reliability=0 ;;
    --no-pgrst-io) run_pgrst_io=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (see ./test.sh --help)" ;;
  esac
done

started=$SECONDS
stage() { log "== $* (t+$((SECONDS - started))s)"; }
failures=()

stage "dependencies"
dep_groups=(core pgbouncer)   # pgbouncer: the ScaleOut tests start one (tests/Restgres.Tests/Infrastructure/PgBouncer.cs)
if [ "$run_e2e" = 1 ]; then dep_groups+=(browser); fi
pgrst_io_dir="${PGRST_IO_DIR:-../shared/pgrst-io}"
if [ "$run_pgrst_io" = 1 ] && [ -d "$pgrst_io_dir" ]; then dep_groups+=(pgrst-io); fi
scripts/ensure-deps.sh "${dep_groups[@]}"

stage "build"
dotnet restore Restgres.slnx --nologo -v quiet || die "dotnet restore failed"
dotnet build Restgres.slnx -c Release --no-restore --nologo -v quiet \
  || die "dotnet build failed (see the compiler output above)"

unit_passed=0
unit_failed=0
if [ "$run_unit" = 1 ]; then
  stage "dotnet test"
  rm -rf test-results/unit
  if ! dotnet test Restgres.slnx -c Release --no-build --nologo -v quiet \
      --logger "trx" --logger "console;verbosity=minimal" --results-directory test-results/unit; then
    failures+=("dotnet test")
  fi
  # Count from the TRX files rather than scraping console text, which changes between SDKs.
  # The names of failing tests go to test-results/unit/failed.txt so the summary at the end (all CI shows) names them.
  read -r unit_passed unit_failed < <(python3 - test-results/unit <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = 0
names = []
for f in glob.glob(sys.argv[1] + "/**/*.trx", recursive=True):
    for el in ET.parse(f).getroot().iter():
        tag = el.tag.split("}")[-1]
        if tag == "Counters":
            passed += int(el.get("passed", 0))
            failed += int(el.get("failed", 0)) + int(el.get("error", 0)) + int(el.get("timeout", 0)) + int(el.get("aborted", 0))
        elif tag == "UnitTestResult" and el.get("outcome") not in ("Passed", "NotExecuted", None):
            msg = next((m.text or "" for m in el.iter() if m.tag.split("}")[-1] == "Message"), "")
            names.append("%s: %s" % (el.get("testName"), " ".join(msg.split())[:300]))
with open(sys.argv[1] + "/failed.txt", "w") as out:
    out.writelines(n + "\n" for n in names)
print(passed, failed)
PY
  )
  log "unit: $unit_passed passed, $unit_failed failed"
fi

pgtap_passed=0
pgtap_failed=0
if [ "$run_pgtap" = 1 ]; then
  stage "pgTAP and restgres check (examples/ab-dashboard, examples/glucose-api, examples/click-analytics, examples/ai-generations, examples/floyo)"
  mkdir -p test-results
  : >test-results/pgtap.txt
  for app in ab-dashboard glucose-api click-analytics ai-generations floyo; do
    if "examples/$app/tests/run.sh" 2>&1 | tee -a test-results/pgtap.txt; then :; else failures+=("pgTAP ($app)"); fi
  done
  # pg_prove's summary: "Files=6, Tests=139, ..." and, on failure, "Failed N/M subtests" per file.
  read -r pgtap_passed pgtap_failed < <(python3 - test-results/pgtap.txt <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
tests = sum(int(n) for n in re.findall(r"^Files=\d+, Tests=(\d+)", text, re.M))
failed = sum(int(n) for n in re.findall(r"Failed (\d+)/\d+ subtests", text))
if tests == 0 and "All tests successful" not in text:
    failed = max(failed, 1)  # the cluster or the migrations failed before any test ran
print(max(tests - failed, 0), failed)
PY
  )
  log "pgTAP: $pgtap_passed passed, $pgtap_failed failed"
fi

e2e_passed=0
e2e_failed=0
if [ "$run_e2e" = 1 ]; then
  stage "e2e (A/B and click analytics dashboards, AI generations, in Chromium)"
  scripts/publish.sh
  mkdir -p test-results
  if tests/e2e/run.sh 2>&1 | tee test-results/e2e.txt; then :; else failures+=("e2e"); fi
  if tests/e2e/ai-generations.sh 2>&1 | tee test-results/e2e-ai-generations.txt; then :; else failures+=("e2e (ai-generations)"); fi
  # node's test runner ends each run with "ℹ pass N" / "ℹ fail M".
  read -r e2e_passed e2e_failed < <(python3 - test-results/e2e.txt test-results/e2e-ai-generations.txt <<'PY'
import re, sys
passed = failed = 0
for name in sys.argv[1:]:
    text = open(name, errors="replace").read()
    p = re.findall(r"^\S* ?pass (\d+)$", text, re.M)
    f = re.findall(r"^\S* ?fail (\d+)$", text, re.M)
    passed += int(p[-1]) if p else 0
    failed += int(f[-1]) if f else 1  # no summary: the server or the browser did not start
print(passed, failed)
PY
  )
  log "e2e: $e2e_passed passed, $e2e_failed failed (screenshots in test-results/e2e/)"
fi

conf_passed=0
conf_failed=0
conformance_dir="${CONFORMANCE_DIR:-../shared/conformance}"
if [ "$run_conformance" = 0 ]; then
  log "conformance: skipped (--no-conformance)"
elif [ -d "$conformance_dir" ]; then
  stage "publish"
  scripts/publish.sh
  stage "conformance"
  if ! CONFORMANCE_DIR="$conformance_dir" tests/conformance/run.sh --no-publish; then
    failures+=("conformance")
  fi
  if [ -f test-results/conformance/results.json ]; then
    read -r conf_passed conf_failed < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["passed"], r["failed"])' test-results/conformance/results.json)
  fi
else
  log "conformance: skipped ($conformance_dir not found; CI clones shared/ beside the repo)"
fi

rel_passed=0
rel_failed=0
rel_known=0
if [ "$run_reliability" = 0 ]; then
  log "reliability: skipped (--no-reliability)"
elif [ -d "$conformance_dir" ]; then
  stage "publish"
  scripts/publish.sh
  stage "reliability (quick)"
  rm -f test-results/reliability/results.json
  if ! CONFORMANCE_DIR="$conformance_dir" tests/reliability/run.sh --quick --no-publish; then
    failures+=("reliability")
  fi
  if [ -f test-results/reliability/results.json ]; then
    read -r rel_passed rel_failed rel_known < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["passed"], r["failed"], r["known_failures"])' test-results/reliability/results.json)
  else
    rel_failed=1   # the suite did not get as far as writing its results
  fi
else
  log "reliability: skipped ($conformance_dir not found: it builds the conformance fixture database)"
fi

io_passed=0
io_failed=0
io_below_floor=0
if [ "$run_pgrst_io" = 0 ]; then
  log "pgrst-io: skipped (--no-pgrst-io)"
elif [ -d "$pgrst_io_dir" ]; then
  stage "publish"
  scripts/publish.sh
  stage "PostgREST io suite"
  mkdir -p test-results
  if ! PGRST_IO_DIR="$pgrst_io_dir" tests/pgrst-io/run.sh --no-publish 2>&1 | tee test-results/pgrst-io.txt; then
    failures+=("pgrst-io")
    io_below_floor=1
  fi
  read -r io_passed io_failed < <(python3 - test-results/pgrst-io.txt <<'PY'
import re, sys
m = re.findall(r"^(\d+) passed, (\d+) failed$", open(sys.argv[1], errors="replace").read(), re.M)
print(*(m[-1] if m else (0, 1)))
PY
  )
else
  log "pgrst-io: skipped ($pgrst_io_dir not found)"
fi

load_passed=0
load_failed=0
if [ "$run_load" = 1 ]; then
  stage "load (examples/glucose-api, short)"
  scripts/ensure-deps.sh core reliability   # wrk
  scripts/publish.sh
  # 50 clients for 10 s on the old URLs through routes, rate limits and the response cache: any error fails the run;
  # latency is reported, not asserted (docs/benchmarks.md has the full runs).
  if examples/glucose-api/bench/load.sh --duration 10 --connections 50 --check; then load_passed=1
  else load_failed=1; failures+=("load (glucose-api)"); fi
fi

durability_passed=0
durability_failed=0
if [ "$run_durability" = 1 ]; then
  stage "durability (examples/click-analytics, short)"
  scripts/publish.sh
  # 30,000 clicks with client event ids through group commit; one kill -9 of Restgres and one immediate stop of
  # PostgreSQL meanwhile; every acknowledged id must be in the table exactly once (docs/benchmarks.md, "Click ingest").
  if examples/click-analytics/bench/durability.sh; then durability_passed=1
  else durability_failed=1; failures+=("durability (click-analytics)"); fi
fi

stage "done"
echo
echo "unit: $unit_passed passed, $unit_failed failed"
if [ "$run_unit" = 1 ] && [ -s test-results/unit/failed.txt ]; then sed 's/^/  FAILED unit: /' test-results/unit/failed.txt; fi
echo "pgTAP: $pgtap_passed passed, $pgtap_failed failed"
echo "e2e: $e2e_passed passed, $e2e_failed failed"
echo "conformance: $conf_passed passed, $conf_failed failed"
echo "reliability: $rel_passed passed, $rel_failed failed ($rel_known known failures: tests/reliability/known-failures.txt)"
echo "pgrst-io: $io_passed passed, $io_failed not passing yet (gaps measured against tests/pgrst-io/floor, $(cat tests/pgrst-io/floor 2>/dev/null); not applicable, not run: tests/pgrst-io/not-applicable)"
echo "load: $load_passed passed, $load_failed failed"
echo "durability: $durability_passed passed, $durability_failed failed"
if [ ${#failures[@]} -gt 0 ]; then
  echo "FAILED: ${failures[*]} (took $((SECONDS - started))s)"
else
  echo "OK (took $((SECONDS - started))s)"
fi
# Last line in the plain 'N passed, M failed' form that CI reads. PostgREST's io suite counts its failing tests only
# when it falls below its floor: the rest are known gaps (issue 18), as the reliability suite's known failures.
echo "total: $((unit_passed + pgtap_passed + e2e_passed + conf_passed + rel_passed + io_passed + load_passed + durability_passed)) passed, $((unit_failed + pgtap_failed + e2e_failed + conf_failed + rel_failed + io_below_floor * (io_failed > 0 ? io_failed : 1) + load_failed + durability_failed)) failed"
[ ${#failures[@]} -eq 0 ]
