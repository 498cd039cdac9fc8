#!/usr/bin/env python3
"""Build the real-Keras fixtures in Fixtures/keras/ (see Spec/keras-layouts.md).

Run with the project venv:  /root/.cache/lstm-format/venv/bin/python scripts/keras_fixtures.py
Deterministic: every fixture seeds numpy from its id (weights, inputs, targets). Files differ between runs
only in timestamps (.keras metadata.json date_saved, HDF5 object times).

Per fixture directory Fixtures/keras/<id>/:
  x.npy  float32 [batch, steps, features] inputs
  y.npy  float32 Keras outputs, model(x, training=False)
  t.npy  float32 targets (seeded normal, shape of y)
  expected.npz: loss (float64, 0.5*sum((y-t)^2), eq. 8.25), weights/<layer>/<i> (layer.get_weights()),
                grad/<layer>/<i> (GradientTape d loss / d layer.trainable_weights[i])
  model files by flavour (see manifest.json).
"""
import json
import os
import shutil
import sys
import time
import zlib

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["KERAS_BACKEND"] = "tensorflow"

T0 = time.time()
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402
from tf_keras.src.layers import CuDNNLSTM  # noqa: E402  (not exported by tf_keras.layers in 2.21)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras_check  # noqa: E402

tf.get_logger().setLevel("ERROR")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras")
LIBS = {"keras3": keras, "tf_keras": tf_keras}
FIXTURES = []


def L(i, h, direction="forward", merge=None, gate="sigmoid", cell="tanh"):
    """An LSTM layer in canonical terms (ModelArchitecture JSON keys)."""
    d = {"inputSize": i, "hiddenSize": h, "direction": direction, "gateActivation": gate,
         "cellActivation": cell}
    if merge:
        d["mergeMode"] = merge
    return d


def D(i, o, act="linear"):
    return {"inputSize": i, "outputSize": o, "activation": act}


def fixture(fid, writer, desc, flavours, arch=None, refuse=None, shape=(2, 5, 3), ignored=(), **extra):
    """Registers a builder; arch is {"layers", "returnSequences", "dense"} or None when refused."""
    def reg(builder):
        FIXTURES.append(dict(id=fid, writer=writer, description=desc, flavours=flavours, arch=arch,
                             refuse=refuse, shape=shape, ignored=list(ignored), build=builder, **extra))
        return builder
    return reg


def arch(layers, rs, dense=()):
    return {"layers": layers, "returnSequences": rs, "dense": list(dense)}


ALL3 = ["keras", "weights_h5", "legacy_h5"]
ALL2 = ["legacy_h5", "weights_h5"]

# ---------------------------------------------------------------- Keras 3 accepted models


@fixture("k3_lstm_last_dense", "keras3", "Sequential LSTM(4) many-to-one, Dense(2) linear", ALL3,
         arch([L(3, 4)], False, [D(4, 2)]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(4), K.layers.Dense(2)])


@fixture("k3_lstm_seq_timedistributed", "keras3", "LSTM(3) return_sequences, TimeDistributed(Dense(2, sigmoid))",
         ALL3, arch([L(4, 3)], True, [D(3, 2, "sigmoid")]), shape=(3, 4, 4))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, return_sequences=True),
                         K.layers.TimeDistributed(K.layers.Dense(2, activation="sigmoid"))])


@fixture("k3_two_dense_head", "keras3", "LSTM(3) seq, Dense(4, tanh) then Dense(2, softmax) on 3-D input",
         ["keras"], arch([L(2, 3)], True, [D(3, 4, "tanh"), D(4, 2, "softmax")]), shape=(2, 6, 2))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, return_sequences=True),
                         K.layers.Dense(4, activation="tanh"), K.layers.Dense(2, activation="softmax")])


@fixture("k3_nobias_relu", "keras3", "LSTM(5, use_bias=False, activation=relu), Dense(3, relu)",
         ["keras", "weights_h5"], arch([L(3, 5, cell="relu")], False, [D(5, 3, "relu")]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(5, use_bias=False, activation="relu"),
                         K.layers.Dense(3, activation="relu")])


@fixture("k3_linear_cell_tanh_gate", "keras3", "LSTM(2, activation=linear, recurrent_activation=tanh), no head",
         ["keras"], arch([L(3, 2, gate="tanh", cell="linear")], True))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(2, activation="linear", recurrent_activation="tanh",
                                                   return_sequences=True)])


