#!/usr/bin/env bash
# I/O and verify benchmark: our release binary against h5py, Keras, cp, cat, numpy and a PyTorch float64
# yardstick, run as whole processes in alternation on Keras-built models of about 5, 50 and 500 MB (cached in
# ~/.cache/lstm-format/bench-io). Prints medians, ratios and peak RSS / model size. See scripts/bench_io.py.
#
#   scripts/bench_io.sh [--quick] [bench_io.py options: --sizes 5,50,500 --runs N --only KEYS --json FILE]
#
# --quick: the 5 and 50 MB models only. Needs the test venv (scripts/setup.sh) and ~3 GB free in the cache.
# The machine should be otherwise idle: other processes skew both columns.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python="$(scripts/setup.sh | tail -n 1)"
args=()
for a in "$@"; do
  if [ "$a" = "--quick" ]; then args+=(--sizes 5,50); else args+=("$a"); fi
done
swift build -c release --product lstm-format >&2
exec "$python" scripts/bench_io.py --binary "$PWD/.build/release/lstm-format" "${args[@]}"
