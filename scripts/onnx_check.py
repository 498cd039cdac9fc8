#!/usr/bin/env python3
"""Check an ONNX file we wrote (Spec/onnx-mapping.md, O-W5): onnx.checker accepts it and onnxruntime (CPU)
predicts `expected` for `inputs` within atol + rtol·|expected|.

  python scripts/onnx_check.py model.onnx x.npy expected.npy [atol] [rtol]
  python scripts/onnx_check.py model.onnx x.npy --raises     (onnxruntime must refuse to run x, e.g. an id
                                                              outside the embedding's vocabulary, O-W7)
  python scripts/onnx_check.py --jobs jobs.json     (a JSON list of such argument lists; prints CODES [..])

Prints one line; exit 0 when both hold, 1 when the outputs differ, 2 when the file is refused.
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main(args):
    path, x_path, y_path = args[:3]
    atol = float(args[3]) if len(args) > 3 else 1e-5
    rtol = float(args[4]) if len(args) > 4 else 1e-5
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        print("REFUSED %s: %s" % (path, str(e).splitlines()[0] if str(e) else type(e).__name__))
        return 2
    x = np.load(x_path)
    # The input's element type is the file's: float32 features, or int64/int32 token ids (O-W7).
    kind = sess.get_inputs()[0].type
    x = x.astype({"tensor(int64)": np.int64, "tensor(int32)": np.int32}.get(kind, np.float32))
    if y_path == "--raises":
        try:
            sess.run(None, {sess.get_inputs()[0].name: x})
        except Exception as e:  # noqa: BLE001
            print("OK %s: onnxruntime refused the input (%s)" % (path, str(e).splitlines()[0][:160]))
            return 0
        print("DIFF %s: onnxruntime ran an input it should refuse" % path)
        return 1
    expected = np.load(y_path)
    y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    if y.shape != expected.shape:
        print("SHAPE %s: onnxruntime %s, expected %s" % (path, y.shape, expected.shape))
        return 1
    err = np.abs(y.astype(np.float64) - expected.astype(np.float64))
    ok = bool(np.all(err <= atol + rtol * np.abs(expected)))
    print("%s %s: max abs error %.3g" % ("OK" if ok else "DIFF", path, float(err.max()) if err.size else 0.0))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--jobs"]:
        import json
        codes = [main(job) for job in json.load(open(sys.argv[2]))]
        print("CODES " + json.dumps(codes))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
