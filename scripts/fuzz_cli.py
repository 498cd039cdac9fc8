#!/usr/bin/env python3
"""Fuzzes the built `lstm-format` CLI with damaged inputs and classifies every run.

The rule under test (README "Exit codes"): bad input gets a one-line error on stderr naming the file, exit code
0/1/2/64, and no partial output; nothing may crash or hang. Every case is seeded (--seed, default 20240607) and
bounded (--cases per kind, --timeout seconds per run), so a finding reproduces from its kind, seed and index.

Kinds (seeds are the committed fixtures):
  keras_bytes     byte flips / truncations / splices / zeroed ranges of .keras archives      -> convert to .lstm
  keras_json      valid zip, config.json mutated (types, missing keys, huge/negative numbers,
                  deep nesting, bad UTF-8) or model.weights.h5 damaged through h5py          -> convert to .lstm
  weights_config  Keras 3 .weights.h5 + --config with mutated JSON or h5py-level damage      -> convert to .lstm
  legacy_h5       legacy Keras .h5, h5py-level damage (shapes, dtypes, missing datasets,
                  layer_names / weight_names entries, model_config JSON)                    -> convert to .lstm
  canonical_h5    canonical HDF5, h5py-level damage (attributes, datasets, groups)           -> convert to .lstm
  compact_bytes   byte-level damage of .lstm files                                           -> convert to .h5
  hdf5_bytes      byte-level damage of HDF5 files (libhdf5's own parser; crashes there are
                  reported as class `signal-libhdf5` when the backtrace says so)             -> inspect
  npy             damaged .npy inputs/targets/expected for forward, gradients, verify
  npz             damaged expected-gradient .npz for verify --expect-gradients

Usage: python3 scripts/fuzz_cli.py [--binary .build/debug/lstm-format] [--cases 400] [--kinds a,b]
       [--seed N] [--timeout 5] [--findings /tmp/lstm-fuzz-findings] [--backtraces]
Needs numpy and h5py (the project venv: ~/.cache/lstm-format/venv/bin/python). Exits 1 when a finding exists.
"""
import argparse
import collections
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile

import h5py
import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
FIX = os.path.join(ROOT, "Fixtures")
ALLOWED_CODES = {0, 1, 2, 64}


# ---------------------------------------------------------------------------------------------- byte damage

def damage_bytes(rng, data, donors):
    data = bytearray(data)
    op = rng.choice(["flip", "flip", "truncate", "splice", "zero", "insert", "flip_header"])
    if op == "flip" or op == "flip_header":
        limit = min(len(data), 512) if op == "flip_header" else len(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(limit)
            data[i] ^= 1 << rng.randrange(8)
    elif op == "truncate":
        data = data[: rng.randrange(len(data))]
    elif op == "splice":
        donor = rng.choice(donors)
        start = rng.randrange(len(donor))
        chunk = donor[start: start + rng.randint(1, 4096)]
        at = rng.randrange(len(data))
        data[at: at + len(chunk)] = chunk
    elif op == "zero":
        at = rng.randrange(len(data))
        n = rng.randint(1, 256)
        data[at: at + n] = bytes(min(n, len(data) - at))
    else:
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data), op


# ---------------------------------------------------------------------------------------------- JSON damage

WEIRD_VALUES = [None, True, False, 0, -1, -4, 1.5, 1e308, -1e308, 2 ** 63, 2 ** 64, -(2 ** 63), 10 ** 30, "", "x",
                "lstm", "sigmoid", [], [None], [1, 2], {}, {"a": 1}, "NaN"]
HOT_KEYS = {"units", "batch_input_shape", "batch_shape", "shape", "activation", "recurrent_activation",
            "class_name", "layers", "return_sequences", "merge_mode", "go_backwards", "use_bias", "layer",
            "backward_layer", "config", "inbound_nodes", "input_layers", "output_layers", "stateful", "name"}


