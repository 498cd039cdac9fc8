#!/usr/bin/env python3
"""Build the ONNX fixtures in Fixtures/onnx/ (see Spec/onnx-mapping.md).

Two parts, two Pythons (each part writes only its own fixtures):
  torch + hand-made graphs:  ~/.cache/lstm-format/venv/bin/python scripts/onnx_fixtures.py torch handmade
      (the test venv: torch 2.15.0, onnx 1.23.2, onnxruntime 1.31.1 -- scripts/requirements-interop.txt)
  tf2onnx from Keras:        ~/.cache/lstm-format/onnx-venv/bin/python scripts/onnx_fixtures.py tf2onnx
      (scripts/setup_onnx_venv.sh; Keras 3.15.1 model.export(format="onnx"), which runs tf2onnx 1.17.0 --
      scripts/requirements-onnx-fixtures.txt)
  torch.onnx.export(dynamo=True):  ~/.cache/lstm-format/onnx-dynamo-venv/bin/python scripts/onnx_fixtures.py dynamo
      (scripts/setup_onnx_dynamo_venv.sh: onnxscript 0.7.2 on top of the test venv's torch 2.15.0 --
      scripts/requirements-onnx-dynamo.txt)

Per fixture directory Fixtures/onnx/<id>/:
  model.onnx   what the exporter (or onnx.helper) wrote
  x.npy        float32 [batch, steps, features] inputs, seeded from the id; for models with an embedding,
               token ids [batch, steps] (int64 for torch, int32 for Keras), every id of the vocabulary used
  y.npy        onnxruntime's first output for x (CPU provider), for fixtures we must read (hand_layout1:
               onnx.reference.ReferenceEvaluator's, since onnxruntime's CPU LSTM refuses layout 1)
  graph.txt    onnx.helper.printable_graph of the model (what the exporter really wrote, for Spec/onnx-mapping.md)
  model.keras, y_keras.npy   for tf2onnx fixtures: the Keras source and Keras's own predictions (model.h5 for
               the tf_keras ones)
Fixtures listed in REFUSED have no y.npy: the reader must refuse them (the expected reason is in the tests).
"""
import os
import shutil
import sys
import zlib

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "onnx")
B, T, I = 2, 5, 3
VOCABULARY = 7  # embedding fixtures: B * T ids cover every row


def rng(fid):
    return np.random.default_rng(zlib.crc32(fid.encode()))


def out_dir(fid):
    d = os.path.join(ROOT, fid)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run_ort(path, x):
    if "layout1" in path:  # onnxruntime's CPU LSTM refuses layout 1; ONNX's own reference evaluator runs it
        from onnx.reference import ReferenceEvaluator
        return ReferenceEvaluator(path).run(None, {"x": x})[0]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x})[0]


def token_ids(fid, vocabulary, dtype):
    """[B, T] ids covering 0 ... vocabulary-1 (so a wrong row of the table shows), shuffled by the id's seed."""
    ids = np.arange(B * T) % vocabulary
    rng(fid).shuffle(ids)
    return ids.reshape(B, T).astype(dtype)


def finish(fid, d, x, run=True):
    path = os.path.join(d, "model.onnx")
    model = onnx.load(path, load_external_data=False)
    with open(os.path.join(d, "graph.txt"), "w") as f:
        f.write(helper.printable_graph(model.graph) + "\n")
        f.write("opset: %s; producer: %s %s\n" % ([(o.domain, o.version) for o in model.opset_import],
                                                  model.producer_name, model.producer_version))
    np.save(os.path.join(d, "x.npy"), x)
    if run:
        y = run_ort(path, x).astype(np.float32)
        np.save(os.path.join(d, "y.npy"), y)
    print(fid, "ok", "" if run else "(refusal)")


# ---------------------------------------------------------------- torch.onnx.export (TorchScript exporter)