@fixture("k3_hard_sigmoid", "keras3", "LSTM(4, recurrent_activation=hard_sigmoid) in Keras 3: x/6+0.5",
         ["keras", "legacy_h5"], arch([L(3, 4, gate="hard_sigmoid_keras3")], True, [D(4, 2)]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True),
                         K.layers.Dense(2)])


@fixture("k3_go_backwards", "keras3", "LSTM(3, go_backwards=True) seq (output not re-reversed), Dense(2)",
         ["keras", "weights_h5"], arch([L(3, 3, "backward")], True, [D(3, 2)]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, go_backwards=True, return_sequences=True), K.layers.Dense(2)])


@fixture("k3_stacked_autonames", "keras3", "two LSTMs with automatic names lstm, lstm_1; Dense(2)", ALL3,
         arch([L(3, 4), L(4, 3)], False, [D(3, 2)]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(4, return_sequences=True), K.layers.LSTM(3), K.layers.Dense(2)])


for _mode in ["concat", "sum", "mul", "ave"]:
    for _rs in [True, False]:
        _fl = {("concat", True): ALL3, ("sum", False): ["keras", "legacy_h5"]}.get((_mode, _rs), ["keras"])
        _out = 6 if _mode == "concat" else 3

        @fixture(f"k3_bidi_{_mode}_{'seq' if _rs else 'last'}", "keras3",
                 f"Bidirectional(LSTM(3), merge_mode={_mode}), return_sequences={_rs}, Dense(2)", _fl,
                 arch([L(3, 3, "bidirectional", _mode)], _rs, [D(_out, 2)]))
        def _(K, s, mode=_mode, rs=_rs):
            return K.Sequential([K.Input(s), K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=rs),
                                                                    merge_mode=mode), K.layers.Dense(2)])


@fixture("k3_functional_chain", "keras3", "Functional Input-LSTM-Dropout-Dense(3,tanh)-Dense(2,softmax)", ALL3,
         arch([L(3, 4)], False, [D(4, 3, "tanh"), D(3, 2, "softmax")]), ignored=["drop"])
def _(K, s):
    i = K.Input(s, name="inp")
    h = K.layers.LSTM(4, name="enc")(i)
    h = K.layers.Dropout(0.3, name="drop")(h)
    h = K.layers.Dense(3, activation="tanh", name="hid")(h)
    return K.Model(i, K.layers.Dense(2, activation="softmax", name="out")(h), name="chain")


@fixture("k3_dropout_layers", "keras3",
         "Dropout, LSTM(dropout, recurrent_dropout), SpatialDropout1D, GaussianNoise, GaussianDropout: identity "
         "at inference", ["keras"], arch([L(3, 4)], True, [D(4, 2, "tanh")]),
         ignored=["d0", "sd", "gn", "gd"])
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.Dropout(0.2, name="d0"),
                         K.layers.LSTM(4, dropout=0.1, recurrent_dropout=0.1, return_sequences=True, name="rnn"),
                         K.layers.SpatialDropout1D(0.2, name="sd"), K.layers.GaussianNoise(0.1, name="gn"),
                         K.layers.GaussianDropout(0.1, name="gd"),
                         K.layers.TimeDistributed(K.layers.Dense(2, activation="tanh"), name="td")])


@fixture("k3_bidi_then_backward", "keras3", "Bidirectional(LSTM(2), concat) seq, LSTM(3, go_backwards) last, Dense(2)",
         ["keras"], arch([L(2, 2, "bidirectional", "concat"), L(4, 3, "backward")], False, [D(3, 2)]),
         shape=(2, 4, 2))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.Bidirectional(K.layers.LSTM(2, return_sequences=True)),
                         K.layers.LSTM(3, go_backwards=True), K.layers.Dense(2)])

# ---------------------------------------------------------------- tf_keras (Keras 2) accepted models


@fixture("k2_lstm_last_dense", "tf_keras", "tf_keras Sequential LSTM(4), Dense(2) linear; also "
         "save_weights('model.weights.h5'), which tf_keras writes in the Keras 3 layers/<name>/vars layout",
         ALL2 + ["weights_v3_h5"],
         arch([L(3, 4)], False, [D(4, 2)]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(4), K.layers.Dense(2)])


@fixture("k2_hard_sigmoid", "tf_keras", "tf_keras LSTM(3, recurrent_activation=hard_sigmoid): 0.2x+0.5; "
         "TimeDistributed(Dense(3, softmax))", ALL2,
         arch([L(3, 3, gate="hard_sigmoid_keras2")], True, [D(3, 3, "softmax")]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True),
                         K.layers.TimeDistributed(K.layers.Dense(3, activation="softmax"))])


