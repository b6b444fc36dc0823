#!/usr/bin/env bash
# Regenerates bindings/ from yang/ with pyang + pyangbind. Usage: scripts/generate-bindings.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" -m emulator.tools.genbindings "${1:-bindings}"
