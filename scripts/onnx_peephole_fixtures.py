#!/usr/bin/env python3
"""Build the ONNX peephole fixtures in Fixtures/onnx/hand_peephole_*/ (Spec/onnx-mapping.md O-R14,
Spec/canonical-model.md M25), in the style of scripts/onnx_fixtures.py's hand-made graphs.

Run with the test venv (onnx 1.23.2, onnxruntime 1.31.1, numpy 2.4.6 -- scripts/requirements-interop.txt):
    ~/.cache/lstm-format/venv/bin/python scripts/onnx_peephole_fixtures.py

Per fixture directory (model.onnx, x.npy, y.npy = onnxruntime's CPU output for x, graph.txt): LSTM nodes with a
non-zero P [dirs, 3H] (ONNX order p_i, p_o, p_f), forward, reverse and bidirectional, seeded from the id.

Before writing anything the script checks which peephole equations onnxruntime computes, on a bare LSTM node
per direction, against a float64 numpy LSTM: o = f(... + Po (.) Ct) with the NEW cell state (the ONNX operator
text) must match to 1e-5, and the reading with the previous cell state Ct-1 must not (it differs by > 1e-3).
"""
import os
import shutil
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from onnx_fixtures import add_dense_head

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "onnx")
B, T, I, H = 2, 5, 3, 4


def rng(fid):
    return np.random.default_rng(zlib.crc32(fid.encode()))


def weights(r, dirs):
    w = (r.standard_normal((dirs, 4 * H, I)) * 0.5).astype(np.float32)
    rr = (r.standard_normal((dirs, 4 * H, H)) * 0.5).astype(np.float32)
    b = (r.standard_normal((dirs, 8 * H)) * 0.3).astype(np.float32)
    p = (r.standard_normal((dirs, 3 * H)) * 0.8).astype(np.float32)
    return w, rr, b, p


def graph(fid, direction, last="Y", head=None, bare=False):
    """x [B, T, I] -> Transpose -> LSTM (with P) -> batch-first output (+ optional head). bare: the LSTM's Y
    [T, dirs, B, H] as the graph output, for the semantics check."""
    r = rng(fid)
    dirs = 2 if direction == "bidirectional" else 1
    w, rr, b, p = weights(r, dirs)
    inits = [numpy_helper.from_array(a, n) for a, n in ((w, "W"), (rr, "R"), (b, "B"), (p, "P"))]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("LSTM", ["xt", "W", "R", "B", "", "", "", "P"], ["Y", "Y_h"], hidden_size=H,
                              direction=direction)]
    if bare:
        out, shape = "Y", ["steps", dirs, "batch", H]
    elif last == "Y":
        nodes += [helper.make_node("Transpose", ["Y"], ["Yt"], perm=[2, 0, 1, 3]),
                  helper.make_node("Reshape", ["Yt", "flat"], ["seq"])]
        inits.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "flat"))
        out, shape = "seq", ["batch", "steps", dirs * H]
    else:
        nodes += [helper.make_node("Transpose", ["Y_h"], ["Yh"], perm=[1, 0, 2]),
                  helper.make_node("Reshape", ["Yh", "flat2"], ["seq"])]
        inits.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "flat2"))
        out, shape = "seq", ["batch", dirs * H]
    if head and not bare:
        out, o = add_dense_head(nodes, inits, r, dirs * H, head, last)
        shape = shape[:-1] + [o]
    g = helper.make_graph(nodes, fid, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "steps", I])],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx.helper", ir_version=8)
    onnx.checker.check_model(m)
    return m, (w, rr, b, p)


def run_ort(model, x):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def numpy_lstm(x, w, rr, b, p, reverse, o_uses_new_c):
    """One direction, float64, ONNX gate order i, o, f, c and P order i, o, f. x [B, T, I]; returns [T, B, H]."""
    sig = lambda v: 1 / (1 + np.exp(-v))
    x, w, rr, b, p = (a.astype(np.float64) for a in (x, w, rr, b, p))
    pi, po, pf = np.split(p, 3)
    h = np.zeros((x.shape[0], H))
    c = np.zeros((x.shape[0], H))
    out = [None] * x.shape[1]
    for t in (reversed(range(x.shape[1])) if reverse else range(x.shape[1])):
        z = x[:, t] @ w.T + h @ rr.T + b[:4 * H] + b[4 * H:]
        zi, zo, zf, zc = np.split(z, 4, axis=-1)
        i = sig(zi + pi * c)
        f = sig(zf + pf * c)
        c_new = f * c + i * np.tanh(zc)
        o = sig(zo + po * (c_new if o_uses_new_c else c))
        c = c_new
        h = o * np.tanh(c)
        out[t] = h
    return np.stack(out)


def check_semantics():
    for direction in ("forward", "reverse", "bidirectional"):
        fid = "semantics_" + direction
        m, (w, rr, b, p) = graph(fid, direction, bare=True)
        x = rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32)
        y = run_ort(m, x)  # [T, dirs, B, H]
        for o_new, name in ((True, "o sees C(t)"), (False, "o sees C(t-1)")):
            dirs = [False, True] if direction == "bidirectional" else [direction == "reverse"]
            ref = np.stack([numpy_lstm(x, w[d], rr[d], b[d], p[d], rev, o_new) for d, rev in enumerate(dirs)], axis=1)
            err = float(np.abs(ref - y).max())
            print(f"{direction}: onnxruntime {ort.__version__} vs numpy ({name}): max abs {err:.2e}")
            if o_new:
                assert err < 1e-5, "onnxruntime does not compute o from the new cell state"
            else:
                assert err > 1e-3, "the two readings cannot be told apart with these weights"


FIXTURES = {
    "hand_peephole_forward": dict(direction="forward", head=(2, "Tanh")),
    "hand_peephole_reverse_final_state": dict(direction="reverse", last="Y_h", head=(3, "Softmax")),
    "hand_peephole_bidi_seq": dict(direction="bidirectional"),
    "hand_peephole_bidi_final_state": dict(direction="bidirectional", last="Y_h", head=(2, "Sigmoid")),
}


def main():
    check_semantics()
    for fid, kw in FIXTURES.items():
        d = os.path.join(ROOT, fid)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        m, _ = graph(fid, **kw)
        onnx.save(m, os.path.join(d, "model.onnx"))
        x = rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32)
        np.save(os.path.join(d, "x.npy"), x)
        np.save(os.path.join(d, "y.npy"), run_ort(m, x).astype(np.float32))
        with open(os.path.join(d, "graph.txt"), "w") as f:
            f.write(helper.printable_graph(m.graph) + "\n")
            f.write("opset: %s; producer: %s\n" % ([(o.domain, o.version) for o in m.opset_import], m.producer_name))
        print(fid, "ok")


if __name__ == "__main__":
    main()