for _mode, _rs in [("concat", True), ("sum", False), ("mul", True), ("ave", False)]:
    _out = 6 if _mode == "concat" else 3

    @fixture(f"k2_bidi_{_mode}_{'seq' if _rs else 'last'}", "tf_keras",
             f"tf_keras Bidirectional(LSTM(3), merge_mode={_mode}), return_sequences={_rs}, Dense(2)",
             ALL2 if _mode == "concat" else ["legacy_h5"], arch([L(3, 3, "bidirectional", _mode)], _rs, [D(_out, 2)]))
    def _(K, s, mode=_mode, rs=_rs):
        return K.Sequential([K.Input(s), K.layers.Bidirectional(K.layers.LSTM(3, return_sequences=rs),
                                                                merge_mode=mode), K.layers.Dense(2)])


@fixture("k2_functional_stacked", "tf_keras",
         "tf_keras functional: LSTM(4) seq, Dropout, LSTM(3, go_backwards) auto-named lstm_1, Dense(3,relu), "
         "Dense(2)", ALL2, arch([L(2, 4), L(4, 3, "backward")], False, [D(3, 3, "relu"), D(3, 2)]),
         shape=(3, 4, 2), ignored=["dropout"])
def _(K, s):
    i = K.Input(s)
    h = K.layers.LSTM(4, return_sequences=True)(i)
    h = K.layers.Dropout(0.5)(h)
    h = K.layers.LSTM(3, go_backwards=True)(h)
    h = K.layers.Dense(3, activation="relu")(h)
    return K.Model(i, K.layers.Dense(2)(h))


@fixture("k2_nobias_relu_tanh_gate", "tf_keras", "tf_keras LSTM(2, use_bias=False, activation=relu, "
         "recurrent_activation=tanh) seq, Dense(2, sigmoid)", ["legacy_h5"],
         arch([L(4, 2, gate="tanh", cell="relu")], True, [D(2, 2, "sigmoid")]), shape=(2, 6, 4))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(2, use_bias=False, activation="relu", recurrent_activation="tanh",
                                                   return_sequences=True), K.layers.Dense(2, activation="sigmoid")])


@fixture("k2_linear_cell", "tf_keras", "tf_keras LSTM(3, activation=linear) last, Dense(2, tanh)", ["legacy_h5"],
         arch([L(3, 3, cell="linear")], False, [D(3, 2, "tanh")]))
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, activation="linear"), K.layers.Dense(2, activation="tanh")])


@fixture("k2_cudnn_lstm", "tf_keras",
         "tf_keras CuDNNLSTM(3) seq + Dense(2), built and saved on CPU; y is what tf_keras gives after loading the "
         "file into the same model with LSTM in place of CuDNNLSTM (bias 8H summed, kernels re-laid per gate)",
         ALL2, arch([L(3, 3)], True, [D(3, 2)]), cudnn=True)
def _(K, s):
    return K.Sequential([K.Input(s), CuDNNLSTM(3, return_sequences=True, name="cudnn_lstm"),
                         K.layers.Dense(2, name="dense")])


@fixture("k2_cudnn_bidi", "tf_keras",
         "tf_keras Bidirectional(CuDNNLSTM(2), concat) last + Dense(2); y via load into LSTM equivalent",
         ["legacy_h5"], arch([L(3, 2, "bidirectional", "concat")], False, [D(4, 2)]), cudnn=True)
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.Bidirectional(CuDNNLSTM(2), name="bidirectional"),
                         K.layers.Dense(2, name="dense")])


LONG = 21600  # 3 names of ~21.6 kB > HDF5_OBJECT_HEADER_LIMIT (64512 B) together, each below it


@fixture("k2_split_layer_names", "tf_keras",
         "tf_keras save_weights h5 whose layer names are so long that layer_names is split into layer_names0, "
         "layer_names1 (and the LSTM's weight_names into weight_names0..)", ["weights_h5"],
         arch([L(2, 2)], False, [D(2, 2)]), shape=(2, 4, 2), ignored=["d" * LONG])
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(2, name="l" * LONG), K.layers.Dropout(0.0, name="d" * LONG),
                         K.layers.Dense(2, name="n" * LONG)])

# ---------------------------------------------------------------- refused models


