#!/usr/bin/env bash
# `npm test`: brings a fresh machine up to date (system packages, npm packages, build), then runs
# the unit tier, the integration tier (the server in-process) and the end-to-end tier (real
# redis-server, supervisor, API and worker processes).
# Extra arguments go to every jest run (e.g. a path filter).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-system-deps.sh --tests

export TZ=UTC
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
npx jest --selectProjects unit --json --outputFile "$results/unit.json" "$@" || status=$?
npx jest --selectProjects integration --runInBand --json --outputFile "$results/integration.json" "$@" || status=$?
# One suite at a time: each starts its own services and the machine has two cores.
npx jest --selectProjects e2e --runInBand --json --outputFile "$results/e2e.json" "$@" || status=$?

node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { failed += 1; continue; }
    const run = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += run.numPassedTests;
    failed += run.numFailedTests + run.numRuntimeErrorTestSuites;
    skipped += run.numPendingTests + run.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
' "$results/unit.json" "$results/integration.json" "$results/e2e.json"
exit "$status"
