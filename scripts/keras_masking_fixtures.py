#!/usr/bin/env python3
"""Real Keras 3 and tf_keras models with Embedding / Masking for LSTMFormat's tests (issue 8).

Writes Fixtures/keras-masking/generated/<id>/ with
  model.keras (Keras 3) or model.h5 (tf_keras legacy .h5)
  x.npy         int32 token ids [batch, steps] or float32 features, padded: leading (row 0), trailing (row 1),
                middle (row 2), and a whole padded row (row 3)
  y.npy         Keras's predictions (model(x, training=False)), outputs at padded steps included
  t.npy         targets shaped like y
  expected.npz  `loss` = sum 0.5 (y - t)^2 over every output (Spec/bptt.md B5) and its tf.GradientTape gradient
                for every canonical tensor (names of Spec/canonical-model.md M10/M17; the Keras gate order
                i, f, c, o rearranged to f, i, c, o and kernels transposed here, in numpy)
and manifest.json (id, description, file, writer, versions). Expected values come from Keras/TensorFlow only.

Pinned: the test venv (scripts/requirements-keras.txt): tensorflow 2.21.0, keras 3.15.1, tf_keras 2.21.0.
Run: ~/.cache/lstm-format/venv/bin/python scripts/keras_masking_fixtures.py
"""
import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import numpy as np
import tensorflow as tf
import keras
import tf_keras

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras-masking", "generated")
B, T = 4, 6
PAD = np.zeros((B, T), bool)
PAD[0, :2] = True      # leading
PAD[1, T - 2:] = True  # trailing
PAD[2, 2:4] = True     # middle
PAD[3, :] = True       # every step


def ids(rng, vocab):
    x = rng.integers(1, vocab, (B, T)).astype("int32")
    x[PAD] = 0
    return x


def floats(rng, features, value):
    x = rng.normal(0, 1, (B, T, features)).astype("float32")
    x[PAD] = value
    x[2, 0, 0] = value  # one feature equal to the mask value does not mask the step
    return x


# id, description, writer, builder(K) -> model, input maker(rng) -> x
MODELS = []


def model(fid, desc, writer):
    def reg(build):
        MODELS.append((fid, desc, writer, build))
        return build
    return reg


def text_classifier(K, mask_zero):
    L = K.layers
    return K.Sequential([K.Input((T,), dtype="int32"), L.Embedding(9, 4, mask_zero=mask_zero, name="emb"),
                         L.LSTM(5, name="lstm"), L.Dense(1, activation="sigmoid", name="out")]), lambda r: ids(r, 9)


for writer in ("keras3", "tf_keras"):
    model(f"{writer}_text_classifier", "Embedding(mask_zero) -> LSTM -> Dense(sigmoid)", writer)(
        lambda K: text_classifier(K, True))
model("keras3_text_classifier_nomask", "Embedding (no mask) -> LSTM -> Dense(sigmoid)", "keras3")(
    lambda K: text_classifier(K, False))


def tagger(K):
    L = K.layers
    return K.Sequential([K.Input((T,), dtype="int32"), L.Embedding(7, 3, mask_zero=True, name="emb"),
                         L.Bidirectional(L.LSTM(4, return_sequences=True), name="bi"),
                         L.TimeDistributed(L.Dense(3, activation="softmax"), name="td")]), lambda r: ids(r, 7)


for writer in ("keras3", "tf_keras"):
    model(f"{writer}_bidirectional_tagger", "Embedding(mask_zero) -> Bidirectional(LSTM, seq) -> TimeDistributed(Dense)",
          writer)(tagger)


def stacked(K):
    L = K.layers
    return K.Sequential([K.Input((T, 3)), L.Masking(0.0, name="mask"), L.LSTM(4, return_sequences=True, name="l1"),
                         L.LSTM(3, return_sequences=True, name="l2"), L.Dense(2, name="out")]), lambda r: floats(r, 3, 0.0)


for writer in ("keras3", "tf_keras"):
    model(f"{writer}_masking_stacked", "Masking(0) -> LSTM(seq) -> LSTM(seq) -> Dense", writer)(stacked)


def backwards(K):
    L = K.layers
    return K.Sequential([K.Input((T, 2)), L.Masking(-1.0, name="mask"),
                         L.LSTM(4, return_sequences=True, go_backwards=True, name="back"),
                         L.Bidirectional(L.LSTM(3), merge_mode="sum", name="bi"), L.Dense(2, name="out")]), \
        lambda r: floats(r, 2, -1.0)


for writer in ("keras3", "tf_keras"):
    model(f"{writer}_go_backwards", "Masking(-1) -> LSTM(go_backwards, seq) -> Bidirectional(sum, many-to-one) -> Dense",
          writer)(backwards)


def zero_output(K):
    L = K.layers
    return K.Sequential([K.Input((T,), dtype="int32"), L.Embedding(6, 3, mask_zero=True, name="emb"),
                         L.LSTM(4, return_sequences=True, zero_output_for_mask=True, name="lstm"),
                         L.Dense(2, name="out")]), lambda r: ids(r, 6)


