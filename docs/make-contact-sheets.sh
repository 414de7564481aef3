#!/usr/bin/env bash
# Rebuilds the pictures in the README from the bundled samples (and, for the OpenCV comparison,
# from the benchmark's outputs: run bench/setup.sh and the bench first).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
out=target/contact-sheet
mkdir -p "$out"
rows=()
for name in astronaut chelsea coffee rocket; do
  row="assets/samples/$name.jpg"
  for style in comic webtoon manga; do
    target/release/toonflow -q stylize "assets/samples/$name.jpg" -o "$out/$name-$style.png" --style "$style"
    row="$row,$out/$name-$style.png"
  done
  rows+=("$row")
done
cargo run --release -q -p toonflow-imageio --example contact_sheet -- docs/contact-sheet.jpg 220 "${rows[@]}"

if [ -f bench/out/grass-720p.cartoonify.png ]; then
  rows=()
  for frame in rocket-720p grass-720p; do
    rows+=("bench/frames/$frame.png,bench/out/$frame.toonflow.png,bench/out/$frame.cartoonify.png,bench/out/$frame.stylization.png")
  done
  cargo run --release -q -p toonflow-imageio --example contact_sheet -- docs/vs-opencv.jpg 240 "${rows[@]}"
fi
echo "wrote docs/contact-sheet.jpg${rows:+ and docs/vs-opencv.jpg}"