def torch_modules():
    """The PyTorch models both exporters see (one definition, so the two exporters' files are comparable)."""
    import torch

    class LastStep(torch.nn.Module):
        """nn.LSTM, out[:, -1, :], Linear, activation (the common many-to-one classifier)."""
        def __init__(self, i, h, o, layers=1, act=None):
            super().__init__()
            self.lstm = torch.nn.LSTM(i, h, num_layers=layers, batch_first=True)
            self.fc = torch.nn.Linear(h, o)
            self.act = act

        def forward(self, x):
            y, _ = self.lstm(x)
            y = self.fc(y[:, -1, :])
            return self.act(y) if self.act else y

    class FinalState(torch.nn.Module):
        """nn.LSTM, h_n[-1], Linear."""
        def __init__(self, i, h, o):
            super().__init__()
            self.lstm = torch.nn.LSTM(i, h, batch_first=True)
            self.fc = torch.nn.Linear(h, o)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return torch.softmax(self.fc(h[-1]), dim=-1)

    class SeqHead(torch.nn.Module):
        """nn.LSTM (bidirectional, stacked), Linear at every step."""
        def __init__(self, i, h, o, layers, bidirectional):
            super().__init__()
            self.lstm = torch.nn.LSTM(i, h, num_layers=layers, bidirectional=bidirectional, batch_first=True)
            self.fc = torch.nn.Linear(h * (2 if bidirectional else 1), o)

        def forward(self, x):
            y, _ = self.lstm(x)
            return torch.tanh(self.fc(y))

    class BidiLast(torch.nn.Module):
        """Bidirectional out[:, -1, :]: the backward half has read only x(T-1) -- not a canonical many-to-one."""
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(I, 4, bidirectional=True, batch_first=True)

        def forward(self, x):
            y, _ = self.lstm(x)
            return y[:, -1, :]

    class EmbeddingLastStep(torch.nn.Module):
        """nn.Embedding -> nn.LSTM -> out[:, -1] -> Linear (a text classifier)."""
        def __init__(self, vocabulary, h, o):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocabulary, I)
            self.lstm = torch.nn.LSTM(I, h, batch_first=True)
            self.fc = torch.nn.Linear(h, o)

        def forward(self, ids):
            y, _ = self.lstm(self.embedding(ids))
            return self.fc(y[:, -1, :])

    class StackedFinalState(torch.nn.Module):
        """nn.LSTM(num_layers=2) -> h_n[k] (h_n stacks every layer's and direction's final state) -> Linear;
        bidirectional: cat(h_n[-2], h_n[-1]), the last layer's forward and backward states."""
        def __init__(self, bidirectional=False, pick=-1, layers=2):
            super().__init__()
            self.lstm = torch.nn.LSTM(I, 4, num_layers=layers, bidirectional=bidirectional, batch_first=True)
            self.fc = torch.nn.Linear(8 if bidirectional else 4, 3)
            self.bidirectional, self.pick = bidirectional, pick

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            last = torch.cat((h[-2], h[-1]), dim=1) if self.bidirectional else h[self.pick]
            return torch.softmax(self.fc(last), dim=-1)

    return {
        "stacked_final_state": lambda: StackedFinalState(),
        "bidi_stacked_final_state": lambda: StackedFinalState(bidirectional=True),
        "first_layer_state": lambda: StackedFinalState(pick=0),
        "bidi_final_state_cat": lambda: StackedFinalState(bidirectional=True, layers=1),
        "plain": lambda: torch.nn.LSTM(I, 4, batch_first=True),
        "time_major": lambda: torch.nn.LSTM(I, 4, batch_first=False),
        "embedding": lambda: EmbeddingLastStep(VOCABULARY, 4, 2),
        "last_step_sigmoid": lambda: LastStep(I, 4, 2, act=torch.sigmoid),
        "stacked_last_step": lambda: LastStep(I, 5, 3, layers=2),
        "final_state_softmax": lambda: FinalState(I, 4, 3),
        "bidirectional_seq": lambda: SeqHead(I, 4, 2, 1, True),
        "bidi_stacked_seq": lambda: SeqHead(I, 4, 2, 2, True),
        "bidi_last_step": lambda: BidiLast(),
    }


