#!/usr/bin/env python3
"""I/O and verify benchmark of the lstm-format command line against the tools users would pick instead.

Builds reference models with real Keras (Input(5, I) -> LSTM(H, return_sequences) -> LSTM(H) -> Dense(D) with
I = H/3, D = H/12; about 5, 50 and 500 MB of float32), cached outside the repository in
~/.cache/lstm-format/bench-io/ (LSTMFORMAT_BENCH_CACHE to move it), then runs our release binary's commands and
the references as whole processes, IN ALTERNATION (ours, reference, ours, reference, ...), and prints medians,
ratios and peak RSS (from wait4(2) of each child) relative to the model's size.

References, one per row:
  h5py read        a fresh Python process reading every dataset of the same HDF5 file (the .keras archive's
                   model.weights.h5, extracted once; the legacy .h5) into numpy: whole process.
  h5py write       a fresh Python process writing the same float32 arrays with h5py (from one .npy): whole process.
  Keras save       keras 3 model.save of the loaded model, timed inside the process (TensorFlow's import and the
                   model load, several seconds, are not counted): in-process.
  cp, cat          cp of the .lstm; cat of the .lstm > /dev/null: whole process. `inspect` of the .lstm is set
                   against cat (it reads only the header, Spec/reliability.md M3); `inspect` of the .keras has no
                   reference (its child reads the weights member but no dataset's data).
  cp + sync        cp of the .lstm, then sync(1) of the copy: what our save does (it fsyncs, W1), whole process.
  numpy astype     np.load of the weights as one float32 .npy, astype(float16), np.save: whole process.
  torch yardstick  PyTorch float64 doing the verifier's work: load the float32 weights (safetensors), widen to
                   float64, 1 forward+backward and 22 forwards at batch 2, 5 steps: in-process (torch's ~1 s
                   import not counted).
Ratios are ours / reference (below 1 means we are faster). RSS / model is peak RSS over the .lstm file's size.

  scripts/bench_io.sh [--quick] [--sizes 5,50,500] [--runs N] [--only KEYS] [--baseline BINARY]

--baseline BINARY also runs another build of lstm-format (e.g. main's, built in a scratch folder) as "KEY
[baseline]" jobs, in the same alternation, so a change is measured before and after in one run.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

SHAPES = {  # size in MB -> (input I, hidden H, dense D)
    5: (100, 304, 25),
    50: (320, 960, 80),
    500: (1024, 3072, 256),
}
STEPS = 5


def cache_root():
    return os.environ.get("LSTMFORMAT_BENCH_CACHE", os.path.expanduser("~/.cache/lstm-format/bench-io"))


# --------------------------------------------------------------------------------------------- model building
def build(size, folder):
    """Keras model + the reference inputs derived from it; skipped when already cached."""
    stamp = os.path.join(folder, "built")
    if os.path.exists(stamp):
        return
    os.makedirs(folder, exist_ok=True)
    print(f"building the {size} MB reference model with Keras in {folder} ...", file=sys.stderr)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import keras
    from safetensors.numpy import save_file

    i, h, d = SHAPES[size]
    keras.utils.set_random_seed(size)
    model = keras.Sequential([
        keras.Input((STEPS, i)),
        keras.layers.LSTM(h, return_sequences=True),
        keras.layers.LSTM(h),
        keras.layers.Dense(d),
    ])
    model.save(os.path.join(folder, "model.keras"))
    model.save(os.path.join(folder, "legacy.h5"))  # Keras 3 writes the legacy HDF5 layout for .h5
    with zipfile.ZipFile(os.path.join(folder, "model.keras")) as z, \
            open(os.path.join(folder, "model.weights.h5"), "wb") as out:
        with z.open("model.weights.h5") as src:
            shutil.copyfileobj(src, out, 1 << 20)
    weights = model.get_weights()
    np.save(os.path.join(folder, "weights.npy"), np.concatenate([w.ravel() for w in weights]).astype(np.float32))
    # PyTorch nn.LSTM layout for the yardstick (values only matter for timing; gate order is not rearranged).
    k0, r0, b0, k1, r1, b1, v, c = weights
    tensors = {
        "l0.weight_ih_l0": k0.T, "l0.weight_hh_l0": r0.T, "l0.bias_ih_l0": b0, "l0.bias_hh_l0": np.zeros_like(b0),
        "l1.weight_ih_l0": k1.T, "l1.weight_hh_l0": r1.T, "l1.bias_ih_l0": b1, "l1.bias_hh_l0": np.zeros_like(b1),
        "dense.weight": v.T, "dense.bias": c,
    }
    save_file({k: np.ascontiguousarray(a, dtype=np.float32) for k, a in tensors.items()},
              os.path.join(folder, "torch.safetensors"))
    with open(stamp, "w") as f:
        json.dump({"input": i, "hidden": h, "dense": d}, f)


def build_tiny(folder):
    stamp = os.path.join(folder, "built")
    if os.path.exists(stamp):
        return
    os.makedirs(folder, exist_ok=True)
    import keras
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((STEPS, 3)), keras.layers.LSTM(8), keras.layers.Dense(2)])
    model.save(os.path.join(folder, "tiny.keras"))
    open(stamp, "w").close()


# ------------------------------------------------------------------------------------- reference sub-commands
def ref_h5py_read(path):
    import h5py
    arrays = []

    def visit(_, obj):
        if isinstance(obj, h5py.Dataset):
            arrays.append(obj[()])
    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return sum(a.nbytes for a in arrays)


def ref_h5py_write(npy, out, shapes_json):
    import numpy as np
    import h5py
    flat = np.load(npy)
    shapes = json.loads(shapes_json)
    pos = 0
    with h5py.File(out, "w") as f:
        for k, shape in enumerate(shapes):
            n = int(np.prod(shape))
            f.create_dataset(f"w{k}", data=flat[pos:pos + n].reshape(shape))
            pos += n


def ref_astype(npy, out):
    import numpy as np
    np.save(out, np.load(npy).astype(np.float16))


def ref_keras_save(src, out):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    model = keras.saving.load_model(src)
    t0 = time.perf_counter()
    model.save(out)
    return time.perf_counter() - t0


def ref_torch(safetensors_path, folder):
    import torch
    from safetensors.torch import load_file
    with open(os.path.join(folder, "built")) as f:
        dims = json.load(f)
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    state = {k: v.to(torch.float64) for k, v in load_file(safetensors_path).items()}
    i, h, d = dims["input"], dims["hidden"], dims["dense"]
    l0 = torch.nn.LSTM(i, h, batch_first=True, dtype=torch.float64)
    l1 = torch.nn.LSTM(h, h, batch_first=True, dtype=torch.float64)
    dense = torch.nn.Linear(h, d, dtype=torch.float64)
    with torch.no_grad():
        for name, module in (("l0", l0), ("l1", l1), ("dense", dense)):
            for pname, p in module.named_parameters():
                p.copy_(state[f"{name}.{pname}"])
    del state
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(2, STEPS, i, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.rand(2, d, generator=gen, dtype=torch.float64) * 2 - 1

    def run():
        a, _ = l0(x)
        b, _ = l1(a)
        return dense(b[:, -1])
    loss = 0.5 * ((run() - y) ** 2).sum()
    loss.backward()
    with torch.no_grad():
        for _ in range(22):
            run()
    return time.perf_counter() - t0


def reference_main(argv):
    kind, args = argv[0], argv[1:]
    t0 = time.perf_counter()
    inner = None
    if kind == "h5py-read":
        ref_h5py_read(*args)
    elif kind == "h5py-write":
        ref_h5py_write(*args)
    elif kind == "astype":
        ref_astype(*args)
    elif kind == "keras-save":
        inner = ref_keras_save(*args)
    elif kind == "torch":
        inner = ref_torch(*args)
    else:
        raise SystemExit(f"unknown reference {kind}")
    print(json.dumps({"seconds": inner if inner is not None else time.perf_counter() - t0}))


# ------------------------------------------------------------------------------------------------- the runner
class Job:
    """One whole-process command. `inner` jobs report their own timing on stdout (JSON {"seconds": ...})."""

    def __init__(self, key, argv, inner=False, cleanup=()):
        self.key, self.argv, self.inner, self.cleanup = key, argv, inner, cleanup
        self.times, self.rss = [], []

    def run(self):
        stdout = subprocess.PIPE if self.inner else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(self.argv, stdout=stdout, stderr=subprocess.PIPE)
        out, err = p.communicate()
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise SystemExit(f"{self.key}: {' '.join(self.argv)} exited {p.returncode}: {err.decode()[-2000:]}")
        lines = err.decode().strip().splitlines()
        rss_kb = int(lines[-1].split("=")[1]) if lines and lines[-1].startswith("maxrss_kb=") else 0
        self.times.append(json.loads(out.decode().strip().splitlines()[-1])["seconds"] if self.inner else wall)
        self.rss.append(rss_kb * 1024)
        for path in self.cleanup:
            if os.path.exists(path):
                os.remove(path)


def wrapped(argv):
    """argv run under /usr/bin/time, which prints the child's peak RSS as the last stderr line."""
    return ["/usr/bin/time", "-f", "maxrss_kb=%M"] + argv


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def jobs_for(size, folder, binary, py, tmp, baseline=None):
    lstm = os.path.join(folder, "model.lstm")
    out = lambda name: os.path.join(tmp, name)  # noqa: E731
    me = [py, os.path.abspath(__file__), "ref"]
    ours = lambda key, *a, clean=(): Job(key, wrapped([binary, *a]), cleanup=clean)  # noqa: E731
    ref = lambda key, *a, inner=False, clean=(): Job(key, wrapped(me + list(a)), inner=inner, cleanup=clean)  # noqa: E731
    with open(os.path.join(folder, "built")) as f:
        dims = json.load(f)
    i, h, d = dims["input"], dims["hidden"], dims["dense"]
    shapes = json.dumps([[i, 4 * h], [h, 4 * h], [4 * h], [h, 4 * h], [h, 4 * h], [4 * h], [h, d], [d]])
    jobs = [
        ours("keras->lstm", "convert", os.path.join(folder, "model.keras"), out("a.lstm"), clean=[out("a.lstm")]),
        ref("h5py read .weights.h5", "h5py-read", os.path.join(folder, "model.weights.h5")),
        ours("legacy.h5->lstm", "convert", os.path.join(folder, "legacy.h5"), out("b.lstm"), clean=[out("b.lstm")]),
        ref("h5py read legacy.h5", "h5py-read", os.path.join(folder, "legacy.h5")),
        ours("lstm->keras", "convert", lstm, out("c.keras"), clean=[out("c.keras")]),
        ref("Keras model.save", "keras-save", os.path.join(folder, "model.keras"), out("r.keras"), inner=True,
            clean=[out("r.keras")]),
        ours("lstm->keras-h5", "convert", lstm, out("d.h5"), "--to", "keras-h5", clean=[out("d.h5")]),
        ref("h5py write", "h5py-write", os.path.join(folder, "weights.npy"), out("r.h5"), shapes, clean=[out("r.h5")]),
        ours("lstm->lstm", "convert", lstm, out("e.lstm"), clean=[out("e.lstm")]),
        Job("cp", wrapped(["cp", lstm, out("r.lstm")]), cleanup=[out("r.lstm")]),
        # cp leaves the copy in the page cache; our save fsyncs it (Spec/reliability.md W1): the fair reference.
        Job("cp + sync", wrapped(["sh", "-c", 'cp "$0" "$1" && sync "$1"', lstm, out("s.lstm")]), cleanup=[out("s.lstm")]),
        ours("lstm->lstm float16", "convert", lstm, out("f.lstm"), "--dtype", "float16", clean=[out("f.lstm")]),
        ref("numpy astype float16", "astype", os.path.join(folder, "weights.npy"), out("r.npy"), clean=[out("r.npy")]),
        ours("lstm->lstm bfloat16", "convert", lstm, out("g.lstm"), "--dtype", "bfloat16", clean=[out("g.lstm")]),
        ours("inspect lstm", "inspect", lstm),
        ours("inspect keras", "inspect", os.path.join(folder, "model.keras")),
        Job("cat", wrapped(["sh", "-c", 'cat "$0" > /dev/null', lstm])),
        ours("verify lstm", "verify", lstm),
        ref("torch float64 yardstick", "torch", os.path.join(folder, "torch.safetensors"), folder, inner=True),
        ours("compare keras lstm", "compare", os.path.join(folder, "model.keras"), lstm),
    ]
    rows = [  # (our job, reference job)
        ("keras->lstm", "h5py read .weights.h5"),
        ("legacy.h5->lstm", "h5py read legacy.h5"),
        ("lstm->keras", "Keras model.save"),
        ("lstm->keras-h5", "h5py write"),
        ("lstm->lstm", "cp"),
        ("lstm->lstm", "cp + sync"),
        ("lstm->lstm float16", "numpy astype float16"),
        ("lstm->lstm bfloat16", "numpy astype float16"),
        ("inspect lstm", "cat"),
        ("inspect keras", None),
        ("verify lstm", "torch float64 yardstick"),
        ("compare keras lstm", "torch float64 yardstick"),
    ]
    if baseline:  # the same commands with the other binary, run right after ours, reported as extra rows
        extra = []
        for j in jobs:
            extra.append(j)
            if j.argv[3:4] == [binary]:
                extra.append(Job(j.key + " [baseline]", wrapped([baseline] + j.argv[4:]), cleanup=j.cleanup))
        jobs = extra
        rows = [row for o, r in rows for row in ((o, r), (o + " [baseline]", r))]
    return jobs, rows