def json_nodes(node, path=()):
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from json_nodes(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from json_nodes(v, path + (i,))


def set_at(root, path, value):
    if not path:
        return value
    parent = root
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = value
    return root


def mutate_json_text(rng, text):
    """Returns (bytes, description). Parsed-tree mutations mostly, raw-text damage sometimes."""
    if rng.random() < 0.12:
        raw = text.encode()
        op = rng.choice(["truncate", "badutf8", "flip", "deep", "empty"])
        if op == "truncate":
            return raw[: rng.randrange(len(raw))], "json-truncate"
        if op == "badutf8":
            at = rng.randrange(len(raw))
            return raw[:at] + b"\xff\xfe\xc3" + raw[at:], "json-bad-utf8"
        if op == "flip":
            b = bytearray(raw)
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(7)
            return bytes(b), "json-byte-flip"
        if op == "deep":
            depth = rng.choice([200, 5000, 100000])
            return ("[" * depth + "]" * depth).encode(), f"json-deep-{depth}"
        return b"", "json-empty"
    root = json.loads(text)
    descs = []
    for _ in range(rng.randint(1, 3)):
        nodes = list(json_nodes(root))
        hot = [(p, v) for p, v in nodes if p and p[-1] in HOT_KEYS]
        path, value = rng.choice(hot if hot and rng.random() < 0.7 else nodes)
        op = rng.choice(["delete", "retype", "retype", "huge", "nest", "dup_layer", "empty_container"])
        if op == "delete" and path:
            parent = root
            for p in path[:-1]:
                parent = parent[p]
            del parent[path[-1]]
        elif op == "huge":
            root = set_at(root, path, rng.choice([2 ** 63, 2 ** 64, 10 ** 40, -1, -7, 0, 1e308, 3.5, -(2 ** 63)]))
        elif op == "nest":
            v = value
            for _ in range(rng.choice([3, 300])):
                v = [v] if rng.random() < 0.5 else {"config": v}
            root = set_at(root, path, v)
        elif op == "dup_layer" and isinstance(value, list) and value:
            value.append(rng.choice(value))
        elif op == "empty_container":
            root = set_at(root, path, [] if isinstance(value, list) else {})
        else:
            op = "retype"
            root = set_at(root, path, rng.choice(WEIRD_VALUES))
        descs.append(f"{op}@{'/'.join(map(str, path))[-60:]}")
    try:
        out = json.dumps(root).encode()
    except (ValueError, RecursionError):
        out = b"{}"
    return out, "; ".join(descs)


# ---------------------------------------------------------------------------------------------- HDF5 damage

def all_objects(h):
    found = [("/", h)]
    h.visititems(lambda n, o: found.append((n, o)))
    return found


def weird_dataset(rng, shape):
    kind = rng.choice(["transpose", "extra_row", "drop_dim", "scalar", "zero", "int", "string", "float16",
                       "bool", "complex", "huge_rank", "vlen_str", "compound", "nan"])
    shape = tuple(shape) if shape else (3,)
    if kind == "transpose":
        return np.zeros(shape[::-1] + ((2,) if len(shape) == 1 else ()), np.float32), kind
    if kind == "extra_row":
        return np.zeros((shape[0] + 1,) + shape[1:], np.float32), kind
    if kind == "drop_dim":
        return np.zeros(shape[:-1] or (1,), np.float32).reshape(-1), kind
    if kind == "scalar":
        return np.float32(1.0), kind
    if kind == "zero":
        return np.zeros((0,) + shape[1:], np.float32), kind
    if kind == "int":
        return np.zeros(shape, np.int32), kind
    if kind == "string":
        return np.full(shape, b"abc", dtype="S3"), kind
    if kind == "float16":
        return np.zeros(shape, np.float16), kind
    if kind == "bool":
        return np.zeros(shape, np.bool_), kind
    if kind == "complex":
        return np.zeros(shape, np.complex64), kind
    if kind == "huge_rank":
        return np.zeros((1,) * 9, np.float32), kind
    if kind == "vlen_str":
        return np.array(["a", "b"], dtype=h5py.string_dtype()), kind
    if kind == "compound":
        return np.zeros(shape, dtype=[("a", "<f4"), ("b", "<i4")]), kind
    return np.full(shape, np.nan, np.float32), kind


def weird_attribute(rng, old):
    choices = [np.int64(-1), np.int64(0), np.int64(2 ** 62), np.int64(-(2 ** 63)), np.float64(1.5), np.float64(np.nan),
               "", "garbage", "bidirectional", "backward", "relu", "nonsense_activation", np.array([1, 2, 3]),
               np.array([], dtype=np.float64), np.array(["lstm", "nope"], dtype=h5py.string_dtype()), np.bool_(True),
               b"\xff\xfe", np.array([[1.0]]), np.uint64(2 ** 64 - 1), np.int8(3)]
    if isinstance(old, (str, bytes)) and rng.random() < 0.5:
        try:
            text = old.decode() if isinstance(old, bytes) else old
            json.loads(text)
            mutated, desc = mutate_json_text(rng, text)
            try:
                return mutated.decode(), "json:" + desc
            except UnicodeDecodeError:
                return np.void(mutated) if mutated else "", "json-bytes:" + desc
        except ValueError:
            pass
    if isinstance(old, np.ndarray) and old.dtype.kind in "OSU" and old.size and rng.random() < 0.6:
        entries = [x.decode() if isinstance(x, bytes) else str(x) for x in old.tolist()]
        op = rng.choice(["drop", "add_missing", "dup", "reverse", "empty_name"])
        if op == "drop":
            entries.pop(rng.randrange(len(entries)))
        elif op == "add_missing":
            entries.insert(rng.randrange(len(entries) + 1), "no_such_thing")
        elif op == "dup":
            entries.append(rng.choice(entries))
        elif op == "reverse":
            entries.reverse()
        else:
            entries[rng.randrange(len(entries))] = ""
        return np.array(entries, dtype=h5py.string_dtype()), "names-" + op
    v = rng.choice(choices)
    return v, "attr=" + repr(v)[:40]


def damage_hdf5(rng, path):
    """Applies 1-3 h5py-level mutations in place; returns their description."""
    descs = []
    with h5py.File(path, "r+") as h:
        for _ in range(rng.randint(1, 3)):
            objs = all_objects(h)
            datasets = [(n, o) for n, o in objs if isinstance(o, h5py.Dataset)]
            with_attrs = [(n, o) for n, o in objs if len(o.attrs)]
            op = rng.choice(["dataset", "dataset", "attr", "attr", "attr", "del_attr", "del_dataset", "del_group",
                             "group_to_dataset", "dataset_to_group", "add_attr"])
            if op == "dataset" and datasets:
                name, ds = rng.choice(datasets)
                shape = ds.shape
                parent, leaf = ds.parent, name.rsplit("/", 1)[-1]
                del parent[leaf]
                data, kind = weird_dataset(rng, shape)
                parent.create_dataset(leaf, data=data)
                descs.append(f"dataset {name}: {kind}")
            elif op in ("attr", "del_attr") and with_attrs:
                name, o = rng.choice(with_attrs)
                key = rng.choice(list(o.attrs.keys()))
                if op == "del_attr":
                    del o.attrs[key]
                    descs.append(f"del attr {name}@{key}")
                else:
                    value, desc = weird_attribute(rng, o.attrs[key])
                    del o.attrs[key]
                    o.attrs[key] = value
                    descs.append(f"attr {name}@{key}: {desc}")
            elif op == "del_dataset" and datasets:
                name, ds = rng.choice(datasets)
                del ds.parent[name.rsplit("/", 1)[-1]]
                descs.append(f"del dataset {name}")
            elif op in ("del_group", "group_to_dataset"):
                groups = [(n, o) for n, o in objs if isinstance(o, h5py.Group) and n != "/"]
                if not groups:
                    continue
                name, g = rng.choice(groups)
                parent = g.parent
                leaf = name.rsplit("/", 1)[-1]
                del parent[leaf]
                if op == "group_to_dataset":
                    parent.create_dataset(leaf, data=np.zeros(3, np.float32))
                descs.append(f"{op} {name}")
            elif op == "dataset_to_group" and datasets:
                name, ds = rng.choice(datasets)
                parent, leaf = ds.parent, name.rsplit("/", 1)[-1]
                del parent[leaf]
                parent.create_group(leaf)
                descs.append(f"dataset_to_group {name}")
            elif op == "add_attr":
                name, o = rng.choice(objs)
                key = rng.choice(["lstm_format_version", "layer_names", "weight_names", "model_config", "direction",
                                  "hidden_size", "merge_mode", "extra"])
                value, desc = weird_attribute(rng, None)
                if key in o.attrs:
                    del o.attrs[key]
                o.attrs[key] = value
                descs.append(f"set attr {name}@{key}: {desc}")
    return "; ".join(descs) or "no-op"


# ---------------------------------------------------------------------------------------------- NumPy damage

def npy_bytes(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, allow_pickle=True)
    return buf.getvalue()


def raw_npy(header_dict_text, payload=b"", version=1, magic=b"\x93NUMPY"):
    header = header_dict_text.encode("latin1")
    pad = (64 - (len(magic) + 2 + (2 if version == 1 else 4) + len(header) + 1) % 64) % 64
    header = header + b" " * pad + b"\n"
    size = len(header).to_bytes(2 if version == 1 else 4, "little")
    return magic + bytes([version, 0]) + size + header + payload


def damage_npy(rng, good):
    """good: a float array. Returns (bytes, description)."""
    shape = good.shape
    op = rng.choice(["shape", "shape", "nan", "inf", "zero_dim", "huge_header", "neg_header", "dtype", "dtype",
                     "fortran", "bytes", "header_text", "truncate_data", "version", "scalar", "object"])
    if op == "shape":
        choices = [shape[:-1], shape + (1,), (shape[0], shape[1], shape[2] + 1) if len(shape) == 3 else (1,),
                   (shape[0] + 1,) + shape[1:], shape[::-1], (1,), ()]
        s = rng.choice(choices)
        return npy_bytes(np.ones(s, good.dtype)), f"shape {s}"
    if op in ("nan", "inf"):
        a = good.copy()
        a.flat[rng.randrange(a.size)] = np.nan if op == "nan" else -np.inf
        return npy_bytes(a), op
    if op == "zero_dim":
        s = list(shape)
        s[rng.randrange(len(s))] = 0
        return npy_bytes(np.zeros(s, good.dtype)), f"zero dim {tuple(s)}"
    if op == "huge_header":
        s = list(shape)
        s[rng.randrange(len(s))] = rng.choice([2 ** 31, 2 ** 40, 2 ** 62, 2 ** 63 - 1, 2 ** 64 + 5, 10 ** 30])
        return raw_npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple(s)}, }}", b"\0" * 64), \
            f"huge dims {tuple(s)}"
    if op == "neg_header":
        s = list(shape)
        s[rng.randrange(len(s))] = -rng.choice([1, 3, 2 ** 63])
        return raw_npy(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple(s)}, }}", b"\0" * 64), \
            f"negative dims {tuple(s)}"
    if op == "dtype":
        dt = rng.choice(["<i4", "<i8", "|u1", "|b1", "<c8", "<U3", "|S4", ">f8", "<f2", "<m8[s]", "<V8"])
        try:
            a = good.astype(dt)
        except (TypeError, ValueError):
            a = np.zeros(shape, dt)
        return npy_bytes(a), f"dtype {dt}"
    if op == "fortran":
        return npy_bytes(np.asfortranarray(good)), "fortran order"
    if op == "bytes":
        data, how = damage_bytes(rng, npy_bytes(good), [npy_bytes(good)])
        return data, f"bytes {how}"
    if op == "header_text":
        text = rng.choice([
            "{'descr': '<f4', 'fortran_order': False}",
            "{'descr': '<f4', 'shape': (2, 5, 3), }",
            "{'descr': 5, 'fortran_order': False, 'shape': (2, 5, 3), }",
            "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (2, 5, 3), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 5, 3], }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 'a'), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (" + "(" * 500 + ")" * 500 + "), }",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }",
            "not a dict at all",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 3), 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2.5, 5, 3), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 3)",
        ])
        return raw_npy(text, b"\0" * 16), f"header {text[:50]}"
    if op == "truncate_data":
        b = npy_bytes(good)
        return b[: len(b) - rng.randint(1, good.nbytes)], "truncated data"
    if op == "version":
        hdr = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
        v = rng.choice([0, 2, 3, 9])
        return raw_npy(hdr, np.ones(shape, "<f4").tobytes(), version=v if v in (1, 2) else 1)[:6] + bytes([v]) + \
            raw_npy(hdr, np.ones(shape, "<f4").tobytes(), version=v if v in (1, 2) else 1)[7:], f"version {v}"
    if op == "scalar":
        return npy_bytes(np.float32(1)), "0-d"
    return npy_bytes(np.array([{"a": 1}, None], dtype=object)), "object (pickle)"


