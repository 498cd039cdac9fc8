#!/usr/bin/env python3
"""Real PyTorch and TensorFlow/Keras gradients (float32) for `verify --expect-gradients`' default tolerance
(Spec/bptt.md B19b).

For each case this script builds a float32 Keras 3 model — Input(steps, 8) → LSTM(units) → optional Dense — with
Keras's own initializers (seeded), the LSTM's weights scaled by LSTM_SCALE (trained LSTMs carry larger weights than
their initializers; the `saturated` case scales them so far that most gates sit near 0 or 1), loads the same
weights into PyTorch's nn.LSTM (+ nn.Linear), and writes into <out>/<case>/:
  model.keras       the model, saved by Keras
  x.npy, t.npy      inputs [batch, steps, 8] and targets shaped like the outputs, float32, standard normal (seeded)
  torch.npz         PyTorch float32 autograd of L = Σ ½ (y − t)² (B5): one array per canonical tensor name
                    (lstm.0.fwd.W_f [H, I], U_f [H, H], b_f [H], … gates f, i, c, o; dense.0.V [out, in],
                    dense.0.c), float32, plus `loss` (0-d float32) — the layout `lstm-format gradients` writes
  keras.npz         the same from TensorFlow's GradientTape on the Keras model (float32)
  torch_no_step0.npz  (all but units128) a fault made by PyTorch: float64 autograd of a loop whose step 0 uses
                    detached weights, so dW, dU, db lack step 0's terms (the dense gradients are torch.npz's)
  torch_mse_mean.npz  (units64 only) PyTorch float32 autograd of nn.MSELoss() — mean reduction, the loss most
                    users train with — same layout: ours × 2/n, n the number of outputs (B19b's reduction note)
Committed cases (Fixtures/verify-gradients/): small, units64, units128, long200, saturated. units512 is made
for the spec's figures only (--only units512 --measure).

With --kinds [NAME ...] it makes the model kinds of KINDS instead (Fixtures/verify-gradients-kinds/<name>/: bidi =
Bidirectional(LSTM(16)), stacked = two LSTM(16), masked = Masking(0.0) with a padded tail and two padded steps
inside, embedding = Embedding(50, 8), embedmask = Embedding(50, 8, mask_zero=True) with id-0 padding; each → LSTM
→ Dense(4), return_sequences, 30 steps, batch 2): model.keras, x.npy (float32 features or int32 token ids), t.npy,
keras.npz (GradientTape, float32) and, where nn.LSTM expresses the model (bidi, stacked), torch.npz; the masked
kinds (masked, embedmask) also keras_masked_mean.npz and tf_keras_masked_mean.npz: the gradients of the compiled
MeanSquaredError (Keras 3 `compute_loss`, tf_keras 2.21.0 `compiled_loss`), which averages over the unmasked outputs
only (Spec/bptt.md B19c). With --kinds masked embedmask --sample-weight it writes only keras_sample_weight.npz into
those folders, from their committed model.keras, x.npy and t.npy: Keras 3's MeanSquaredError called with
sample_weight=mask on an output without Keras's mask (B19c's 2/n). Given
--lstm-format it also runs `verify --expect-gradients` on each producer's file and on faults made from it (the
first LSTM's i/f blocks swapped, every tensor alone x (1 ± 1e-3), float16 rounding) and prints each one's exit
code and its worst check as a fraction of that check's atol; the reference is the same Keras model in float64.

With --measure it also computes the gradients in float64 with PyTorch (the exact reference), and, given
--lstm-format, runs our `gradients` in float32; it prints per case, per producer, the largest |difference| of
any tensor in units of u·√N·S_θ (u = 2⁻²⁴, N B19b's rounding chain, S_θ B19b's scale of tensor θ) and, for each
fault, how many times outside B19b's tolerance its worst element lies (< 1 would pass).

Versions are pinned (scripts/requirements-keras.txt, scripts/requirements-interop.txt: keras 3.15.1,
tensorflow-cpu 2.21.0, torch 2.15.0, numpy 2.4.6).
Run: ~/.cache/lstm-format/venv/bin/python scripts/make_verify_gradient_fixtures.py [--only CASE] [--out DIR]
     [--measure [--lstm-format .build/debug/lstm-format]]
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
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

PINNED = {"keras": "3.15.1", "numpy": "2.4.6", "tensorflow": "2.21.0", "torch": "2.15.0"}
FEATURES = 8
GATES = "fico"          # canonical gate order
KERAS_ORDER = "ifco"    # Keras kernel columns and PyTorch weight rows (i, f, g, o)
# name: (units, steps, dense units or 0, return_sequences, seed, LSTM weight scale, batch)
CASES = {
    "small": (4, 5, 0, True, 31, 3.0, 2),
    "units64": (64, 30, 16, True, 32, 3.0, 2),
    "units128": (128, 30, 16, False, 33, 3.0, 2),
    "long200": (32, 200, 4, True, 34, 3.0, 2),
    "saturated": (16, 30, 4, True, 35, 12.0, 2),
    # units64's model with targets within 1e-3 of its outputs (a trained model): the residuals are so small that
    # the outputs' own rounding noise dominates the gradients' (B19b's second scale).
    "nearfit": (64, 30, 16, True, 32, 3.0, 2),
    "units512": (512, 30, 16, True, 36, 3.0, 2),
}
COMMITTED = ["small", "units64", "units128", "long200", "saturated", "nearfit"]
NEAR_FIT = {"nearfit": 1e-3}
MSE_MEAN = {"units64"}
NO_STEP0 = {"small", "units64", "long200", "saturated", "nearfit"}
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "verify-gradients")
U = 2.0 ** -24
LAMBDA = 8.0


def check_versions():
    found = {"keras": keras.__version__, "numpy": np.__version__, "tensorflow": tf.__version__,
             "torch": torch.__version__.split("+")[0]}
    if found != PINNED:
        sys.exit(f"pinned versions {PINNED}, found {found}: use the venv of scripts/requirements-keras.txt")


def build(units, steps, dense, sequences):
    x = keras.Input((steps, FEATURES), dtype="float32")
    h = keras.layers.LSTM(units, return_sequences=sequences)(x)
    if dense:
        h = keras.layers.Dense(dense)(h)
    return keras.Model(x, h)


def canonical(kernel, recurrent, bias, dense_kernel=None, dense_bias=None):
    """Keras-layout arrays (kernel [I, 4H], recurrent [H, 4H], bias [4H], gates i, f, c, o; dense kernel [in, out])
    → canonical names and shapes (M11: W [H, I], U [H, H], b [H]; V [out, in], c [out])."""
    h = recurrent.shape[0]
    out = {}
    for g in GATES:
        k = KERAS_ORDER.index(g)
        out[f"lstm.0.fwd.W_{g}"] = kernel[:, k * h:(k + 1) * h].T
        out[f"lstm.0.fwd.U_{g}"] = recurrent[:, k * h:(k + 1) * h].T
        out[f"lstm.0.fwd.b_{g}"] = bias[k * h:(k + 1) * h]
    if dense_kernel is not None:
        out["dense.0.V"] = dense_kernel.T
        out["dense.0.c"] = dense_bias
    return {k: np.ascontiguousarray(v) for k, v in out.items()}  # C order, as `gradients` writes (and reads)


def keras_gradients(model, x, t):
    """TF GradientTape of L = Σ ½ (y − t)² on the Keras model (its own dtype), canonical names."""
    xt, tt = tf.constant(x), tf.constant(t)
    with tf.GradientTape() as tape:
        y = model(xt, training=False)
        loss = 0.5 * tf.reduce_sum(tf.square(y - tt))
    grads = tape.gradient(loss, model.trainable_variables)
    return canonical(*[g.numpy() for g in grads]), loss.numpy()


class TorchModel(torch.nn.Module):
    def __init__(self, weights, sequences, dtype):
        super().__init__()
        kernel, recurrent, bias = weights[:3]
        units = recurrent.shape[0]
        self.sequences = sequences
        self.lstm = torch.nn.LSTM(kernel.shape[0], units, batch_first=True, dtype=dtype)
        self.dense = torch.nn.Linear(units, weights[3].shape[1], dtype=dtype) if len(weights) > 3 else None
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(torch.tensor(kernel.T))   # rows i, f, g, o: Keras's i, f, c, o
            self.lstm.weight_hh_l0.copy_(torch.tensor(recurrent.T))
            self.lstm.bias_ih_l0.copy_(torch.tensor(bias))
            self.lstm.bias_hh_l0.zero_()
            if self.dense is not None:
                self.dense.weight.copy_(torch.tensor(weights[3].T))
                self.dense.bias.copy_(torch.tensor(weights[4]))

    def forward(self, x):
        h = self.lstm(x)[0]
        if not self.sequences:
            h = h[:, -1]
        return self.dense(h) if self.dense is not None else h

    def canonical_gradients(self):
        l = self.lstm
        d = self.dense
        return canonical(l.weight_ih_l0.grad.numpy().T, l.weight_hh_l0.grad.numpy().T, l.bias_ih_l0.grad.numpy(),
                         None if d is None else d.weight.grad.numpy().T, None if d is None else d.bias.grad.numpy())


def torch_gradients(weights, x, t, sequences, dtype, loss="half-sum"):
    """PyTorch autograd in `dtype` (torch.float32: what users run; torch.float64: the exact reference)."""
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    net = TorchModel([w.astype(np_dtype) for w in weights], sequences, dtype)
    y = net(torch.tensor(x.astype(np_dtype)))
    target = torch.tensor(t.astype(np_dtype))
    if loss == "half-sum":
        value = 0.5 * ((y - target) ** 2).sum()
    else:
        value = torch.nn.MSELoss()(y, target)  # reduction="mean"
    value.backward()
    return net.canonical_gradients(), value.item(), y.detach().numpy()


def make(name, out):
    units, steps, dense, sequences, seed, scale, batch = CASES[name]
    keras.utils.set_random_seed(seed)
    model = build(units, steps, dense, sequences)
    weights = model.get_weights()
    weights = [w * np.float32(scale) if k < 3 else w for k, w in enumerate(weights)]
    if dense:  # Keras initializes the dense bias to 0: give it values so dc is not a plain sum of residuals of 0 mean
        weights[4] = np.random.default_rng(seed + 2).standard_normal(weights[4].shape).astype(np.float32)
    model.set_weights(weights)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, steps, FEATURES)).astype(np.float32)
    y = np.asarray(model(x))
    t = rng.standard_normal(y.shape).astype(np.float32)
    if name in NEAR_FIT:  # targets within NEAR_FIT of the exact (float64) outputs
        y64 = torch_gradients(weights, x, t, sequences, torch.float64)[2]
        t = (y64 + NEAR_FIT[name] * rng.standard_normal(y.shape)).astype(np.float32)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, "model.keras"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "t.npy"), t)
    kg, kl = keras_gradients(model, x, t)
    np.savez(os.path.join(folder, "keras.npz"), loss=np.array(kl, np.float32), **{k: v.astype(np.float32) for k, v in kg.items()})
    tg, tl, _ = torch_gradients(weights, x, t, sequences, torch.float32)
    np.savez(os.path.join(folder, "torch.npz"), loss=np.array(tl, np.float32), **{k: v.astype(np.float32) for k, v in tg.items()})
    if name in NO_STEP0:  # a faulty producer's gradients, made by PyTorch: dW, dU, db summed without step 0
        skipped = manual_torch(weights, x, t, sequences, 1)
        np.savez(os.path.join(folder, "torch_no_step0.npz"), loss=np.array(tl, np.float32),
                 **{k: (skipped[k] if k.startswith("lstm") else v).astype(np.float32) for k, v in tg.items()})
    if name in MSE_MEAN:
        mg, ml, _ = torch_gradients(weights, x, t, sequences, torch.float32, loss="mean")
        np.savez(os.path.join(folder, "torch_mse_mean.npz"), loss=np.array(ml, np.float32),
                 **{k: v.astype(np.float32) for k, v in mg.items()})
    return model, weights, x, t, folder


def chain_length(units, steps, dense):
    """N of B19b (B19a's N: (I + H + 1) per step and cell, the head's fan-in + 1)."""
    return steps * (FEATURES + units + 1) + (units + 1 if dense else 0)


def output_scales(weights, x, sequences):
    """s_j of B19a (linear head: max over positions of max(|z_j|, √(c_j² + Σ_k (V_jk a_k)²)); no head: max|y_j|)
    from a float64 forward, with the outputs y."""
    net = TorchModel([w.astype(np.float64) for w in weights], sequences, torch.float64)
    with torch.no_grad():
        a = net.lstm(torch.tensor(x.astype(np.float64)))[0]
        a = (a if sequences else a[:, -1]).numpy()
    if len(weights) == 3:
        return np.abs(a).max(axis=tuple(range(a.ndim - 1))), a
    V, c = weights[3].astype(np.float64), weights[4].astype(np.float64)
    z = a @ V + c
    root = np.sqrt(((a[..., :, None] * V) ** 2).sum(-2) + c ** 2)
    return np.maximum(np.abs(z), root).max(axis=tuple(range(z.ndim - 1))), z


def noise_gradients(weights, x, sequences, seed=7):
    """B19b's second gradient: the exact gradient for residuals s_j·ξ (ξ = ±1, seeded) in place of y − t, i.e. for
    the targets y − s⊙ξ: how the outputs' rounding noise (of size u√N·s_j) reaches each tensor."""
    s, y = output_scales(weights, x, sequences)
    xi = np.where(np.random.default_rng(seed).uniform(size=y.shape) < 0.5, -1.0, 1.0)
    return torch_gradients(weights, x, y - s * xi, sequences, torch.float64)[0]


