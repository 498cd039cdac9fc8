#!/usr/bin/env bash
# Runs lstm-format-bench (release) and the PyTorch CPU reference (scripts/bench_torch.py) on the same shapes —
# batch 32, 100 steps, input 128, hidden 512, dense 32, float32 — side by side in alternating rounds, and prints
# medians over every timed run with the ratio PyTorch / lstm-format (> 1 means the verifier is faster).
#
#   scripts/bench.sh [RUNS] [THREADS] [ROUNDS]   defaults: 20 runs, 2 threads (OpenBLAS and torch alike), 5 rounds
#
# RUNS timed runs per side in all, spread over ROUNDS rounds; each round starts a fresh process per side (two
# untimed warm-up runs each, as before) and swaps which side goes first, so both sides see the same drift of the
# machine's speed (Spec/bptt.md B41: on the 2-core VMs it moves between two levels every few seconds). Prints
# the median of the per-round ratios and their range beside the pooled medians, and the load before and after.
#
# LSTMFORMAT_BENCH_BINARY=path runs that lstm-format-bench instead of building this tree's (to measure another
# commit's binary, e.g. before and after a change, with the same harness).
#
# The PyTorch venv lives at /root/.cache/lstm-format/bench-venv and is created on first use with
# `pip install torch numpy` from PyPI (the default wheel; it pulls CUDA runtime wheels, several GB, since no
# CPU-only index is reachable). Other processes on the machine skew both columns: run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-20}"
THREADS="${2:-2}"
ROUNDS="${3:-5}"
VENV=/root/.cache/lstm-format/bench-venv
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "creating $VENV (pip install torch numpy)…" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet torch numpy
fi

BIN="${LSTMFORMAT_BENCH_BINARY:-}"
if [ -z "$BIN" ]; then
    swift build -c release --product lstm-format-bench >&2
    BIN=.build/release/lstm-format-bench
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for ((r = 0; r < ROUNDS; r++)); do
    ours() { echo "ours $r $("$BIN" --runs "$PER_ROUND" --threads "$THREADS" --json)" >> "$OUT"; }
    torch() { echo "torch $r $("$VENV/bin/python" scripts/bench_torch.py --runs "$PER_ROUND" --threads "$THREADS" --json)" >> "$OUT"; }
    if (( r % 2 == 0 )); then ours; torch; else torch; ours; fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

"$VENV/bin/python" - "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import json, statistics, sys
rounds = {}
for line in open(sys.argv[1]):
    side, r, js = line.split(" ", 2)
    rounds.setdefault(int(r), {})[side] = json.loads(js)
o0, t0 = rounds[0]["ours"], rounds[0]["torch"]
n = sum(len(x["ours"]["forward_ms"]) for x in rounds.values())
print(f"batch 32, steps 100, input 128, hidden 512, dense 32, float32; {n} runs per side in {len(rounds)} "
      f"alternating rounds; threads: OpenBLAS {o0['threads']}, torch {t0['threads']} (PyTorch {t0['version']}); "
      f"load {sys.argv[2]} before, {sys.argv[3]} after")
print(f"{'':20}{'lstm-format':>14}{'PyTorch':>14}{'ratio':>9}   per-round ratios: median [min, max]")
for key, label in [("forward_ms", "forward"), ("forward_backward_ms", "forward+BPTT")]:
    ours = [v for x in rounds.values() for v in x["ours"][key]]
    torch = [v for x in rounds.values() for v in x["torch"][key]]
    per_round = [statistics.median(x["torch"][key]) / statistics.median(x["ours"][key]) for x in rounds.values()]
    for stat, f in (("median", statistics.median), ("min", min)):
        a, b = f(ours), f(torch)
        extra = (f"   {statistics.median(per_round):.2f}x [{min(per_round):.2f}, {max(per_round):.2f}]"
                 if stat == "median" else "")
        print(f"{label + ' ' + stat:20}{a:11.1f} ms{b:11.1f} ms{b / a:8.2f}x{extra}")
PY
