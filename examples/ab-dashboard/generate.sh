#!/usr/bin/env bash
# Replace the A/B dashboard's data with deterministic synthetic data (data/generate.sql), then refresh the aggregates.
#
# Usage: examples/ab-dashboard/generate.sh [--events N] [--users N] [--completions N] [--days N] [--seed N]
#                                          [--anchor TIMESTAMP] [PSQL CONNECTION ARGS...]
#   examples/ab-dashboard/generate.sh --events 1000000 "postgres://postgres@127.0.0.1:5432/app"
# Defaults: 200,000 events, users = events / 100, completions = events / 10, 30 days, seed 42, anchor = now.
# With `restgres dev`, use `./run.sh --events N` instead (it knows the cluster's address).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vars=()
while [ $# -gt 0 ]; do
  case "$1" in
    --events|--users|--completions|--days|--seed|--anchor)
      [ $# -ge 2 ] || { echo "generate.sh: $1 needs a value" >&2; exit 2; }
      vars+=(-v "${1#--}=$2"); shift 2 ;;
    --events=*|--users=*|--completions=*|--days=*|--seed=*|--anchor=*)
      name="${1%%=*}"; vars+=(-v "${name#--}=${1#*=}"); shift ;;
    --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
exec psql -X -q -v ON_ERROR_STOP=1 "${vars[@]}" "$@" -f "$here/data/generate.sql"