def torch_inputs(fid):
    if "embedding" in fid:
        return token_ids(fid, VOCABULARY, np.int64)
    x = rng(fid).standard_normal((B, T, I)).astype(np.float32)
    return np.ascontiguousarray(x.transpose(1, 0, 2)) if "time_major" in fid else x


def check_against_torch(fid, d, m, x):
    import torch
    with torch.no_grad():
        ty = m(torch.from_numpy(x))
        ty = ty[0] if isinstance(ty, tuple) else ty
    y = np.load(os.path.join(d, "y.npy"))
    assert np.allclose(y, ty.numpy(), atol=1e-5), fid


def torch_part():
    """torch.onnx.export with the TorchScript exporter (dynamo=False), opset 17."""
    import torch

    make = torch_modules()
    models = {  # fixture id -> (model, readable)
        "torch_embedding": ("embedding", True),
        "torch_plain": ("plain", True),
        "torch_last_step_sigmoid": ("last_step_sigmoid", True),
        "torch_stacked_last_step": ("stacked_last_step", True),
        "torch_final_state_softmax": ("final_state_softmax", True),
        "torch_bidi_stacked_seq": ("bidi_stacked_seq", True),
        "torch_bidi_last_step": ("bidi_last_step", False),
        "torch_stacked_final_state": ("stacked_final_state", True),
        "torch_bidi_stacked_final_state": ("bidi_stacked_final_state", True),
        "torch_first_layer_state": ("first_layer_state", False),
        "torch_bidi_final_state_cat": ("bidi_final_state_cat", True),
    }

    def export(m, x, path, kind):
        torch.onnx.export(m, (torch.from_numpy(x),), path, dynamo=False,
                          input_names=["x"], output_names=["y"], opset_version=17,
                          dynamic_axes={"x": {0: "batch", 1: "steps"}, "y": {0: "batch"}})

    export_torch_fixtures(torch, make, models, export)


def export_torch_fixtures(torch, make, models, export):
    """Each wanted fixture: a module seeded from its id, exported by export(module, x, path, kind), then run in
    onnxruntime and, when it is one we read, checked against the module's own outputs."""
    for fid, (kind, readable) in models.items():
        if not wanted(fid):
            continue
        torch.manual_seed(zlib.crc32(fid.encode()))
        m = make[kind]().eval()
        x = torch_inputs(fid)
        d = out_dir(fid)
        export(m, x, os.path.join(d, "model.onnx"), kind)
        finish(fid, d, x, run=readable)
        if readable:
            check_against_torch(fid, d, m, x)


def dynamo_part():
    """torch.onnx.export(dynamo=True): torch.export + onnxscript (opset 20 by default in torch 2.15.0)."""
    import torch
    from torch.export import Dim

    make = torch_modules()
    models = {  # fixture id -> (model, readable)
        "dynamo_plain": ("plain", True),
        "dynamo_embedding": ("embedding", True),
        "dynamo_last_step_sigmoid": ("last_step_sigmoid", True),
        "dynamo_stacked_last_step": ("stacked_last_step", True),
        "dynamo_final_state_softmax": ("final_state_softmax", True),
        "dynamo_bidirectional_seq": ("bidirectional_seq", True),
        "dynamo_bidi_stacked_seq": ("bidi_stacked_seq", True),
        "dynamo_time_major": ("time_major", False),
        "dynamo_stacked_final_state": ("stacked_final_state", True),
        "dynamo_bidi_stacked_final_state": ("bidi_stacked_final_state", True),
        "dynamo_bidi_final_state_cat": ("bidi_final_state_cat", True),
    }

    def export(m, x, path, kind):
        batch_axis, steps_axis = (1, 0) if kind == "time_major" else (0, 1)
        shapes = ({batch_axis: Dim("batch"), steps_axis: Dim("steps")},)  # by position: nn.LSTM's argument is `input`
        torch.onnx.export(m, (torch.from_numpy(x),), path, dynamo=True, external_data=False,
                          input_names=["x"], output_names=["y"], dynamic_shapes=shapes)

    export_torch_fixtures(torch, make, models, export)


# ---------------------------------------------------------------- hand-made graphs (onnx.helper)