def refused(fid, writer, desc, flavours, layer, cls, reason, shape=(2, 5, 3)):
    return fixture(fid, writer, desc, flavours, None, {"layer": layer, "class": cls, "reason": reason}, shape)


@refused("r_gru", "keras3", "GRU layer", ["keras"], "gru", "GRU", "not an LSTM")
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.GRU(3, name="gru"), K.layers.Dense(2)])


@refused("r_simplernn", "tf_keras", "SimpleRNN layer", ["legacy_h5"], "simple_rnn", "SimpleRNN", "not an LSTM")
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.SimpleRNN(3, name="simple_rnn"), K.layers.Dense(2)])


@refused("r_conv1d", "keras3", "Conv1D before an LSTM", ["keras", "legacy_h5"], "conv", "Conv1D",
         "unsupported layer before the LSTM")
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.Conv1D(2, 2, name="conv"), K.layers.LSTM(3), K.layers.Dense(2)])


# Masking and Embedding are supported since issue 8: their fixtures are made by scripts/keras_masking_fixtures.py.


@refused("r_stateful", "tf_keras", "stateful LSTM (state carried between batches)", ["legacy_h5"], "lstm", "LSTM",
         "stateful=true")
def _(K, s):
    return K.Sequential([K.Input(s, batch_size=2), K.layers.LSTM(3, stateful=True, name="lstm"), K.layers.Dense(2)])


@refused("r_attention", "keras3", "LSTM followed by dot-product Attention(query=value=h)", ["keras"], "attention",
         "Attention", "unsupported layer")
def _(K, s):
    i = K.Input(s)
    h = K.layers.LSTM(3, return_sequences=True, name="lstm")(i)
    a = K.layers.Attention(name="attention")([h, h])
    return K.Model(i, K.layers.Dense(2)(a))


@refused("r_branching", "keras3", "functional graph with two LSTM branches added", ["keras"], "add", "Add",
         "not a straight chain")
def _(K, s):
    i = K.Input(s)
    a = K.layers.LSTM(3, name="lstm_a")(i)
    b = K.layers.LSTM(3, name="lstm_b")(i)
    return K.Model(i, K.layers.Dense(2)(K.layers.Add(name="add")([a, b])))


@refused("r_unknown_activation", "keras3", "LSTM with activation=elu (no canonical name)", ["keras"], "lstm", "LSTM",
         "unknown activation elu")
def _(K, s):
    return K.Sequential([K.Input(s), K.layers.LSTM(3, activation="elu", name="lstm"), K.layers.Dense(2)])

# ---------------------------------------------------------------- running


FILES = {"keras": "model.keras", "weights_h5": "model.weights.h5", "legacy_h5": "model.h5", "config": "config.json",
         "weights_v3_h5": "model.weights.h5"}


def file_name(fx, flavour):
    """tf_keras writes its *legacy* weights-only HDF5 only when the name does not end in .weights.h5
    (save_weights("x.weights.h5") gives the Keras-3-style layers/<name>/vars layout: flavour weights_v3_h5)."""
    if fx["writer"] == "tf_keras" and flavour == "weights_h5":
        return "model_weights.h5"
    return FILES[flavour]


def perturb(model, rng):
    """Replaces every weight by seeded normal*0.5 so no bias or kernel is trivially 0 or 1."""
    for layer in model.layers:
        ws = layer.get_weights()
        if ws:
            layer.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(w.dtype) for w in ws])


def reset(model):
    """Stateful layers start every call from zero state, as a freshly loaded model does."""
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()


def expectations(model, x, t):
    """Loss (float64), weights/<layer>/<i> and GradientTape grads/<layer>/<i> of eq. 8.25."""
    out = {}
    reset(model)
    with tf.GradientTape() as tape:
        y = model(x, training=False)
        loss = 0.5 * tf.reduce_sum(tf.square(tf.cast(y, tf.float64) - tf.constant(t, tf.float64)))
    layers = [l for l in model.layers if l.trainable_weights]
    variables = [v for l in layers for v in l.trainable_weights]
    grads = tape.gradient(loss, variables)
    k = 0
    for layer in layers:
        for i, w in enumerate(layer.get_weights()):
            out[f"weights/{layer.name}/{i}"] = w
        for i in range(len(layer.trainable_weights)):
            out[f"grad/{layer.name}/{i}"] = np.asarray(grads[k])
            k += 1
    y = np.asarray(y)
    out["loss"] = np.float64(0.5 * np.sum((y.astype(np.float64) - t.astype(np.float64)) ** 2))
    return y, out