def manual_torch(weights, x, t, sequences, first_step):
    """float64 autograd of a hand-written loop in which steps before `first_step` use detached weights: the
    gradient of a producer that sums dW, dU, db over the wrong steps."""
    kernel, recurrent, bias = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in weights[:3]]
    dense = [torch.tensor(w.astype(np.float64), requires_grad=True) for w in weights[3:]]
    units = recurrent.shape[0]
    xt = torch.tensor(x.astype(np.float64))
    h = torch.zeros(x.shape[0], units, dtype=torch.float64)
    c = torch.zeros_like(h)
    hs = []
    for s in range(x.shape[1]):
        k, r, b = (kernel, recurrent, bias) if s >= first_step else (kernel.detach(), recurrent.detach(), bias.detach())
        z = xt[:, s] @ k + h @ r + b
        i, f = torch.sigmoid(z[:, :units]), torch.sigmoid(z[:, units:2 * units])
        c = f * c + i * torch.tanh(z[:, 2 * units:3 * units])
        h = torch.sigmoid(z[:, 3 * units:]) * torch.tanh(c)
        hs.append(h)
    a = torch.stack(hs, 1) if sequences else h
    y = a @ dense[0] + dense[1] if dense else a
    (0.5 * ((y - torch.tensor(t.astype(np.float64))) ** 2).sum()).backward()
    return canonical(kernel.grad.numpy(), recurrent.grad.numpy(), bias.grad.numpy(),
                     *([dense[0].grad.numpy(), dense[1].grad.numpy()] if dense else []))