def lstm_weights(r, dirs, h, i, peep=False):
    w = (r.standard_normal((dirs, 4 * h, i)) * 0.5).astype(np.float32)
    rr = (r.standard_normal((dirs, 4 * h, h)) * 0.5).astype(np.float32)
    b = (r.standard_normal((dirs, 8 * h)) * 0.3).astype(np.float32)
    p = (r.standard_normal((dirs, 3 * h)) * 0.3).astype(np.float32) if peep else None
    return w, rr, b, p


def save(model, d, **kw):
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(d, "model.onnx"), **kw)


def hand_graph(fid, h=4, direction="forward", layout=0, attrs=None, extra_inputs=(), typed=False, head=None,
               last="Y", peep=False, extra_inits=(), graph_inputs=(), opset=17):
    """x [B, T, I] -> (Transpose for layout 0) -> LSTM -> output. last: "Y" full sequence, "Y_h" final state."""
    r = rng(fid)
    dirs = 2 if direction == "bidirectional" else 1
    w, rr, b, p = lstm_weights(r, dirs, h, I, peep)

    def init(name, a):
        if typed:  # typed float_data field instead of raw_data
            return helper.make_tensor(name, TensorProto.FLOAT, a.shape, a.flatten().tolist())
        return numpy_helper.from_array(a, name)

    inits = [init("W", w), init("R", rr), init("B", b)] + list(extra_inits)
    nodes = []
    lstm_in = ["xt" if layout == 0 else "x", "W", "R", "B"] + list(extra_inputs)
    if peep:
        while len(lstm_in) < 7:
            lstm_in.append("")
        lstm_in.append("P")
        inits.append(init("P", p))
    if layout == 0:
        nodes.append(helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]))
    nodes.append(helper.make_node("LSTM", lstm_in, ["Y", "Y_h"], hidden_size=h, direction=direction,
                                  layout=layout, **(attrs or {})))
    if last == "Y":
        if layout == 0:
            nodes.append(helper.make_node("Transpose", ["Y"], ["Yt"], perm=[2, 0, 1, 3]))  # [B, T, dirs, H]
        nodes.append(helper.make_node("Reshape", ["Yt" if layout == 0 else "Y", "flat"], ["seq"]))
        inits.append(numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "flat"))
        width = dirs * h
    else:
        if layout == 0:
            nodes.append(helper.make_node("Transpose", ["Y_h"], ["Yh"], perm=[1, 0, 2]))  # [B, dirs, H]
        nodes.append(helper.make_node("Reshape", ["Yh" if layout == 0 else "Y_h", "flat2"], ["seq"]))
        inits.append(numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "flat2"))
        width = dirs * h
    out = "seq"
    if head:
        out, width = add_dense_head(nodes, inits, r, width, head, last)
    shape_out = ["batch", "steps", width] if last == "Y" else ["batch", width]
    g = helper.make_graph(nodes, fid, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "steps", I])]
                          + list(graph_inputs),
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, shape_out)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="onnx.helper",
                             ir_version=8)


