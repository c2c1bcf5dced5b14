#!/usr/bin/env bash
# `npm start`: install what is missing, build, then hand the process over to the CLI's
# supervisor (exec, so SIGTERM/SIGINT reach it directly and no shell lingers).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-system-deps.sh
exec node dist/apps/cli/src/main.js serve "$@"
