#!/usr/bin/env bash
# The comparison table of the README: built-in styles and trained models on the held-out photos,
# frames and clips of the demo data (scripts/demo-data.sh), against the held-out drawings.
#
# Usage: bash scripts/compare-models.sh DEMO OUT [NAME=MODEL.safetensors[,FLAG...] ...]
#   e.g. gan=runs/x/model.safetensors gan-kept=runs/x/model.safetensors,--keep-colors
#   DEMO  the folder demo-data.sh made (heldout-photos/, clips/, comics/heldout/)
#   OUT   where outputs, JSON figures and table.md go
# Rows: the unchanged photos (the reference), the comic and webtoon presets, then each model.
# Columns: fid_vgg, kid_vgg (with its standard error) and swd to the held-out drawings (lower is
# closer), SSIM and edge agreement with the input (higher keeps more), colour cast (the mean Oklab
# hue/chroma shift from the input), warping error of the clips stylized frame by frame
# (--temporal off: the method's own stability) and with toonflow's flow blend (what `video` does
# by default), and seconds per megapixel for the held-out images on this machine. Run it on an
# otherwise idle machine: the speed column is wall-clock time.
set -euo pipefail
demo=${1:?usage: compare-models.sh DEMO OUT [NAME=MODEL ...]}
out=${2:?usage: compare-models.sh DEMO OUT [NAME=MODEL ...]}
shift 2
mkdir -p "$out"
demo=$(realpath "$demo") out=$(realpath "$out")
models=()
for spec in "$@"; do
  model=${spec#*=} extra=""
  if [[ $model == *,* ]]; then extra=${model#*,}; extra=${extra//,/ }; model=${model%%,*}; fi
  models+=("${spec%%=*}=$(realpath "$model") $extra")
done
cd "$(dirname "$0")/.."
cargo build --release -q -p toonflow
bin=target/release/toonflow
photos="$demo/heldout-photos"
style="$demo/comics/heldout"
megapixels=$(for f in "$photos"/*; do ffprobe -v error -show_entries stream=width,height -of csv=p=0 "$f"; done |
  awk -F, '{s += $1 * $2} END {printf "%.3f", s / 1e6}')

# NAME|toonflow flags, one per row ("photo" has no flags: the inputs themselves).
rows=("photo|" "comic|--style comic" "webtoon|--style webtoon")
for spec in "${models[@]}"; do rows+=("${spec%%=*}|--model ${spec#*=}"); done

for row in "${rows[@]}"; do
  name=${row%%|*}
  read -r -a flags <<< "${row#*|}"
  dir="$out/$name"
  mkdir -p "$dir"
  if [ "$name" = photo ]; then
    images=$photos
  else
    images="$dir/images"
    rm -rf "$images"
    start=$(date +%s.%N)
    "$bin" stylize -q "$photos" -o "$images" "${flags[@]}"
    echo "$start $(date +%s.%N) $megapixels" | awk '{printf "%.2f\n", ($2 - $1) / $3}' > "$dir/seconds-per-mp.txt"
  fi
  "$bin" eval style --outputs "$images" --style "$style" --json > "$dir/style.json"
  "$bin" eval content --inputs "$photos" --outputs "$images" --json > "$dir/content.json"
  for clip in "$demo"/clips/*.mp4; do
    stem=$(basename "$clip" .mp4)
    for mode in off blend; do
      frames=$clip
      if [ "$name" != photo ]; then
        frames="$dir/$stem-$mode"
        rm -rf "$frames"
        "$bin" video -q "$clip" -o "$frames/" --temporal "$mode" "${flags[@]}"
      fi
      "$bin" eval temporal "$clip" "$frames" --json > "$dir/$stem-$mode.json"
    done
  done
  echo "done: $name"
done
names=()
for row in "${rows[@]}"; do names+=("${row%%|*}"); done
python3 scripts/comparison_table.py "$out" "${names[@]}" | tee "$out/table.md"
