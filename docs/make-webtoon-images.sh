#!/usr/bin/env bash
# Rebuilds the README's webtoon pictures from the clips bench/webtoon.sh prepares: the carphone
# episode as a strip, and the first page of the bikes episode in right-to-left page layout.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f bench/frames/carphone-720p.mp4 ] || bash bench/webtoon.sh
t=target/release/toonflow
$t -q webtoon bench/frames/carphone-720p.mp4 --subtitles bench/subtitles/carphone.srt -o bench/out/webtoon-carphone
$t -q webtoon bench/frames/bikes-720p.mp4 --subtitles bench/subtitles/bikes.srt -o bench/out/webtoon-bikes-pages --layout page --rtl
ffmpeg -v error -y -i bench/out/webtoon-carphone/episode.png -q:v 4 docs/webtoon-carphone.jpg
ffmpeg -v error -y -i bench/out/webtoon-bikes-pages/pages/001.png -vf scale=560:-2 -q:v 4 docs/webtoon-bikes-page-rtl.jpg
