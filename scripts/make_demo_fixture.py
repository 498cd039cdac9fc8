#!/usr/bin/env python3
"""Writes Fixtures/demo/model.h5: a small, realistic LSTM model in the canonical HDF5 layout
(Spec/hdf5-layout.md), made with numpy and h5py only, so it also shows the layout can be written without
LSTMFormat.

Model: input 3 → LSTM forward (hidden 8) → LSTM bidirectional concat (hidden 8, output 16) → dense 16 → 4
tanh, many-to-many (return_sequences = 1), float32. Weights are Glorot-uniform kernels, orthogonal-ish
recurrent matrices scaled to 0.5, zero biases except forget-gate biases of 1 (as Keras initializes them),
from numpy's seeded generator, so the file is the same every run.

Run with the project venv: /root/.cache/lstm-format/venv/bin/python scripts/make_demo_fixture.py
"""
import os

import h5py
import numpy as np

SEED = 20240607
INPUT, HIDDEN, OUTPUT = 3, 8, 4


def glorot(rng, rows, cols):
    limit = np.sqrt(6.0 / (rows + cols))
    return rng.uniform(-limit, limit, size=(rows, cols)).astype("<f4")


def orthogonal(rng, n, scale=0.5):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (scale * q * np.sign(np.diag(r))).astype("<f4")


def write_cell(group, rng, hidden, inputs):
    for gate in "fico":
        group.create_dataset(f"W_{gate}", data=glorot(rng, hidden, inputs))
    for gate in "fico":
        group.create_dataset(f"U_{gate}", data=orthogonal(rng, hidden))
    for gate in "fico":
        bias = np.ones(hidden) if gate == "f" else np.zeros(hidden)
        group.create_dataset(f"b_{gate}", data=bias.astype("<f4"))


def write_layer(f, k, rng, inputs, hidden, direction, merge_mode=None):
    g = f.create_group(f"lstm/{k}")
    g.attrs["input_size"] = np.int64(inputs)
    g.attrs["hidden_size"] = np.int64(hidden)
    g.attrs["direction"] = direction
    if merge_mode is not None:
        g.attrs["merge_mode"] = merge_mode
    g.attrs["gate_activation"] = "sigmoid"
    g.attrs["cell_activation"] = "tanh"
    cells = {"forward": ["fwd"], "backward": ["bwd"], "bidirectional": ["fwd", "bwd"]}[direction]
    for cell in cells:
        write_cell(g.create_group(cell), rng, hidden, inputs)


def main():
    rng = np.random.default_rng(SEED)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "demo", "model.h5")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with h5py.File(out, "w") as f:  # h5py stores no object times by default (track_times=False)
        f.attrs["lstm_format"] = "canonical-lstm"
        f.attrs["lstm_format_version"] = np.int64(1)
        f.attrs["return_sequences"] = np.int64(1)
        f.attrs["num_lstm_layers"] = np.int64(2)
        f.attrs["num_dense_layers"] = np.int64(1)
        f.create_group("lstm")
        write_layer(f, 0, rng, INPUT, HIDDEN, "forward")
        write_layer(f, 1, rng, HIDDEN, HIDDEN, "bidirectional", "concat")
        d = f.create_group("dense/0")
        d.attrs["input_size"] = np.int64(2 * HIDDEN)
        d.attrs["output_size"] = np.int64(OUTPUT)
        d.attrs["activation"] = "tanh"
        d.create_dataset("V", data=glorot(rng, OUTPUT, 2 * HIDDEN))
        d.create_dataset("c", data=np.zeros(OUTPUT, dtype="<f4"))
        m = f.create_group("metadata")
        m.attrs["source.tool"] = "make_demo_fixture.py"
        m.attrs["source.tool_version"] = f"h5py {h5py.__version__}, numpy {np.__version__}"
        m.attrs["source.format"] = "hdf5"
        m.attrs["demo.seed"] = str(SEED)
        m.attrs["demo.description"] = "input 3 -> LSTM fwd 8 -> BiLSTM concat 8 -> dense 16->4 tanh, many-to-many"
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
