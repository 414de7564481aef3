"""toonflow.video: the CLI's frames, progress, and a callback that stops the run."""
import shutil
import subprocess

import numpy as np
import pytest

import toonflow
from conftest import run

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="FFmpeg not installed")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=12:duration=1", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )
    return path


def frames(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, 64, 96, 3)


def test_video_equals_the_cli_with_progress(tmp_path, toonflow_bin, clip):
    run(toonflow_bin, "video", clip, "-o", tmp_path / "cli.mp4", "--style", "webtoon", "--colors", "6")
    seen = []
    report = toonflow.video(clip, tmp_path / "py.mp4", style="webtoon", colors=6, progress=lambda done, total: seen.append((done, total)))
    assert report["frames"] == 12
    assert [d for d, _ in seen] == list(range(1, 13)) and seen[-1][1] == 12
    assert np.array_equal(frames(tmp_path / "py.mp4"), frames(tmp_path / "cli.mp4"))


def test_an_exception_in_the_callback_stops_the_run_and_leaves_no_file(tmp_path, clip):
    def stop(done, total):
        if done == 3:
            raise KeyError("enough")

    with pytest.raises(KeyError, match="enough"):
        toonflow.video(clip, tmp_path / "stopped.mp4", progress=stop)
    assert list(tmp_path.iterdir()) == []


def test_video_errors_name_the_file(tmp_path):
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"nothing here")
    with pytest.raises(toonflow.ToonflowError, match="not-a-video.mp4"):
        toonflow.video(bad, tmp_path / "out.mp4")
    with pytest.raises(ValueError, match="temporal 'smooth'"):
        toonflow.video(bad, tmp_path / "out.mp4", temporal="smooth")