def damage_npz(rng, path):
    """Rewrites the .npz at path; returns a description."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    op = rng.choice(["missing", "missing", "shape", "dtype", "extra", "member_npy", "bytes", "loss_shape",
                     "nan", "not_npy_member", "dir_member", "empty"])
    desc = op
    if op == "missing":
        k = rng.choice(list(arrays))
        del arrays[k]
        desc = f"missing {k}"
    elif op == "shape":
        k = rng.choice(list(arrays))
        arrays[k] = np.zeros(arrays[k].shape + (2,), np.float64)
        desc = f"shape {k}"
    elif op == "dtype":
        k = rng.choice(list(arrays))
        arrays[k] = arrays[k].astype(rng.choice(["<i4", "|S3", "<c16", "|b1"]))
        desc = f"dtype {k}"
    elif op == "extra":
        arrays["lstm.9.fwd.W_f"] = np.zeros((2, 2))
    elif op == "loss_shape":
        arrays["loss"] = np.zeros((3,))
    elif op == "nan":
        k = rng.choice(list(arrays))
        a = arrays[k].astype(np.float64).copy()
        a.reshape(-1)[0] = np.nan
        arrays[k] = a
        desc = f"nan {k}"
    elif op == "empty":
        arrays = {}
    if op in ("member_npy", "not_npy_member", "dir_member"):
        with zipfile.ZipFile(path, "w") as out:
            for k, a in arrays.items():
                data = npy_bytes(a)
                if op == "member_npy" and rng.random() < 0.3:
                    data, how = damage_bytes(rng, data, [data])
                    desc = f"member {k} {how}"
                out.writestr(k + ".npy", data)
            if op == "not_npy_member":
                out.writestr("README.txt", b"hello")
            if op == "dir_member":
                out.writestr("sub/", b"")
        return desc
    if op == "bytes":
        with open(path, "rb") as f:
            data, how = damage_bytes(rng, f.read(), [b"PK\x03\x04" * 8])
        with open(path, "wb") as f:
            f.write(data)
        return f"bytes {how}"
    np.savez(path, **arrays) if rng.random() < 0.5 else np.savez_compressed(path, **arrays)
    return desc


# ---------------------------------------------------------------------------------------------- cases

def keras_fixture_dirs():
    return sorted(os.path.join(FIX, "keras", d) for d in os.listdir(os.path.join(FIX, "keras"))
                  if os.path.isdir(os.path.join(FIX, "keras", d)))


def with_file(dirs, name):
    return [d for d in dirs if os.path.exists(os.path.join(d, name))]


class Case:
    def __init__(self, work, inputs, args, damaged, desc, outputs=(), expect_output_on_success=True, original=None):
        self.work, self.inputs, self.args, self.damaged, self.desc = work, inputs, args, damaged, desc
        self.outputs, self.expect_output_on_success = list(outputs), expect_output_on_success
        # For checksummed containers (zip, .lstm): the undamaged seed. A damaged file that converts must still
        # compute exactly what the seed computes, or the damage went unnoticed ("silent-change").
        self.original = original


def make_case(kind, rng, work, compact_seeds):
    """Builds one damaged case in work/in, returns a Case. Outputs go to work/out."""
    ind, outd = os.path.join(work, "in"), os.path.join(work, "out")
    os.makedirs(ind)
    os.makedirs(outd)
    kdirs = keras_fixture_dirs()
    out_lstm = os.path.join(outd, "out.lstm")

    if kind == "keras_bytes":
        src = rng.choice(with_file(kdirs, "model.keras"))
        data = open(os.path.join(src, "model.keras"), "rb").read()
        donors = [open(os.path.join(d, "model.keras"), "rb").read() for d in rng.sample(with_file(kdirs, "model.keras"), 2)]
        damaged, how = damage_bytes(rng, data, donors)
        p = os.path.join(ind, "model.keras")
        open(p, "wb").write(damaged)
        return Case(work, [p], ["convert", p, out_lstm], p, f"{os.path.basename(src)} {how}", [out_lstm],
                    original=os.path.join(src, "model.keras"))

    if kind == "keras_json":
        src = rng.choice(with_file(kdirs, "model.keras"))
        p = os.path.join(ind, "model.keras")
        with zipfile.ZipFile(os.path.join(src, "model.keras")) as z:
            members = {n: z.read(n) for n in z.namelist()}
        if rng.random() < 0.75:
            members["config.json"], desc = mutate_json_text(rng, members["config.json"].decode())
        else:
            wp = os.path.join(work, "w.h5")
            open(wp, "wb").write(members["model.weights.h5"])
            desc = "weights: " + damage_hdf5(rng, wp)
            members["model.weights.h5"] = open(wp, "rb").read()
            os.remove(wp)
        with zipfile.ZipFile(p, "w") as z:
            for n, data in members.items():
                z.writestr(n, data)
        return Case(work, [p], ["convert", p, out_lstm], p, f"{os.path.basename(src)} {desc}", [out_lstm])

    if kind == "weights_config":
        src = rng.choice(with_file(with_file(kdirs, "model.weights.h5"), "config.json"))
        wp, cp = os.path.join(ind, "model.weights.h5"), os.path.join(ind, "config.json")
        shutil.copy(os.path.join(src, "model.weights.h5"), wp)
        text = open(os.path.join(src, "config.json")).read()
        if rng.random() < 0.7:
            data, desc = mutate_json_text(rng, text)
            open(cp, "wb").write(data)
            damaged = cp
        else:
            open(cp, "w").write(text)
            desc = damage_hdf5(rng, wp)
            damaged = wp
        return Case(work, [wp, cp], ["convert", wp, out_lstm, "--config", cp], damaged,
                    f"{os.path.basename(src)} {desc}", [out_lstm])

    if kind == "legacy_h5":
        src = rng.choice(with_file(kdirs, "model.h5"))
        p = os.path.join(ind, "model.h5")
        shutil.copy(os.path.join(src, "model.h5"), p)
        desc = damage_hdf5(rng, p)
        return Case(work, [p], ["convert", p, out_lstm], p, f"{os.path.basename(src)} {desc}", [out_lstm])

    if kind == "canonical_h5":
        srcs = [os.path.join(FIX, "demo", "model.h5"), os.path.join(FIX, "hdf5", "h5py-canonical.h5")] + \
            [os.path.join(FIX, "reference", d, "model.h5") for d in os.listdir(os.path.join(FIX, "reference"))]
        src = rng.choice(srcs)
        p = os.path.join(ind, "model.h5")
        shutil.copy(src, p)
        desc = damage_hdf5(rng, p)
        return Case(work, [p], ["convert", p, out_lstm], p, f"{os.path.relpath(src, FIX)} {desc}", [out_lstm])

    if kind == "compact_bytes":
        src = rng.choice(compact_seeds)
        data = open(src, "rb").read()
        damaged, how = damage_bytes(rng, data, [open(s, "rb").read() for s in compact_seeds])
        p = os.path.join(ind, "model.lstm")
        open(p, "wb").write(damaged)
        out_h5 = os.path.join(outd, "out.h5")
        return Case(work, [p], ["convert", p, out_h5], p, f"{os.path.basename(src)} {how}", [out_h5], original=src)

    if kind == "hdf5_bytes":
        srcs = [os.path.join(FIX, "demo", "model.h5")] + \
            [os.path.join(d, n) for d in kdirs for n in ("model.h5", "model.weights.h5") if os.path.exists(os.path.join(d, n))]
        src = rng.choice(srcs)
        data = open(src, "rb").read()
        damaged, how = damage_bytes(rng, data, [open(rng.choice(srcs), "rb").read()])
        p = os.path.join(ind, "model.h5")
        open(p, "wb").write(damaged)
        args = ["inspect", p]
        if src.endswith(".weights.h5"):
            args += ["--config", os.path.join(os.path.dirname(src), "config.json")]
        return Case(work, [p], args, p, f"{os.path.relpath(src, FIX)} {how}", expect_output_on_success=False)

    if kind in ("npy", "npz"):
        ref = rng.choice(sorted(os.listdir(os.path.join(FIX, "reference"))))
        rd = os.path.join(FIX, "reference", ref)
        model = os.path.join(rd, "model.h5")
        files = {n: os.path.join(ind, n) for n in ("x.npy", "y.npy", "t.npy", "expected.npz")}
        for n, p in files.items():
            shutil.copy(os.path.join(rd, n), p)
        if kind == "npz":
            desc = damage_npz(rng, files["expected.npz"])
            args = ["verify", model, "--inputs", files["x.npy"], "--targets", files["t.npy"],
                    "--expect-gradients", files["expected.npz"], "--precision", "float64"]
            return Case(work, list(files.values()), args, files["expected.npz"], f"{ref} {desc}",
                        expect_output_on_success=False)
        target = rng.choice(["x.npy", "x.npy", "y.npy", "t.npy"])
        data, desc = damage_npy(rng, np.load(files[target]))
        open(files[target], "wb").write(data)
        if target == "y.npy":
            args, outs = ["verify", model, "--inputs", files["x.npy"], "--expect", files["y.npy"]], []
        elif target == "t.npy" or rng.random() < 0.4:
            g = os.path.join(outd, "g.npz")
            args, outs = ["gradients", model, "--inputs", files["x.npy"], "--targets", files["t.npy"], "--output", g], [g]
        else:
            command = rng.choice(["forward", "verify"])
            if command == "forward":
                o = os.path.join(outd, "y.npy")
                args, outs = ["forward", model, "--inputs", files["x.npy"], "--output", o], [o]
            else:
                args, outs = ["verify", model, "--inputs", files["x.npy"], "--expect", files["y.npy"]], []
        return Case(work, list(files.values()), args, files[target], f"{ref} {target} {desc}", outs,
                    expect_output_on_success=bool(outs))
    raise ValueError(kind)


KINDS = ["keras_bytes", "keras_json", "weights_config", "legacy_h5", "canonical_h5", "compact_bytes", "hdf5_bytes",
         "npy", "npz"]


# ---------------------------------------------------------------------------------------------- running

def silently_changed(binary, case, env):
    """True when a damaged checksummed file converted to a model that differs from its seed's."""
    r = subprocess.run([binary, "compare", case.original, case.outputs[0]], capture_output=True, env=env, timeout=60)
    return r.returncode != 0


