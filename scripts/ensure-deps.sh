#!/usr/bin/env bash
# Installs the npm dependencies (which include Node 24 itself, as the `node` package) when they are
# missing or older than package-lock.json. Sourced by the quickstart and test entry points.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v npm >/dev/null || { echo "datasync: npm is required (install Node.js 20+ with npm; Node 24 is then installed locally)" >&2; exit 1; }
if [ ! -x "$root/node_modules/.bin/node" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "datasync: installing npm dependencies (Node 24 included)..." >&2
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
export PATH="$root/node_modules/.bin:$PATH"