def faults(g, weights, x, t, sequences):
    """Faulty gradient files made from PyTorch's correct float32 gradients `g` (canonical names)."""
    out = {}
    s = dict(g)
    for kind in "WUb":
        s[f"lstm.0.fwd.{kind}_i"], s[f"lstm.0.fwd.{kind}_f"] = g[f"lstm.0.fwd.{kind}_f"], g[f"lstm.0.fwd.{kind}_i"]
    out["i/f gate blocks swapped"] = s
    for sign in (1, -1):
        for name in g:  # one tensor at a time; reported: the least detected
            out[f"{name} x (1{'+' if sign > 0 else '-'}1e-3)"] = {**g, name: g[name] * (1 + sign * 1e-3)}
    for gate in GATES:
        name = f"lstm.0.fwd.U_{gate}"
        out[f"{name} transposed"] = {**g, name: g[name].T.copy()}
    skipped = manual_torch(weights, x, t, sequences, 1)
    out["dW, dU, db without step 0"] = {**g, **{k: v for k, v in skipped.items() if k.startswith("lstm")}}
    n = t.size
    out["loss mean over outputs (MSELoss()), x 2/n"] = {k: v * (2.0 / n) for k, v in g.items()}
    out["loss sum of squares (MSELoss(reduction='sum')), x 2"] = {k: v * 2.0 for k, v in g.items()}
    out["rounded to float16"] = {k: v.astype(np.float16).astype(np.float64) for k, v in g.items()}
    return out


