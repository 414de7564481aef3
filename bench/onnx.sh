#!/usr/bin/env bash
# toonflow's generator against ONNX Runtime on the file `toonflow export` writes: same weights,
# same inputs, same process, both with every core. Trains a default-size generator for one step
# (the timing needs the architecture, not a good model), exports it, and runs bench/onnx.py in
# the Python test env (python/setup-test-env.sh), which times toonflow.Model.forward and
# onnxruntime and checks they agree.
set -euo pipefail
cd "$(dirname "$0")/.."
python=target/python-env/bin/python
[ -x "$python" ] || { echo "run python/setup-test-env.sh first" >&2; exit 1; }
cargo build --release -q
toonflow=target/release/toonflow
work=bench/out/onnx
rm -rf "$work" && mkdir -p "$work/photos" "$work/comics"
cp assets/samples/*.jpg "$work/photos/"
"$toonflow" -q stylize "$work/photos" -o "$work/comics" --style webtoon
"$toonflow" -q prepare --photos "$work/photos" --style "$work/comics" -o "$work/data" --size 128 --validation 1
cat > "$work/config.json" <<'JSON'
{"features": "pixels", "crop": 64, "batch": 1, "warmup_steps": 1, "sample_every": 100, "checkpoint_every": 1}
JSON
"$toonflow" -q train "$work/data" -o "$work/run" --config "$work/config.json" --steps 1
"$toonflow" -q export "$work/run/model.safetensors" -o "$work/generator.onnx"
"$python" bench/onnx.py "$work/run/model.safetensors" "$work/generator.onnx"
