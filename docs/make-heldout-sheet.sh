#!/usr/bin/env bash
# A contact sheet of held-out images from a scripts/compare-models.sh run: one row per image —
# the photo, the comic preset, then the model NAME (as named on the compare-models.sh line).
# docs/over-comic.jpg is `bash docs/make-heldout-sheet.sh DEMO OUT over-comic-colour10 docs/over-comic.jpg`.
# Usage: bash docs/make-heldout-sheet.sh DEMO COMPARE_OUT NAME SHEET.jpg
set -euo pipefail
demo=${1:?usage: make-heldout-sheet.sh DEMO COMPARE_OUT NAME SHEET.jpg}
cmp=${2:?usage} name=${3:?usage} sheet=${4:?usage}
demo=$(realpath "$demo") cmp=$(realpath "$cmp") sheet=$(realpath -m "$sheet")
cd "$(dirname "$0")/.."
rows=()
for f in chelsea coffee motorcycle_right bikes-01 bikes-03 bigbuckbunny-01 bigbuckbunny-03 bikes-04; do
  rows+=("$demo/heldout-photos/$f.png,$cmp/comic/images/$f.png,$cmp/$name/images/$f.png")
done
cargo run --release -q -p toonflow-imageio --example contact_sheet -- "$sheet" 200 "${rows[@]}"
echo "wrote $sheet"