model("keras3_zero_output_for_mask", "Embedding(mask_zero) -> LSTM(seq, zero_output_for_mask) -> Dense", "keras3")(zero_output)


def functional_masking(K):
    """Keras 3 records the mask as NotEqual -> Any op nodes beside the chain (Spec/keras-mapping.md K-E3)."""
    L = K.layers
    i = K.Input((T, 3))
    h = L.Masking(0.5, name="mask")(i)
    h = L.LSTM(4, return_sequences=True, go_backwards=True, name="back")(h)
    h = L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave", name="bi")(h)
    return K.Model(i, L.Dense(2, name="out")(h)), lambda r: floats(r, 3, 0.5)


def functional_embedding(K):
    L = K.layers
    i = K.Input((T,), dtype="int32")
    h = L.Embedding(8, 3, mask_zero=True, name="emb")(i)
    h = L.LSTM(4, return_sequences=True, name="l1")(h)
    h = L.LSTM(3, name="l2")(h)
    return K.Model(i, L.Dense(2, activation="softmax", name="out")(h)), lambda r: ids(r, 8)


for writer in ("keras3", "tf_keras"):
    model(f"{writer}_functional_masking", "functional: Masking(0.5) -> LSTM(go_backwards, seq) -> Bidirectional(ave, seq) -> Dense",
          writer)(functional_masking)
    model(f"{writer}_functional_embedding", "functional: Embedding(mask_zero) -> LSTM(seq) -> LSTM -> Dense(softmax)",
          writer)(functional_embedding)


def canonical_grads(m, grads):
    """Keras variables' gradients -> canonical names (M10, M17)."""
    out = {}
    k = 0
    j = 0
    for layer in m.layers:
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        g = [np.asarray(tf.convert_to_tensor(grads[id(v)])) if id(v) in grads else None for v in layer.trainable_weights]
        if cls == "Embedding":
            out["embedding.E"] = g[0]
        elif cls in ("LSTM", "Bidirectional"):
            cells = [("fwd" if not layer.go_backwards else "bwd", g[:3])] if cls == "LSTM" else [("fwd", g[:3]), ("bwd", g[3:])]
            for cell, (kern, rec, bias) in cells:
                u = rec.shape[0]
                for gi, gate in zip((1, 0, 2, 3), "fico"):  # Keras columns i, f, c, o
                    out[f"lstm.{k}.{cell}.W_{gate}"] = kern[:, gi * u:(gi + 1) * u].T
                    out[f"lstm.{k}.{cell}.U_{gate}"] = rec[:, gi * u:(gi + 1) * u].T
                    out[f"lstm.{k}.{cell}.b_{gate}"] = bias[gi * u:(gi + 1) * u]
            k += 1
        elif cls in ("Dense", "TimeDistributed"):
            out[f"dense.{j}.V"] = g[0].T
            out[f"dense.{j}.c"] = g[1]
            j += 1
    return out


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    manifest = {"generator": "scripts/keras_masking_fixtures.py",
                "versions": {"keras": keras.__version__, "tf_keras": tf_keras.__version__, "tensorflow": tf.__version__,
                             "numpy": np.__version__},
                "fixtures": []}
    for n, (fid, desc, writer, build) in enumerate(MODELS):
        K = keras if writer == "keras3" else tf_keras
        K.utils.set_random_seed(800 + n)
        rng = np.random.default_rng(800 + n)
        m, make_x = build(K)
        # Weights away from the initializers' small values, so masking errors show.
        m.set_weights([rng.normal(0, 0.6, w.shape).astype("float32") for w in m.get_weights()])
        x = make_x(rng)
        folder = os.path.join(ROOT, fid)
        os.makedirs(folder)
        name = "model.keras" if writer == "keras3" else "model.h5"
        m.save(os.path.join(folder, name))
        with tf.GradientTape() as tape:
            y = m(x, training=False)
            t = rng.uniform(-1, 1, y.shape).astype("float32")
            loss = tf.reduce_sum(0.5 * tf.square(tf.cast(y, tf.float64) - t.astype("float64")))
        variables = m.trainable_weights
        grads = dict(zip((id(v) for v in variables), tape.gradient(loss, variables)))
        np.save(os.path.join(folder, "x.npy"), x)
        np.save(os.path.join(folder, "y.npy"), np.asarray(y))
        np.save(os.path.join(folder, "t.npy"), t)
        np.savez(os.path.join(folder, "expected.npz"), loss=np.float64(loss.numpy()),
                 **{k: np.ascontiguousarray(v) for k, v in canonical_grads(m, grads).items()})
        manifest["fixtures"].append({"id": fid, "description": desc, "writer": writer, "file": f"{fid}/{name}"})
        print(f"{fid}: {desc}, y {tuple(y.shape)}, loss {float(loss):.6f}")
    with open(os.path.join(ROOT, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
