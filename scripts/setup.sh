#!/usr/bin/env bash
# Installs what LSTMFormat needs and is missing, on Debian/Ubuntu:
#   - apt: libhdf5-dev, hdf5-tools, libopenblas-dev, zlib1g-dev, libdeflate-dev, pkg-config, time (GNU time: peak-RSS tests), python3-venv
#   - a Python venv with the pinned reference tools (TensorFlow/Keras, h5py, numpy; PyTorch, safetensors, onnx,
#     onnxruntime) from scripts/requirements-keras.txt and scripts/requirements-interop.txt, kept outside the clone
#     so later clones reuse it:
#     ${LSTMFORMAT_VENV:-$HOME/.cache/lstm-format/venv}
# Safe to run again: it installs only what is missing. Prints the venv's python path on its last line.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { printf 'setup: %s\n' "$*" >&2; }

if ! command -v swift >/dev/null 2>&1; then
  say "Swift 6.2 or later is not on PATH. Install a Swift toolchain (https://www.swift.org/install/linux/) first."
  exit 2
fi
# Package.swift's tools version is 6.2 (a client may then pin this package by version; Package.swift says why).
swift_version="$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9]*\)\.\([0-9]*\).*/\1 \2/p' | head -1)"
if [ -n "$swift_version" ]; then
  read -r major minor <<<"$swift_version"
  if [ "$major" -lt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -lt 2 ]; }; then
    say "Swift $major.$minor is on PATH; this package needs Swift 6.2 or later (https://www.swift.org/install/linux/)."
    exit 2
  fi
fi

need=()
for pkg in libhdf5-dev hdf5-tools libopenblas-dev zlib1g-dev libdeflate-dev pkg-config time; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then need+=(python3-venv); fi
if ((${#need[@]})); then
  say "installing apt packages: ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >&2
fi

if [ "${LSTMFORMAT_SKIP_PYTHON:-0}" = "1" ]; then
  say "LSTMFORMAT_SKIP_PYTHON=1: not setting up the Python reference tools"
  echo ""
  exit 0
fi
venv="${LSTMFORMAT_VENV:-$HOME/.cache/lstm-format/venv}"
reqs=("$here/requirements-keras.txt" "$here/requirements-interop.txt")
stamp="$venv/.lstmformat-requirements"
if [ ! -x "$venv/bin/python" ]; then
  say "creating Python venv $venv"
  python3 -m venv "$venv" >&2
fi
if ! cat "${reqs[@]}" | cmp -s - "$stamp" 2>/dev/null; then
  say "installing pinned Python packages into $venv (first run: several minutes; PyPI's torch wheel is several GB)"
  "$venv/bin/pip" install -q --disable-pip-version-check $(printf -- '-r %s ' "${reqs[@]}") >&2
  cat "${reqs[@]}" > "$stamp"
fi
echo "$venv/bin/python"
