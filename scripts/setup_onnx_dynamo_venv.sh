#!/bin/sh
# Creates the venv for torch.onnx.export(dynamo=True) fixtures (scripts/onnx_fixtures.py dynamo). Fixture
# generation only; the tests never use it.
#
# PyPI's torch wheel is the CUDA build (several GB) and no CPU-only index is reachable, so this venv does not
# install torch again: a .pth file puts the test venv's site-packages (scripts/setup.sh; torch 2.15.0, onnx
# 1.23.2, onnxruntime 1.31.1) after this venv's own, and only onnxscript and onnx-ir
# (scripts/requirements-onnx-dynamo.txt) are installed here, with --no-deps: their dependencies are the test
# venv's pinned packages. The test venv is only read, never changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
test_venv=${LSTMFORMAT_VENV:-$HOME/.cache/lstm-format/venv}
venv=${LSTMFORMAT_ONNX_DYNAMO_VENV:-$HOME/.cache/lstm-format/onnx-dynamo-venv}
[ -x "$test_venv/bin/python" ] || { echo "no test venv at $test_venv (run scripts/setup.sh first)" >&2; exit 2; }
[ -x "$venv/bin/python" ] || "$test_venv/bin/python" -m venv "$venv"
test_site=$("$test_venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')
own_site=$("$venv/bin/python" -c 'import site; print(site.getsitepackages()[0])')
echo "$test_site" > "$own_site/lstm-format-test-venv.pth"
"$venv/bin/pip" install -q --no-deps -r "$here/requirements-onnx-dynamo.txt"
"$venv/bin/python" -c 'import onnxscript, torch, onnx; print("onnxscript", onnxscript.__version__, "torch", torch.__version__, "onnx", onnx.__version__)'
echo "$venv"
