#!/usr/bin/env bash
# Runs lstm-format-bench (release) and the PyTorch CPU reference (scripts/bench_torch.py) on the same shapes in
# one go — batch 32, 100 steps, input 128, hidden 512, dense 32, float32 — and prints medians side by side with
# the ratio PyTorch / lstm-format (> 1 means the verifier is faster).
#
#   scripts/bench.sh [RUNS] [THREADS]      defaults: 20 runs, 2 threads (OpenBLAS and torch alike)
#
# The PyTorch venv lives at /root/.cache/lstm-format/bench-venv and is created on first use with
# `pip install torch numpy` from PyPI (the default wheel; it pulls CUDA runtime wheels, several GB, since no
# CPU-only index is reachable). Other processes on the machine skew both columns: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
THREADS="${2:-2}"
VENV=/root/.cache/lstm-format/bench-venv

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "creating $VENV (pip install torch numpy)…" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch numpy
fi

swift build -c release --product lstm-format-bench >&2
OURS=$(.build/release/lstm-format-bench --runs "$RUNS" --threads "$THREADS" --json)
TORCH=$("$VENV/bin/python" scripts/bench_torch.py --runs "$RUNS" --threads "$THREADS" --json)

"$VENV/bin/python" - "$OURS" "$TORCH" <<'PY'
import json, sys
ours, torch = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"batch 32, steps 100, input 128, hidden 512, dense 32, float32; {ours['runs']} runs; "
      f"threads: OpenBLAS {ours['threads']}, torch {torch['threads']} (PyTorch {torch['version']})")
print(f"{'':18}{'lstm-format':>14}{'PyTorch':>14}{'ratio':>9}")
for key, label in [("forward", "forward"), ("forward_backward", "forward+BPTT")]:
    for stat in ("median", "min"):
        a, b = ours[f"{key}_{stat}_ms"], torch[f"{key}_{stat}_ms"]
        print(f"{label + ' ' + stat:18}{a:11.1f} ms{b:11.1f} ms{b / a:8.2f}x")
PY
