#!/usr/bin/env bash
# The README's second quick-start command: installs what is missing (apt packages, the pinned Python venv used
# by the Keras interop tests) and runs the whole test suite with `swift test`.
# LSTMFORMAT_SKIP_PYTHON=1 skips the venv and the tests that start Python.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="$(scripts/setup.sh | tail -n 1)"
LSTMFORMAT_PYTHON="$python" exec swift test "$@"
