#!/usr/bin/env python3
"""Independent reference numbers for LSTMs with peepholes (Spec/canonical-model.md M25, Spec/bptt.md B27-B29).

For a few models this script writes the equations of M25 directly in PyTorch float64 ops (no nn.LSTM, which
has no peepholes, and no LSTMFormat code), differentiates the loss of eq. 8.25 with torch.autograd, and writes,
per model, into Fixtures/reference-peephole/<name>/:
  model.h5       the weights in the canonical HDF5 layout (Spec/hdf5-layout.md, H13 for p_f, p_i, p_o), by h5py
  x.npy          inputs [batch, steps, features], or int64 token ids [batch, steps] for a model with an embedding
  t.npy          targets shaped like the outputs
  y.npy          outputs
  expected.npz   `loss` (0-d) and the gradient of the loss for every canonical tensor name
Peephole gates, as the ONNX LSTM operator defines them: f = σ(… + p_f ⊙ C(t-1)), i = σ(… + p_i ⊙ C(t-1)),
o = σ(… + p_o ⊙ C(t)) with the NEW cell state. Masked steps carry h and C (M19); a projection (M24) gives
h = W_hr (o ⊙ act(C)).

Run: ~/.cache/lstm-format/venv/bin/python scripts/make_peephole_reference.py   (torch 2.15.0, h5py, numpy 2.4.6)
"""
import os
import sys
import numpy as np
from canonical_reference import GATES, cells, make_weights, save_reference
import torch

torch.set_default_dtype(torch.float64)
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "reference-peephole")

ACT = {
    "linear": lambda x: x,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "hard_sigmoid_keras2": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "hard_sigmoid_keras3": lambda x: torch.clamp(x / 6.0 + 0.5, 0.0, 1.0),
    "softmax": lambda x: torch.softmax(x, dim=-1),
}


def run_cell(x_seq, w, prefix, layer, mask_seq=None, zero_output=False):
    """x_seq: list of [batch, in] tensors in processing order; mask_seq: matching [batch, 1] booleans (True =
    computed) or None. Returns the outputs in processing order."""
    sigma, act = ACT[layer["gate"]], ACT[layer["cell"]]
    batch = x_seq[0].shape[0]
    hidden = layer["hidden"]
    h = torch.zeros(batch, layer.get("proj", hidden))
    c = torch.zeros(batch, hidden)
    peep = layer.get("peepholes", False)
    out = []
    for t, x in enumerate(x_seq):
        z = {g: x @ w[prefix + "W_" + g].T + h @ w[prefix + "U_" + g].T + w[prefix + "b_" + g] for g in GATES}
        if peep:
            f = sigma(z["f"] + w[prefix + "p_f"] * c)
            i = sigma(z["i"] + w[prefix + "p_i"] * c)
        else:
            f, i = sigma(z["f"]), sigma(z["i"])
        c_new = f * c + i * act(z["c"])
        o = sigma(z["o"] + w[prefix + "p_o"] * c_new) if peep else sigma(z["o"])
        h_new = o * act(c_new)
        if "proj" in layer:
            h_new = h_new @ w[prefix + "W_hr"].T
        if mask_seq is None:
            c, h = c_new, h_new
            out.append(h)
            continue
        m = mask_seq[t]
        c = torch.where(m, c_new, c)
        h = torch.where(m, h_new, h)
        out.append(torch.where(m, h, torch.zeros_like(h)) if zero_output else h)
    return out


