#!/bin/sh
# Creates the fixture-generation venv for tf2onnx (scripts/requirements-onnx-fixtures.txt). Only needed to
# regenerate Fixtures/onnx/ (scripts/onnx_fixtures.py); the tests never use it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv=${LSTMFORMAT_ONNX_VENV:-$HOME/.cache/lstm-format/onnx-venv}
[ -x "$venv/bin/python" ] || python3.11 -m venv "$venv"
"$venv/bin/pip" install -q -r "$here/requirements-onnx-fixtures.txt"
echo "$venv"
