#!/usr/bin/env python3
"""Build the real-PyTorch fixtures in Fixtures/pytorch/ (Spec/pytorch-mapping.md, P-T rules).

Run with the project venv:  "$(scripts/setup.sh | tail -n 1)" scripts/pytorch_fixtures.py
Pinned: torch 2.15.0 (CPU arithmetic) and safetensors 0.8.0 (scripts/requirements-interop.txt).
Deterministic: every fixture seeds torch from its id.

Per fixture directory Fixtures/pytorch/<id>/:
  model.pt / model.safetensors   the state dict (or checkpoint dict) as torch.save / safetensors write it
  arch.json                      the canonical architecture of the module (ModelArchitecture JSON, snake_case)
  x.npy, y.npy, t.npy            float32 inputs [batch, steps, features], PyTorch outputs, targets
  expected.npz                   loss (float64, 0.5*sum((y-t)^2)) and grad/<state-dict key> from autograd
manifest.json lists every fixture, its files and what it must import as (or why it is refused).
"""
import copy
import io
import json
import os
import pickle
import shutil
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import save_file

assert torch.__version__.startswith("2.15.0"), torch.__version__
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "pytorch")
torch.set_num_threads(1)


def L(i, h, direction="forward", merge=None, proj=None):
    layer = {"input_size": i, "hidden_size": h, "direction": direction, "merge_mode": merge,
             "gate_activation": "sigmoid", "cell_activation": "tanh"}
    if proj:
        layer["projection_size"] = proj
    return layer


def D(i, o, act="linear"):
    return {"input_size": i, "output_size": o, "activation": act}


ACT = {"linear": lambda v: v, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu}


class Net(nn.Module):
    """LSTM modules in a row, then Linear layers with activations; many-to-one takes the last step."""

    def __init__(self, lstms, linears, acts, last_step):
        super().__init__()
        self.names = []
        for name, module in lstms + linears:
            self.add_module(name, module)
            self.names.append(name)
        self.n_lstm = len(lstms)
        self.acts = acts
        self.last_step = last_step

    def forward(self, x):
        out = x
        for name in self.names[:self.n_lstm]:
            out, _ = getattr(self, name)(out)
        if self.last_step:
            out = out[:, -1]
        for name, act in zip(self.names[self.n_lstm:], self.acts):
            out = ACT[act](getattr(self, name)(out))
        return out


def run(fid, net, arch, shape, save, imports_as=None, note=""):
    d = os.path.join(ROOT, fid)
    os.makedirs(d, exist_ok=True)
    gen = torch.Generator().manual_seed(sum(map(ord, fid)))
    x = torch.randn(*shape, generator=gen)
    y = net(x)
    t = torch.randn(*y.shape, generator=gen)
    loss = 0.5 * ((y.double() - t.double()) ** 2).sum()
    net.zero_grad()
    (0.5 * ((y - t) ** 2).sum()).backward()
    sd = net.state_dict()
    grads = {f"grad/{k}": dict(net.named_parameters())[k].grad.numpy() for k in sd}
    np.save(os.path.join(d, "x.npy"), x.numpy())
    np.save(os.path.join(d, "y.npy"), y.detach().numpy())
    np.save(os.path.join(d, "t.npy"), t.numpy())
    np.savez(os.path.join(d, "expected.npz"), loss=np.array(loss.item()), **grads)
    with open(os.path.join(d, "arch.json"), "w") as f:
        json.dump(arch, f, indent=1, sort_keys=True)
    files = save(d, net)
    entry = {"id": fid, "files": files, "architecture": arch, "inputs": "x.npy", "outputs": "y.npy",
             "targets": "t.npy", "expected": "expected.npz", "keys": list(sd.keys()), "note": note}
    if imports_as:
        entry["imports_as"] = imports_as
    return entry


def save_both(d, net):
    sd = {k: v.contiguous() for k, v in net.state_dict().items()}
    save_file(sd, os.path.join(d, "model.safetensors"))
    torch.save(net.state_dict(), os.path.join(d, "model.pt"))
    return {"safetensors": "model.safetensors", "pt": "model.pt"}


