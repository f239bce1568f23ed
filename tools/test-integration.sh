#!/usr/bin/env bash
# The tests against a real Temporal: jest's `reliability` project (fault and scale tests, which start,
# load and kill processes of their own) and `integration` (every other folder) side by side, each in
# band in its own jest process with its own dev server. A file never shares its jest process, so no
# two fault tests overlap, and the two streams take about the same time (README, Tests).
# With arguments, one jest process runs both projects in band with them (e.g. a test file's path).
# CHORUS_TEST_WITH_CLUSTER=1 (CI) runs `npm run test:cluster:core` after the reliability project, in
# its stream (=all: `npm run test:cluster`); CHORUS_TEST_CONFORMANCE=1 adds test/conformance to the
# integration project (jest.config.js). Each lands in the stream that would otherwise end first.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -gt 0 ]; then
  exec npx jest --selectProjects reliability integration --runInBand "$@"
fi

# Runs a command with each output line prefixed "[NAME] ": the two streams print at the same time.
prefixed() {
  local name=$1
  shift
  "$@" 2>&1 | sed -u "s/^/[$name] /"
}

run_project() {
  prefixed "$1" npx jest --selectProjects "$1" --runInBand
}

# The reliability stream, then the cluster tests when asked: their output is prefixed [cluster].
reliability_stream() {
  run_project reliability
  local rc=$?
  case "${CHORUS_TEST_WITH_CLUSTER:-0}" in
    0) ;;
    all) prefixed cluster npm run --silent test:cluster || rc=1 ;;
    *) prefixed cluster npm run --silent test:cluster:core || rc=1 ;;
  esac
  return $rc
}

reliability_stream &
reliability=$!
run_project integration &
integration=$!
wait "$reliability"
reliability_rc=$?
wait "$integration"
integration_rc=$?
echo "::: test:integration: reliability stream exit ${reliability_rc}, integration stream exit ${integration_rc} after ${SECONDS} s"
[ "$reliability_rc" = 0 ] && [ "$integration_rc" = 0 ]