def measure(name, weights, x, t, folder, binary):
    units, steps, dense, sequences, *_ = CASES[name]
    n = chain_length(units, steps, dense)
    exact, exact_loss, _ = torch_gradients(weights, x, t, sequences, torch.float64)
    plain = {k: np.abs(v).max() for k, v in exact.items()}
    noise = noise_gradients(weights, x, sequences)
    scales = {k: max(plain[k], np.abs(noise[k]).max()) for k in exact}

    def units_of(g, by=scales):  # worst tensor: max |g − exact| / (u·√N·S_θ)
        worst = max(g, key=lambda k: np.abs(g[k] - exact[k]).max() / by[k])
        return np.abs(g[worst] - exact[worst]).max() / (U * math.sqrt(n) * by[worst]), worst

    def outside(g, reference):  # > 1: outside B19b's tolerance by that factor at the worst element of any tensor
        return max((np.abs(g[k] - reference[k]) / (LAMBDA * U * math.sqrt(n) * scales[k] + 9 * U * np.abs(reference[k]))).max()
                   for k in g)

    def old_outside(g, reference):  # the same for the old fixed default, rtol 1e-4, atol 1e-5
        return max((np.abs(g[k] - reference[k]) / (1e-5 + 1e-4 * np.abs(reference[k]))).max() for k in g)

    def load(file):
        return {k: v.astype(np.float64) for k, v in np.load(os.path.join(folder, file)).items() if k != "loss"}

    torch32, keras32 = load("torch.npz"), load("keras.npz")
    line = [f"{name}: N {n}, S_θ {min(scales.values()):.3g}..{max(scales.values()):.3g}"
            f" (max|g_θ| {min(plain.values()):.3g}..{max(plain.values()):.3g}), loss {exact_loss:.6g}"]
    for label, g in (("torch32", torch32), ("keras32", keras32)):
        v, worst = units_of(g)
        p, pworst = units_of(g, plain)
        line.append(f"{label} vs float64 {v:.3g} units ({worst}) [by max|g_θ| alone {p:.3g} ({pworst})];"
                    f" old default x{old_outside(g, exact):.3g}")
    if binary:
        with tempfile.TemporaryDirectory() as tmp:
            ours = os.path.join(tmp, "ours.npz")
            subprocess.run([binary, "gradients", os.path.join(folder, "model.keras"), "--inputs", os.path.join(folder, "x.npy"),
                            "--targets", os.path.join(folder, "t.npy"), "--output", ours], check=True)
            o = {k: v.astype(np.float64) for k, v in np.load(ours).items() if k != "loss"}
        v, worst = units_of(o)
        line.append(f"ours32 vs float64 {v:.3g} units ({worst}); against ours32 (what verify does): torch32 x{outside(torch32, o):.3g},"
                    f" keras32 x{outside(keras32, o):.3g} of the tolerance; old default torch32 x{old_outside(torch32, o):.3g},"
                    f" keras32 x{old_outside(keras32, o):.3g}")
    s, z = output_scales(weights, x, sequences)
    r = z - t
    loss_atol = LAMBDA * U * (math.sqrt(n) * math.sqrt(((r * s) ** 2).sum()) + math.sqrt(r.size) * exact_loss)
    losses = [abs(float(np.load(os.path.join(folder, f))["loss"]) - exact_loss) / (loss_atol + 9 * U * exact_loss)
              for f in ("torch.npz", "keras.npz")]
    line.append(f"loss: torch32 x{losses[0]:.3g}, keras32 x{losses[1]:.3g} of the tolerance (atol {loss_atol:.3g})")
    # compare's targets (B19b's note on compare): inputs and targets drawn like its probe, [2, 5, 8] and uniform
    # in [-1, 1): how large g̃ gets against g there.
    probe = np.random.default_rng(1)
    xp = probe.uniform(-1, 1, (2, 5, FEATURES))
    yp = output_scales(weights, xp, sequences)[1]
    gp = torch_gradients(weights, xp, probe.uniform(-1, 1, yp.shape), sequences, torch.float64)[0]
    gn = noise_gradients(weights, xp, sequences)
    line.append(f"probe-like targets: max|g̃_θ| / max|g_θ| up to {max(np.abs(gn[k]).max() / np.abs(gp[k]).max() for k in gp):.3g}")
    least = {}
    for label, g in faults(torch32, weights, x, t, sequences).items():
        key = label.split(" x (")[-1] if " x (" in label else ("U transposed" if label.endswith("transposed") else label)
        f = outside(g, exact)
        if key not in least or f < least[key][0]:
            least[key] = (f, label, old_outside(g, exact))
    for key, (f, label, o) in least.items():
        line.append(f"{label}: x{f:.3g} outside (old default x{o:.3g})")
    print(";\n  ".join(line), flush=True)



