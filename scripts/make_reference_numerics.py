#!/usr/bin/env python3
"""Independent reference numbers for LSTMFormat's verifier (issue: verifier tests).

For a few models this script builds the canonical model's equations (Spec/canonical-model.md, eq. 8.24 of the
seed) directly in TensorFlow ops — no Keras layer, no LSTMFormat code — and writes, per model, into
Fixtures/reference/<name>/:
  model.h5       the weights in the canonical HDF5 layout (Spec/hdf5-layout.md), written with h5py
  x.npy          inputs [batch, steps, features]
  t.npy          targets shaped like the outputs
  y.npy          outputs computed by TensorFlow
  expected.npz   `loss` (0-d, eq. 8.25) and the gradient of the loss for every canonical tensor name, computed
                 by tf.GradientTape
All arrays are float64 (the computation runs in float64), so the Swift side can hold its BPTT to 1e-9.

Run: "$(scripts/setup.sh | tail -n 1)" scripts/make_reference_numerics.py
"""
import os
import numpy as np
import h5py
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import tensorflow as tf

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "reference")
GATES = "fico"

ACT = {
    "linear": lambda x: x,
    "sigmoid": tf.sigmoid,
    "tanh": tf.tanh,
    "relu": tf.nn.relu,
    "hard_sigmoid_keras2": lambda x: tf.clip_by_value(0.2 * x + 0.5, 0.0, 1.0),
    "hard_sigmoid_keras3": lambda x: tf.clip_by_value(x / 6.0 + 0.5, 0.0, 1.0),
    "softmax": lambda x: tf.nn.softmax(x, axis=-1),
}


def cells(layer):
    return {"forward": ["fwd"], "backward": ["bwd"], "bidirectional": ["fwd", "bwd"]}[layer["direction"]]


def make_weights(arch, rng):
    w = {}
    for k, layer in enumerate(arch["layers"]):
        h, i = layer["hidden"], layer["input"]
        for c in cells(layer):
            for g in GATES:
                w[f"lstm.{k}.{c}.W_{g}"] = rng.normal(0, 0.6, (h, i))
                w[f"lstm.{k}.{c}.U_{g}"] = rng.normal(0, 0.6, (h, h))
                w[f"lstm.{k}.{c}.b_{g}"] = rng.normal(0, 0.4, (h,))
    for j, d in enumerate(arch["dense"]):
        w[f"dense.{j}.V"] = rng.normal(0, 0.6, (d["out"], d["in"]))
        w[f"dense.{j}.c"] = rng.normal(0, 0.3, (d["out"],))
    return w


def run_cell(x_seq, w, prefix, sigma, act):
    """x_seq: list of [batch, in] tensors in processing order. Returns the list of h in processing order."""
    batch = x_seq[0].shape[0]
    hidden = w[prefix + "U_f"].shape[0]
    h = tf.zeros((batch, hidden), tf.float64)
    c = tf.zeros((batch, hidden), tf.float64)
    out = []
    for x in x_seq:
        pre = {g: tf.matmul(x, w[prefix + "W_" + g], transpose_b=True) + tf.matmul(h, w[prefix + "U_" + g], transpose_b=True) + w[prefix + "b_" + g] for g in GATES}
        f, i, o = sigma(pre["f"]), sigma(pre["i"]), sigma(pre["o"])
        c = f * c + i * act(pre["c"])
        h = o * act(c)
        out.append(h)
    return out


def forward(arch, w, x):
    steps = x.shape[1]
    seq = [x[:, t, :] for t in range(steps)]
    for k, layer in enumerate(arch["layers"]):
        sigma, act = ACT[layer["gate"]], ACT[layer["cell"]]
        if layer["direction"] == "forward":
            seq = run_cell(seq, w, f"lstm.{k}.fwd.", sigma, act)
        elif layer["direction"] == "backward":  # Keras go_backwards: outputs stay in processing order
            seq = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", sigma, act)
        else:
            hf = run_cell(seq, w, f"lstm.{k}.fwd.", sigma, act)
            hb = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", sigma, act)
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


def write_canonical_h5(path, arch, w, name):
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["lstm_format"] = "canonical-lstm"
        f.attrs["lstm_format_version"] = np.int64(1)
        f.attrs["return_sequences"] = np.int64(1 if arch["return_sequences"] else 0)
        f.attrs["num_lstm_layers"] = np.int64(len(arch["layers"]))
        f.attrs["num_dense_layers"] = np.int64(len(arch["dense"]))
        for k, layer in enumerate(arch["layers"]):
            g = f.create_group(f"lstm/{k}")
            g.attrs["input_size"] = np.int64(layer["input"])
            g.attrs["hidden_size"] = np.int64(layer["hidden"])
            g.attrs["direction"] = layer["direction"]
            if layer["direction"] == "bidirectional":
                g.attrs["merge_mode"] = layer["merge"]
            g.attrs["gate_activation"] = layer["gate"]
            g.attrs["cell_activation"] = layer["cell"]
            for c in cells(layer):
                for kind in "WUb":
                    for gate in GATES:
                        g.create_dataset(f"{c}/{kind}_{gate}", data=w[f"lstm.{k}.{c}.{kind}_{gate}"].astype(np.float64))
        for j, d in enumerate(arch["dense"]):
            g = f.create_group(f"dense/{j}")
            g.attrs["input_size"] = np.int64(d["in"])
            g.attrs["output_size"] = np.int64(d["out"])
            g.attrs["activation"] = d["act"]
            g.create_dataset("V", data=w[f"dense.{j}.V"].astype(np.float64))
            g.create_dataset("c", data=w[f"dense.{j}.c"].astype(np.float64))
        meta = f.create_group("metadata")
        meta.attrs["source.tool"] = "make_reference_numerics.py"
        meta.attrs["source.tool_version"] = "tensorflow " + tf.__version__
        meta.attrs["reference.name"] = name


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
}


def main():
    for seed, (name, arch) in enumerate(sorted(MODELS.items())):
        rng = np.random.default_rng(1000 + seed)
        w_np = make_weights(arch, rng)
        x = rng.uniform(-1, 1, (arch["batch"], arch["steps"], arch["layers"][0]["input"]))
        w = {k: tf.Variable(v, dtype=tf.float64) for k, v in w_np.items()}
        with tf.GradientTape() as tape:
            y = forward(arch, w, tf.constant(x))
            t = rng.uniform(-1, 1, y.shape)
            loss = tf.reduce_sum(0.5 * tf.square(y - t))
        grads = tape.gradient(loss, w)
        out = os.path.join(ROOT, name)
        os.makedirs(out, exist_ok=True)
        write_canonical_h5(os.path.join(out, "model.h5"), arch, w_np, name)
        np.save(os.path.join(out, "x.npy"), x)
        np.save(os.path.join(out, "t.npy"), t)
        np.save(os.path.join(out, "y.npy"), y.numpy())
        np.savez(os.path.join(out, "expected.npz"), loss=np.float64(loss.numpy()), **{k: g.numpy() for k, g in grads.items()})
        print(f"{name}: loss {loss.numpy():.6f}, outputs {tuple(y.shape)}, {len(w)} tensors")


if __name__ == "__main__":
    main()
