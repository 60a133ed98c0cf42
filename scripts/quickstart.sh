#!/usr/bin/env bash
# The main job on its embedded default, no cluster needed: installs what it needs (Node 24 comes
# as an npm package), then copies the sample data in examples/data/quickstart to ./quickstart-out
# with `datasync run`, printing a progress line and the final JSON report.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
exec node copier/cli.ts run -f examples/quickstart.yaml "$@"
