#!/usr/bin/env bash
# Installs schemathesis (the OpenAPI conformance fuzzer) from PyPI into the project's own virtualenv,
# .cache/venv: nothing global. Idempotent: a venv that already has this version is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.32.5
VENV=.cache/venv
if [ -x "$VENV/bin/st" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$VERSION" ]; then
  echo "::: schemathesis $VERSION already in $VENV"
  exit 0
fi
command -v python3 >/dev/null || { echo "install-schemathesis: python3 (3.10+) is needed" >&2; exit 1; }
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
echo "::: installed schemathesis $VERSION into $VENV"
