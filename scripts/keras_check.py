#!/usr/bin/env python3
"""Load a Keras file with real Keras, predict, compare with expected outputs.

Usage:
  keras_check.py --file F --loader keras3|tf_keras --inputs x.npy --expect y.npy
                 [--rtol 1e-5 --atol 1e-6] [--weights-only --config C.json] [--cudnn-as-lstm]
                 [--predict] [--expect-model M [--expect-loader keras3|tf_keras]]

Prints one line of JSON {"ok", "max_abs", "max_rel", "loader", "file"} and exits
0 if every element satisfies |got - expected| <= atol + rtol * |expected|, 1 if not,
2 if the file cannot be loaded or run (the message goes to stderr).

--weights-only: F holds weights only (Keras 3 `.weights.h5` or a tf_keras
  `save_weights("x.h5")` file); the model is built from --config (model.to_json()).
--cudnn-as-lstm (tf_keras only): every CuDNNLSTM in the config is replaced by an
  equivalent LSTM before the weights are loaded, so tf_keras converts the CuDNN
  weights on load (hdf5_format._convert_rnn_weights); works without a GPU.
--predict: outputs are model.predict(x) (Keras's batched inference) instead of model(x, training=False).
--expect-model M: the expected outputs are what real Keras computes for the Keras file M in this process
  (loaded with --expect-loader, default --loader; the same call as for F), not --expect's array.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def import_loader(name):
    """Imports only the Keras the file needs."""
    if name == "keras3":
        import keras
        return keras
    if name == "tf_keras":
        import tf_keras
        return tf_keras
    raise ValueError(f"unknown loader {name!r}, expected keras3 or tf_keras")


def cudnn_to_lstm_config(config):
    """Rewrites a tf_keras model config so each CuDNNLSTM becomes an LSTM with the same maths."""
    if isinstance(config, dict):
        if config.get("class_name") == "CuDNNLSTM":
            c = config["config"]
            keep = {k: c[k] for k in ("name", "trainable", "dtype", "units", "return_sequences",
                                      "return_state", "go_backwards", "stateful") if k in c}
            keep.update(activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                        unroll=False, unit_forget_bias=True)
            return {"class_name": "LSTM", "config": keep}
        return {k: cudnn_to_lstm_config(v) for k, v in config.items()}
    if isinstance(config, list):
        return [cudnn_to_lstm_config(v) for v in config]
    return config


def read_h5_model_config(path):
    import h5py
    with h5py.File(path, "r") as f:
        raw = f.attrs["model_config"]
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def load_model(K, loader, path, weights_only=False, config_path=None, cudnn_as_lstm=False):
    """Returns a model loaded the way a user of `loader` would load `path`."""
    if cudnn_as_lstm:
        if loader != "tf_keras":
            raise ValueError("--cudnn-as-lstm needs --loader tf_keras")
        if config_path:
            with open(config_path) as fh:
                text = fh.read()
        else:
            text = read_h5_model_config(path)
        model = K.models.model_from_json(json.dumps(cudnn_to_lstm_config(json.loads(text))))
        model.load_weights(path)
        return model
    if weights_only:
        if not config_path:
            raise ValueError("--weights-only needs --config")
        with open(config_path) as fh:
            model = K.models.model_from_json(fh.read())
        model.load_weights(path)
        return model
    return K.models.load_model(path, compile=False)


def compare(got, expected, rtol, atol):
    import numpy as np
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False, float("inf"), float("inf")
    diff = np.abs(got - expected)
    max_abs = float(diff.max()) if diff.size else 0.0
    rel = diff / np.maximum(np.abs(expected), 1e-30)
    max_rel = float(rel.max()) if rel.size else 0.0
    ok = bool(np.all(diff <= atol + rtol * np.abs(expected))) and bool(np.all(np.isfinite(got)))
    return ok, max_abs, max_rel


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--file", required=True)
    p.add_argument("--loader", required=True, choices=["keras3", "tf_keras"])
    p.add_argument("--inputs", required=True)
    p.add_argument("--expect")
    p.add_argument("--expect-model")
    p.add_argument("--expect-loader", choices=["keras3", "tf_keras"])
    p.add_argument("--predict", action="store_true")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-6)
    p.add_argument("--weights-only", action="store_true")
    p.add_argument("--config")
    p.add_argument("--cudnn-as-lstm", action="store_true")
    a = p.parse_args(argv)
    if (a.expect is None) == (a.expect_model is None):
        p.error("give exactly one of --expect and --expect-model")
    import numpy as np

    def outputs(model, x):
        y = model.predict(x, verbose=0) if a.predict else model(x, training=False)
        return np.asarray(y).astype(np.float64)
    try:
        x = np.load(a.inputs)
        if a.expect_model:
            loader = a.expect_loader or a.loader
            expected = outputs(load_model(import_loader(loader), loader, a.expect_model), x)
        else:
            expected = np.load(a.expect)
        K = import_loader(a.loader)
        model = load_model(K, a.loader, a.file, a.weights_only, a.config, a.cudnn_as_lstm)
        got = outputs(model, x)
    except Exception as e:  # any load/run failure is reported, not raised
        print(f"keras_check: cannot load or run {a.file} with {a.loader}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 2
    ok, max_abs, max_rel = compare(got, expected, a.rtol, a.atol)
    if got.shape != expected.shape:
        print(f"keras_check: shape {list(got.shape)} != expected {list(expected.shape)}", file=sys.stderr)
    print(json.dumps({"ok": ok, "max_abs": max_abs, "max_rel": max_rel, "loader": a.loader, "file": a.file}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