def classify(case, proc_rc, stderr, timed_out):
    """Returns a list of finding classes (empty when the run obeys the rule)."""
    if timed_out:
        return ["hang"]
    if proc_rc < 0:
        sig = -proc_rc
        swift = "Fatal error" in stderr or sig in (signal.SIGILL, signal.SIGTRAP)
        return ["signal-swift" if swift else f"signal-{signal.Signals(sig).name}"]
    findings = []
    if proc_rc not in ALLOWED_CODES:
        findings.append(f"exit-{proc_rc}")
    outd = os.path.join(case.work, "out")
    left = sorted(os.listdir(outd))
    expected_left = sorted(os.path.basename(o) for o in case.outputs) if proc_rc == 0 and case.expect_output_on_success else []
    if proc_rc in (0, 1) and case.args[0] in ("verify", "inspect"):
        expected_left = []
    if left != expected_left:
        findings.append("leftover-output" if proc_rc != 0 else "missing-or-extra-output")
    if proc_rc != 0:
        lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith("lstm-format: note:")]
        if proc_rc == 1:
            return findings  # a failed check prints its report on stdout; stderr may be empty
        if not lines:
            findings.append("empty-error")
        elif len(lines) > 1:
            findings.append("multi-line-error")
        elif not lines[0].startswith("lstm-format: "):
            findings.append("unprefixed-error")
        if lines and os.path.basename(case.damaged) not in stderr:
            findings.append("error-misses-file")
    return findings


