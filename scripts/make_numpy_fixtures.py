#!/usr/bin/env python3
"""Writes Fixtures/numpy/: small .npy/.npz files made by numpy itself, for LSTMFormat's NumPy reader tests.

Every array holds arange-based values so the Swift tests can state the expected numbers independently.
Run with the project venv: scripts/venv.sh python scripts/make_numpy_fixtures.py
"""
import os
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "numpy")
os.makedirs(out, exist_ok=True)

def write(name, arr, version=None):
    with open(os.path.join(out, name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version, allow_pickle=False)

a = (np.arange(6, dtype=np.float32) * 0.5 - 1).reshape(2, 3)          # [[-1,-0.5,0],[0.5,1,1.5]]
write("v1_f4_2x3.npy", a, version=(1, 0))
write("v2_f8_3.npy", np.array([1.0, 2.5, -3.25], dtype=np.float64), version=(2, 0))
write("v1_f2_2.npy", np.array([0.5, -2.0], dtype=np.float16), version=(1, 0))
write("scalar_f8.npy", np.array(7.5, dtype=np.float64), version=(1, 0))
write("fortran_f4.npy", np.asfortranarray(a), version=(1, 0))
write("big_endian_f4.npy", a.astype(">f4"), version=(1, 0))
write("int32.npy", np.arange(4, dtype=np.int32), version=(1, 0))
# Spec/reliability.md N1: Fortran-order arrays, read in C order. np.save writes 'fortran_order': True for an
# F-contiguous array of two or more dimensions (a transposed view too); for 0-d and 1-d arrays it always writes
# False, so those two headers are written with numpy's own header writer, and numpy's reader must give back the
# array we mean.
b = np.arange(24, dtype=np.float64).reshape(2, 3, 4) * 0.25 - 3               # b[i,j,k] = (12i + 4j + k)/4 - 3
write("fortran_f8_2x3x4.npy", np.asfortranarray(b), version=(1, 0))
t = np.arange(6, dtype=np.int32).reshape(3, 2).T                                # [[0,2,4],[1,3,5]], F-contiguous
assert t.flags.f_contiguous and not t.flags.c_contiguous
write("fortran_i4_2x3.npy", t, version=(1, 0))
np.savez(os.path.join(out, "fortran.npz"), b=np.asfortranarray(b))

def write_fortran_header(name, arr):
    with open(os.path.join(out, name), "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": arr.dtype.str, "fortran_order": True, "shape": arr.shape})
        f.write(arr.tobytes(order="F"))
    back = np.load(os.path.join(out, name))
    assert back.shape == arr.shape and np.array_equal(back, arr), name

write_fortran_header("fortran_1d_f4.npy", np.array([1.5, -2.0, 0.25], dtype=np.float32))
write_fortran_header("fortran_0d_f8.npy", np.array(-6.5, dtype=np.float64))
for name in ("fortran_f4.npy", "fortran_f8_2x3x4.npy", "fortran_i4_2x3.npy"):
    with open(os.path.join(out, name), "rb") as f:
        assert b"'fortran_order': True" in f.read(128), name
np.savez(os.path.join(out, "stored.npz"), x=a, loss=np.array(0.25))
np.savez_compressed(os.path.join(out, "compressed.npz"), x=a, y=np.arange(3, dtype=np.float64))
print("numpy", np.__version__, "wrote", sorted(os.listdir(out)))
