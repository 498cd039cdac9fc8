#!/usr/bin/env bash
# Start-up benchmark: a tiny .keras -> .lstm conversion (whole process, and its isolated-read child alone), the
# same in-process, `lstm-format --help`, against /bin/true and `python3 -c pass` in the same rounds. Medians of
# wall and CPU time, with the load average. See scripts/bench_startup.py.
#
#   scripts/bench_startup.sh [--runs N] [--baseline OTHER_LSTM_FORMAT_BINARY]
#
# Needs the test venv (scripts/setup.sh) for the Keras-built tiny model. The machine should be otherwise idle.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="$(scripts/setup.sh | tail -n 1)"
swift build -c release --product lstm-format >&2
exec "$python" scripts/bench_startup.py --binary "$PWD/.build/release/lstm-format" "$@"
