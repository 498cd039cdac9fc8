#!/usr/bin/env python3
"""Independent reference numbers for LSTMFormat's verifier (issue: verifier tests).

For a few models this script builds the canonical model's equations (Spec/canonical-model.md, eq. 8.24 of the
seed) directly in TensorFlow ops — no Keras layer, no LSTMFormat code — and writes, per model, into
Fixtures/reference/<name>/:
  model.h5       the weights in the canonical HDF5 layout (Spec/hdf5-layout.md), written with h5py
  x.npy          inputs [batch, steps, features], or int64 token ids [batch, steps] for a model with an embedding
                 (masked models: padded rows, Spec/canonical-model.md M17-M22)
  t.npy          targets shaped like the outputs
  y.npy          outputs computed by TensorFlow
  expected.npz   `loss` (0-d, eq. 8.25) and the gradient of the loss for every canonical tensor name, computed
                 by tf.GradientTape
All arrays are float64 (the computation runs in float64), so the Swift side can hold its BPTT to 1e-9.

Run: "$(scripts/setup.sh | tail -n 1)" scripts/make_reference_numerics.py
"""
import os
import sys
import numpy as np
from canonical_reference import GATES, cells, make_weights, save_reference
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import tensorflow as tf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "reference")

ACT = {
    "linear": lambda x: x,
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
    "hard_sigmoid_keras2": lambda x: tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0),
    "hard_sigmoid_keras3": lambda x: tf.clip_by_value(x / 6.0 + 0.5, 0.0, 1.0),
    "softmax": lambda x: tf.nn.softmax(x, axis=-1),
}


def run_cell(x_seq, w, prefix, sigma, act, mask_seq=None, zero_output=False):
    """x_seq: list of [batch, in] tensors in processing order; mask_seq: matching [batch, 1] booleans (True =
    computed) or None. A masked step carries h and C over (M19); its output is the carried h, or 0 with
    zero_output. Returns the list of outputs in processing order."""
    batch = x_seq[0].shape[0]
    hidden = w[prefix + "U_f"].shape[0]
    h = tf.zeros((batch, hidden), tf.float64)
    c = tf.zeros((batch, hidden), tf.float64)
    out = []
    for t, x in enumerate(x_seq):
        pre = {g: tf.matmul(x, w[prefix + "W_" + g], transpose_b=True) + tf.matmul(h, w[prefix + "U_" + g], transpose_b=True) + w[prefix + "b_" + g] for g in GATES}
        f, i, o = sigma(pre["f"]), sigma(pre["i"]), sigma(pre["o"])
        c_new = f * c + i * act(pre["c"])
        h_new = o * act(c_new)
        if mask_seq is None:
            c, h = c_new, h_new
            out.append(h)
            continue
        m = mask_seq[t]
        c = tf.where(m, c_new, c)
        h = tf.where(m, h_new, h)
        out.append(tf.where(m, h, tf.zeros_like(h)) if zero_output else h)
    return out


