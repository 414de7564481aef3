#!/usr/bin/env bash
# The README's demo-model picture: photos the demo models never trained on (chelsea and coffee
# were not in the data; astronaut was, as one of 12 training photos), the built-in comic style,
# then one column per model.
# Usage: bash docs/make-demo-sheet.sh MODEL.safetensors [MODEL.safetensors ...]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: make-demo-sheet.sh MODEL [MODEL ...]" >&2; exit 2; }
models=()
for m in "$@"; do models+=("$(realpath "$m")"); done
cd "$(dirname "$0")/.."
cargo build --release -q
out=target/demo-sheet
mkdir -p "$out"
rows=()
for name in chelsea coffee astronaut; do
  target/release/toonflow -q stylize "assets/samples/$name.jpg" -o "$out/$name-comic.png"
  row="assets/samples/$name.jpg,$out/$name-comic.png"
  for i in "${!models[@]}"; do
    target/release/toonflow -q stylize "assets/samples/$name.jpg" -o "$out/$name-model$i.png" --model "${models[$i]}"
    row+=",$out/$name-model$i.png"
  done
  rows+=("$row")
done
cargo run --release -q -p toonflow-imageio --example contact_sheet -- docs/demo-model.jpg 220 "${rows[@]}"
echo "wrote docs/demo-model.jpg"
