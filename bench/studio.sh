#!/usr/bin/env bash
# The studio's figures (issue: preview latency at 1 MP, memory with 20 queued jobs, requests per
# second for status calls), each beside a reference measured in the same run:
# - preview: POST /api/preview of a 1.0 MP photo (median of 15, over loopback: upload, decode,
#   style, PNG encode) beside `toonflow stylize` of the same photo to a PNG file (a process
#   start, the same decode, style and encode);
# - memory: the server's resident memory idle, then with 20 image jobs waiting behind a video
#   job (one worker);
# - status calls: `ab` (apache2-utils), 5000 GET /api/jobs/ID with 50 at a time, beside the same
#   `ab` (new connections each, as Python's server closes them) against Python's http.server serving a file of the same JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
toonflow=${TOONFLOW:-target/release/toonflow}
[ -n "${TOONFLOW:-}" ] || cargo build --release -q
command -v ab > /dev/null || { echo "needs ab: apt-get install apache2-utils" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; kill $pyserver 2>/dev/null || true; rm -rf "$work"' EXIT
server=; pyserver=
ffmpeg -v error -y -i assets/samples/coffee.jpg -vf scale=1224:816:flags=lanczos -q:v 2 "$work/photo.jpg"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=24:duration=60 -c:v libx264 -pix_fmt yuv420p "$work/long.mp4"

"$toonflow" serve --listen 127.0.0.1:0 --data "$work/data" > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 100); do grep -q studio "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^toonflow studio: \(http[^ ]*\)\/$/\1/p' "$work/serve.out")
rss() { awk '/VmRSS/ {print $2}' /proc/$server/status; }

python3 - "$url" "$work/photo.jpg" "$toonflow" "$work" <<'PY'
import statistics, subprocess, sys, time, urllib.request, uuid
url, photo, toonflow, work = sys.argv[1:]
data = open(photo, "rb").read()
def preview(options):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{options}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(url + "/api/preview", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    start = time.perf_counter()
    urllib.request.urlopen(req).read()
    return time.perf_counter() - start
preview("{}")  # warm
times = [preview('{"colors": %d}' % (6 + k % 10)) for k in range(15)]
cli = []
for k in range(5):
    start = time.perf_counter()
    subprocess.run([toonflow, "-q", "stylize", photo, "-o", f"{work}/cli-{k}.png"], check=True)
    cli.append(time.perf_counter() - start)
print(f"preview of a 1224x816 photo: median {statistics.median(times)*1e3:.0f} ms (min {min(times)*1e3:.0f}, max {max(times)*1e3:.0f}); "
      f"toonflow stylize of the same photo: median {statistics.median(cli)*1e3:.0f} ms")
PY

idle=$(rss)
curl -s -F file=@"$work/long.mp4" "$url/api/jobs" > /dev/null
for k in $(seq 20); do curl -s -F file=@"$work/photo.jpg" "$url/api/jobs" > "$work/job-$k.json"; done
sleep 1
queued=$(curl -s "$url/api/jobs" | python3 -c 'import json,sys; print(sum(j["state"] == "queued" for j in json.load(sys.stdin)))')
echo "server memory: ${idle} kB idle, $(rss) kB with $queued jobs queued behind a running video job"

id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/job-20.json")
curl -s "$url/api/jobs/$id" > "$work/status.json"
# -r: Python's server (a listen backlog of 5) resets some connections at 50 at a time; they are
# counted as failed instead of ending the run.
rps() { ab -q -r -n 5000 -c 50 "$1" 2>/dev/null | awk '/Requests per second/ {r = $4} /Failed requests/ {f = $3} END {print r " requests/s (" f " failed)"}'; }
studio_rps=$(rps "$url/api/jobs/$id")
(cd "$work" && exec python3 -m http.server 0 --bind 127.0.0.1 > "$work/py.out" 2>&1) &
pyserver=$!
for _ in $(seq 100); do grep -q "Serving HTTP" "$work/py.out" 2>/dev/null && break; sleep 0.1; done
pyport=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/py.out" | head -1)
py_rps=$(rps "http://127.0.0.1:$pyport/status.json")
echo "status calls: $studio_rps (GET /api/jobs/ID, 50 at a time, $queued jobs in the queue, a video job running); python3 -m http.server serving the same JSON as a file: $py_rps"
