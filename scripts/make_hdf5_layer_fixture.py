#!/usr/bin/env python3
"""Writes Fixtures/hdf5/h5py-layer.h5: a small file made by h5py (not by LSTMFormat) that the HDF5 layer tests
read back. It holds the attribute and dataset kinds Keras and the canonical layout use: variable- and
fixed-length strings (scalar and arrays), integers, 0-d datasets, big-endian floats, float16, bfloat16 bits
and a compressed chunked dataset. Values are exact in every dtype so the tests can state them literally.

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