# ---- model kinds beyond one forward layer (B19b's second table): Bidirectional, stacked, masked, embedding ----
# name: (kind, units, steps, dense units, seed, LSTM weight scale, batch)
KINDS = {
    "bidi": ("bidirectional", 16, 30, 4, 41, 3.0, 2),
    "stacked": ("stacked", 16, 30, 4, 42, 3.0, 2),
    "masked": ("masked", 16, 30, 4, 43, 3.0, 2),
    "embedding": ("embedding", 16, 30, 4, 44, 3.0, 2),
    "embedmask": ("embedmask", 16, 30, 4, 45, 3.0, 2),   # Embedding(mask_zero=True), id 0 padding
}
VOCAB = 50


def build_kind(kind, units, steps, dense, dtype):
    if kind in ("embedding", "embedmask"):
        x = keras.Input((steps,), dtype="int32")
        h = keras.layers.Embedding(VOCAB, FEATURES, mask_zero=kind == "embedmask", dtype=dtype)(x)
    else:
        x = keras.Input((steps, FEATURES), dtype=dtype)
        h = keras.layers.Masking(0.0, dtype=dtype)(x) if kind == "masked" else x
    if kind == "bidirectional":
        h = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True, dtype=dtype), dtype=dtype)(h)
    elif kind == "stacked":
        h = keras.layers.LSTM(units, return_sequences=True, dtype=dtype)(h)
        h = keras.layers.LSTM(units, return_sequences=True, dtype=dtype)(h)
    else:
        h = keras.layers.LSTM(units, return_sequences=True, dtype=dtype)(h)
    h = keras.layers.Dense(dense, dtype=dtype)(h)
    return keras.Model(x, h)


def kind_names(kind):
    """Canonical names of the Keras trainable variables, in Keras's order (each LSTM: kernel, recurrent, bias)."""
    lstms = {"bidirectional": ["lstm.0.fwd", "lstm.0.bwd"], "stacked": ["lstm.0.fwd", "lstm.1.fwd"]}.get(kind, ["lstm.0.fwd"])
    return (["embedding.E"] if kind in ("embedding", "embedmask") else []) + lstms + ["dense.0"]