def save_shared_storage(d, net):
    """All parameters as views into one flat storage (what flatten_parameters() leaves on cuDNN), one of them a
    transposed (non-contiguous) view: offsets and strides must be honoured."""
    sd = net.state_dict()
    total = sum(v.numel() for v in sd.values())
    flat = torch.empty(total)
    views, off = {}, 0
    for k, v in sd.items():
        n = v.numel()
        if k == "lstm.weight_hh_l1":  # store as the transpose of a contiguous block: strides (1, rows)
            block = flat[off:off + n].view(v.shape[1], v.shape[0])
            block.copy_(v.t())
            views[k] = block.t()
        else:
            flat[off:off + n].view(v.shape).copy_(v)
            views[k] = flat[off:off + n].view(v.shape)
        off += n
    assert not views["lstm.weight_hh_l1"].is_contiguous()
    for k in sd:
        assert torch.equal(views[k], sd[k]), k
    torch.save(views, os.path.join(d, "model.pt"))
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(d, "model.safetensors"))
    return {"safetensors": "model.safetensors", "pt": "model.pt"}


def save_checkpoint(d, net):
    weights = copy.deepcopy(net.state_dict())  # the weights y was computed with (OrderedDict with _metadata)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    opt.step()  # gradients are set: the optimizer state now holds tensors (and the module's weights move)
    ckpt = {"epoch": 3, "loss": 0.25, "model_state_dict": weights, "optimizer_state_dict": opt.state_dict()}
    torch.save(ckpt, os.path.join(d, "model.pt"))
    # a second checkpoint in the Lightning style: {"state_dict": {"model.<key>": …}}
    torch.save({"state_dict": {f"model.{k}": v for k, v in weights.items()}, "global_step": 10},
               os.path.join(d, "lightning.ckpt"))
    return {"pt": "model.pt", "lightning": "lightning.ckpt"}


def save_dtypes(d, net):
    sd = net.state_dict()
    save_file({k: v.double() for k, v in sd.items()}, os.path.join(d, "float64.safetensors"))
    save_file({k: v.half() for k, v in sd.items()}, os.path.join(d, "float16.safetensors"))
    save_file({k: v.bfloat16() for k, v in sd.items()}, os.path.join(d, "bfloat16.safetensors"))
    torch.save({k: v.bfloat16() for k, v in sd.items()}, os.path.join(d, "bfloat16.pt"))
    return {"float64": "float64.safetensors", "float16": "float16.safetensors", "bfloat16": "bfloat16.safetensors",
            "bfloat16_pt": "bfloat16.pt"}


def accepted():
    out = []
    torch.manual_seed(1)
    net = Net([("lstm", nn.LSTM(3, 4, batch_first=True))], [("fc", nn.Linear(4, 2))], ["linear"], False)
    out.append(run("lstm_seq", net, {"layers": [L(3, 4)], "return_sequences": True, "dense": [D(4, 2)]},
                   (2, 5, 3), save_both, note="plain state dict; the inferred architecture is the real one"))
    torch.manual_seed(2)
    net = Net([("rnn", nn.LSTM(3, 5, num_layers=2, batch_first=True))], [("head", nn.Linear(5, 1))], ["tanh"], True)
    out.append(run("lstm2_last_tanh", net, {"layers": [L(3, 5), L(5, 5)], "return_sequences": False, "dense": [D(5, 1, "tanh")]},
                   (3, 6, 3), save_both, note="many-to-one and a tanh head: needs --architecture"))
    torch.manual_seed(3)
    net = Net([("lstm", nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True))], [("out", nn.Linear(8, 2))], ["linear"], False)
    out.append(run("bilstm2_shared_storage", net, {"layers": [L(3, 4, "bidirectional", "concat"), L(8, 4, "bidirectional", "concat")],
                                                   "return_sequences": True, "dense": [D(8, 2)]},
                   (2, 4, 3), save_shared_storage, note="one storage, offsets and a transposed view"))
    torch.manual_seed(4)
    net = Net([("lstm", nn.LSTM(3, 4, batch_first=True))], [("fc", nn.Linear(4, 2))], ["linear"], False)
    out.append(run("checkpoint", net, {"layers": [L(3, 4)], "return_sequences": True, "dense": [D(4, 2)]},
                   (2, 5, 3), save_checkpoint, note="checkpoint dicts with optimizer state"))
    torch.manual_seed(5)
    net = Net([("encoder", nn.LSTM(3, 4, batch_first=True)), ("decoder", nn.LSTM(4, 6, bias=False, batch_first=True))],
              [("proj", nn.Linear(6, 5)), ("cls", nn.Linear(5, 3))], ["relu", "linear"], False)
    out.append(run("two_lstms_two_linears", net, {"layers": [L(3, 4), L(4, 6)], "return_sequences": True, "dense": [D(6, 5, "relu"), D(5, 3)]},
                   (2, 5, 3), save_both, note="two nn.LSTM modules (the second without bias) and two Linear layers"))
    torch.manual_seed(6)
    net = Net([("lstm", nn.LSTM(2, 3, batch_first=True))], [("fc", nn.Linear(3, 2))], ["linear"], False)
    out.append(run("dtypes", net, {"layers": [L(2, 3)], "return_sequences": True, "dense": [D(3, 2)]},
                   (2, 3, 2), save_dtypes, note="float64, float16, bfloat16 copies of a float32 model"))
    torch.manual_seed(7)
    net = Net([("lstm", nn.LSTM(3, 5, proj_size=2, batch_first=True))], [("fc", nn.Linear(2, 2))], ["linear"], False)
    out.append(run("proj_size", net, {"layers": [L(3, 5, proj=2)], "return_sequences": True, "dense": [D(2, 2)]},
                   (2, 5, 3), save_both, note="nn.LSTM(proj_size=2): weight_hr_l0 [2, 5], weight_hh_l0 [20, 2]"))
    torch.manual_seed(8)
    net = Net([("lstm", nn.LSTM(3, 5, num_layers=2, proj_size=3, bidirectional=True, batch_first=True))],
              [("fc", nn.Linear(6, 2))], ["tanh"], False)
    # Many-to-many: out[:, -1] of a bidirectional nn.LSTM is not the canonical many-to-one (M5 takes the
    # backward cell's last computed state, PyTorch's position T-1 holds its first).
    out.append(run("bilstm2_proj_size", net, {"layers": [L(3, 5, "bidirectional", "concat", 3), L(6, 5, "bidirectional", "concat", 3)],
                                              "return_sequences": True, "dense": [D(6, 2, "tanh")]},
                   (3, 4, 3), save_both, note="2-layer bidirectional nn.LSTM(proj_size=3) and a tanh head: needs --architecture"))
    return out


