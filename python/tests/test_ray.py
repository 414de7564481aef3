"""python -m toonflow.ray on a local Ray cluster (loopback, two worker slots): the joined video
is a single run's, also when a worker is killed in the middle of a part."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import run

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="FFmpeg not installed")
RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--disable-usage-stats"]
    subprocess.run([RAY, "start", "--head", "--port", str(port), "--include-dashboard", "false", *common], check=True, **quiet)
    try:
        subprocess.run([RAY, "start", "--address", f"127.0.0.1:{port}", *common], check=True, **quiet)
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], **quiet)


def clip(path, size):
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration=6",
         "-f", "lavfi", "-i", f"mandelbrot=size={size}:rate=24", "-f", "lavfi", "-i", "sine=frequency=440:duration=7",
         "-filter_complex", "[1:v]trim=duration=1,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]",
         "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )


def driver(toonflow_bin, video, output, address, *extra):
    command = [sys.executable, "-m", "toonflow.ray", str(video), "-o", str(output), "--address", address,
               "--toonflow", toonflow_bin, "--part-frames", "40", *extra, "--", "--style", "webtoon"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_ray_driver_gives_a_single_runs_video(tmp_path, toonflow_bin, cluster):
    video = tmp_path / "clip.mp4"
    clip(video, "160x96")
    run(toonflow_bin, "video", video, "-o", tmp_path / "single.mp4", "--style", "webtoon")
    process = driver(toonflow_bin, video, tmp_path / "ray.mp4", cluster, "--ship-input")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert '"parts": 5' in out and "5/5 parts" in err
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "single.mp4").read_bytes()


def part_processes():
    """(pid, parent pid) of the running `toonflow ... video part` processes."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if b"video" in argv and b"part" in argv and argv[0].endswith(b"toonflow"):
            found.append((int(pid), parent))
    return found


def test_a_worker_killed_mid_part_is_retried_and_the_video_is_unchanged(tmp_path, toonflow_bin, cluster):
    video = tmp_path / "clip.mp4"
    clip(video, "320x192")
    run(toonflow_bin, "video", video, "-o", tmp_path / "single.mp4", "--style", "webtoon")
    process = driver(toonflow_bin, video, tmp_path / "ray.mp4", cluster)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        running = part_processes()
        if running:
            _, worker = running[0]
            os.kill(worker, signal.SIGKILL)  # the Ray worker running the part
            killed = worker
        time.sleep(0.02)
    out, err = process.communicate(timeout=600)
    assert killed is not None, "no part was seen running"
    assert process.returncode == 0, err
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "single.mp4").read_bytes()
