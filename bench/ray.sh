#!/usr/bin/env bash
# Long videos on Ray: a 1-minute 720p clip (three 20-second shots, pans over bundled photos, with
# audio) stylized by one `toonflow video` run, then by `python -m toonflow.ray` on a local Ray
# cluster with one worker slot and with two, in the same run. Reports wall time and fps of each,
# the driver's plan / parts / join seconds (the overhead the parts do not have), the speed-up of
# two workers over one, and whether each joined video is byte-identical to the single run.
# Each part runs on one core of its own (PIN=1, the default), as on nodes of one core each: one
# toonflow run already fills every core of this machine, so unpinned workers here would only
# share them (PIN=0 measures that). Plan and join run unpinned, as on the driver's node.
# Needs the Python test env (python/setup-test-env.sh: the toonflow package and Ray).
# PART_FRAMES (default 240) sets the part length.
set -euo pipefail
cd "$(dirname "$0")/.."
python=$PWD/target/python-env/bin/python ray=$PWD/target/python-env/bin/ray
[ -x "$python" ] || { echo "run python/setup-test-env.sh first" >&2; exit 1; }
cargo build --release -q
toonflow=$PWD/target/release/toonflow
mkdir -p bench/frames bench/out/ray
clip=bench/frames/shots-720p-60s.mp4
if [ ! -f "$clip" ]; then
  inputs=() filters=""
  for i in 0 1 2; do
    photo=(rocket astronaut coffee)
    inputs+=(-loop 1 -t 20 -i "assets/samples/${photo[$i]}.jpg")
    filters+="[$i:v]scale=2560:1440:force_original_aspect_ratio=increase,crop=1280:720:'300+t*30':'200+t*10',setsar=1,noise=alls=5:allf=t,fps=24,format=yuv420p[v$i];"
  done
  ffmpeg -v error -y "${inputs[@]}" -f lavfi -i sine=frequency=330:duration=60 \
    -filter_complex "${filters}[v0][v1][v2]concat=n=3:v=1[v]" -map "[v]" -map 3:a \
    -c:v libx264 -crf 18 -c:a aac -shortest "$clip.part.mp4"
  mv "$clip.part.mp4" "$clip"
fi
settings=(--style comic)
part_command=$toonflow
if [ "${PIN:-1}" = 1 ]; then
  # A part takes the first free core (a lock per core, held until the part ends) and runs there.
  part_command=$PWD/bench/out/ray/toonflow-one-core
  cat > "$part_command" <<EOF
#!/usr/bin/env bash
case " \$* " in *" video part "*)
  for core in \$(seq 0 $(($(nproc) - 1))); do
    exec 9> "$PWD/bench/out/ray/core-\$core.lock"
    if flock -n 9; then exec taskset -c "\$core" "$toonflow" "\$@"; fi
  done;;
esac
exec "$toonflow" "\$@"
EOF
  chmod +x "$part_command"
fi
start=$(date +%s.%N)
"$toonflow" -q video "$clip" -o bench/out/ray/single.mp4 "${settings[@]}"
single=$(echo "$(date +%s.%N) - $start" | bc)
frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$clip")
printf '%-28s %8s %7s %s\n' "" "seconds" "fps" "plan / parts / join s, same bytes as single"
printf '%-28s %8.1f %7.2f\n' "toonflow video (one run)" "$single" "$(echo "$frames / $single" | bc -l)"
for slots in 1 2; do
  port=$((6390 + slots))
  "$ray" start --head --node-ip-address 127.0.0.1 --port $port --num-cpus $slots --include-dashboard false \
    --disable-usage-stats > /dev/null 2>&1
  start=$(date +%s.%N)
  summary=$("$python" -m toonflow.ray "$clip" -o bench/out/ray/ray-$slots.mp4 --address 127.0.0.1:$port \
    --toonflow "$part_command" --part-frames "${PART_FRAMES:-240}" -- "${settings[@]}" 2> bench/out/ray/ray-$slots.log)
  took=$(echo "$(date +%s.%N) - $start" | bc)
  "$ray" stop --force > /dev/null 2>&1
  steps=$(echo "$summary" | "$python" -c 'import json, sys; s = json.load(sys.stdin)["seconds"]; print("%.1f / %.1f / %.1f" % (s["plan"], s["parts"], s["join"]))')
  same=$(cmp -s bench/out/ray/single.mp4 bench/out/ray/ray-$slots.mp4 && echo yes || echo NO)
  printf '%-28s %8.1f %7.2f %s, %s\n' "Ray, $slots worker slot(s)" "$took" "$(echo "$frames / $took" | bc -l)" "$steps" "$same"
  eval "ray_$slots=$took"
done
echo "two workers over one: $(echo "$ray_1 / $ray_2" | bc -l | cut -c1-4)x; one Ray worker over one run: $(echo "$single / $ray_1" | bc -l | cut -c1-4)x ($(nproc) CPUs, parts pinned to one core each: ${PIN:-1})"
