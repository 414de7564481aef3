#!/usr/bin/env bash
# End-to-end video benchmark at 720p: a 4-second 25 fps pan (with audio) made by FFmpeg from a
# bundled photo, stylized with and without temporal stabilization in the same run. Reports fps,
# milliseconds per stage, peak memory and the warping error of each output.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
mkdir -p bench/frames bench/out
clip=bench/frames/pan-720p.mp4
if [ ! -f "$clip" ]; then
  ffmpeg -v error -y -loop 1 -i assets/samples/rocket.jpg -f lavfi -i sine=frequency=330 \
    -filter_complex "[0:v]scale=2560:-2,crop=1280:720:'200+t*60':'300+t*20',noise=alls=6:allf=t,format=yuv420p[v]" \
    -map "[v]" -map 1:a -t 4 -r 25 -c:v libx264 -crf 16 -c:a aac "$clip"
fi
echo "| temporal | fps | ms per frame by stage | peak memory | warping error |"
echo "|---|---|---|---|---|"
for mode in off blend; do
  out=bench/out/pan-720p-$mode.mp4
  /usr/bin/time -v target/release/toonflow video "$clip" -o "$out" --temporal "$mode" --report \
    > bench/out/video-$mode.stdout 2> bench/out/video-$mode.stderr
  summary=$(grep '^toonflow:' bench/out/video-$mode.stderr)
  fps=$(echo "$summary" | sed -E 's/.* at ([0-9.]+) fps.*/\1/')
  stages=$(echo "$summary" | sed -E 's/.*fps \((.*); [0-9]+ scene cuts\)/\1/')
  rss=$(awk '/Maximum resident/ {printf "%.0f MB", $6/1024}' bench/out/video-$mode.stderr)
  we=$(sed -E 's/warping error: ([0-9.]+).*/\1/' bench/out/video-$mode.stdout)
  echo "| $mode | $fps | $stages | $rss | $we |"
done
