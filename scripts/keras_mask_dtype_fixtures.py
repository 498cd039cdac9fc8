#!/usr/bin/env python3
"""Real Keras 3 and tf_keras models for M18's comparison dtype (Spec/canonical-model.md M18; the fresh-clone
review of 2026-12-01): Masking(mask_value=0.1) -> LSTM(4, return_sequences=True), float32 and float64 models, fed
float64, float32 and float16 inputs whose padded steps are 0.1 in float64, 0.1 + 1e-12 (float32(0.1) after the
cast), float32(0.1) widened, or float16(0.1). Seen here: a float32 model casts its float inputs to float32 and
Masking compares them with float32(0.1), whatever the input file's dtype (Keras 3 and tf_keras alike); a float64
Keras 3 model compares its float64 inputs with float32(0.1) widened (the mask value stays a float32 constant), and
its `predict` rounds float64 inputs to float32 (floatx) before the model sees them.

Writes Fixtures/keras-masking/dtype/:
  model_f32.keras, model_f64.keras   Keras 3 (the float64 one with dtype="float64" layers)
  model_f32.h5                       tf_keras legacy .h5, the same float32 weights
  x64.npy, x32.npy, x16.npy          inputs [2, 5, 3]
  y_<model>_<input>.npy              Keras's predictions (model.predict) for each model and input
  yc_f64_x64.npy                     the float64 model called directly, model(x64) (no predict cast)
Expected values come from Keras/TensorFlow only.

Pinned: the test venv (scripts/requirements-keras.txt): tensorflow 2.21.0, keras 3.15.1, tf_keras 2.21.0.
Run: ~/.cache/lstm-format/venv/bin/python scripts/keras_mask_dtype_fixtures.py
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import numpy as np
import keras
import tf_keras

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "keras-masking", "dtype")


def main():
    for pkg, want in ((keras, "3.15.1"), (tf_keras, "2.21.0")):
        if pkg.__version__ != want:
            raise SystemExit(f"pinned {pkg.__name__} {want}, found {pkg.__version__}")
    os.makedirs(ROOT, exist_ok=True)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 3))
    x[0, 1, :] = 0.1                    # 0.1 in float64
    x[0, 2, :] = 0.1 + 1e-12            # float32(0.1) after the cast, not float64(0.1)
    x[1, 3, :] = np.float32(0.1)        # float32(0.1) widened
    x[1, 4, :] = np.float16(0.1)        # float16(0.1) widened
    inputs = {"x64": x, "x32": x.astype(np.float32), "x16": x.astype(np.float16)}
    for name, a in inputs.items():
        np.save(os.path.join(ROOT, name + ".npy"), a)

    def build(dtype):
        i = keras.Input((None, 3), dtype=dtype)
        h = keras.layers.Masking(mask_value=0.1, dtype=dtype)(i)
        return keras.Model(i, keras.layers.LSTM(4, return_sequences=True, dtype=dtype)(h))

    f32 = build("float32")
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in f32.get_weights()]
    f32.set_weights(weights)
    f64 = build("float64")
    f64.set_weights([w.astype(np.float64) for w in weights])
    legacy = tf_keras.Sequential([tf_keras.Input((None, 3)), tf_keras.layers.Masking(mask_value=0.1),
                                  tf_keras.layers.LSTM(4, return_sequences=True)])
    legacy.set_weights(weights)
    f32.save(os.path.join(ROOT, "model_f32.keras"))
    f64.save(os.path.join(ROOT, "model_f64.keras"))
    legacy.save(os.path.join(ROOT, "model_f32.h5"))
    for model_name, model in (("f32", f32), ("f64", f64), ("f32h5", legacy)):
        for name, a in inputs.items():
            y = model.predict(a, verbose=0)
            np.save(os.path.join(ROOT, f"y_{model_name}_{name}.npy"), y)
            carried = [[int(t > 0 and np.array_equal(y[b, t], y[b, t - 1])) for t in range(5)] for b in range(2)]
            print(model_name, name, y.dtype, "steps whose output repeats the previous one:", carried)
    yc = np.asarray(f64(inputs["x64"]))
    np.save(os.path.join(ROOT, "yc_f64_x64.npy"), yc)
    print("f64 x64 called directly:", [[int(t > 0 and np.array_equal(yc[b, t], yc[b, t - 1])) for t in range(5)] for b in range(2)])


if __name__ == "__main__":
    main()
