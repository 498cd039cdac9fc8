#!/usr/bin/env bash
# Spec/bptt.md B10a: measures the float32 sigmoid and tanh of the step kernels (the same bits as FastMath.swift)
# against a float64 reference over all 2^32 float32 inputs and fails (exit 1) outside B10a's bounds.
#
#   scripts/check_fastmath.sh [THREADS]   default: the number of CPUs; a few CPU minutes in all
#
# Needs a C compiler (clang or cc) and a CPU with AVX-512 F.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS="${1:-$(nproc)}"
CC="${CC:-$(command -v clang || command -v cc)}"
BIN=$(mktemp)
trap 'rm -f "$BIN"' EXIT
"$CC" -O2 -ISources/CStepKernels/include -o "$BIN" scripts/check_fastmath.c -lm -lpthread
"$BIN" "$THREADS"
