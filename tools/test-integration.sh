#!/usr/bin/env bash
# The tests against a real Temporal: jest's `reliability` project (fault and scale tests, which start,
# load and kill processes of their own) and `integration` (every other folder) side by side, each in
# band in its own jest process with its own dev server. A file never shares its jest process, so no
# two fault tests overlap, and the two streams take about the same time (README, Tests).
# With arguments, one jest process runs both projects in band with them (e.g. a test file's path).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
  exec npx jest --selectProjects reliability integration --runInBand "$@"
fi

# Each line carries its project's name: the two processes print at the same time.
run_project() {
  npx jest --selectProjects "$1" --runInBand 2>&1 | sed -u "s/^/[$1] /"
}

run_project reliability &
reliability=$!
run_project integration &
integration=$!
wait "$reliability"
reliability_rc=$?
wait "$integration"
integration_rc=$?
echo "::: test:integration: reliability project exit ${reliability_rc}, integration project exit ${integration_rc}"
[ "$reliability_rc" = 0 ] && [ "$integration_rc" = 0 ]