def kind_canonical(kind, arrays):
    out = {}
    k = 0
    for prefix in kind_names(kind):
        if prefix == "embedding.E":
            out[prefix] = arrays[k]
            k += 1
        elif prefix == "dense.0":
            out["dense.0.V"], out["dense.0.c"] = arrays[k].T, arrays[k + 1]
            k += 2
        else:
            kernel, recurrent, bias = arrays[k:k + 3]
            h = recurrent.shape[0]
            for g in GATES:
                j = KERAS_ORDER.index(g)
                out[f"{prefix}.W_{g}"] = kernel[:, j * h:(j + 1) * h].T
                out[f"{prefix}.U_{g}"] = recurrent[:, j * h:(j + 1) * h].T
                out[f"{prefix}.b_{g}"] = bias[j * h:(j + 1) * h]
            k += 3
    return {n: np.ascontiguousarray(v) for n, v in out.items()}


def kind_keras_gradients(model, kind, x, t):
    xt, tt = tf.constant(x), tf.constant(t.astype(model.outputs[0].dtype))
    with tf.GradientTape() as tape:
        y = model(xt, training=False)
        loss = 0.5 * tf.reduce_sum(tf.square(y - tt))
    grads = tape.gradient(loss, model.trainable_variables)
    grads = [tf.convert_to_tensor(g).numpy() for g in grads]  # IndexedSlices (embedding) → dense
    return kind_canonical(kind, grads), float(loss.numpy()), np.asarray(y)


def kind_torch_gradients(kind, weights, x, t, dtype):
    """PyTorch autograd where nn.LSTM expresses the model (bidirectional=True, num_layers=2)."""
    npd = np.float32 if dtype == torch.float32 else np.float64
    w = [a.astype(npd) for a in weights]
    units = w[1].shape[0]
    lstm = torch.nn.LSTM(FEATURES, units, num_layers=2 if kind == "stacked" else 1, bidirectional=kind == "bidirectional",
                         batch_first=True, dtype=dtype)
    suffixes = ["_l0", "_l0_reverse"] if kind == "bidirectional" else ["_l0", "_l1"]
    with torch.no_grad():
        for k, sfx in enumerate(suffixes):
            getattr(lstm, "weight_ih" + sfx).copy_(torch.tensor(w[3 * k].T))
            getattr(lstm, "weight_hh" + sfx).copy_(torch.tensor(w[3 * k + 1].T))
            getattr(lstm, "bias_ih" + sfx).copy_(torch.tensor(w[3 * k + 2]))
            getattr(lstm, "bias_hh" + sfx).zero_()
    head = torch.nn.Linear(w[-2].shape[0], w[-2].shape[1], dtype=dtype)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(w[-2].T))
        head.bias.copy_(torch.tensor(w[-1]))
    y = head(lstm(torch.tensor(x.astype(npd)))[0])
    value = 0.5 * ((y - torch.tensor(t.astype(npd))) ** 2).sum()
    value.backward()
    grads = []
    for sfx in suffixes:
        grads += [getattr(lstm, "weight_ih" + sfx).grad.numpy().T, getattr(lstm, "weight_hh" + sfx).grad.numpy().T,
                  getattr(lstm, "bias_ih" + sfx).grad.numpy()]
    grads += [head.weight.grad.numpy().T, head.bias.grad.numpy()]
    return kind_canonical(kind, grads), value.item()


# The masked kinds also get the gradients of Keras's compiled MeanSquaredError (B19c): on a masked model returning
# every step, Keras applies the output mask to the loss, so it is the mean of (y − t)² over the unmasked outputs.
MASKED_MEAN = {"masked", "embedmask"}


def kind_keras_compiled_gradients(model, kind, x, t):
    """Keras 3: GradientTape of `model.compute_loss` (what `fit` minimizes) after `compile(loss="mse")`; the
    loss reads the mask Keras attaches to y."""
    model.compile(loss="mse")
    with tf.GradientTape() as tape:
        y = model(tf.constant(x), training=False)
        loss = model.compute_loss(x=x, y=tf.constant(t), y_pred=y)
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_variables)]
    return kind_canonical(kind, grads), float(loss.numpy())


def kind_tf_keras_compiled_gradients(kind, units, steps, dense, weights, x, t):
    """tf_keras (Keras 2): the same model and weights, GradientTape of `compiled_loss` after `compile(loss="mse")`."""
    import tf_keras
    if tf_keras.__version__ != "2.21.0":
        sys.exit(f"pinned tf_keras 2.21.0, found {tf_keras.__version__}")
    L = tf_keras.layers
    if kind == "embedmask":
        i = tf_keras.Input((steps,), dtype="int32")
        h = L.Embedding(VOCAB, FEATURES, mask_zero=True)(i)
    else:
        i = tf_keras.Input((steps, FEATURES))
        h = L.Masking(0.0)(i)
    h = L.Dense(dense)(L.LSTM(units, return_sequences=True)(h))
    model = tf_keras.Model(i, h)
    model.set_weights(weights)
    model.compile(loss="mse")
    with tf.GradientTape() as tape:
        y = model(tf.constant(x), training=False)
        loss = model.compiled_loss(tf.constant(t), y)
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_variables)]
    return kind_canonical(kind, grads), float(loss.numpy())


