"""What the two independent reference scripts share: random canonical weights, the canonical HDF5 file they
are stored in (Spec/hdf5-layout.md, written with h5py) and the files of one reference folder.

The computations themselves stay apart on purpose: scripts/make_reference_numerics.py writes the equations in
TensorFlow ops, scripts/make_peephole_reference.py in PyTorch ops; neither uses LSTMFormat code.
"""
import os
import numpy as np
import h5py

GATES = "fico"


def cells(layer):
    return {"forward": ["fwd"], "backward": ["bwd"], "bidirectional": ["fwd", "bwd"]}[layer["direction"]]


def make_weights(arch, rng):
    """Canonical tensors (Spec/canonical-model.md names) drawn from rng in a fixed order; peepholes (M25) and a
    projection (M24) only where the layer asks for them, so models without them draw what they always drew."""
    w = {}
    if "embedding" in arch:
        w["embedding.E"] = rng.normal(0, 0.8, (arch["embedding"]["vocab"], arch["layers"][0]["input"]))
    for k, layer in enumerate(arch["layers"]):
        h, i = layer["hidden"], layer["input"]
        s = layer.get("proj", h)
        for c in cells(layer):
            for g in GATES:
                w[f"lstm.{k}.{c}.W_{g}"] = rng.normal(0, 0.6, (h, i))
                w[f"lstm.{k}.{c}.U_{g}"] = rng.normal(0, 0.6, (h, s))
                w[f"lstm.{k}.{c}.b_{g}"] = rng.normal(0, 0.4, (h,))
            if layer.get("peepholes"):
                for g in "fio":
                    w[f"lstm.{k}.{c}.p_{g}"] = rng.normal(0, 0.8, (h,))
            if "proj" in layer:
                w[f"lstm.{k}.{c}.W_hr"] = rng.normal(0, 0.6, (s, h))
    for j, d in enumerate(arch["dense"]):
        w[f"dense.{j}.V"] = rng.normal(0, 0.6, (d["out"], d["in"]))
        w[f"dense.{j}.c"] = rng.normal(0, 0.3, (d["out"],))
    return w


def write_canonical_h5(path, arch, w, name, tool, tool_version):
    """The model in the canonical HDF5 layout, float64 datasets (H13 for p_f, p_i, p_o; projection_size)."""
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["lstm_format"] = "canonical-lstm"
        f.attrs["lstm_format_version"] = np.int64(1)
        f.attrs["return_sequences"] = np.int64(1 if arch["return_sequences"] else 0)
        f.attrs["num_lstm_layers"] = np.int64(len(arch["layers"]))
        f.attrs["num_dense_layers"] = np.int64(len(arch["dense"]))
        if "mask_value" in arch:
            f.attrs["mask_value"] = np.float64(arch["mask_value"])
        if "embedding" in arch:
            g = f.create_group("embedding")
            g.attrs["vocabulary_size"] = np.int64(arch["embedding"]["vocab"])
            g.attrs["mask_zero"] = np.int64(1 if arch["embedding"]["mask_zero"] else 0)
            g.create_dataset("E", data=w["embedding.E"].astype(np.float64))
        for k, layer in enumerate(arch["layers"]):
            g = f.create_group(f"lstm/{k}")
            g.attrs["input_size"] = np.int64(layer["input"])
            g.attrs["hidden_size"] = np.int64(layer["hidden"])
            g.attrs["direction"] = layer["direction"]
            if layer["direction"] == "bidirectional":
                g.attrs["merge_mode"] = layer["merge"]
            g.attrs["gate_activation"] = layer["gate"]
            g.attrs["cell_activation"] = layer["cell"]
            if layer.get("zero_output", False):
                g.attrs["zero_output_for_mask"] = np.int64(1)
            if layer.get("peepholes"):
                g.attrs["peepholes"] = np.int64(1)  # H13
            if "proj" in layer:
                g.attrs["projection_size"] = np.int64(layer["proj"])
            for c in cells(layer):
                names = [f"{kind}_{gate}" for kind in "WUb" for gate in GATES]
                names += ["p_f", "p_i", "p_o"] if layer.get("peepholes") else []
                names += ["W_hr"] if "proj" in layer else []
                for n in names:
                    g.create_dataset(f"{c}/{n}", data=w[f"lstm.{k}.{c}.{n}"].astype(np.float64))
        for j, d in enumerate(arch["dense"]):
            g = f.create_group(f"dense/{j}")
            g.attrs["input_size"] = np.int64(d["in"])
            g.attrs["output_size"] = np.int64(d["out"])
            g.attrs["activation"] = d["act"]
            g.create_dataset("V", data=w[f"dense.{j}.V"].astype(np.float64))
            g.create_dataset("c", data=w[f"dense.{j}.c"].astype(np.float64))
        meta = f.create_group("metadata")
        meta.attrs["source.tool"] = tool
        meta.attrs["source.tool_version"] = tool_version
        meta.attrs["reference.name"] = name


def save_reference(out, arch, w, name, tool, tool_version, x, t, y, loss, grads):
    """One reference folder: model.h5, x.npy, t.npy, y.npy and expected.npz (loss and every gradient), all
    float64 numpy arrays computed by the calling script's tool."""
    os.makedirs(out, exist_ok=True)
    write_canonical_h5(os.path.join(out, "model.h5"), arch, w, name, tool, tool_version)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "t.npy"), t)
    np.save(os.path.join(out, "y.npy"), y)
    np.savez(os.path.join(out, "expected.npz"), loss=np.float64(loss), **grads)
    print(f"{name}: loss {loss:.6f}, outputs {tuple(y.shape)}, {len(w)} tensors")
