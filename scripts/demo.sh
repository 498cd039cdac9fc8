#!/usr/bin/env bash
# The README's first quick-start command (`scripts/demo.sh`): installs what is missing, builds, and runs the main
# job on a shipped fixture — a model trained-and-saved by real Keras 3 — converting it to .lstm, to canonical
# HDF5 and back, inspecting it, and proving with the verifier that every conversion kept the numerics.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LSTMFORMAT_SKIP_PYTHON=1 scripts/setup.sh >/dev/null
echo "== building (release)"
swift build -c release 2>&1 | tail -n 1
bin=".build/release/lstm-format"
fixture="Fixtures/keras/k3_functional_chain"
out="$(mktemp -d "${TMPDIR:-/tmp}/lstm-format-demo.XXXXXX")"
run() { printf '\n$ %s\n' "$*"; "$@"; }

run "$bin" inspect "$fixture/model.keras"
run "$bin" convert "$fixture/model.keras" "$out/model.lstm"
run "$bin" convert "$out/model.lstm" "$out/model.h5" --compress
run "$bin" convert "$out/model.h5" "$out/again.lstm"
run cmp "$out/model.lstm" "$out/again.lstm"
echo "   .lstm -> .h5 -> .lstm is byte-identical"
run h5ls -r "$out/model.h5"
run "$bin" inspect "$out/model.lstm"
run "$bin" forward "$out/model.lstm" --inputs "$fixture/x.npy" --output "$out/y.npy"
run "$bin" verify "$out/model.lstm" --inputs "$fixture/x.npy" --expect "$fixture/y.npy"
run "$bin" compare "$fixture/model.keras" "$out/model.lstm"
run "$bin" convert "$out/model.lstm" "$out/model.keras"
run "$bin" compare "$fixture/model.keras" "$out/model.keras"
printf '\ndemo finished: outputs in %s\n' "$out"