def npz_key(key):
    """np.savez keys must be usable as zip member names: the 21.6 kB names are shortened (manifest says how)."""
    parts = key.split("/")
    return "/".join(p if len(p) < 200 else f"{p[0]}*{len(p)}" for p in parts)


def save_flavours(fx, model, d, K):
    files = {}
    for fl in fx["flavours"]:
        path = os.path.join(d, file_name(fx, fl))
        if fl == "keras":
            model.save(path)
        elif fl == "legacy_h5":
            if fx["writer"] == "keras3":
                model.save(path)  # Keras 3 legacy HDF5 writer (keras/src/legacy/saving)
            else:
                model.save(path, save_format="h5")
        elif fl in ("weights_h5", "weights_v3_h5"):
            model.save_weights(path)
            with open(os.path.join(d, FILES["config"]), "w") as fh:
                fh.write(model.to_json())
            files["config"] = f"{fx['id']}/{FILES['config']}"
        files[fl] = f"{fx['id']}/{file_name(fx, fl)}"
    return files


def roundtrip(fx, files, x, y):
    """Loads every written file back with the writer's own Keras and checks it reproduces y."""
    K = LIBS[fx["writer"]]
    worst = 0.0
    for fl, rel in files.items():
        if fl == "config":
            continue
        cfg = os.path.join(ROOT, files["config"]) if fl.startswith("weights") else None
        m = keras_check.load_model(K, fx["writer"], os.path.join(ROOT, rel), weights_only=fl.startswith("weights"),
                                   config_path=cfg, cudnn_as_lstm=bool(fx.get("cudnn")))
        ok, max_abs, _ = keras_check.compare(np.asarray(m(x, training=False)), y, 1e-5, 1e-6)
        if not ok:
            raise RuntimeError(f"{fx['id']}: {fl} does not load back (max_abs {max_abs})")
        worst = max(worst, max_abs)
    return worst


def run(fx):
    t0 = time.time()
    K = LIBS[fx["writer"]]
    K.backend.clear_session()
    seed = zlib.crc32(fx["id"].encode())
    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed % 2**31)
    batch, steps, feats = fx["shape"]
    model = fx["build"](K, (steps, feats))
    perturb(model, rng)
    x = rng.standard_normal((batch, steps, feats)).astype(np.float32)
    d = os.path.join(ROOT, fx["id"])
    os.makedirs(d)
    files = save_flavours(fx, model, d, K)
    eval_model = model
    if fx.get("cudnn"):  # CuDNNLSTM cannot run on CPU: evaluate what tf_keras gives after converting on load
        eval_model = keras_check.load_model(K, "tf_keras", os.path.join(ROOT, files["legacy_h5"]),
                                            cudnn_as_lstm=True)
    reset(eval_model)
    y0 = np.asarray(eval_model(x, training=False))
    t = rng.standard_normal(y0.shape).astype(np.float32)
    y, exp = expectations(eval_model, x, t)
    if fx.get("cudnn"):
        for layer in model.layers:
            for i, w in enumerate(layer.get_weights()):
                exp[f"file_weights/{layer.name}/{i}"] = w
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), y)
    np.save(os.path.join(d, "t.npy"), t)
    np.savez(os.path.join(d, "expected.npz"), **{npz_key(k): v for k, v in exp.items()})
    worst = roundtrip(fx, files, x, y)
    layers = []
    for layer in model.layers:
        inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
        layers.append({"name": layer.name if len(layer.name) < 200 else npz_key(layer.name),
                       "class": layer.__class__.__name__,
                       **({"inner_class": inner.__class__.__name__} if inner is not None else {})})
    entry = {
        "id": fx["id"], "description": fx["description"], "writer": fx["writer"],
        "keras_version": K.__version__, "files": files,
        "inputs": f"{fx['id']}/x.npy", "outputs": f"{fx['id']}/y.npy", "targets": f"{fx['id']}/t.npy",
        "expected": f"{fx['id']}/expected.npz", "input_shape": [batch, steps, feats],
        "output_shape": list(y.shape), "layers": layers,
        "architecture": fx["arch"], "refuse": fx["refuse"], "ignored_layers": [
            n if len(n) < 200 else npz_key(n) for n in fx["ignored"]],
        "loss": float(exp["loss"]),
    }
    if fx.get("cudnn"):
        entry["check_flags"] = ["--cudnn-as-lstm"]
    print(f"{fx['id']:34s} {time.time() - t0:5.2f}s  flavours={','.join(files)}  roundtrip max_abs={worst:.1e}")
    return entry