class ShellCommand:
    """A pickle payload that would run a shell command when unpickled by pickle.load."""

    def __reduce__(self):
        return (os.system, ("touch /tmp/lstm-format-pwned",))


def refusals():
    d = os.path.join(ROOT, "refused")
    os.makedirs(d, exist_ok=True)
    out = []
    torch.manual_seed(7)
    gru = nn.GRU(3, 4, batch_first=True)
    save_file({f"gru.{k}": v for k, v in gru.state_dict().items()}, os.path.join(d, "gru.safetensors"))
    torch.save({f"gru.{k}": v for k, v in gru.state_dict().items()}, os.path.join(d, "gru.pt"))
    out += [{"id": "gru_safetensors", "file": "refused/gru.safetensors", "reason": "nn.GRU"},
            {"id": "gru_pt", "file": "refused/gru.pt", "reason": "nn.GRU"}]
    rnn = nn.RNN(3, 4, batch_first=True)
    torch.save(rnn.state_dict(), os.path.join(d, "rnn.pt"))
    out.append({"id": "rnn_pt", "file": "refused/rnn.pt", "reason": "nn.RNN"})
    torch.save(nn.LSTM(3, 4).state_dict(), os.path.join(d, "legacy.pt"), _use_new_zipfile_serialization=False)
    out.append({"id": "legacy_pt", "file": "refused/legacy.pt", "reason": "legacy"})
    torch.jit.save(torch.jit.script(nn.LSTM(3, 4)), os.path.join(d, "torchscript.pt"))
    out.append({"id": "torchscript_pt", "file": "refused/torchscript.pt", "reason": "TorchScript"})
    # A torch.save zip whose data.pkl calls os.system: torch.load(weights_only=True) refuses it, and so must we.
    good = os.path.join(d, "os_system.pt")
    torch.save({"w": torch.zeros(2)}, good)
    payload = pickle.dumps({"w": ShellCommand()}, protocol=2)
    with zipfile.ZipFile(good) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as z:
        for info, data in members:
            z.writestr(info, payload if info.filename.endswith("data.pkl") else data)
    try:
        torch.load(good, weights_only=True)
        raise SystemExit("torch accepted the os.system pickle")
    except pickle.UnpicklingError as e:
        assert "system" in str(e), e
    out.append({"id": "os_system_pt", "file": "refused/os_system.pt", "reason": "posix.system"})
    return out


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    manifest = {"torch": torch.__version__, "fixtures": accepted(), "refused": refusals()}
    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    print(f"wrote {len(manifest['fixtures'])} fixtures and {len(manifest['refused'])} refusals to {ROOT}")


if __name__ == "__main__":
    main()
