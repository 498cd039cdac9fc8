#!/usr/bin/env python3
"""Build Fixtures/keras-policies/: small Keras models made under each lower-precision dtype policy, and what
Keras's own predict() gives for them (Spec/keras-mapping.md, K-W6b).

Run with the project venv (versions pinned in scripts/requirements-keras.txt: keras 3.15.1, tf_keras 2.21.0,
tensorflow-cpu 2.21.0, numpy 2.4.6):
    ~/.cache/lstm-format/venv/bin/python scripts/keras_policy_fixtures.py

Per policy P in float16, mixed_float16, mixed_bfloat16, bfloat16, Fixtures/keras-policies/<P>/ holds:
  k3.keras       Keras 3 Sequential built under keras.config.set_dtype_policy(P): LSTM(4, return_sequences) ->
                 Bidirectional(LSTM(3)) -> Dense(2), seeded random weights (no zero bias).
  tfk.h5         (not bfloat16) the same layers and weights in tf_keras under set_global_policy(P), legacy .h5.
                 tf_keras cannot store bfloat16 variables in a legacy .h5 (K-W1), so bfloat16 has none.
  x.npy          float32 inputs [2, 5, 3].
  y_k3.npy       Keras 3's predict(x) on k3.keras, loaded fresh (float32: the float16 / bfloat16 outputs widened
                 exactly).
  y_tfk.npy      tf_keras's predict(x) on tfk.h5, loaded fresh.
  spread.json    how reproducible Keras is: the largest difference between two fresh loads' predict() of the
                 same file, per file and loader (0 means bitwise), and between tf_keras's and Keras 3's
                 predict() of the same weights. (Keras 3 cannot load tfk.h5 itself: tf_keras writes
                 `time_major` into its LSTM config, which Keras 3's LSTM refuses.)
`keras_policy_fixtures.py inner` builds Fixtures/keras-policies/inner/<P>/ instead (policies on a wrapper's inner
layer only, K-N2b; see make_inner); `keras_policy_fixtures.py folded` builds Fixtures/keras-policies/folded/ (source
layers folded into one written layer under different policies, K-W6c; see make_folded);
`keras_policy_fixtures.py fullprec` builds Fixtures/keras-policies/fullprec/ (a float64 layer in a float32 model and
a float32 layer in a float64 model, K-W6d; see make_fullprec); `keras_policy_fixtures.py dropcast` builds
Fixtures/keras-policies/dropcast/ (Dropout-style layers whose policy differs from their neighbours', K-W6e; see
make_dropcast).
Weights and inputs are seeded from the policy name, so a rerun on the same CPU gives the same arrays (files differ
only in timestamps). Keras's float16 outputs depend on the CPU: on an AMD EPYC (Zen 4) the folded/ and inner/float16,
mixed_float16 predictions of the committed files (made on an Intel Xeon) came out a few float16 ulps apart, the same
in every run there, while the float32 and float64 cases were byte-identical.
"""
import json
import os
import shutil
import sys
import zipfile
import zlib

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
import tf_keras  # noqa: E402

tf.get_logger().setLevel("ERROR")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras-policies")
POLICIES = ["float16", "mixed_float16", "mixed_bfloat16", "bfloat16"]


def layers(L, policy):
    # TensorFlow's QR (behind the default Orthogonal recurrent initializer) has no bfloat16 kernel, so a bfloat16
    # LSTM cannot be built with it; the initializer is overwritten by the seeded weights anyway.
    init = {"recurrent_initializer": "glorot_uniform"} if policy == "bfloat16" else {}
    return [L.Input((None, 3)), L.layers.LSTM(4, return_sequences=True, **init),
            L.layers.Bidirectional(L.layers.LSTM(3, **init)), L.layers.Dense(2)]


def predict(model, x):
    return np.asarray(model.predict(x, verbose=0)).astype(np.float32)


def spread(a, b):
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def fresh_case(folder, seed):
    """Fixtures/keras-policies/<folder> emptied, the case's generator (seeded by the CRC-32 of `seed`) and its
    inputs x [2, 5, 3] float32, the first draw."""
    d = os.path.join(ROOT, folder)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    return d, rng, (2 * rng.standard_normal((2, 5, 3))).astype("float32")


TOOLS = [(keras, "keras3", ".keras"), (tf_keras, "tf_keras", "_tfk.h5")]