def backtrace(binary, args):
    """Re-runs a crashing case under gdb and returns the top frames."""
    if not shutil.which("gdb"):
        return "(gdb not installed)"
    try:
        r = subprocess.run(["gdb", "-batch", "-ex", "run", "-ex", "bt 12", "--args", binary] + args,
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, SWIFT_BACKTRACE="enable=no"))
    except subprocess.TimeoutExpired:
        return "(gdb timed out)"
    return "\n".join(l for l in r.stdout.splitlines() if l.startswith("#"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "lstm-format"))
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--seed", type=int, default=20240607)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--findings", default=os.path.join(tempfile.gettempdir(), "lstm-fuzz-findings"))
    ap.add_argument("--index", type=int, help="run only this case index of each kind (to reproduce a finding)")
    ap.add_argument("--backtraces", action="store_true", help="run gdb on every crashing case (slow)")
    opts = ap.parse_args()
    binary = os.path.abspath(opts.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"fuzz_cli: {binary}: not built (run `swift build`)")
    shutil.rmtree(opts.findings, ignore_errors=True)
    os.makedirs(opts.findings)
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")

    scratch = tempfile.mkdtemp(prefix="lstm-fuzz-")
    compact_seeds = []
    for src in [os.path.join(FIX, "demo", "model.h5")] + [os.path.join(FIX, "reference", d, "model.h5") for d in
                                                          sorted(os.listdir(os.path.join(FIX, "reference")))]:
        dst = os.path.join(scratch, f"seed{len(compact_seeds)}.lstm")
        subprocess.run([binary, "convert", src, dst], check=True, capture_output=True)
        compact_seeds.append(dst)

    summary = {}
    findings = []
    for kind in opts.kinds.split(","):
        counts = collections.Counter()
        codes = collections.Counter()
        for index in ([opts.index] if opts.index is not None else range(opts.cases)):
            rng = random.Random(f"{opts.seed}/{kind}/{index}")
            work = tempfile.mkdtemp(dir=scratch)
            try:
                case = make_case(kind, rng, work, compact_seeds)
            except Exception as e:  # the mutator itself failed: count, do not run
                counts["mutator-error"] += 1
                shutil.rmtree(work)
                continue
            timed_out, rc, stderr = False, None, ""
            try:
                r = subprocess.run([binary] + case.args, capture_output=True, timeout=opts.timeout, env=env, cwd=work)
                rc, stderr = r.returncode, r.stderr.decode("utf-8", "replace")
            except subprocess.TimeoutExpired:
                timed_out, rc = True, None
            codes["timeout" if timed_out else rc] += 1
            classes = classify(case, rc if rc is not None else 0, stderr, timed_out)
            if "signal-swift" not in classes and any(c.startswith("signal-") for c in classes) and opts.backtraces:
                bt = backtrace(binary, case.args)
                if "H5" in bt.split("\n#4")[0]:
                    classes = ["signal-libhdf5"]
            else:
                bt = ""
            if not classes and rc == 0 and case.original and silently_changed(binary, case, env):
                classes = ["silent-change"]
            if not classes:
                counts["ok"] += 1
                shutil.rmtree(work)
                continue
            for c in classes:
                counts[c] += 1
            keep = os.path.join(opts.findings, f"{kind}-{index:04d}")
            shutil.copytree(work, keep)
            args = [a.replace(work, keep) for a in case.args]
            findings.append({"kind": kind, "index": index, "classes": classes, "exit": rc, "desc": case.desc,
                             "command": [binary] + args, "stderr": stderr[-2000:], "backtrace": bt})
            shutil.rmtree(work)
        summary[kind] = {"cases": opts.cases, "exit_codes": {str(k): v for k, v in sorted(codes.items(), key=str)},
                         "classes": dict(counts)}
        print(f"{kind:15s} {json.dumps(summary[kind]['classes'])}  exits {json.dumps(summary[kind]['exit_codes'])}",
              flush=True)
    shutil.rmtree(scratch)
    with open(os.path.join(opts.findings, "findings.json"), "w") as f:
        json.dump({"seed": opts.seed, "summary": summary, "findings": findings}, f, indent=1)
    print(f"{len(findings)} findings; details in {opts.findings}/findings.json")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
