"""docs/k8s-indexed-job.yaml does what it says: its container command, run once per index with
JOB_COMPLETION_INDEX set as Kubernetes sets it, gives the parts that join into a single run's
video. (No cluster here: this checks the Job's command and its use of the index, not Kubernetes.)"""
import json
import os
import shutil
import subprocess

import pytest
import yaml

from conftest import ROOT, run
from test_ray import clip

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="FFmpeg not installed")


def test_the_indexed_job_example_gives_a_single_runs_video(tmp_path, toonflow_bin):
    with open(ROOT / "docs/k8s-indexed-job.yaml") as f:
        job = yaml.safe_load(f)
    assert job["kind"] == "Job" and job["spec"]["completionMode"] == "Indexed"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (mount,) = container["volumeMounts"]
    assert mount["name"] == pod["volumes"][0]["name"]
    studio = mount["mountPath"]

    video = tmp_path / "shot.mp4"
    clip(video, "160x96")
    run(toonflow_bin, "video", video, "-o", tmp_path / "single.mp4", "--style", "comic")
    run(toonflow_bin, "video", "plan", video, "-o", tmp_path / "plan.json", "--part-frames", "40", "--", "--style", "comic")
    parts = len(json.loads((tmp_path / "plan.json").read_text())["parts"])
    assert parts > 1

    # The pod's command, with the volume where this test keeps it and this checkout's toonflow.
    (script,) = container["args"]
    script = script.replace(studio, str(tmp_path))
    assert script.startswith("toonflow ")
    script = toonflow_bin + script[len("toonflow"):]
    for index in reversed(range(parts)):  # pods finish in any order
        env = dict(os.environ, JOB_COMPLETION_INDEX=str(index))
        done = subprocess.run([*container["command"], script], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"part-{index}.mkv").is_file()

    run(toonflow_bin, "video", "join", tmp_path / "plan.json", "-o", tmp_path / "joined.mp4")
    assert (tmp_path / "joined.mp4").read_bytes() == (tmp_path / "single.mp4").read_bytes()