def kind_keras_sample_weight_gradients(model, kind, x, t):
    """Keras 3: GradientTape of `MeanSquaredError()(t, y, sample_weight=mask)` on a y that no longer carries Keras's
    mask (`tf.identity`), mask 1 at the unmasked (batch, step) and 0 at the masked ones: `sum_over_batch_size`
    divides by all B·T steps, so the loss is the sum of (y − t)² over the unmasked outputs divided by all n outputs
    (Spec/bptt.md B19c's 2/n). Checked here against numpy before it is written."""
    mask = (x != 0) if kind == "embedmask" else np.any(x != 0, axis=-1)
    with tf.GradientTape() as tape:
        y = tf.identity(model(tf.constant(x), training=False))
        loss = keras.losses.MeanSquaredError()(tf.constant(t), y, sample_weight=tf.constant(mask.astype(np.float32)))
    grads = [tf.convert_to_tensor(g).numpy() for g in tape.gradient(loss, model.trainable_variables)]
    r = (np.asarray(y, np.float64) - t.astype(np.float64)) ** 2
    expected = (r * mask[..., None]).sum() / r.size
    if abs(float(loss.numpy()) - expected) > 1e-5 * expected:
        sys.exit(f"{kind}: Keras's sample-weighted loss {float(loss.numpy())} is not numpy's {expected}")
    return kind_canonical(kind, grads), float(loss.numpy())


def make_sample_weight(name, out):
    """Writes <folder>/keras_sample_weight.npz for a masked kind from its committed model.keras, x.npy and t.npy
    (the kind's other files are left as they are)."""
    kind = KINDS[name][0]
    folder = os.path.join(out, name)
    model = keras.models.load_model(os.path.join(folder, "model.keras"))
    x, t = np.load(os.path.join(folder, "x.npy")), np.load(os.path.join(folder, "t.npy"))
    save_npz(os.path.join(folder, "keras_sample_weight.npz"), *kind_keras_sample_weight_gradients(model, kind, x, t))


def save_npz(path, grads, loss):
    np.savez(path, loss=np.array(loss, np.float32), **{k: v.astype(np.float32) for k, v in grads.items()})


def make_kind(name, out):
    kind, units, steps, dense, seed, scale, batch = KINDS[name]
    keras.utils.set_random_seed(seed)
    model = build_kind(kind, units, steps, dense, "float32")
    weights = model.get_weights()
    lstm_index = set()
    k = 1 if kind in ("embedding", "embedmask") else 0
    for _ in range(2 if kind in ("bidirectional", "stacked") else 1):
        lstm_index |= {k, k + 1, k + 2}
        k += 3
    weights = [w * np.float32(scale) if i in lstm_index else w for i, w in enumerate(weights)]
    weights[-1] = np.random.default_rng(seed + 2).standard_normal(weights[-1].shape).astype(np.float32)
    model.set_weights(weights)
    rng = np.random.default_rng(seed)
    if kind in ("embedding", "embedmask"):
        x = rng.integers(1 if kind == "embedmask" else 0, VOCAB, (batch, steps)).astype(np.int32)
        if kind == "embedmask":
            x[0, steps - 7:] = 0     # padded tail
            x[1, 3:5] = 0            # two masked steps inside
    else:
        x = rng.standard_normal((batch, steps, FEATURES)).astype(np.float32)
        if kind == "masked":
            x[0, steps - 7:] = 0.0   # padded tail
            x[1, 3:5] = 0.0          # two masked steps inside
    y = np.asarray(model(x))
    t = rng.standard_normal(y.shape).astype(np.float32)
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    model.save(os.path.join(folder, "model.keras"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "t.npy"), t)
    kg, kl, _ = kind_keras_gradients(model, kind, x, t)
    save_npz(os.path.join(folder, "keras.npz"), kg, kl)
    if kind in ("bidirectional", "stacked"):
        tg, tl = kind_torch_gradients(kind, weights, x, t, torch.float32)
        save_npz(os.path.join(folder, "torch.npz"), tg, tl)
    if kind in MASKED_MEAN:
        save_npz(os.path.join(folder, "keras_masked_mean.npz"), *kind_keras_compiled_gradients(model, kind, x, t))
        save_npz(os.path.join(folder, "tf_keras_masked_mean.npz"),
                 *kind_tf_keras_compiled_gradients(kind, units, steps, dense, weights, x, t))
    model64 = build_kind(kind, units, steps, dense, "float64")
    model64.set_weights([w.astype(np.float64) for w in weights])
    exact, exact_loss, _ = kind_keras_gradients(model64, kind, x, t)
    return kind, weights, x, t, folder, exact, exact_loss


