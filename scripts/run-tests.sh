#!/usr/bin/env bash
# Installs the emulator with its test extras into ./.venv (if needed) and runs the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
exec .venv/bin/python -m pytest "$@"
