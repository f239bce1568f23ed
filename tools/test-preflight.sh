#!/usr/bin/env bash
# `npm test` runs this first: it checks what the suite needs beyond npm packages, installs what is
# missing where it can (as root, or with passwordless sudo, through apt-get) and otherwise stops at
# once with the command to run, instead of failing minutes into the suite.
#   bash tools/test-preflight.sh [COMMAND...]   also require these commands (each a Debian package of that name;
#                                               postgresql: its initdb, for the cluster tests)
set -euo pipefail
cd "${BASH_SOURCE[0]%/*}/.."

# Debian packages the tests use, named by the command each provides: redis-server (the rate-limit
# and pacing tests start their own on a free port) and chromium (the Web UI test drives it headless
# through playwright-core, which downloads no browser; CHORUS_TEST_CHROMIUM may name another one).
packages=(redis-server chromium "$@")
MIN_GO_MINOR=25

fail() {
  printf 'npm test cannot run yet: %s\n' "$1" >&2
  exit 1
}

# Node.js: the version package.json's engines field names, so the minimum lives in one place.
node_version=$(node -p 'process.versions.node') || fail 'node is not on PATH'
node_path=$(node -p 'process.execPath')
required=$(node -p "require('./package.json').engines.node")
min_major=${required#>=}
min_major=${min_major%%.*}
echo "::: Node.js v${node_version} (${node_path})"
if [ "${node_version%%.*}" -lt "$min_major" ]; then
  fail "Chorus needs Node.js ${required} (22 LTS or 24); this is v${node_version} at ${node_path}. Run npm ci (it installs Node 24 for linux-x64 into node_modules/.bin) or install Node.js 24."
fi

# The Temporal CLI runs the suite's dev server; without one, the first run builds it with Go.
if [ -z "${TEMPORAL_CLI:-}" ] && ! command -v temporal >/dev/null && [ ! -x .cache/bin/temporal ]; then
  go_version=$(go env GOVERSION 2>/dev/null) ||
    fail "no Temporal CLI and no Go to build it. Install Go 1.${MIN_GO_MINOR}+ (the first run builds the CLI with go install, a few minutes, once), or put temporal on PATH, or set TEMPORAL_CLI to its path."
  go_minor=${go_version#go1.}
  go_minor=${go_minor%%[!0-9]*}
  [ "$go_minor" -ge "$MIN_GO_MINOR" ] || fail "${go_version} is too old to build the Temporal CLI: install Go 1.${MIN_GO_MINOR}+, or put temporal on PATH, or set TEMPORAL_CLI."
  echo "::: no Temporal CLI yet: the first run builds it with ${go_version} (a few minutes, once)"
fi

missing=()
for package in "${packages[@]}"; do
  if [ "$package" = chromium ] && [ -n "${CHORUS_TEST_CHROMIUM:-}" ] && [ -x "${CHORUS_TEST_CHROMIUM}" ]; then continue; fi
  # Debian's postgresql keeps initdb off PATH, under /usr/lib/postgresql/<version>/bin.
  if [ "$package" = postgresql ]; then
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
    continue
  fi
  command -v "$package" >/dev/null || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  fail "it needs ${missing[*]}: install them with your system's package manager."
fi
if [ "$(id -u)" = 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  fail "it needs the Debian packages ${missing[*]}. Install them with:
  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
fi
echo "::: installing ${missing[*]} with apt-get"
${sudo[@]+"${sudo[@]}"} apt-get update -qq
${sudo[@]+"${sudo[@]}"} apt-get install -y -qq "${missing[@]}"
for package in "${missing[@]}"; do
  command -v "$package" >/dev/null || fail "apt-get installed ${package}, but no ${package} command is on PATH"
done