# ---------------------------------------------------------------- independent numpy check of the manifest

ACT = {"linear": lambda v: v, "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
       "relu": lambda v: np.maximum(v, 0), "hard_sigmoid_keras2": lambda v: np.clip(0.2 * v + 0.5, 0, 1),
       "hard_sigmoid_keras3": lambda v: np.clip(v / 6 + 0.5, 0, 1),
       "softmax": lambda v: np.exp(v - v.max(-1, keepdims=True)) / np.exp(v - v.max(-1, keepdims=True)).sum(
           -1, keepdims=True)}


def ref_cell(x, ws, H, g, c):
    """One LSTM direction in float64 from Keras arrays (gate blocks i, f, c, o)."""
    k, r = ws[0], ws[1]
    b = ws[2] if len(ws) == 3 else np.zeros(4 * H)
    h = np.zeros((x.shape[0], H))
    C = np.zeros_like(h)
    out = []
    for t in range(x.shape[1]):
        z = x[:, t] @ k + h @ r + b
        i, f, cc, o = (z[:, j * H:(j + 1) * H] for j in range(4))
        C = ACT[g](f) * C + ACT[g](i) * ACT[c](cc)
        h = ACT[g](o) * ACT[c](C)
        out.append(h)
    return np.stack(out, 1)


def reference_output(entry, e, x, swap_hard_sigmoid=False):
    """Forward pass from the manifest architecture and expected.npz weights only (canonical-model.md M2, M5)."""
    a = entry["architecture"]
    layers = [l for l in entry["layers"] if f"weights/{l['name']}/0" in e]
    weights = [[e[f"weights/{l['name']}/{i}"].astype(np.float64) for i in range(6) if f"weights/{l['name']}/{i}" in e]
               for l in layers]
    h = x.astype(np.float64)
    swap = {"hard_sigmoid_keras2": "hard_sigmoid_keras3", "hard_sigmoid_keras3": "hard_sigmoid_keras2"}
    for k, L in enumerate(a["layers"]):
        ws, H, c = weights[k], L["hiddenSize"], L["cellActivation"]
        g = swap.get(L["gateActivation"], L["gateActivation"]) if swap_hard_sigmoid else L["gateActivation"]
        if L["direction"] == "forward":
            h = ref_cell(h, ws, H, g, c)
        elif L["direction"] == "backward":
            h = ref_cell(h[:, ::-1], ws, H, g, c)
        else:
            n = len(ws) // 2
            f, b = ref_cell(h, ws[:n], H, g, c), ref_cell(h[:, ::-1], ws[n:], H, g, c)[:, ::-1]
            if k == len(a["layers"]) - 1 and not a["returnSequences"]:
                f, b = f[:, -1:], b[:, :1]
            h = {"concat": lambda: np.concatenate([f, b], -1), "sum": lambda: f + b, "mul": lambda: f * b,
                 "ave": lambda: (f + b) / 2}[L["mergeMode"]]()
    h = h[:, -1] if not a["returnSequences"] else h
    for j, D in enumerate(a["dense"]):
        ws = weights[len(a["layers"]) + j]
        h = ACT[D["activation"]](h @ ws[0] + ws[1])
    return h


def check_manifest(entries):
    """Every accepted fixture's y must follow from its manifest architecture; hard sigmoids must be told apart."""
    for entry in entries:
        if entry["architecture"] is None:
            continue
        e = np.load(os.path.join(ROOT, entry["expected"]))
        x, y = np.load(os.path.join(ROOT, entry["inputs"])), np.load(os.path.join(ROOT, entry["outputs"]))
        err = float(np.abs(reference_output(entry, e, x) - y).max())
        if err > 1e-5:
            raise RuntimeError(f"{entry['id']}: numpy reference differs from Keras by {err}")
        if "hard_sigmoid" in json.dumps(entry["architecture"]):
            other = float(np.abs(reference_output(entry, e, x, swap_hard_sigmoid=True) - y).max())
            if other < 1e-3:
                raise RuntimeError(f"{entry['id']}: the other hard sigmoid gives the same y ({other})")
            print(f"{entry['id']}: the other hard_sigmoid definition is off by {other:.3f}")
    print("numpy reference agrees with Keras on every accepted fixture (max_abs <= 1e-5)")