def write_evidence(d, label, evidence):
    """<d>/evidence.json (sorted keys, one space indent, trailing newline), and the same on stdout after `label`."""
    with open(os.path.join(d, "evidence.json"), "w") as fh:
        json.dump(evidence, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(label, json.dumps(evidence))


def save_case(d, L, tool, key, suffix, m, other, rng, x, label, evidence):
    """One case of the source-against-other-form fixtures (K-W6d, K-W6e): `m`'s weights seeded from `rng` (float64
    draws in `m`'s variable order, cast to each variable's dtype), copied into `other` (the same layers in the other
    form), `m` saved by tool `L` as <key><suffix>, loaded fresh and its predict(x) saved as y_<file>.npy (float64);
    evidence gets "<tool> <key>: source vs <label>" (the largest difference from other's predict) and the source's
    layer policies."""
    m.set_weights([rng.uniform(-0.8, 0.8, v.shape).astype(v.dtype) for v in m.get_weights()])
    other.set_weights([a.astype(v.dtype) for a, v in zip(m.get_weights(), other.get_weights())])
    path = os.path.join(d, key + suffix)
    m.save(path)
    y = np.asarray(L.models.load_model(path, compile=False).predict(x, verbose=0)).astype(np.float64)
    np.save(os.path.join(d, "y_" + os.path.basename(path).split(".")[0] + ".npy"), y)
    evidence[f"{tool} {key}: source vs {label}"] = spread(y, np.asarray(other.predict(x, verbose=0)))
    evidence[f"{tool} {key}: source policies"] = [f"{v.name}: {v.dtype_policy.name}" for v in m.layers]


def make(policy):
    d, rng, x = fresh_case(policy, policy)
    keras.config.set_dtype_policy(policy)
    try:
        m = keras.Sequential(layers(keras, policy))
    finally:
        keras.config.set_dtype_policy("float32")
    weights = [rng.uniform(-0.8, 0.8, w.shape) for w in m.get_weights()]
    m.set_weights([w.astype(v.dtype) for w, v in zip(weights, m.get_weights())])
    k3 = os.path.join(d, "k3.keras")
    m.save(k3)
    np.save(os.path.join(d, "x.npy"), x)
    out = {}
    y = predict(keras.models.load_model(k3, compile=False), x)
    out["k3.keras keras3"] = spread(y, predict(keras.models.load_model(k3, compile=False), x))
    np.save(os.path.join(d, "y_k3.npy"), y)
    if policy != "bfloat16":
        tf_keras.mixed_precision.set_global_policy(policy)
        try:
            t = tf_keras.Sequential(layers(tf_keras, policy))
        finally:
            tf_keras.mixed_precision.set_global_policy("float32")
        t.set_weights([w.astype(v.dtype) for w, v in zip(weights, t.get_weights())])
        h5 = os.path.join(d, "tfk.h5")
        t.save(h5)
        yt = predict(tf_keras.models.load_model(h5, compile=False), x)
        out["tfk.h5 tf_keras"] = spread(yt, predict(tf_keras.models.load_model(h5, compile=False), x))
        np.save(os.path.join(d, "y_tfk.npy"), yt)
        out["tf_keras tfk.h5 vs keras3 k3.keras (same weights)"] = spread(yt, y)
    with open(os.path.join(d, "spread.json"), "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(policy, json.dumps(out))


INNER_POLICIES = ["float16", "mixed_float16", "mixed_bfloat16"]


def inner_models(L, policy, where):
    """The inner-policy models (K-N2b): `where` is "inner" (the policy on the wrapped layer or cell only, the wrapper
    float32), "both" (on wrapper and inner layer) or "none" (float32 everywhere)."""
    l = L.layers
    p = {} if where == "none" else {"dtype": policy}
    w = {"dtype": policy} if where == "both" else {}
    # Fixed names, so the tests can name the layers Keras wrote (Keras 3 calls a Bidirectional's LSTM "lstm"
    # forward_lstm / backward_lstm in the file; tf_keras keeps "lstm" and builds backward_lstm from it).
    out = {"bi": [l.Input((None, 3)), l.Bidirectional(l.LSTM(3, name="lstm", **p), name="bi", **w), l.Dense(2, name="out")],
           "td": [l.Input((None, 3)), l.LSTM(4, return_sequences=True, name="lstm"),
                  l.TimeDistributed(l.Dense(2, name="dense", **p), name="td", **w)]}
    if L is keras:  # tf_keras cannot build RNN(LSTMCell(P)) under a float32 RNN (MatMul float16 vs float32)
        out["rnn"] = [l.Input((None, 3)), l.RNN(l.LSTMCell(3, name="cell", **p), name="rnn", **w), l.Dense(2, name="out")]
        out["lstm"] = [l.Input((None, 3)), l.LSTM(3, name="rnn", **({} if where == "none" else {"dtype": policy})), l.Dense(2, name="out")]
    return out


def make_inner(policy):
    """Fixtures/keras-policies/inner/<P>/: a Keras 3 bi.keras, td.keras, rnn.keras and a tf_keras bi_tfk.h5, td_tfk.h5
    with the policy on the inner layer (or RNN cell) only, as users write `Bidirectional(LSTM(3, dtype=P))`; x.npy;
    each tool's predict on each (y_<file>.npy); evidence.json: the largest difference between the inner-only model
    and the same weights with the policy on wrapper and inner ("both"), in float32 everywhere ("none"; float16
    weights widened exactly), and for Keras 3's RNN(LSTMCell(P)) against LSTM(P)."""
    d, rng, x = fresh_case(os.path.join("inner", policy), "inner-" + policy)
    np.save(os.path.join(d, "x.npy"), x)
    evidence = {}
    for L, tool, ext in [(keras, "keras3", ".keras"), (tf_keras, "tf_keras", ".h5")]:
        variants = {w: inner_models(L, policy, w) for w in ["inner", "both", "none"]}
        for key, layers_inner in variants["inner"].items():
            if key == "lstm":
                continue
            models = {w: L.Sequential(variants[w][key]) for w in variants}
            if key == "rnn":
                models["lstm"] = L.Sequential(variants["inner"]["lstm"])
            weights = [rng.uniform(-0.8, 0.8, v.shape).astype(v.dtype) for v in models["inner"].get_weights()]
            for m in models.values():
                m.set_weights([w.astype(v.dtype) for w, v in zip(weights, m.get_weights())])
            name = key + ("" if L is keras else "_tfk") + ext
            path = os.path.join(d, name)
            models["inner"].save(path)
            y = predict(L.models.load_model(path, compile=False), x)
            np.save(os.path.join(d, "y_" + name.split(".")[0] + ".npy"), y)
            for w, m in models.items():
                if w != "inner":
                    evidence[f"{tool} {key}: inner-only vs {w}"] = spread(y, predict(m, x))
    write_evidence(d, f"inner {policy}", evidence)


M16 = "mixed_float16"


def folded_models(L, form):
    """K-W6c cases: source layers folded into one written layer under different policies. `form` "source" is the
    model as users write it; "folded" is what the writers wrote before K-W6c (the whole written layer under the
    wrapper's or the Dense's policy), for evidence.json."""
    l = L.layers
    src = form == "source"
    out = {
        # The usual mixed-precision head: a mixed_float16 Dense, then softmax in float32.
        "head": [l.Input((None, 3)), l.LSTM(4, dtype=M16, name="lstm"), l.Dense(3, dtype=M16, name="logits"),
                 l.Activation("softmax", dtype="float32", name="probs")] if src else
                [l.Input((None, 3)), l.LSTM(4, dtype=M16, name="lstm"), l.Dense(3, activation="softmax", dtype=M16, name="logits")],
        # A per-layer mixed Dense, then a default (float32) Activation.
        "sigmoid": [l.Input((None, 3)), l.LSTM(4, name="lstm"), l.Dense(2, dtype=M16, name="dense"),
                    l.Activation("sigmoid", name="act")] if src else
                   [l.Input((None, 3)), l.LSTM(4, name="lstm"), l.Dense(2, activation="sigmoid", dtype=M16, name="dense")],
        # The policy on the Bidirectional wrapper only: its LSTMs are float32.
        "biwrap": [l.Input((None, 3)), l.Bidirectional(l.LSTM(4, **({} if src else {"dtype": M16})), dtype=M16, name="bi"),
                   l.Dense(2, name="out")],
        # The policy on the TimeDistributed wrapper only: its Dense is float32.
        "tdwrap": [l.Input((None, 3)), l.LSTM(4, return_sequences=True, name="lstm"),
                   l.TimeDistributed(l.Dense(2, name="dense", **({} if src else {"dtype": M16})), dtype=M16, name="td")],
    }
    # A float16 InputLayer of a nested model before float16 layers (its cast is the LSTM's own).
    i = l.Input((None, 3), dtype="float16" if src else "float32", name="inner_input")
    inner = L.Model(i, l.LSTM(4, dtype="float16", name="lstm")(i), name="inner")
    out["nested"] = [l.Input((None, 3), name="input"), inner, l.Dense(2, dtype="float16", name="out")]
    if L is keras:  # the RNN under the policy, its cell float32: no written LSTM computes that (K-W6a's note)
        out["rnnwrap"] = [l.Input((None, 3)), l.RNN(l.LSTMCell(3, **({} if src else {"dtype": M16})), dtype=M16, name="rnn"),
                          l.Dense(2, name="out")]
    return out


def make_folded():
    """Fixtures/keras-policies/folded/: each case of folded_models as a Keras 3 <case>.keras and a tf_keras
    <case>_tfk.h5 (same seeded weights), x.npy, each tool's predict (y_<file>.npy), and evidence.json: the largest
    difference between the source's predict and the folded form's (same weights)."""
    d, rng, x = fresh_case("folded", "folded")
    np.save(os.path.join(d, "x.npy"), x)
    evidence = {}
    for L, tool, suffix in TOOLS:
        sources, folds = folded_models(L, "source"), folded_models(L, "folded")
        for key in sources:
            m, f = L.Sequential(sources[key]), L.Sequential(folds[key])
            weights = [rng.uniform(-0.8, 0.8, v.shape) for v in m.get_weights()]
            for model in (m, f):
                model.set_weights([w.astype(v.dtype) for w, v in zip(weights, model.get_weights())])
            path = os.path.join(d, key + suffix)
            m.save(path)
            y = predict(L.models.load_model(path, compile=False), x)
            np.save(os.path.join(d, "y_" + os.path.basename(path).split(".")[0] + ".npy"), y)
            evidence[f"{tool} {key}: source vs folded form"] = spread(y, predict(f, x))
    write_evidence(d, "folded", evidence)


def fullprec_models(L, form):
    """K-W6d cases: layers whose full-precision policy differs from the model's. `form` "source" is the model as users
    write it; "float32" the same layers all float32 (what the writers declared before K-W6d), for evidence.json."""
    l = L.layers
    src = form == "source"

    def d(policy):
        return {"dtype": policy} if src else {}

    i = {"dtype": "float64"} if src else {}
    out = {
        # A float64 LSTM in a float32 model (the reviewer's f64lstm).
        "f64lstm": [l.Input((None, 3)), l.LSTM(4, name="lstm", **d("float64")), l.Dense(2, name="out")],
        # A float64 Dense head after a float32 LSTM.
        "f64dense": [l.Input((None, 3)), l.LSTM(4, name="lstm"), l.Dense(2, name="out", **d("float64"))],
        # A mixed_float16 LSTM before a float64 Dense (the reviewer's f64dense): lower precision and float64 in one model.
        "mixf64": [l.Input((None, 3)), l.LSTM(4, name="lstm", dtype=M16), l.Dense(2, name="out", **d("float64"))],
        # A float64 model (float64 input, LSTM and Dense) whose last Dense computes in float32.
        "f32in64": [l.Input((None, 3), **i), l.LSTM(4, name="lstm", **d("float64")), l.Dense(3, name="mid", **d("float64")),
                    l.Dense(2, name="out")],
        # float64 LSTMs inside a float32 Bidirectional.
        "bi64": [l.Input((None, 3)), l.Bidirectional(l.LSTM(3, name="lstm", **d("float64")), name="bi"), l.Dense(2, name="out")],
    }
    return out


def bimixdir_model(L, form):
    """A float64 forward LSTM with a float32 backward one in a Keras 3 Bidirectional (the fresh-clone reviewer's
    bimixdir; tf_keras cannot concatenate the two directions' dtypes): a legacy .h5 has one config for both
    directions, so it cannot carry the forward's policy, and the note must not call its float64 weights rounded."""
    l = L.layers
    d = {"dtype": "float64"} if form == "source" else {}
    return [l.Input((None, 3)),
            l.Bidirectional(l.LSTM(4, name="fwd", return_sequences=True, **d),
                            backward_layer=l.LSTM(4, name="bwd", go_backwards=True, return_sequences=True), name="bi"),
            l.Dense(2, name="out")]


def make_fullprec():
    """Fixtures/keras-policies/fullprec/: each case of fullprec_models as a Keras 3 <case>.keras and a tf_keras
    <case>_tfk.h5 (same seeded weights, float64 variables holding float64 values), x.npy, each tool's predict
    (y_<file>.npy, float64) and evidence.json: the largest difference between the source's predict and the same
    weights all float32 (what a written file declaring float32 computes). bad_units.keras is mixf64.keras with a config
    its weights do not fit (bad input for K-N2's note)."""
    d, rng, x = fresh_case("fullprec", "fullprec")
    np.save(os.path.join(d, "x.npy"), x)
    evidence = {}
    for L, tool, suffix in TOOLS:
        sources, plain = fullprec_models(L, "source"), fullprec_models(L, "float32")
        for key in sources:
            save_case(d, L, tool, key, suffix, L.Sequential(sources[key]), L.Sequential(plain[key]), rng, x,
                      "all float32", evidence)
    # Keras 3 only, with its own seed so the cases above keep their weights.
    save_case(d, keras, "keras3", "bimixdir", ".keras", keras.Sequential(bimixdir_model(keras, "source")),
              keras.Sequential(bimixdir_model(keras, "float32")), np.random.default_rng(zlib.crc32(b"bimixdir")), x,
              "all float32", evidence)
    # Bad input with a policy (K-N2: the error alone, no policy note): mixf64.keras with its LSTM's units changed in
    # config.json, so the weights no longer fit the config.
    with zipfile.ZipFile(os.path.join(d, "mixf64.keras")) as src, \
            zipfile.ZipFile(os.path.join(d, "bad_units.keras"), "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                lstm = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "LSTM")
                lstm["config"]["units"] = 5
                data = json.dumps(config).encode()
            dst.writestr(item, data)
    write_evidence(d, "fullprec", evidence)


def dropcast_models(L, form):
    """K-W6e cases: a layer without weights that Keras still casts through. `form` "source" is the model as users write
    it; "written" the same with the Dropout-style layer in its neighbours' dtype (what a written file without it
    computes), for evidence.json."""
    l = L.layers
    src = form == "source"
    f64 = {"dtype": "float64"}
    return {
        # A Dropout without a dtype (float32) between float64 layers: Keras rounds the LSTM's float64 outputs there.
        "f32drop": [l.Input((None, 3)), l.LSTM(4, name="lstm", return_sequences=True, **f64),
                    l.Dropout(0.25, name="drop", **({} if src else f64)), l.Dense(2, name="out", **f64)],
        # The same with a float32 GaussianNoise (the identity at inference too).
        "f32noise": [l.Input((None, 3)), l.LSTM(4, name="lstm", return_sequences=True, **f64),
                     l.GaussianNoise(0.1, name="noise", **({"dtype": "float32"} if src else f64)), l.Dense(2, name="out", **f64)],
        # A linear Activation without a dtype (float32) between float64 layers: the identity, which casts too.
        "f32linear": [l.Input((None, 3)), l.LSTM(4, name="lstm", return_sequences=True, **f64),
                      l.Activation("linear", name="ident", **({} if src else f64)), l.Dense(2, name="out", **f64)],
        # A float64 Dropout between float32 layers: the cast widens, changes no value, and is not named.
        "f64drop": [l.Input((None, 3)), l.LSTM(4, name="lstm", return_sequences=True),
                    l.Dropout(0.25, name="drop", **(f64 if src else {})), l.Dense(2, name="out")],
    }


def make_dropcast():
    """Fixtures/keras-policies/dropcast/: each case of dropcast_models as a Keras 3 <case>.keras and a tf_keras
    <case>_tfk.h5 (seeded weights; float64 variables hold float64 values), x.npy, each tool's predict (y_<file>.npy,
    float64) and evidence.json: the largest difference between the source's predict and the same weights with the
    Dropout-style layer in its neighbours' dtype (what a written file without that layer computes)."""
    d, rng, x = fresh_case("dropcast", "dropcast")
    np.save(os.path.join(d, "x.npy"), x)
    evidence = {}
    for L, tool, suffix in TOOLS:
        sources, written = dropcast_models(L, "source"), dropcast_models(L, "written")
        for key in sources:
            save_case(d, L, tool, key, suffix, L.Sequential(sources[key]), L.Sequential(written[key]), rng, x,
                      "without the cast", evidence)
    write_evidence(d, "dropcast", evidence)


def main():
    args = sys.argv[1:]
    print(f"keras {keras.__version__}  tf_keras {tf_keras.__version__}  tensorflow {tf.__version__}  numpy {np.__version__}")
    if args[:1] == ["folded"]:
        make_folded()
        return
    if args[:1] == ["fullprec"]:
        make_fullprec()
        return
    if args[:1] == ["dropcast"]:
        make_dropcast()
        return
    if args[:1] == ["inner"]:
        for policy in args[1:] or INNER_POLICIES:
            make_inner(policy)
        return
    for policy in args or POLICIES:
        make(policy)


if __name__ == "__main__":
    main()
