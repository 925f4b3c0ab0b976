#!/usr/bin/env bash
# Build the dashboard page into dist/ when it is missing or older than its sources (npm ci, then vite build).
# ./run.sh and the end-to-end test call it; without Node.js it only says how to get the page.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if [ -f dist/index.html ] && [ -z "$(find index.html vite.config.js package.json package-lock.json src public -newer dist/index.html -print -quit)" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "web/build.sh: npm not found: the API works, but the dashboard page needs Node.js 20.19+ and npm to build" >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "web/build.sh: Node.js $(node --version) is too old for Vite 7 (20.19+ or 22.12+ needed)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install (not npm ci): it keeps the lock file's versions but tolerates the optional per-platform rollup
  # packages that this machine's registry mirror does not serve (npm ci refuses the lock file without them).
  # --no-save: the install must not rewrite the committed lock file (it added those platform entries, leaving every
  # checkout that ran the tests with a modified file).
  echo "web/build.sh: npm install (dashboard dependencies, from package-lock.json)" >&2
  npm install --no-save --no-audit --no-fund --loglevel=error
fi
echo "web/build.sh: vite build -> examples/ab-dashboard/web/dist" >&2
npm run --silent build >/dev/null