# ---------------------------------------------------------------- issue 7 variants (Fixtures/keras-variants/)
# One folder per variant: the files real Keras / tf_keras wrote, x.npy, and either y.npy (what Keras predicts
# for the file as Keras loads it) or refuse.txt (a phrase the refusal must contain). Regenerate with
#   python scripts/keras_fixtures.py variants
# The shared user cases (Fixtures/keras-cases/<case>/: order-not-names, subclassed-weights, inference-dropout,
# float16-policies, bfloat16, keras1, activation-layer, rnn-lstmcell, return-state, time-major, layer-names) are
# copies of files made the same way; these variants cover what those cases do not.
VARIANTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras-variants")


def variant_dir(vid):
    d = os.path.join(VARIANTS, vid)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def variant_inputs(vid, shape=(2, 5, 3)):
    rng = np.random.default_rng(zlib.crc32(vid.encode()))
    return rng.standard_normal(shape).astype("float32"), rng


def randomize(model, rng):
    """Seeded random weights (no zero bias), so every array matters."""
    model.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype(w.dtype) for w in model.get_weights()])


def make_variants():
    K, T = keras, tf_keras
    # K-O1: two same-shaped LSTMs (4 features in, 4 units) whose names are swapped between the config and the
    # weights file; tf_keras assigns by position, so the config's first layer (named 'second') gets the file's
    # first layer 'first'. y_by_name.npy is what by_name=True gives (the original model).
    d = variant_dir("swapped_names_tfk")
    x, rng = variant_inputs("swapped_names_tfk", (2, 5, 4))
    m = T.Sequential([T.Input((5, 4)), T.layers.LSTM(4, return_sequences=True, name="first"),
                      T.layers.LSTM(4, name="second"), T.layers.Dense(2, name="head")])
    randomize(m, rng)
    m.save_weights(os.path.join(d, "weights.h5"))
    swapped = T.Sequential([T.Input((5, 4)), T.layers.LSTM(4, return_sequences=True, name="second"),
                            T.layers.LSTM(4, name="first"), T.layers.Dense(2, name="head")])
    with open(os.path.join(d, "swapped.json"), "w") as fh:
        fh.write(swapped.to_json())
    loaded = T.models.model_from_json(swapped.to_json())
    loaded.load_weights(os.path.join(d, "weights.h5"))
    by_name = T.models.model_from_json(swapped.to_json())
    by_name.load_weights(os.path.join(d, "weights.h5"), by_name=True)
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), np.asarray(loaded(x, training=False)))
    np.save(os.path.join(d, "y_by_name.npy"), np.asarray(by_name(x, training=False)))

    # K-A1: a Keras 3 weights file with one Dense more than the config: that array must not be dropped.
    d = variant_dir("unmapped_k3")
    x, rng = variant_inputs("unmapped_k3")
    m = K.Sequential([K.Input((5, 3)), K.layers.LSTM(4), K.layers.Dense(3), K.layers.Dense(2)])
    randomize(m, rng)
    m.save_weights(os.path.join(d, "m.weights.h5"))
    with open(os.path.join(d, "config.json"), "w") as fh:
        fh.write(K.Sequential([K.Input((5, 3)), K.layers.LSTM(4), K.layers.Dense(3)]).to_json())
    np.save(os.path.join(d, "x.npy"), x)
    with open(os.path.join(d, "refuse.txt"), "w") as fh:
        fh.write("/layers/dense_1/vars/0\n")

    # K-A1: optimizer state in a compiled, trained model's .keras is the one exemption.
    d = variant_dir("optimizer_k3")
    x, rng = variant_inputs("optimizer_k3")
    m = K.Sequential([K.Input((5, 3)), K.layers.LSTM(4), K.layers.Dense(2)])
    m.compile("adam", "mse")
    m.fit(x, rng.standard_normal((2, 2)).astype("float32"), epochs=2, verbose=0)
    m.save(os.path.join(d, "m.keras"))
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), np.asarray(m(x, training=False)))

    # K-C6: a nested straight-chain Sequential, in Keras 3 (.keras) and tf_keras (legacy .h5, one weight group).
    for vid, L in (("nested_k3", K), ("nested_tfk", T)):
        d = variant_dir(vid)
        x, rng = variant_inputs(vid)
        inner = L.Sequential([L.Input((5, 3)), L.layers.LSTM(4, return_sequences=True), L.layers.LSTM(3)], name="encoder")
        m = L.Sequential([L.Input((5, 3)), inner, L.layers.Dense(2, activation="tanh")])
        randomize(m, rng)
        m.save(os.path.join(d, "m.keras" if L is K else "m.h5"))
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "y.npy"), np.asarray(m(x, training=False)))

    # K-C5: Activation layers that cannot be folded.
    for vid, layers, phrase in (
            ("act_after_lstm_k3", lambda: [K.layers.LSTM(4), K.layers.Activation("relu"), K.layers.Dense(2)], "follows the LSTM layer"),
            ("act_after_relu_k3", lambda: [K.layers.LSTM(4), K.layers.Dense(2, activation="relu"), K.layers.Activation("sigmoid")],
             "already has activation relu")):
        d = variant_dir(vid)
        x, rng = variant_inputs(vid)
        m = K.Sequential([K.Input((5, 3))] + layers())
        m.save(os.path.join(d, "m.keras"))
        np.save(os.path.join(d, "x.npy"), x)
        with open(os.path.join(d, "refuse.txt"), "w") as fh:
            fh.write(phrase + "\n")

    # K-N1: Monte-Carlo dropout in tf_keras; y.npy is the deterministic model (the same layers without the
    # Dropout), which is what the conversion computes.
    d = variant_dir("mc_dropout_tfk")
    x, rng = variant_inputs("mc_dropout_tfk")
    inp = T.Input((5, 3))
    h = T.layers.LSTM(4)(inp)
    out = T.layers.Dense(2)(T.layers.Dropout(0.5)(h, training=True))
    m = T.Model(inp, out)
    randomize(m, rng)
    m.save(os.path.join(d, "m.h5"))
    det = T.Sequential([T.Input((5, 3)), T.layers.LSTM(4), T.layers.Dense(2)])
    det.set_weights(m.get_weights())
    np.save(os.path.join(d, "x.npy"), x)
    np.save(os.path.join(d, "y.npy"), np.asarray(det(x, training=False)))

    # K-R3: TensorFlow artifacts that hold no Keras model file: a SavedModel directory and a checkpoint.
    d = variant_dir("tf_artifacts")
    x, rng = variant_inputs("tf_artifacts")
    m = T.Sequential([T.Input((5, 3)), T.layers.LSTM(2), T.layers.Dense(1)])
    randomize(m, rng)
    m.save(os.path.join(d, "saved_model"), save_format="tf")
    m.save_weights(os.path.join(d, "ckpt", "weights"), save_format="tf")
    print(f"variants written to {VARIANTS}")


