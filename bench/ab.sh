#!/usr/bin/env bash
# Interleaved A/B benchmark of two commits of restgres on one cluster, the way docs/benchmarks.md compares changes:
# the harness (../shared/bench) runs the server target 2 x ROUNDS times, alternating the two builds (the order flips
# every round, since the build that runs first in a round tends to win it), on the same data in the same hour.
#
#   bench/ab.sh BASE_REF [--rounds N] [HARNESS OPTIONS]
#
# BASE_REF     the commit to compare the working tree's HEAD build with (e.g. e2df4b5, main~3); HEAD itself compares
#              one build under two configurations (--base-env / --head-env), published once
# --rounds N   A/B pairs (default 3)
# --base-env "K=V ..." / --head-env "K=V ..."   environment for each side's server, e.g. to measure an option:
#              bench/ab.sh HEAD --head-env "PGRST_SERVER_ETAG=true" --scenarios list_events
# --base-via CMD / --head-via CMD   a command each side's server is started through (it gets the server command as
#              its arguments), e.g. bench/via-pgbouncer.sh to put a PgBouncer in front (bench/pgbouncer.sh)
# Every other option goes to the harness, e.g. --duration 8 --warmup 3 --scenarios "get_event list_events".
# Default scenarios: get_event list_events recent_completions (the three that measure the server's own cost).
# Prints a table of req/s per round and the mean ratio head/base per scenario; the harness report goes to
# bench/results/<date>-ab-<base>-<head>.md.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
base_ref=$1; shift
rounds=3
base_env=""
head_env=""
base_via=""
head_via=""
pass=()
has_scenarios=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --rounds=*) rounds=${1#*=}; shift ;;
    --base-env) base_env=$2; shift 2 ;;
    --head-env) head_env=$2; shift 2 ;;
    --base-via) base_via=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --head-via) head_via=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --scenarios|--scenarios=*) has_scenarios=1; pass+=("$1"); shift ;;
    *) pass+=("$1"); shift ;;
  esac
done
[ "$has_scenarios" = 1 ] || pass+=(--scenarios "get_event list_events recent_completions")

SHARED_BENCH=${SHARED_BENCH:-$(cd "$RESTGRES_ROOT/.." && pwd)/shared/bench}
[ -x "$SHARED_BENCH/run.sh" ] || die "the bench harness is not at $SHARED_BENCH (set SHARED_BENCH)"
base_sha=$(git -C "$RESTGRES_ROOT" rev-parse --short "$base_ref")
head_sha=$(git -C "$RESTGRES_ROOT" rev-parse --short HEAD)
out_dir="$RESTGRES_ROOT/artifacts/restgres-ab"
work=$(mktemp -d /tmp/restgres-ab.XXXXXX)
cleanup() {
  git -C "$RESTGRES_ROOT" worktree remove --force "$work/base-src" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log "publishing head ($head_sha) and base ($base_sha)"
RESTGRES_PUBLISH_DIR="$out_dir/head" "$RESTGRES_ROOT/scripts/publish.sh"
if [ "$base_sha" = "$head_sha" ]; then
  rm -rf "$out_dir/base" && cp -a "$out_dir/head" "$out_dir/base"
else
  git -C "$RESTGRES_ROOT" worktree add -q --detach "$work/base-src" "$base_sha"
  (cd "$work/base-src" && RESTGRES_PUBLISH_DIR="$out_dir/base" scripts/publish.sh)
fi

# The harness starts "the server" 2 x rounds times; this wrapper decides which build each start is:
# round r runs base then head when r is odd, head then base when r is even.
cat >"$work/server.sh" <<EOF
#!/usr/bin/env bash
n=\$(( \$(cat "$work/starts" 2>/dev/null || echo 0) + 1 ))
echo "\$n" >"$work/starts"
round=\$(( (n + 1) / 2 )); first=\$(( n % 2 ))
if (( (round % 2 == 1) == (first == 1) )); then which=base; else which=head; fi
echo "\$which" >>"$work/order"
if [ "\$which" = base ]; then extra=($base_env); via=($base_via); else extra=($head_env); via=($head_via); fi
exec env "\${extra[@]}" "\${via[@]}" "$out_dir/\$which/restgres"
EOF
chmod +x "$work/server.sh"

targets=()
for ((i = 0; i < 2 * rounds; i++)); do targets+=(server); done
report="$RESTGRES_ROOT/bench/results/$(date -u +%F-%H%M)-ab-$base_sha-$head_sha.md"
log "running the harness: ${#targets[@]} server runs"
(cd "$RESTGRES_ROOT" && "$SHARED_BENCH/run.sh" --name restgres --cmd "$work/server.sh" --out "$report" \
  "${pass[@]}" "${targets[@]}") 2> >(tee "$work/harness.log" >&2)

python3 - "$work/harness.log" "$work/order" "$base_sha" "$head_sha" <<'PY'
import re, sys
log, order, base, head = sys.argv[1:]
builds = [l.strip() for l in open(order) if l.strip()]
runs, current = [], None
for line in open(log):
    if re.search(r"restgres: starting:", line):
        current = {}
        runs.append(current)
    m = re.search(r"restgres (\S+): ([\d.]+) req/s", line)
    if m and current is not None:
        current[m.group(1)] = float(m.group(2))
scenarios = list(dict.fromkeys(s for r in runs for s in r))
print(f"\n| scenario | {base} (base) req/s | {head} (head) req/s | head / base |")
print("|---|---|---|---|")
for s in scenarios:
    vals = {"base": [], "head": []}
    for b, r in zip(builds, runs):
        if s in r: vals[b].append(r[s])
    mb = sum(vals["base"]) / max(1, len(vals["base"]))
    mh = sum(vals["head"]) / max(1, len(vals["head"]))
    fmt = lambda xs: " / ".join(f"{x:,.0f}" for x in xs)
    print(f"| {s} | {fmt(vals['base'])} (mean {mb:,.0f}) | {fmt(vals['head'])} (mean {mh:,.0f}) | {mh / mb:.3f} |")
PY
log "harness report: ${report#"$RESTGRES_ROOT"/}"
