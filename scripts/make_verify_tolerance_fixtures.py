#!/usr/bin/env python3
"""Real Keras float32 predictions for `verify --expect`'s default tolerance (Spec/bptt.md B19a).

For each case this script builds a float32 Keras 3 model — Input(steps, 8) → LSTM(units) → optional Dense —
with Keras's own initializers (seeded), then every weight scaled by WEIGHT_SCALE (trained LSTMs carry larger
weights than their initializers; at ×1 every case agrees with us to about 1 ulp and no tolerance is tested),
and writes into <out>/<case>/:
  model.keras  the model, saved by Keras
  x.npy        inputs [2, steps, 8], float32, standard normal (seeded)
  y.npy        Keras's own `model.predict(x)`, float32
The committed cases (Fixtures/verify-tolerance/, about 1.2 MB) are units1, units64 and units256; units1000
(16 MB of weights) is made by the tests at run time (`--only units1000 --out DIR`), and units3072 (150 MB) only
for the spec's figures.

With --measure it also rebuilds each model in float64 with the same weights (Keras's float64 predict is the
reference, exact to about 1e-15) and, given --lstm-format, runs our `forward` in float32; it prints, per case,
N (B19a), max|y|, and the largest |difference| in units of u·√N·max|y| (u = 2⁻²⁴) for Keras float32 against the
float64 reference, for ours against Keras, and for five faulty conversions (the float64 model with changed
weights) against Keras's float32 predictions.

Versions are pinned (scripts/requirements-keras.txt: keras 3.15.1, tensorflow-cpu 2.21.0, numpy 2.4.6).
Run: ~/.cache/lstm-format/venv/bin/python scripts/make_verify_tolerance_fixtures.py [--only CASE] [--out DIR]
     [--measure [--lstm-format .build/release/lstm-format]]
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import numpy as np  # noqa: E402
import keras  # noqa: E402

PINNED = {"keras": "3.15.1", "numpy": "2.4.6"}
FEATURES = 8
BATCH = 2
WEIGHT_SCALE = 3.0
# name: (units, steps, dense units or 0, return_sequences, seed)
CASES = {
    "units1": (1, 5, 0, True, 11),
    "units64": (64, 30, 16, True, 12),
    "units256": (256, 30, 16, False, 13),
    "units1000": (1000, 30, 16, True, 14),
    "units3072": (3072, 10, 16, True, 15),
}
COMMITTED = ["units1", "units64", "units256"]
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "verify-tolerance")


def check_versions():
    found = {"keras": keras.__version__, "numpy": np.__version__}
    if found != PINNED:
        sys.exit(f"pinned versions {PINNED}, found {found}: use the venv of scripts/requirements-keras.txt")


def build(units, steps, dense, sequences, dtype):
    x = keras.Input((steps, FEATURES), dtype=dtype)
    h = keras.layers.LSTM(units, return_sequences=sequences, dtype=dtype)(x)
    if dense:
        h = keras.layers.Dense(dense, dtype=dtype)(h)
    return keras.Model(x, h)


def make(name, out):
    units, steps, dense, sequences, seed = CASES[name]
    keras.utils.set_random_seed(seed)
    model = build(units, steps, dense, sequences, "float32")
    model.set_weights([(w * WEIGHT_SCALE).astype(np.float32) for w in model.get_weights()])
    x = np.random.default_rng(seed).standard_normal((BATCH, steps, FEATURES)).astype(np.float32)
    y = model.predict(x, verbose=0)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, "model.keras"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y.astype(np.float32))
    return model, x, y, folder


def chain_length(units, steps, dense):
    """N of B19a: products summed along the way to one output (LSTM: (I + H + 1) per step; dense: fan-in + 1)."""
    return steps * (FEATURES + units + 1) + (units + 1 if dense else 0)


def faults(weights, units):
    """Faulty conversions of Keras's [kernel, recurrent_kernel, bias, (dense kernel, dense bias)] (gates i, f, c, o)."""
    rng = np.random.default_rng(5)
    kernel = weights[0].copy()
    kernel[:, :units], kernel[:, units:2 * units] = weights[0][:, units:2 * units], weights[0][:, :units].copy()
    bias = weights[2].copy()
    bias[units:2 * units] -= 1.0  # the unit forget bias dropped
    out = {
        "input gate and forget gate kernels swapped": [kernel] + weights[1:],
        "every weight x (1 + 1e-3 r), r uniform in [-1, 1)": [w * (1 + 1e-3 * rng.uniform(-1, 1, w.shape)) for w in weights],
        "weights rounded to float16": [w.astype(np.float16).astype(np.float64) for w in weights],
        "forget-gate bias without Keras's unit forget bias": weights[:2] + [bias] + weights[3:],
    }
    if len(weights) > 3:
        out["dense bias + 1e-3"] = weights[:-1] + [weights[-1] + 1e-3]
    return out


def measure(name, model, x, y, folder, binary):
    units, steps, dense, sequences, _ = CASES[name]
    u = 2.0 ** -24
    n = chain_length(units, steps, dense)
    scale = float(np.abs(y).max())
    unit = u * math.sqrt(n) * scale
    weights = [w.astype(np.float64) for w in model.get_weights()]
    m64 = build(units, steps, dense, sequences, "float64")
    m64.set_weights(weights)
    y64 = m64.predict(x.astype(np.float64), verbose=0)
    line = [f"{name}: N {n}, max|y| {scale:.3g}, u·√N·max|y| {unit:.3g}",
            f"keras32 vs float64 {np.abs(y - y64).max() / unit:.3g}"]
    if binary:
        with tempfile.TemporaryDirectory() as tmp:
            ours = os.path.join(tmp, "ours.npy")
            subprocess.run([binary, "forward", os.path.join(folder, "model.keras"), "--inputs", os.path.join(folder, "x.npy"),
                            "--output", ours], check=True)
            o = np.load(ours).astype(np.float64)
        d = np.abs(o - y)
        line.append(f"ours vs keras32 {d.max() / unit:.3g} (old default rtol 1e-5 atol 1e-6: {int((d > 1e-6 + 1e-5 * np.abs(y)).sum())} of {y.size} fail)")
    for label, w in faults(weights, units).items():
        m64.set_weights(w)
        line.append(f"{label} {np.abs(m64.predict(x.astype(np.float64), verbose=0) - y).max() / unit:.3g}")
    print("; ".join(line), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--out", default=ROOT)
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--lstm-format")
    args = parser.parse_args()
    check_versions()
    names = [args.only] if args.only else COMMITTED
    for name in names:
        model, x, y, folder = make(name, args.out)
        if args.measure:
            measure(name, model, x, y, folder, args.lstm_format)


if __name__ == "__main__":
    main()