def main():
    if sys.argv[1:] == ["variants"]:
        make_variants()
        return
    only = set(sys.argv[1:])
    print(f"imports {time.time() - T0:.1f}s  keras {keras.__version__}  tf_keras {tf_keras.__version__}  "
          f"tensorflow {tf.__version__}")
    if os.path.isdir(ROOT) and not only:
        shutil.rmtree(ROOT)
    os.makedirs(ROOT, exist_ok=True)
    entries = [run(fx) for fx in FIXTURES if not only or fx["id"] in only]
    manifest = {
        "generator": "scripts/keras_fixtures.py",
        "versions": {"keras": keras.__version__, "tf_keras": tf_keras.__version__, "tensorflow": tf.__version__,
                     "numpy": np.__version__},
        "notes": [
            "architecture uses the JSON keys of ModelArchitecture (Sources/LSTMFormat/Model/Architecture.swift); "
            "null when the fixture must be refused.",
            "refuse: {layer, class, reason} names the layer an importer must reject; null when accepted.",
            "expected.npz: loss (float64 0-d, 0.5*sum((y-t)^2) over batch, steps, outputs), "
            "weights/<layer>/<i> = layer.get_weights()[i], grad/<layer>/<i> = d loss / d "
            "layer.trainable_weights[i] (same order). Bidirectional: forward layer's kernel, recurrent_kernel, "
            "bias, then the backward layer's. Names of 200+ characters appear as <first char>*<length>.",
            "CuDNNLSTM fixtures: weights/ and grad/ are those of the equivalent LSTM after tf_keras's conversion "
            "on load; file_weights/ holds what the file stores (bias 8*units). Check with keras_check.py "
            "--cudnn-as-lstm.",
            "ignored_layers are identity at inference (Dropout-style) and have no canonical counterpart.",
        ],
        "fixtures": entries,
    }
    if not only:
        with open(os.path.join(ROOT, "manifest.json"), "w") as fh:
            json.dump(manifest, fh, indent=1)
            fh.write("\n")
    check_manifest(entries)
    print(f"total {time.time() - T0:.1f}s, {len(entries)} fixtures")


if __name__ == "__main__":
    main()
