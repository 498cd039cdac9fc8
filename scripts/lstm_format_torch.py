#!/usr/bin/env python3
"""Load a model that lstm-format wrote as .safetensors or .pt into a real torch nn.Module.

    import lstm_format_torch as lft
    module, architecture = lft.load("model.safetensors")   # or "model.pt" (torch.load(weights_only=True))
    y = module(x)                                          # x: float tensor [batch, steps, features]

The module is built from the metadata lstm-format writes (Spec/pytorch-mapping.md, P-W3): the nn.LSTM and
nn.Linear modules under their state-dict prefixes ("lstm_format.pytorch_modules"), and the canonical
architecture ("lstm_format.architecture": head activations, many-to-one or many-to-many). The state dict is
loaded with load_state_dict(strict=True). Its forward pass is the canonical model's (Spec/canonical-model.md):
many-to-one takes the last step (a bidirectional layer's backward half: its state after reading the whole
sequence, out[:, 0, H:]); Dense activations linear, sigmoid, tanh, relu, softmax (last axis).

As a script it prints the module and checks predictions:
    python scripts/lstm_format_torch.py MODEL --inputs x.npy [--expect y.npy] [--rtol 1e-5 --atol 1e-6]
    python scripts/lstm_format_torch.py --batch checks.json      # [[model, inputs, expect], ...]
"""
import argparse
import json
import sys

import torch
import torch.nn as nn

ACTIVATIONS = {
    "linear": lambda v: v,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "softmax": lambda v: torch.softmax(v, dim=-1),
}


class CanonicalLSTM(nn.Module):
    """nn.LSTM and nn.Linear modules at their original state-dict prefixes, run as the canonical model."""

    def __init__(self, modules, architecture):
        super().__init__()
        self._order = []
        for m in modules:
            path = m["prefix"][:-1] if m["prefix"].endswith(".") else m["prefix"]
            if m["type"] == "LSTM":
                module = nn.LSTM(m["input_size"], m["output_size"], num_layers=m["num_layers"], bias=m["bias"],
                                 batch_first=True, bidirectional=m["bidirectional"], proj_size=m.get("proj_size", 0))
            else:
                module = nn.Linear(m["input_size"], m["output_size"], bias=m["bias"])
            self._place(path, module)
            self._order.append((path, m))
        self.return_sequences = architecture["return_sequences"]
        self.activations = [d["activation"] for d in architecture["dense"]]

    def _place(self, path, module):
        if path == "":
            raise ValueError("a module without a prefix cannot be placed in a container; load its state dict directly")
        parent = self
        parts = path.split(".")
        for p in parts[:-1]:
            if not hasattr(parent, p):
                parent.add_module(p, nn.Module())
            parent = getattr(parent, p)
        parent.add_module(parts[-1], module)

    def _get(self, path):
        module = self
        for p in path.split("."):
            module = getattr(module, p)
        return module

    def forward(self, x):
        out = x
        lstms = [(p, m) for p, m in self._order if m["type"] == "LSTM"]
        for path, _ in lstms:
            out, _ = self._get(path)(out)
        if not self.return_sequences:
            last = lstms[-1][1]
            if last["bidirectional"]:
                h = last["output_size"]
                out = torch.cat([out[:, -1, :h], out[:, 0, h:]], dim=-1)
            else:
                out = out[:, -1]
        linears = [p for p, m in self._order if m["type"] == "Linear"]
        for path, act in zip(linears, self.activations):
            out = ACTIVATIONS[act](self._get(path)(out))
        return out


def read(path):
    """(state dict, metadata map) of a .safetensors or .pt file written by lstm-format."""
    if path.endswith(".safetensors"):
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
        return load_file(path), metadata
    state = torch.load(path, weights_only=True)
    metadata = dict(getattr(state, "_metadata", {}).get("lstm_format", {}))
    return state, metadata


def load(path):
    """(module, canonical architecture dict), weights loaded with strict=True, in eval mode."""
    state, metadata = read(path)
    modules = json.loads(metadata["lstm_format.pytorch_modules"])
    architecture = json.loads(metadata["lstm_format.architecture"])
    module = CanonicalLSTM(modules, architecture)
    module.load_state_dict(state, strict=True)
    return module.eval(), architecture


def main():
    import numpy as np
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?")
    ap.add_argument("--inputs")
    ap.add_argument("--batch", help="JSON list of [model, inputs, expect] triples, checked in one process")
    ap.add_argument("--expect")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--atol", type=float, default=1e-6)
    a = ap.parse_args()
    if a.batch:
        failed = 0
        for model, inputs, expect in json.load(open(a.batch)):
            failed += check(model, inputs, expect, a.rtol, a.atol)
        sys.exit(1 if failed else 0)
    if not (a.model and a.inputs):
        ap.error("MODEL and --inputs are required without --batch")
    if a.expect:
        sys.exit(check(a.model, a.inputs, a.expect, a.rtol, a.atol))
    module, _ = load(a.model)
    print(module)


def check(model_path, inputs, expect, rtol, atol):
    """0 when the module's predictions for inputs match expect, else 1 (a line says which file differs)."""
    import numpy as np
    module, _ = load(model_path)
    with torch.no_grad():
        y = module(torch.from_numpy(np.load(inputs)).float()).numpy()
    want = np.load(expect)
    if y.shape != want.shape or not np.allclose(y, want, rtol=rtol, atol=atol):
        err = float(np.max(np.abs(y - want))) if y.shape == want.shape else float("nan")
        print(f"{model_path}: predictions differ (shape {y.shape} vs {want.shape}, max abs error {err})")
        return 1
    print(f"{model_path}: {y.size} predictions match")
    return 0


if __name__ == "__main__":
    main()
