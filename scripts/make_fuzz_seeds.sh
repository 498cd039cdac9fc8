#!/usr/bin/env bash
# Builds the committed seed corpus Fuzz/Corpus/TARGET/ from the fixtures (small files only): .lstm files converted
# by lstm-format from the reference HDF5 models, .npy and .npz arrays, .keras archives (and the hostile ones),
# Keras configs taken out of .keras archives, safetensors files, torch.save archives (the PyTorch fixtures and one
# written by lstm-format) and the data.pkl pickles inside them, ONNX models. Re-run after adding fixtures.
set -eu  # (no pipefail: `find | head` ends find with SIGPIPE)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-.build/debug/lstm-format}"
rm -rf Fuzz/Corpus && mkdir -p Fuzz/Corpus/{lstm,npy,zip,keras-config,safetensors,pickle,torch,onnx}
n=0
for m in Fixtures/reference/*/model.h5 Fixtures/demo/model.h5; do
  n=$((n + 1)); "$bin" convert "$m" "Fuzz/Corpus/lstm/$n.lstm" >/dev/null
done
"$bin" convert Fixtures/demo/model.h5 Fuzz/Corpus/lstm/demo-bf16.lstm --dtype bfloat16 >/dev/null
find Fixtures -name '*.npy' -size -4k | sort | head -20 | while read -r f; do cp "$f" "Fuzz/Corpus/npy/$(echo "$f" | tr / _)"; done
find Fixtures -name '*.npz' -size -16k | sort | head -10 | while read -r f; do cp "$f" "Fuzz/Corpus/zip/$(echo "$f" | tr / _)"; done
find Fixtures -name '*.keras' -size -40k | sort | head -8 | while read -r f; do cp "$f" "Fuzz/Corpus/zip/$(echo "$f" | tr / _)"; done
cp Fixtures/hostile/duplicate_config.keras Fixtures/hostile/endless_deflate.npz Fuzz/Corpus/zip/
find Fixtures -name '*.keras' -size -40k | sort | head -12 | while read -r f; do
  unzip -p "$f" config.json > "Fuzz/Corpus/keras-config/$(echo "$f" | tr / _).json"
done
find Fixtures -name '*.safetensors' -size -16k | sort | head -8 | while read -r f; do cp "$f" "Fuzz/Corpus/safetensors/$(echo "$f" | tr / _)"; done
"$bin" convert Fixtures/demo/model.h5 Fuzz/Corpus/torch/lstm-format-demo.pt >/dev/null
find Fixtures/pytorch \( -name '*.pt' -o -name '*.ckpt' \) -size -12k | sort | while read -r f; do cp "$f" "Fuzz/Corpus/torch/$(echo "$f" | tr / _)"; done
for f in Fuzz/Corpus/torch/*; do
  # The pickle of each archive; the legacy (pre-zip) stream is a pickle itself.
  unzip -p "$f" '*/data.pkl' > "Fuzz/Corpus/pickle/$(basename "$f").pkl" 2>/dev/null || cp "$f" "Fuzz/Corpus/pickle/$(basename "$f").pkl"
done
find Fixtures/onnx -name '*.onnx' -size -8k | sort | while read -r f; do cp "$f" "Fuzz/Corpus/onnx/$(echo "$f" | tr / _)"; done
du -sh Fuzz/Corpus
