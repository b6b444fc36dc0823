#!/usr/bin/env bash
# Creates ./.venv and installs the project into it (editable), with the named extras.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
spec="."
[ -n "$extras" ] && spec=".[$extras]"
# This machine's pip configuration names extra local indexes that may be absent; pip warns about each.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" 2>&1 \
  | { grep -v "^WARNING: Location 'file://.*' is ignored" || true; }
