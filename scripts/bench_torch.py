#!/usr/bin/env python3
"""PyTorch CPU reference for lstm-format-bench: nn.LSTM(128, 512, batch_first=True) + nn.Linear(512, 32),
batch 32, 100 steps, float32, loss 0.5 * sum((y - Y)^2). Times forward and forward + backward over the same
number of runs (after 2 warm-up runs) and prints medians and minimums (--json adds every run's time, which
scripts/bench.sh pools over its rounds).

Environment: a separate venv, /root/.cache/lstm-format/bench-venv, with `pip install torch numpy` from PyPI
(scripts/bench.sh creates it). Only PyPI is reachable here, so the CPU-only wheel index cannot be used: the
default Linux wheel is installed, which pulls the NVIDIA CUDA runtime wheels (several GB) that this CPU run
never loads onto a GPU. Threads: torch.set_num_threads(T) with T = OpenBLAS's thread count in the Swift run (2).
"""
import argparse
import json
import statistics
import time

import torch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    batch, steps, inp, hidden, out = 32, 100, 128, 512, 32
    lstm = torch.nn.LSTM(inp, hidden, batch_first=True)
    dense = torch.nn.Linear(hidden, out)
    x = torch.rand(batch, steps, inp) * 2 - 1
    y = torch.rand(batch, steps, out) * 2 - 1

    def forward():
        with torch.no_grad():
            h, _ = lstm(x)
            return dense(h)

    def forward_backward():
        lstm.zero_grad(set_to_none=True)
        dense.zero_grad(set_to_none=True)
        h, _ = lstm(x)
        loss = 0.5 * ((dense(h) - y) ** 2).sum()
        loss.backward()
        return loss

    fwd, both = [], []
    for run in range(a.runs + 2):
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        forward_backward()
        t2 = time.perf_counter()
        if run >= 2:
            fwd.append((t1 - t0) * 1e3)
            both.append((t2 - t1) * 1e3)
    r = {
        "impl": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(), "runs": a.runs,
        "forward_median_ms": statistics.median(fwd), "forward_min_ms": min(fwd),
        "forward_backward_median_ms": statistics.median(both), "forward_backward_min_ms": min(both),
        "forward_ms": fwd, "forward_backward_ms": both,
    }
    if a.json:
        print(json.dumps(r))
    else:
        print(f"PyTorch {torch.__version__} CPU, threads {r['threads']}, {a.runs} runs")
        print(f"forward          median {r['forward_median_ms']:8.2f} ms   min {r['forward_min_ms']:8.2f} ms")
        print(f"forward + back   median {r['forward_backward_median_ms']:8.2f} ms   "
              f"min {r['forward_backward_min_ms']:8.2f} ms")


if __name__ == "__main__":
    main()
