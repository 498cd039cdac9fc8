#!/usr/bin/env python3
"""Per-file start-up cost of lstm-format (issue 11: pipelines convert thousands of small files).

Runs, as whole processes IN ALTERNATION (one run of each row per round), and prints the median wall time and the
median CPU time (user + system, from wait4(2), which counts a process and the children it waited for):

  convert tiny.keras      `lstm-format convert tiny.keras t.lstm`: the whole conversion, isolated read included
                          (goal: at most 40 ms)
  isolated read (child)   the isolated read's child on its own, started as the parent starts it
                          (`lstm-format __read tiny.keras --time-limit 60 --parent PID --quiet`, standard output
                          to an unnamed file in the output's folder, IsolatedRead.swift) (goal: at most 10 ms)
  convert, in-process     the same conversion with LSTMFORMAT_NO_ISOLATION=1 (no child; libhdf5 in-process)
  --help                  `lstm-format --help`: start-up and argument parsing only
  /bin/true               the cost of starting any process here
  python3 -c pass         the cost of starting an interpreter, for scale

The tiny model is Keras's Input(5, 3) -> LSTM(8) -> Dense(2) saved by model.save (scripts/bench_io.py builds and
caches it with the test venv's Keras). `--baseline BINARY` adds the same lstm-format rows for another build
(say, an older main) to the same rounds, so before and after are measured side by side. The load average
(`/proc/loadavg`) is printed before and after: on a shared machine, wall times follow the load; CPU times much
less so.

  scripts/bench_startup.sh [--runs N] [--baseline BINARY]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_io import build_tiny, cache_root  # noqa: E402


def run(argv, env, stdout_fd):
    """Runs argv to completion; returns (wall seconds, CPU seconds, exit status)."""
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[
        (os.POSIX_SPAWN_DUP2, stdout_fd, 1),
        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
    ])
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


class Row:
    def __init__(self, label, argv, env=None, handoff_folder=None, cleanup=None):
        self.label, self.argv, self.cleanup = label, argv, cleanup
        self.env = dict(os.environ, **(env or {}))
        self.handoff_folder = handoff_folder
        self.walls, self.cpus = [], []

    def once(self, devnull, may_fail=False):
        fd = devnull
        if self.handoff_folder:  # what the parent hands the child: an unnamed file in the output's folder
            fd = os.open(self.handoff_folder, os.O_RDWR | os.O_TMPFILE, 0o644)
        try:
            wall, cpu, code = run(self.argv, self.env, fd)
        finally:
            if fd != devnull:
                os.close(fd)
        if code != 0:
            if may_fail:
                return False
            sys.exit(f"bench_startup: {' '.join(self.argv)} exited with {code}")
        if self.cleanup and os.path.exists(self.cleanup):
            os.unlink(self.cleanup)
        self.walls.append(wall)
        self.cpus.append(cpu)
        return True


def rows_for(name, binary, tiny, tmp):
    out = os.path.join(tmp, f"{name}-t.lstm")
    child = [binary, "__read", tiny, "--time-limit", "60", "--parent", str(os.getpid()), "--output-label", out,
             "--quiet"]
    return [
        Row(f"{name}: convert tiny.keras", [binary, "convert", tiny, out], cleanup=out),
        Row(f"{name}: isolated read (child)", child, handoff_folder=tmp),
        Row(f"{name}: convert, in-process", [binary, "convert", tiny, out], env={"LSTMFORMAT_NO_ISOLATION": "1"},
            cleanup=out),
        Row(f"{name}: --help", [binary, "--help"]),
    ]


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--baseline", help="another lstm-format build to run in the same rounds")
    p.add_argument("--runs", type=int, default=30)
    a = p.parse_args()
    tiny_folder = os.path.join(cache_root(), "tiny")
    build_tiny(tiny_folder)
    tiny = os.path.join(tiny_folder, "tiny.keras")
    print(f"load average before: {load()}; {os.cpu_count()} CPUs; {a.runs} rounds")
    with tempfile.TemporaryDirectory(dir=cache_root()) as tmp:
        rows = rows_for("this", os.path.abspath(a.binary), tiny, tmp)
        if a.baseline:
            rows += rows_for("baseline", os.path.abspath(a.baseline), tiny, tmp)
        rows += [Row("/bin/true", ["/bin/true"]), Row("python3 -c pass", [sys.executable, "-c", "pass"])]
        devnull = os.open(os.devnull, os.O_WRONLY)
        for row in list(rows):  # one warm-up run each (page cache, binaries)
            # An older baseline's child may take other arguments (before P3 it had no --output-label): its row
            # is left out, said so.
            if not row.once(devnull, may_fail=row.label.startswith("baseline: isolated read")):
                print(f"{row.label}: {' '.join(row.argv[:2])} refuses this child's arguments; row left out")
                rows.remove(row)
            row.walls.clear()
            row.cpus.clear()
        for _ in range(a.runs):
            for row in rows:
                row.once(devnull)
    print(f"load average after: {load()}")
    print(f"{'':34}{'median wall':>12}{'min wall':>10}{'median CPU':>12}")
    for row in rows:
        print(f"{row.label:34}{statistics.median(row.walls) * 1e3:9.1f} ms{min(row.walls) * 1e3:7.1f} ms"
              f"{statistics.median(row.cpus) * 1e3:9.1f} ms")
    print("goals: convert tiny.keras at most 40 ms, isolated read (child) at most 10 ms (wall, quiet machine)")


if __name__ == "__main__":
    main()
