#!/usr/bin/env python3
"""Real Keras predictions (float32; one float64 case) for `verify --expect`'s default tolerance (Spec/bptt.md B19a).

For each case this script builds a float32 Keras 3 model — Input(steps, 8) → LSTM(units) → optional Dense —
with Keras's own initializers (seeded), then every weight scaled by WEIGHT_SCALE (trained LSTMs carry larger
weights than their initializers; at ×1 every case agrees with us to about 1 ulp and no tolerance is tested),
and writes into <out>/<case>/:
  model.keras  the model, saved by Keras
  x.npy        inputs [2, steps, 8], float32, standard normal (seeded)
  y.npy        Keras's own `model.predict(x)`, float32 (float64 for the float64 case, whose x is float64 too)
The committed cases (Fixtures/verify-tolerance/, about 1.6 MB) are units1, units64, units256, head300, cancel1,
float64 and softmax200 (a saturated softmax head; --measure's reference has linear heads only); units1000
(16 MB of weights) is made by the tests at run time (`--only units1000 --out DIR`), and units3072 (150 MB) only
for the spec's figures.

With --measure it also computes each model in float64 with numpy (the reference; Keras's own float64 predict is
measured against it, not taken as it) and, given --lstm-format, runs our `forward` in float32; it prints, per
case, N (B19a), the range of the output features' scales s_j, and the largest |difference| in units of
u·√N·s_j (u = 2⁻²⁴) for Keras float32 against the reference, for ours against Keras, and for faulty
conversions (the reference with changed weights) against Keras's float32 predictions.

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
# name: (units, steps, dense units or 0, return_sequences, seed, dense bias or None, batch)
CASES = {
    "units1": (1, 5, 0, True, 11, None, BATCH),
    "units64": (64, 30, 16, True, 12, None, BATCH),
    "units256": (256, 30, 16, False, 13, None, BATCH),
    "units1000": (1000, 30, 16, True, 14, None, BATCH),
    "units3072": (3072, 10, 16, True, 15, None, BATCH),
    # The fresh-clone reviewer's head: output features of scale 300 next to features of scale 1 (B19a's s_j).
    "head300": (64, 30, 4, True, 21, [300.0, -250.0, 0.5, 1.0], BATCH),
    # Many-to-one, batch 1: each output feature is one sum, and some land near 0 by cancellation (feature 1 at
    # 0.012 with terms of root-sum-square 1.4): a scale of max|e_j| alone fails Keras's own predictions here (B19a).
    "cancel1": (64, 30, 16, False, 24, None, 1),
    # A float64 model (weights and inputs float64, not float32 values): Keras 3's `predict` rounds float64
    # inputs to float32 (its data adapter casts floats to floatx) and then computes in float64 (B19a's u).
    "float64": (64, 30, 16, True, 25, None, BATCH),
    # The fresh-clone reviewer's saturated softmax head: many-to-one LSTM(8) → Dense(4, softmax), the LSTM as
    # Keras initializes it and the dense kernel standard normal ×110, so logits reach about ±200 and most
    # probabilities are near 0 or 1 (B19a's softmax slope).
    "softmax200": (8, 9, 4, False, 26, None, 16),
}
COMMITTED = ["units1", "units64", "units256", "head300", "cancel1", "float64", "softmax200"]
FLOAT64 = {"float64"}
SOFTMAX_KERNEL_SCALE = {"softmax200": 110.0}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "verify-tolerance")


def check_versions():
    found = {"keras": keras.__version__, "numpy": np.__version__}
    if found != PINNED:
        sys.exit(f"pinned versions {PINNED}, found {found}: use the venv of scripts/requirements-keras.txt")


def build(units, steps, dense, sequences, dtype, activation=None):
    x = keras.Input((steps, FEATURES), dtype=dtype)
    h = keras.layers.LSTM(units, return_sequences=sequences, dtype=dtype)(x)
    if dense:
        h = keras.layers.Dense(dense, activation=activation, dtype=dtype)(h)
    return keras.Model(x, h)


def make(name, out):
    units, steps, dense, sequences, seed, bias, batch = CASES[name]
    dtype = "float64" if name in FLOAT64 else "float32"
    keras.utils.set_random_seed(seed)
    model = build(units, steps, dense, sequences, dtype, "softmax" if name in SOFTMAX_KERNEL_SCALE else None)
    weights = [(w * WEIGHT_SCALE).astype(dtype) for w in model.get_weights()]
    if name in SOFTMAX_KERNEL_SCALE:
        weights = model.get_weights()
        rng = np.random.default_rng(seed + 1)
        weights[3] = (rng.standard_normal(weights[3].shape) * SOFTMAX_KERNEL_SCALE[name]).astype(dtype)
    if bias is not None:
        weights[-1] = np.array(bias, dtype)
    model.set_weights(weights)
    x = np.random.default_rng(seed).standard_normal((batch, steps, FEATURES)).astype(dtype)
    y = model.predict(x, verbose=0)
    assert y.dtype == np.dtype(dtype), y.dtype
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, "model.keras"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y)
    return model, x, y, folder


def chain_length(units, steps, dense):
    """N of B19a: products summed along the way to one output (LSTM: (I + H + 1) per step; dense: fan-in + 1)."""
    return steps * (FEATURES + units + 1) + (units + 1 if dense else 0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def reference(weights, x, units, sequences, dense):
    """numpy float64 forward of Keras's LSTM (gates i, f, c, o) and Dense: (outputs, the dense layer's input)."""
    kernel, recurrent, bias = weights[:3]
    h = np.zeros((x.shape[0], units))
    c = np.zeros_like(h)
    hs = []
    for t in range(x.shape[1]):
        z = x[:, t].astype(np.float64) @ kernel + h @ recurrent + bias
        i, f = sigmoid(z[:, :units]), sigmoid(z[:, units:2 * units])
        c = f * c + i * np.tanh(z[:, 2 * units:3 * units])
        h = sigmoid(z[:, 3 * units:]) * np.tanh(c)
        hs.append(h)
    a = np.stack(hs, 1) if sequences else h
    return (a @ weights[3] + weights[4] if dense else a), a


def feature_scales(y, a, weights, dense):
    """s_j of B19a: max over positions of max(|z_j|, sqrt(c_j² + Σ_k (V_kj a_k)²)) with a dense head, else max|y_j|."""
    axes = tuple(range(y.ndim - 1))
    if not dense:
        return np.abs(y).max(axis=axes)
    V, c = weights[3], weights[4]
    terms = a[..., :, None] * V
    root = np.sqrt((terms ** 2).sum(-2) + c ** 2)
    return np.maximum(np.abs(a @ V + c), root).max(axis=axes)


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
        "kernel x 1.001": [weights[0] * 1.001] + weights[1:],
    }
    if len(weights) > 3:
        out["dense bias + 1e-3"] = weights[:-1] + [weights[-1] + 1e-3]
        out["dense kernel x 1.01"] = weights[:3] + [weights[3] * 1.01, weights[4]]
    return out


def measure(name, model, x, y, folder, binary):
    """Largest |difference| / (u·√N·s_j) over the elements (the tolerance is 8 of these units, plus its rtol term)."""
    units, steps, dense, sequences, *_ = CASES[name]
    u = 2.0 ** -24
    n = chain_length(units, steps, dense)
    weights = [w.astype(np.float64) for w in model.get_weights()]
    y = y.astype(np.float64)
    y64, a = reference(weights, x, units, sequences, dense)
    scale = feature_scales(y64, a, weights, dense)
    unit = u * math.sqrt(n) * scale

    def units_of(d):
        return (d / unit).max()

    m64 = build(units, steps, dense, sequences, "float64")
    m64.set_weights(weights)
    k64 = m64.predict(x.astype(np.float64), verbose=0)
    if name in FLOAT64:
        called = np.asarray(m64(x))  # calling the model keeps float64 inputs; predict casts them to floatx
        line_call = f"keras float64 model(x) vs float64 reference: max abs {np.abs(called - y64).max():.3g}"
    line = [f"{name}: N {n}, s_j {scale.min():.3g}..{scale.max():.3g}, max|y| {np.abs(y).max():.3g}",
            f"keras predict ({'float64' if name in FLOAT64 else 'float32'}) vs float64 reference {units_of(np.abs(y - y64)):.3g}"
            f" (max abs {np.abs(y - y64).max():.3g})",
            f"(array-wide max|y| scale: {np.abs(y - y64).max() / (u * math.sqrt(n) * np.abs(y).max()):.3g};"
            f" per-feature max|y_j| scale: {units_of(np.abs(y - y64) * scale / np.abs(y).max(axis=tuple(range(y.ndim - 1)))):.3g})",
            f"keras float64 predict vs float64 reference: max abs {np.abs(k64 - y64).max():.3g},"
            f" {units_of(np.abs(k64 - y64)) * u / 2.0 ** -53:.3g} float64 units, {units_of(np.abs(k64 - y64)):.3g} float32 units"]
    if name in FLOAT64:
        line.append(line_call)
    if binary:
        with tempfile.TemporaryDirectory() as tmp:
            ours = os.path.join(tmp, "ours.npy")
            subprocess.run([binary, "forward", os.path.join(folder, "model.keras"), "--inputs", os.path.join(folder, "x.npy"),
                            "--output", ours], check=True)
            o = np.load(ours).astype(np.float64)
        line.append(f"ours vs keras32 {units_of(np.abs(o - y)):.3g}")
    for label, w in faults(weights, units).items():
        d = np.abs(reference(w, x, units, sequences, dense)[0] - y)
        # > 1: the fault fails the default tolerance (8 units + rtol (u_e + 8u)|e|) by that factor at its worst element
        line.append(f"{label} {units_of(d):.3g} (x{(d / (8 * unit + 9 * u * np.abs(y))).max():.3g} outside)")
    print(";\n  ".join(line), flush=True)


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
        if args.measure and name not in SOFTMAX_KERNEL_SCALE:
            measure(name, model, x, y, folder, args.lstm_format)


if __name__ == "__main__":
    main()
