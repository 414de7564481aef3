#!/usr/bin/env bash
# Sets up the benchmark's reference side: a virtualenv with OpenCV, and a foliage test frame
# (scikit-image's CC0 grass texture) fetched with pip. Run once from the repository root.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q opencv-python-headless==4.* numpy
mkdir -p frames/src
tmp=$(mktemp -d)
.venv/bin/pip download -q scikit-image --no-deps --only-binary=:all: -d "$tmp"
.venv/bin/python - "$tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/scikit_image-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    open("frames/src/grass.png", "wb").write(z.read("skimage/data/grass.png"))
PY
rm -rf "$tmp"
echo "bench set up: $(.venv/bin/python -c 'import cv2; print("OpenCV", cv2.__version__)')"