def handmade_part():
    hs = lambda a, b: {"activations": ["HardSigmoid", "Tanh", "Tanh"], "activation_alpha": [a], "activation_beta": [b]}
    readable = {
        "hand_layout1": dict(layout=1),
        "hand_reverse_final_state_gemm_softmax": dict(direction="reverse", last="Y_h", head=(3, "Softmax")),
        "hand_bidi_final_state": dict(direction="bidirectional", last="Y_h"),
        "hand_bidi_seq_relu_head": dict(direction="bidirectional", head=(2, "Relu")),
        "hand_hard_sigmoid_keras2": dict(attrs=hs(0.2, 0.5)),
        "hand_hard_sigmoid_keras3": dict(attrs=hs(1 / 6, 0.5)),
        "hand_relu_cell": dict(attrs={"activations": ["Sigmoid", "Relu", "Relu"]}),
        "hand_typed_fields": dict(typed=True, head=(2, "Sigmoid")),
        "hand_peephole_zero": dict(peep=True),
    }
    refused = {
        "hand_clip": dict(attrs={"clip": 3.0}),
        "hand_input_forget": dict(attrs={"input_forget": 1}),
        "hand_mixed_activations": dict(attrs={"activations": ["Sigmoid", "Tanh", "Relu"]}),
        "hand_scaled_tanh": dict(attrs={"activations": ["Sigmoid", "ScaledTanh", "Tanh"],
                                        "activation_alpha": [1.0, 2.0], "activation_beta": [1.0, 0.5]}),
        "hand_sequence_lens": dict(extra_inputs=["lens"], graph_inputs=[
            helper.make_tensor_value_info("lens", TensorProto.INT32, ["batch"])]),
        "hand_initial_h_input": dict(extra_inputs=["", "h0"], graph_inputs=[
            helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, "batch", 4])]),
        "hand_initial_h_nonzero": dict(extra_inputs=["", "h0"], extra_inits=[
            numpy_helper.from_array(np.full((1, B, 4), 0.5, dtype=np.float32), "h0")]),
    }
    for fid, kw in readable.items():
        if not wanted(fid):
            continue
        d = out_dir(fid)
        x = rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32)
        m = hand_graph(fid, **kw)
        if fid == "hand_peephole_zero":  # peepholes present but all zero: the plain LSTM
            for t in m.graph.initializer:
                if t.name == "P":
                    t.CopyFrom(numpy_helper.from_array(np.zeros((1, 12), dtype=np.float32), "P"))
        save(m, d)
        finish(fid, d, x)
    for fid, kw in refused.items():
        if not wanted(fid):
            continue
        d = out_dir(fid)
        x = rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32)
        save(hand_graph(fid, **kw), d)
        finish(fid, d, x, run=False)

    # Peepholes with non-zero P are read (O-R14): their fixtures come from scripts/onnx_peephole_fixtures.py.

    # An op outside the recognised set after the LSTM.
    fid = "hand_unknown_op"
    d = out_dir(fid)
    m = hand_graph(fid)
    m.graph.node.append(helper.make_node("Erf", ["seq"], ["erf"]))
    m.graph.output[0].name = "erf"
    save(m, d)
    finish(fid, d, rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32), run=False)

    # Token ids (O-R15): int32 ids transposed to time-major and cast to int64 before the table's Gather (read:
    # every valid id keeps its row); and ids shifted by one before the Gather (refused: id 0 reads row 1).
    for fid, readable in (("hand_embedding_transposed_ids", True), ("hand_embedding_shifted", False)):
        if not wanted(fid):
            continue
        d = out_dir(fid)
        r = rng(fid)
        w, rr, b, _ = lstm_weights(r, 1, 4, I)
        table = r.standard_normal((VOCABULARY, I)).astype(np.float32)
        inits = [numpy_helper.from_array(a, n) for a, n in ((w, "W"), (rr, "R"), (b, "B"), (table, "E"))]
        if readable:
            nodes = [helper.make_node("Transpose", ["x"], ["ids_t"], perm=[1, 0]),
                     helper.make_node("Cast", ["ids_t"], ["ids"], to=TensorProto.INT64)]
            lstm_in = "rows"
        else:
            inits.append(numpy_helper.from_array(np.array(1, dtype=np.int32), "one"))
            nodes = [helper.make_node("Add", ["x", "one"], ["ids"])]
            lstm_in = "rows_t"
        nodes.append(helper.make_node("Gather", ["E", "ids"], ["rows"], axis=0))
        if not readable:
            nodes.append(helper.make_node("Transpose", ["rows"], ["rows_t"], perm=[1, 0, 2]))
        nodes += [helper.make_node("LSTM", [lstm_in, "W", "R", "B"], ["Y", "Y_h"], hidden_size=4),
                  helper.make_node("Transpose", ["Y_h"], ["Yh"], perm=[1, 0, 2]),
                  helper.make_node("Squeeze", ["Yh", "axis1"], ["y"])]
        inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
        g = helper.make_graph(nodes, fid, [helper.make_tensor_value_info("x", TensorProto.INT32, ["batch", "steps"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])], inits)
        save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx.helper", ir_version=8), d)
        # The shifted graph reads row id + 1, so its ids stay below VOCABULARY - 1 for onnxruntime.
        finish(fid, d, token_ids(fid, VOCABULARY if readable else VOCABULARY - 1, np.int32), run=readable)

    # External data next to the model (allowed), and external data pointing outside the folder (refused).
    fid = "hand_external_data"
    d = out_dir(fid)
    m = hand_graph(fid, head=(2, "Tanh"))
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(d, "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="weights.bin", size_threshold=64)
    finish(fid, d, rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32))
    for fid, loc in (("hand_external_escape", "../secret.bin"), ("hand_external_absolute", "/etc/passwd")):
        d = out_dir(fid)
        m = hand_graph(fid)
        w = [t for t in m.graph.initializer if t.name == "W"][0]
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        w.external_data.add(key="location", value=loc)
        w.external_data.add(key="length", value=str(4 * 16 * I))
        onnx.save(m, os.path.join(d, "model.onnx"))
        finish(fid, d, rng(fid + "/x").standard_normal((B, T, I)).astype(np.float32), run=False)