def run_verify(binary, folder, npz):
    """verify's exit code, and the worst check of the loss and gradients as a fraction of its tolerance."""
    p = subprocess.run([binary, "verify", os.path.join(folder, "model.keras"), "--inputs", os.path.join(folder, "x.npy"),
                        "--targets", os.path.join(folder, "t.npy"), "--expect-gradients", npz, "--json"],
                       capture_output=True, text=True)
    import json
    try:
        checks = [c for c in json.loads(p.stdout)["checks"] if c["name"] == "loss" or c["name"].startswith("gradient ")]
        worst = max(checks, key=lambda c: c["max_abs_error"] / c["tolerance"]["atol"])
        return p.returncode, (worst["max_abs_error"] / worst["tolerance"]["atol"], worst["name"])
    except Exception:
        return p.returncode, (float("nan"), p.stderr.strip()[:300])


def measure_kind(name, binary):
    kind, weights, x, t, folder, exact, exact_loss = make_kind(name, ROOT_KINDS)
    line = [f"{name} ({kind})"]
    producers = [f for f in ("torch.npz", "keras.npz") if os.path.exists(os.path.join(folder, f))]
    for f in producers:
        g = {k: v.astype(np.float64) for k, v in np.load(os.path.join(folder, f)).items() if k != "loss"}
        rel = max(np.abs(g[k] - exact[k]).max() / np.abs(exact[k]).max() for k in exact)
        code, (frac, where) = run_verify(binary, folder, os.path.join(folder, f))
        line.append(f"{f}: worst |g − g64| / max|g64| {rel:.3g}; verify exit {code}, worst {frac:.3g} of its atol ({where})")
    base = {k: v.astype(np.float64) for k, v in np.load(os.path.join(folder, producers[0])).items() if k != "loss"}
    loss = float(np.load(os.path.join(folder, producers[0]))["loss"])
    fl = {}
    s = dict(base)
    for kd in "WUb":
        s[f"lstm.0.fwd.{kd}_i"], s[f"lstm.0.fwd.{kd}_f"] = base[f"lstm.0.fwd.{kd}_f"], base[f"lstm.0.fwd.{kd}_i"]
    fl["i/f swapped (lstm.0.fwd)"] = s
    for n in base:
        for sign in (1, -1):
            fl[f"{n} x(1{'+' if sign > 0 else '-'}1e-3)"] = {**base, n: base[n] * (1 + sign * 1e-3)}
    fl["float16-rounded"] = {k: v.astype(np.float16).astype(np.float64) for k, v in base.items()}
    passed = []
    least = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, g in fl.items():
            path = os.path.join(tmp, "f.npz")
            save_npz(path, g, loss)
            code, (frac, _) = run_verify(binary, folder, path)
            if code != 1:
                passed.append(f"{label} (exit {code})")
            key = "x(1±1e-3)" if " x(" in label else label
            if key not in least or frac < least[key][0]:
                least[key] = (frac, label)
    line.append(f"faults from {producers[0]}: {len(fl)} tried, not failing: {passed or 'none'}; least outside: "
                + ", ".join(f"{label} x{frac:.3g}" for frac, label in least.values()))
    print(";\n  ".join(line), flush=True)


ROOT_KINDS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "verify-gradients-kinds")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=sorted(CASES))
    parser.add_argument("--out", default=ROOT)
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--lstm-format")
    parser.add_argument("--kinds", nargs="*", help="measure the model kinds of KINDS with verify (needs --lstm-format)")
    parser.add_argument("--sample-weight", action="store_true",
                        help="with --kinds: only write keras_sample_weight.npz of the masked kinds from their committed files")
    args = parser.parse_args()
    check_versions()
    torch.manual_seed(0)
    if args.kinds is not None:
        global ROOT_KINDS
        ROOT_KINDS = args.out if args.out != ROOT else ROOT_KINDS
        for name in args.kinds or list(KINDS):
            if args.sample_weight:
                if KINDS[name][0] in MASKED_MEAN:
                    make_sample_weight(name, ROOT_KINDS)
            elif args.lstm_format:
                measure_kind(name, args.lstm_format)
            else:
                make_kind(name, ROOT_KINDS)
        return
    for name in [args.only] if args.only else COMMITTED:
        model, weights, x, t, folder = make(name, args.out)
        if args.measure:
            measure(name, weights, x, t, folder, args.lstm_format)


if __name__ == "__main__":
    main()
