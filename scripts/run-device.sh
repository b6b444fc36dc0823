#!/usr/bin/env bash
# Installs the emulator into ./.venv (if needed) and starts one default emulated device.
# Extra arguments go to `slpemu serve` (e.g. --platform C8300-1N1S-6T --release 17.9.1a).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/slpemu serve "$@"