# ---------------------------------------------------------------- tf2onnx (Keras 3 models)

def tf2onnx_part():
    import keras
    import tensorflow as tf
    import tf2onnx  # noqa: F401  (Keras's ONNX export imports it)

    L = keras.layers

    def seq(*layers):
        return keras.Sequential([keras.Input((T, I))] + list(layers))

    models = {
        "tf2onnx_plain": lambda: seq(L.LSTM(4, return_sequences=True)),
        "tf2onnx_many_to_one": lambda: seq(L.LSTM(4), L.Dense(2, activation="sigmoid")),
        "tf2onnx_stacked": lambda: seq(L.LSTM(5, return_sequences=True), L.LSTM(4, return_sequences=True),
                                       L.Dense(3, activation="softmax")),
        "tf2onnx_bidirectional": lambda: seq(L.Bidirectional(L.LSTM(4, return_sequences=True)),
                                             L.Dense(2, activation="tanh")),
        "tf2onnx_bidirectional_last": lambda: seq(L.Bidirectional(L.LSTM(4)), L.Dense(2)),
        "tf2onnx_hard_sigmoid": lambda: seq(L.LSTM(4, recurrent_activation="hard_sigmoid",
                                                   return_sequences=True)),
        "tf2onnx_go_backwards": lambda: seq(L.LSTM(4, go_backwards=True), L.Dense(2, activation="relu")),
        # Token ids: Embedding -> LSTM (O-R15); with mask_zero tf2onnx writes a Loop (O-R16, refused).
        "tf2onnx_embedding": lambda: keras.Sequential([keras.Input((None,), dtype="int32"), L.Embedding(VOCABULARY, I),
                                                       L.LSTM(4), L.Dense(2, activation="softmax")]),
        "tf2onnx_embedding_mask_zero": lambda: keras.Sequential([keras.Input((None,), dtype="int32"),
                                                                 L.Embedding(VOCABULARY, I, mask_zero=True),
                                                                 L.LSTM(4), L.Dense(2)]),
        # Masking -> LSTM: tf2onnx writes a Loop here too (O-R16, refused; x has masked steps).
        "tf2onnx_masking": lambda: seq(L.Masking(0.0), L.LSTM(4, return_sequences=True), L.Dense(2)),
    }
    for fid, make in models.items():
        if not wanted(fid):
            continue
        keras.utils.set_random_seed(zlib.crc32(fid.encode()) % (2**31))
        m = make()
        # Non-zero biases so a dropped or doubled bias shows in the outputs.
        for layer in m.layers:
            ws = layer.get_weights()
            layer.set_weights([w + 0.1 * np.arange(w.size).reshape(w.shape) / w.size if w.ndim == 1 else w for w in ws])
        tokens = "embedding" in fid
        x = token_ids(fid, VOCABULARY, np.int32) if tokens else rng(fid).standard_normal((B, T, I)).astype(np.float32)
        if "masking" in fid:
            x[0, -2:, :] = 0.0  # trailing padding in row 0
            x[1, 1, :] = 0.0  # a masked step in the middle of row 1
        d = out_dir(fid)
        m.save(os.path.join(d, "model.keras"))
        np.save(os.path.join(d, "y_keras.npy"), np.asarray(m(x, training=False)).astype(np.float32))
        # Keras 3's own ONNX export (TensorFlow backend) runs tf2onnx 1.17.0 (opset 15, its default).
        # tf2onnx.convert.from_keras itself fails on Keras 3 models (KeyError 'keras_tensor_N').
        spec = [tf.TensorSpec((None, None), tf.int32, name="x") if tokens else tf.TensorSpec((None, None, I), tf.float32, name="x")]
        m.export(os.path.join(d, "model.onnx"), format="onnx", input_signature=spec)
        finish(fid, d, x)
    tf_keras_part()