def forward(arch, w, x):
    steps = x.shape[1]
    mask = None
    if "embedding" in arch:  # x: int ids [batch, steps]; x(t) = E[id(t)]
        if arch["embedding"]["mask_zero"]:
            mask = [tf.constant(x[:, t:t + 1] != 0) for t in range(steps)]
        x = tf.gather(w["embedding.E"], x)
    elif "mask_value" in arch:
        mask = [tf.constant(np.any(x[:, t, :] != arch["mask_value"], axis=-1, keepdims=True)) for t in range(steps)]
    seq = [x[:, t, :] for t in range(steps)]
    rmask = mask[::-1] if mask is not None else None
    for k, layer in enumerate(arch["layers"]):
        sigma, act = ACT[layer["gate"]], ACT[layer["cell"]]
        zero = layer.get("zero_output", False)
        if layer["direction"] == "forward":
            seq = run_cell(seq, w, f"lstm.{k}.fwd.", sigma, act, mask, zero)
        elif layer["direction"] == "backward":  # Keras go_backwards: outputs stay in processing order
            seq = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", sigma, act, rmask, zero)
            # Keras passes the mask on unchanged, by step index, although the outputs are in reversed order (M20).
        else:
            hf = run_cell(seq, w, f"lstm.{k}.fwd.", sigma, act, mask, zero)
            hb = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", sigma, act, rmask, zero)
            last = k == len(arch["layers"]) - 1 and not arch["return_sequences"]
            if last:  # many-to-one: forward's last state and backward's last computed state
                hf, hb = [hf[-1]], [hb[-1]]
            else:
                hb = hb[::-1]  # re-align to input order
            m = layer["merge"]
            seq = [{"concat": lambda a, b: tf.concat([a, b], -1), "sum": lambda a, b: a + b,
                    "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) / 2}[m](a, b) for a, b in zip(hf, hb)]
    if not arch["return_sequences"]:
        seq = [seq[-1]]
    y = tf.stack(seq, axis=1)  # [batch, steps', width]
    for j, d in enumerate(arch["dense"]):
        y = ACT[d["act"]](tf.tensordot(y, tf.transpose(w[f"dense.{j}.V"]), 1) + w[f"dense.{j}.c"])
    return y if arch["return_sequences"] else y[:, 0, :]


MODELS = {
    # The seed's case: one forward layer, many-to-many, one linear dense head.
    "seed_many_to_many": dict(layers=[dict(input=3, hidden=4, direction="forward", gate="sigmoid", cell="tanh")],
                              return_sequences=True, dense=[dict(**{"in": 4, "out": 2}, act="linear")], batch=2, steps=6),
    # Bidirectional concat, many-to-one, softmax head.
    "bidirectional_many_to_one": dict(layers=[dict(input=2, hidden=3, direction="bidirectional", merge="concat", gate="sigmoid", cell="tanh")],
                                      return_sequences=False, dense=[dict(**{"in": 6, "out": 3}, act="softmax")], batch=3, steps=5),
    # Stacked: forward (Keras 3 hard sigmoid, relu cell) -> backward -> bidirectional ave; two dense layers.
    "stacked_mixed": dict(layers=[dict(input=3, hidden=4, direction="forward", gate="hard_sigmoid_keras3", cell="tanh"),
                                  dict(input=4, hidden=3, direction="backward", gate="hard_sigmoid_keras2", cell="relu"),
                                  dict(input=3, hidden=3, direction="bidirectional", merge="ave", gate="sigmoid", cell="tanh")],
                          return_sequences=True, dense=[dict(**{"in": 3, "out": 4}, act="tanh"), dict(**{"in": 4, "out": 2}, act="sigmoid")],
                          batch=2, steps=4),
    # Bidirectional mul, many-to-many, no dense head.
    "bidirectional_mul_no_head": dict(layers=[dict(input=2, hidden=3, direction="bidirectional", merge="mul", gate="sigmoid", cell="tanh")],
                                      return_sequences=True, dense=[], batch=2, steps=4),
    # Embedding(mask_zero) -> Bidirectional(concat, sequences: zero outputs at masked steps) -> dense.
    "embedding_mask_bidirectional": dict(embedding=dict(vocab=6, mask_zero=True),
                                         layers=[dict(input=3, hidden=3, direction="bidirectional", merge="concat", gate="sigmoid", cell="tanh", zero_output=True)],
                                         return_sequences=True, dense=[dict(**{"in": 6, "out": 2}, act="linear")], batch=4, steps=6),
    # Embedding without mask, many-to-one (some ids never occur: their rows of dE are 0).
    "embedding_many_to_one": dict(embedding=dict(vocab=9, mask_zero=False),
                                  layers=[dict(input=2, hidden=3, direction="forward", gate="sigmoid", cell="tanh")],
                                  return_sequences=False, dense=[dict(**{"in": 3, "out": 1}, act="sigmoid")], batch=3, steps=4),
    # Masking(0.5) -> forward (zero outputs, relu cell) -> backward (carry) many-to-one -> dense.
    "masking_stacked_backward": dict(mask_value=0.5,
                                     layers=[dict(input=3, hidden=4, direction="forward", gate="sigmoid", cell="relu", zero_output=True),
                                             dict(input=4, hidden=3, direction="backward", gate="sigmoid", cell="tanh")],
                                     return_sequences=False, dense=[dict(**{"in": 3, "out": 2}, act="tanh")], batch=4, steps=6),
    # Masking(0) -> go_backwards sequences -> bidirectional ave sequences.
    "masking_backward_bidirectional": dict(mask_value=0.0,
                                           layers=[dict(input=2, hidden=3, direction="backward", gate="sigmoid", cell="tanh"),
                                                   dict(input=3, hidden=2, direction="bidirectional", merge="ave", gate="sigmoid", cell="tanh", zero_output=True)],
                                           return_sequences=True, dense=[], batch=4, steps=5),
}


def padded_inputs(arch, rng):
    """Inputs with leading (row 0), trailing (row 1), middle (row 2) and, from row 3, whole-row padding."""
    b, t = arch["batch"], arch["steps"]
    pad = np.zeros((b, t), bool)
    if "embedding" in arch and not arch["embedding"]["mask_zero"]:
        return rng.integers(0, arch["embedding"]["vocab"] - 3, (b, t)).astype(np.int64)  # the last 3 ids unused
    pad[0, :2] = True
    if b > 1: pad[1, t - 2:] = True
    if b > 2: pad[2, 2:4] = True
    if b > 3: pad[3, :] = True
    if "embedding" in arch:
        x = rng.integers(1, arch["embedding"]["vocab"], (b, t)).astype(np.int64)
        x[pad] = 0
        return x
    x = rng.uniform(-1, 1, (b, t, arch["layers"][0]["input"]))
    x[pad] = arch["mask_value"]
    if b > 2: x[2, 0, 0] = arch["mask_value"]  # one feature equal to the value does not mask the step
    return x


FIRST_MODELS = ["bidirectional_many_to_one", "bidirectional_mul_no_head", "seed_many_to_many", "stacked_mixed"]


def main():
    # The first four keep the seeds they were generated with; later models get 2000 + their index. Names given on
    # the command line restrict the run to those models.
    order = FIRST_MODELS + sorted(n for n in MODELS if n not in FIRST_MODELS)
    wanted = set(sys.argv[1:]) or set(MODELS)
    for index, name in enumerate(order):
        arch = MODELS[name]
        if name not in wanted:
            continue
        rng = np.random.default_rng(1000 + index if index < len(FIRST_MODELS) else 2000 + index)
        w_np = make_weights(arch, rng)
        if "embedding" in arch or "mask_value" in arch:
            x = padded_inputs(arch, rng)
        else:
            x = rng.uniform(-1, 1, (arch["batch"], arch["steps"], arch["layers"][0]["input"]))
        w = {k: tf.Variable(v, dtype=tf.float64) for k, v in w_np.items()}
        with tf.GradientTape() as tape:
            y = forward(arch, w, x if "embedding" in arch or "mask_value" in arch else tf.constant(x))
            t = rng.uniform(-1, 1, y.shape)
            loss = tf.reduce_sum(0.5 * tf.square(y - t))
        grads = tape.gradient(loss, w)
        save_reference(os.path.join(ROOT, name), arch, w_np, name, "make_reference_numerics.py",
                       "tensorflow " + tf.__version__, x, t, y.numpy(), float(loss.numpy()),
                       {k: tf.convert_to_tensor(g).numpy() for k, g in grads.items()})


if __name__ == "__main__":
    main()
