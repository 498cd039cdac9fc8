#!/usr/bin/env python3
"""Writes two small files made by h5py (not by LSTMFormat) that the HDF5 tests read back:

- Fixtures/hdf5/h5py-layer.h5: the attribute and dataset kinds Keras and the canonical layout use: variable-
  and fixed-length strings (scalar and arrays), integers, 0-d datasets, big-endian floats, float16, bfloat16
  bits and a compressed chunked dataset. Values are exact in every dtype so the tests can state them literally.
- Fixtures/hdf5/h5py-canonical.h5: a model in the canonical layout of Spec/hdf5-layout.md (bidirectional
  `sum` float32 layer, backward float64 layer, many-to-one, dense softmax head in bfloat16 and float16), whose
  tensor number n (canonical order) holds element i = ((7n + i) mod 16) / 4 - 2, exact in every dtype.

Run with the project venv: /root/.cache/lstm-format/venv/bin/python scripts/make_hdf5_layer_fixture.py
"""
import os

import h5py
import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "hdf5", "h5py-layer.h5")
with h5py.File(out, "w", track_order=False) as f:
    f.attrs["vlen"] = "h\u00e9llo"                                   # str -> scalar vlen UTF-8
    f.attrs["fixed"] = np.bytes_(b"abc")                              # bytes -> scalar fixed-length ASCII
    f.attrs["layer_names"] = np.array([b"lstm", b"dense_1"])          # |S7 array, Keras 2 style
    f.attrs["vlen_names"] = np.array(["a", "b\u00e9"], dtype=h5py.string_dtype())  # vlen str array
    f.attrs["one"] = np.array([b"only"])                              # 1-element fixed array
    f.attrs["n32"] = np.int32(7)
    f.attrs["n64"] = np.int64(-1234567890123)
    f.attrs["real"] = np.float64(0.5)
    g = f.create_group("g/sub")
    g.attrs["k"] = 3
    f.create_dataset("f32", data=np.array([[1, 2, 3], [4, 5, 6]], dtype="<f4") * 0.5)
    f.create_dataset("f64be", data=np.array([0.25, -1.5, 1e300], dtype=">f8"))
    f.create_dataset("f16", data=np.array([[1, -2], [0.5, 65504]], dtype="<f2"))
    f.create_dataset("f16be", data=np.array([3, -0.25], dtype=">f2"))
    bf = f.create_dataset("bf16", data=np.array([0x3F80, 0xC000, 0x3F00], dtype="<u2"))  # 1, -2, 0.5
    bf.attrs["dtype"] = "bfloat16"
    f.create_dataset("u16", data=np.array([1, 2], dtype="<u2"))      # no dtype attribute: unsupported
    f.create_dataset("i32", data=np.array([1, 2], dtype="<i4"))      # unsupported
    f.create_dataset("scalar", data=np.float32(2.5))                  # 0-d
    f.create_dataset("gz", data=np.arange(12, dtype="<f4").reshape(3, 4), chunks=(2, 4),
                     shuffle=True, compression="gzip", compression_opts=6)
print(out)


def value(n, count):
    return np.array([((7 * n + i) % 16) / 4 - 2 for i in range(count)])


def canonical(path):
    gates = "fico"
    layers = [dict(i=2, h=3, direction="bidirectional", merge="sum", gate="hard_sigmoid_keras3", cell="tanh", dtype="<f4"),
              dict(i=3, h=2, direction="backward", merge=None, gate="sigmoid", cell="relu", dtype=">f8")]
    with h5py.File(path, "w") as f:
        f.attrs["lstm_format"] = "canonical-lstm"
        f.attrs["lstm_format_version"] = np.int64(1)
        f.attrs["return_sequences"] = np.int64(0)
        f.attrs["num_lstm_layers"] = np.int64(2)
        f.attrs["num_dense_layers"] = np.int64(1)
        n = 0
        for k, layer in enumerate(layers):
            g = f.create_group(f"lstm/{k}")
            g.attrs["input_size"] = np.int64(layer["i"])
            g.attrs["hidden_size"] = np.int64(layer["h"])
            g.attrs["direction"] = layer["direction"]
            if layer["merge"]:
                g.attrs["merge_mode"] = layer["merge"]
            g.attrs["gate_activation"] = layer["gate"]
            g.attrs["cell_activation"] = layer["cell"]
            cells = {"forward": ["fwd"], "backward": ["bwd"], "bidirectional": ["fwd", "bwd"]}[layer["direction"]]
            h, i = layer["h"], layer["i"]
            for cell in cells:
                for kind, shape in (("W", (h, i)), ("U", (h, h)), ("b", (h,))):
                    for gate in gates:
                        count = int(np.prod(shape))
                        g.create_dataset(f"{cell}/{kind}_{gate}", data=value(n, count).reshape(shape).astype(layer["dtype"]))
                        n += 1
        d = f.create_group("dense/0")
        d.attrs["input_size"] = np.int64(2)
        d.attrs["output_size"] = np.int64(2)
        d.attrs["activation"] = "softmax"
        v = value(n, 4).astype("<f4").reshape(2, 2).view("<u2")[:, 1::2]  # top halves = bfloat16 bits
        d.create_dataset("V", data=np.ascontiguousarray(v)).attrs["dtype"] = "bfloat16"
        d.create_dataset("c", data=value(n + 1, 2).astype("<f2"))
        m = f.create_group("metadata")
        m.attrs["source.tool"] = "make_hdf5_layer_fixture.py"
        m.attrs["note"] = "\u00fcnicode \u2713"


canonical_out = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "hdf5", "h5py-canonical.h5")
canonical(canonical_out)
print(canonical_out)