def forward(arch, w, x):
    steps = x.shape[1]
    mask = None
    if "embedding" in arch:
        if arch["embedding"]["mask_zero"]:
            mask = [torch.as_tensor(x[:, t:t + 1] != 0) for t in range(steps)]
        x = w["embedding.E"][torch.as_tensor(x)]
    else:
        if "mask_value" in arch:
            mask = [torch.as_tensor(np.any(x[:, t, :] != arch["mask_value"], axis=-1, keepdims=True)) for t in range(steps)]
        x = torch.as_tensor(x)
    seq = [x[:, t, :] for t in range(steps)]
    rmask = mask[::-1] if mask is not None else None
    for k, layer in enumerate(arch["layers"]):
        zero = layer.get("zero_output", False)
        if layer["direction"] == "forward":
            seq = run_cell(seq, w, f"lstm.{k}.fwd.", layer, mask, zero)
        elif layer["direction"] == "backward":  # go_backwards: outputs stay in processing order (M2)
            seq = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", layer, rmask, zero)
        else:
            hf = run_cell(seq, w, f"lstm.{k}.fwd.", layer, mask, zero)
            hb = run_cell(seq[::-1], w, f"lstm.{k}.bwd.", layer, rmask, zero)
            if k == len(arch["layers"]) - 1 and not arch["return_sequences"]:
                hf, hb = [hf[-1]], [hb[-1]]
            else:
                hb = hb[::-1]
            merge = {"concat": lambda a, b: torch.cat([a, b], -1), "sum": lambda a, b: a + b,
                     "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) / 2}[layer["merge"]]
            seq = [merge(a, b) for a, b in zip(hf, hb)]
    if not arch["return_sequences"]:
        seq = [seq[-1]]
    y = torch.stack(seq, dim=1)
    for j, d in enumerate(arch["dense"]):
        y = ACT[d["act"]](y @ w[f"dense.{j}.V"].T + w[f"dense.{j}.c"])
    return y if arch["return_sequences"] else y[:, 0, :]


def L(input, hidden, direction="forward", merge=None, gate="sigmoid", cell="tanh", **extra):
    d = dict(input=input, hidden=hidden, direction=direction, gate=gate, cell=cell, **extra)
    if merge:
        d["merge"] = merge
    return d


MODELS = {
    # One forward layer with peepholes, many-to-many, linear head.
    "peephole_forward": dict(layers=[L(3, 4, peepholes=True)], return_sequences=True,
                             dense=[dict(**{"in": 4, "out": 2}, act="linear")], batch=2, steps=6),
    # Bidirectional concat with peepholes -> backward (go_backwards) with peepholes and Keras 3 hard sigmoid /
    # relu cell -> plain forward; many-to-one, softmax head.
    "peephole_stacked_bidirectional": dict(layers=[L(2, 3, "bidirectional", "concat", peepholes=True),
                                                   L(6, 3, "backward", gate="hard_sigmoid_keras3", cell="relu", peepholes=True),
                                                   L(3, 2)],
                                           return_sequences=False, dense=[dict(**{"in": 2, "out": 3}, act="softmax")],
                                           batch=3, steps=5),
    # Masking(0.5) -> bidirectional sum with peepholes (zero outputs) -> forward with peepholes and a projection.
    "peephole_masked_projection": dict(mask_value=0.5,
                                       layers=[L(3, 4, "bidirectional", "sum", peepholes=True, zero_output=True),
                                               L(4, 4, proj=2, peepholes=True)],
                                       return_sequences=True, dense=[dict(**{"in": 2, "out": 2}, act="tanh")],
                                       batch=4, steps=6),
    # Embedding(mask_zero) -> forward with peepholes, many-to-one.
    "peephole_embedding": dict(embedding=dict(vocab=6, mask_zero=True), layers=[L(3, 3, peepholes=True)],
                               return_sequences=False, dense=[dict(**{"in": 3, "out": 1}, act="sigmoid")],
                               batch=4, steps=6),
}


def padded_inputs(arch, rng):
    """Leading (row 0), trailing (row 1), middle (row 2) and whole-row (row 3) padding."""
    b, t = arch["batch"], arch["steps"]
    pad = np.zeros((b, t), bool)
    pad[0, :2] = True
    pad[1, t - 2:] = True
    pad[2, 2:4] = True
    pad[3, :] = True
    if "embedding" in arch:
        x = rng.integers(1, arch["embedding"]["vocab"], (b, t)).astype(np.int64)
        x[pad] = 0
        return x
    x = rng.uniform(-1, 1, (b, t, arch["layers"][0]["input"]))
    x[pad] = arch["mask_value"]
    return x


def main():
    wanted = set(sys.argv[1:]) or set(MODELS)
    for index, name in enumerate(sorted(MODELS)):
        if name not in wanted:
            continue
        arch = MODELS[name]
        rng = np.random.default_rng(3000 + index)
        w_np = make_weights(arch, rng)
        if "embedding" in arch or "mask_value" in arch:
            x = padded_inputs(arch, rng)
        else:
            x = rng.uniform(-1, 1, (arch["batch"], arch["steps"], arch["layers"][0]["input"]))
        w = {k: torch.tensor(v, requires_grad=True) for k, v in w_np.items()}
        y = forward(arch, w, x)
        t = rng.uniform(-1, 1, tuple(y.shape))
        loss = (0.5 * (y - torch.as_tensor(t)) ** 2).sum()
        names = sorted(w)
        grads = torch.autograd.grad(loss, [w[n] for n in names])
        save_reference(os.path.join(ROOT, name), arch, w_np, name, "make_peephole_reference.py",
                       "torch " + torch.__version__, x, t, y.detach().numpy(), loss.item(),
                       {n: g.numpy() for n, g in zip(names, grads)})


if __name__ == "__main__":
    main()
