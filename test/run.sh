#!/usr/bin/env bash
# The test command (`npm test`): installs dependencies, provisions the real servers (cached outside
# the clone), type-checks, then runs every suite with the servers started once by the global setup.
#   npm test                      # everything
#   npm test -- copier/plan       # only test files whose path contains this text
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
bash test/env/provision.sh
echo "test: type-checking" >&2
tsc -p tsconfig.json --noEmit
mapfile -t files < <(find api copier operator test scripts bench -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ $# -gt 0 ]; then
  mapfile -t files < <(printf '%s\n' "${files[@]}" | grep -F -e "$1")
fi
[ ${#files[@]} -gt 0 ] || { echo "test: no test files matched" >&2; exit 1; }
exec node --test --test-global-setup=test/env/global-setup.ts --test-concurrency=1 \
  --test-timeout=900000 --test-reporter=spec "${files[@]}"