def load_and_time():
    """The time of day (UTC) and the 1-minute load average, to quote beside every figure."""
    return f"{time.strftime('%H:%M:%S', time.gmtime())} UTC, load {os.getloadavg()[0]:.2f}"


def report(title, jobs, rows, model_bytes, runs, when=""):
    by = {j.key: j for j in jobs}
    print(f"\n{title} (model {model_bytes / 1e6:.1f} MB, {runs} runs, medians{'; ' + when if when else ''})")
    print(f"{'ours':33}{'time':>10}  {'reference':26}{'time':>10}{'ratio':>8}{'RSS/model':>11}{'ref RSS/model':>15}")
    for o, r in rows:
        a, b = by[o], by[r] if r else None
        ta, tb = median(a.times), median(b.times) if b else float("nan")
        ra = max(a.rss) / model_bytes if a.rss else float("nan")
        rb = max(b.rss) / model_bytes if b and b.rss else float("nan")
        print(f"{o:33}{ta:9.3f}s  {(r or '-'):26}{tb:9.3f}s{ta / tb:7.2f}x{ra:10.2f}x{rb:14.2f}x")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "ref":
        return reference_main(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--sizes", default="5,50,500")
    p.add_argument("--runs", type=int, default=0, help="runs per command (default: 5 below 500 MB, 3 at 500 MB)")
    p.add_argument("--only", default="", help="comma-separated job keys to run (default: all)")
    p.add_argument("--json", help="also write the raw times and RSS here")
    p.add_argument("--baseline", help="another lstm-format binary run beside --binary (rows 'KEY [baseline]')")
    a = p.parse_args()
    root = cache_root()
    py = sys.executable
    results = {}
    # Tiny model: the per-file cost pipelines pay (no reference; the goal is at most 40 ms).
    tiny = os.path.join(root, "tiny")
    build_tiny(tiny)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        tj = Job("tiny.keras->lstm", wrapped([a.binary, "convert", os.path.join(tiny, "tiny.keras"), os.path.join(tmp, "t.lstm")]),
                 cleanup=[os.path.join(tmp, "t.lstm")])
        bj = Job("tiny.keras->lstm [baseline]", wrapped([a.baseline] + tj.argv[4:]), cleanup=tj.cleanup) if a.baseline else None
        for _ in range(10):
            tj.run()
            if bj:
                bj.run()
        print(f"tiny .keras -> .lstm (whole process): median {median(tj.times) * 1000:.1f} ms, "
              f"min {min(tj.times) * 1000:.1f} ms (goal: at most 40 ms; {load_and_time()})")
        results["tiny"] = {"times": tj.times}
        if bj:
            print(f"tiny .keras -> .lstm [baseline]: median {median(bj.times) * 1000:.1f} ms, min {min(bj.times) * 1000:.1f} ms")
            results["tiny [baseline]"] = {"times": bj.times}
    for size in [int(s) for s in a.sizes.split(",")]:
        folder = os.path.join(root, f"{size}mb")
        build(size, folder)
        lstm = os.path.join(folder, "model.lstm")
        subprocess.run([a.binary, "convert", os.path.join(folder, "model.keras"), lstm], check=True,
                       stdout=subprocess.DEVNULL)
        model_bytes = os.path.getsize(lstm)
        runs = a.runs or (3 if size >= 500 else 5)
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            start = load_and_time()
            jobs, rows = jobs_for(size, folder, a.binary, py, tmp, a.baseline)
            if a.only:
                keep = set(a.only.split(","))
                keep |= {k + " [baseline]" for k in keep}
                rows = [(o, r) for o, r in rows if o in keep]
                wanted = {k for row in rows for k in row}
                jobs = [j for j in jobs if j.key in wanted]
            for run in range(runs):
                for job in jobs:
                    job.run()
                print(f"  {size} MB: run {run + 1}/{runs} done", file=sys.stderr)
            report(f"{size} MB model", jobs, rows, model_bytes, runs, f"from {start} to {load_and_time()}")
            results[f"{size}mb"] = {j.key: {"times": j.times, "rss": j.rss} for j in jobs} | {"model_bytes": model_bytes}
    # Issue 11: verify's and compare's cost grows linearly with the model: seconds per MB at each size.
    sized = [(k, v) for k, v in results.items() if k.endswith("mb")]
    if len(sized) > 1:
        print("\nseconds per MB of model (linear growth keeps these flat; small models pay a fixed start-up):")
        for key in ("verify lstm", "compare keras lstm", "verify lstm [baseline]", "compare keras lstm [baseline]"):
            cells = [f"{k}: {median(v[key]['times']) / (v['model_bytes'] / 1e6) * 1000:.2f} ms/MB"
                     for k, v in sized if key in v and v[key]["times"]]
            if cells:
                print(f"  {key:33}" + ", ".join(cells))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
