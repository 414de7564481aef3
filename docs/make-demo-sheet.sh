#!/usr/bin/env bash
# The README's demo-model picture: photos the demo model never trained on (astronaut was held out
# for sample grids, chelsea and coffee were not in the data), the built-in comic style, the model.
# Usage: bash docs/make-demo-sheet.sh RUN/model.safetensors
set -euo pipefail
model=${1:?usage: make-demo-sheet.sh MODEL}
cd "$(dirname "$0")/.."
cargo build --release -q
out=target/demo-sheet
mkdir -p "$out"
rows=()
for name in astronaut chelsea coffee; do
  target/release/toonflow -q stylize "assets/samples/$name.jpg" -o "$out/$name-comic.png"
  target/release/toonflow -q stylize "assets/samples/$name.jpg" -o "$out/$name-model.png" --model "$model"
  rows+=("assets/samples/$name.jpg,$out/$name-comic.png,$out/$name-model.png")
done
cargo run --release -q -p toonflow-imageio --example contact_sheet -- docs/demo-model.jpg 220 "${rows[@]}"
echo "wrote docs/demo-model.jpg"
