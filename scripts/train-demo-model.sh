#!/usr/bin/env bash
# Trains the demo model of models/README.md from the demo data (scripts/demo-data.sh DIR):
# 603 steps, then a 200-step fine-tuning stretch with the temporal regularization. About 90
# minutes on 2 vCPUs (more with fewer cores); interrupt it at any time and run it again to resume.
# The weights are not in git (only a model that becomes the default is committed): this rebuilds
# them. They differ somewhat from the measured file (float sums follow the thread count).
# Usage: bash scripts/train-demo-model.sh DIR   → DIR/demo-model.safetensors
set -euo pipefail
dir=$(realpath "${1:?usage: train-demo-model.sh DIR}")
cd "$(dirname "$0")/.."
cargo build --release -q -p toonflow
bin=target/release/toonflow
[ -f "$dir/data/dataset.json" ] ||
  "$bin" prepare --photos "$dir/photos" --style "comics=$dir/comics/train" -o "$dir/data" --size 320
common=(--config scripts/demo-train.json --crop 128 --warmup 150 --sample-every 50 --checkpoint-every 25)
# The marker keeps a rerun after the first stage from resuming it without the temporal terms.
if [ ! -f "$dir/demo-run.stage1" ]; then
  "$bin" train "$dir/data" -o "$dir/demo-run" "${common[@]}" --steps 603
  touch "$dir/demo-run.stage1"
fi
"$bin" train "$dir/data" -o "$dir/demo-run" "${common[@]}" --steps 803 --temporal --fine-tune
cp "$dir/demo-run/model.safetensors" "$dir/demo-model.safetensors"
echo "wrote $dir/demo-model.safetensors"