def tf_keras_part():
    """tf_keras 2.21.0 models through tf2onnx.convert.from_keras (tf2onnx's own Keras entry point, opset 15).

    Keras 3 writes an LSTM with recurrent_activation="hard_sigmoid" as a Loop (tf2onnx_hard_sigmoid, refused);
    the same layer in tf_keras fuses into an LSTM node with activations HardSigmoid (alpha 0.2, beta 0.5: tf_keras's
    hard_sigmoid, the canonical hard_sigmoid_keras2). model.h5 is the tf_keras source (legacy HDF5)."""
    import tensorflow as tf
    import tf2onnx
    import tf_keras

    L = tf_keras.layers
    models = {
        "tf2onnx_tf_keras_hard_sigmoid": lambda: tf_keras.Sequential([
            tf_keras.Input((T, I)), L.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True),
            L.Dense(2, activation="tanh")]),
    }
    for fid, make in models.items():
        if not wanted(fid):
            continue
        tf_keras.utils.set_random_seed(zlib.crc32(fid.encode()) % (2**31))
        m = make()
        for layer in m.layers:
            ws = layer.get_weights()
            layer.set_weights([w + 0.1 * np.arange(w.size).reshape(w.shape) / w.size if w.ndim == 1 else w for w in ws])
        # Inputs large enough that the hard sigmoid's clipped ends are reached.
        x = (3 * rng(fid).standard_normal((B, T, I))).astype(np.float32)
        d = out_dir(fid)
        m.save(os.path.join(d, "model.h5"))
        np.save(os.path.join(d, "y_keras.npy"), np.asarray(m(x, training=False)).astype(np.float32))
        spec = (tf.TensorSpec((None, None, I), tf.float32, name="x"),)
        tf2onnx.convert.from_keras(m, input_signature=spec, opset=15, output_path=os.path.join(d, "model.onnx"))
        finish(fid, d, x)


def add_dense_head(nodes, inits, r, width, head, last):
    """A Dense head (o, activation) on the graph value "seq" of the given width: MatMul + Add on a sequence
    (last == "Y"), Gemm on a last state; V [width, o] and c [o] drawn from r. Returns ("out", o)."""
    o, act = head
    v = r.standard_normal((width, o)).astype(np.float32)
    c = r.standard_normal((o,)).astype(np.float32)
    inits += [numpy_helper.from_array(v, "V"), numpy_helper.from_array(c, "c")]
    if last == "Y":
        nodes += [helper.make_node("MatMul", ["seq", "V"], ["mm"]), helper.make_node("Add", ["mm", "c"], ["pre"])]
    else:
        nodes.append(helper.make_node("Gemm", ["seq", "V", "c"], ["pre"]))
    nodes.append(helper.make_node(act, ["pre"], ["out"]))
    return "out", o


def wanted(fid):
    """`part=id,id` on the command line regenerates only those fixtures of the part (others stay as committed)."""
    return not ONLY or fid in ONLY


ONLY = set()

if __name__ == "__main__":
    parts = sys.argv[1:] or ["torch", "handmade"]
    for p in parts:
        name, _, ids = p.partition("=")
        ONLY = set(filter(None, ids.split(",")))
        {"torch": torch_part, "handmade": handmade_part, "tf2onnx": tf2onnx_part, "dynamo": dynamo_part}[name]()
