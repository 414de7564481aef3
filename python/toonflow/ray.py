"""A long video across a Ray cluster: ``python -m toonflow.ray VIDEO -o OUT.mp4 [--address ...]``.

The driver plans the video here (``toonflow video plan``: shots, parts, the shared decisions),
runs one Ray task per part (``toonflow video part``, retried when it fails or its worker dies),
collects the parts (their bytes come back through Ray's object store, so the workers need no
shared disk for their output), and joins them here (``toonflow video join``). The joined video
has the frames of a single ``toonflow video`` run with the same flags.

Every node needs the ``toonflow`` command (``--toonflow`` names it where it is not on PATH). The
video is read from its path on every node (shared storage), or, with ``--ship-input``, sent to
them through the object store.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import ray


def _die_with_parent():
    """The toonflow child dies with the Ray worker that started it (Linux), so a killed worker
    leaves no orphan stylizing a part nobody collects."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@ray.remote
class Progress:
    """Frames done per part, as the tasks report them."""

    def __init__(self):
        self.done = {}

    def update(self, part, frames):
        self.done[part] = frames

    def total(self):
        return sum(self.done.values())


def _run_part(toonflow, plan_text, index, video, progress):
    """Runs one part on this node; returns the part file's bytes."""
    plan = json.loads(plan_text)
    part = plan["parts"][index]
    with tempfile.TemporaryDirectory(prefix="toonflow-part-") as work:
        plan_path = os.path.join(work, "plan.json")
        with open(plan_path, "w") as f:
            f.write(plan_text)
        command = [toonflow, "--quiet", "--progress-json", "video", "part", plan_path, str(index)]
        if isinstance(video, bytes):
            local = os.path.join(work, "input" + os.path.splitext(plan["input"])[1])
            with open(local, "wb") as f:
                f.write(video)
            command += ["--input", local]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_die_with_parent)
        for line in child.stdout:
            try:
                report = json.loads(line)
            except ValueError:
                continue
            if report.get("stage") == "frames" and report["done"] % 24 == 0:
                progress.update.remote(index, report["done"])
        error = child.stderr.read()
        if child.wait() != 0:
            raise RuntimeError(f"part {index} on {os.uname().nodename}: {error.strip()}")
        with open(os.path.join(work, f"part-{index}.mkv"), "rb") as f:
            data = f.read()
        progress.update.remote(index, part["end"] - part["start"])
        return data


def _stylize_parts(toonflow, plan_text, work, shipped_video, retries, log):
    """One Ray task per part of the plan; each part's bytes written to work/part-K.mkv as it
    comes back. `shipped_video`: the video's path, to send its bytes to the nodes."""
    plan = json.loads(plan_text)
    progress = Progress.remote()
    source = None
    if shipped_video is not None:
        with open(shipped_video, "rb") as f:
            source = ray.put(f.read())
    task = ray.remote(num_cpus=1, max_retries=retries, retry_exceptions=True)(_run_part)
    pending = {task.remote(toonflow, plan_text, k, source, progress): k for k in range(len(plan["parts"]))}
    finished = 0
    while pending:
        ready, _ = ray.wait(list(pending), timeout=2.0)
        for ref in ready:
            k = pending.pop(ref)
            with open(os.path.join(work, f"part-{k}.mkv"), "wb") as f:
                f.write(ray.get(ref))
            finished += 1
        done = ray.get(progress.total.remote())
        log(f"toonflow.ray: {finished}/{len(plan['parts'])} parts, {done}/{plan['frames']} frames")


def run(video, output, settings=(), address=None, part_frames=None, warm_up=None, toonflow="toonflow", retries=3, ship_input=False, work_dir=None, log=print):
    """Plans, stylizes the parts on the cluster at ``address`` (a new local one when None) and
    joins them into ``output``. Returns a summary (parts, frames, seconds per step)."""
    toonflow = shutil.which(toonflow) or toonflow
    work = work_dir or tempfile.mkdtemp(prefix="toonflow-ray-")
    os.makedirs(work, exist_ok=True)
    # A temporary work folder goes whatever happens; one the caller named keeps the plan and parts.
    try:
        plan_path = os.path.join(work, "plan.json")
        times = {}

        started = time.monotonic()
        command = [toonflow, "--quiet", "video", "plan", str(video), "-o", plan_path]
        if part_frames:
            command += ["--part-frames", str(part_frames)]
        if warm_up is not None:
            command += ["--warm-up", str(warm_up)]
        subprocess.run(command + ["--", *settings], check=True)
        with open(plan_path) as f:
            plan_text = f.read()
        plan = json.loads(plan_text)
        times["plan"] = time.monotonic() - started
        log(f"toonflow.ray: {plan['frames']} frames, {len(plan['shots'])} shots, {len(plan['parts'])} parts")

        started = time.monotonic()
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        try:
            _stylize_parts(toonflow, plan_text, work, video if ship_input else None, retries, log)
        finally:
            ray.shutdown()
        times["parts"] = time.monotonic() - started

        started = time.monotonic()
        subprocess.run([toonflow, "--quiet", "video", "join", plan_path, "-o", str(output), "--input", str(video)], check=True)
        times["join"] = time.monotonic() - started
        return {"parts": len(plan["parts"]), "frames": plan["frames"], "seconds": times}
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m toonflow.ray", description=__doc__.split("\n\n")[0])
    parser.add_argument("video")
    parser.add_argument("-o", "--output", required=True, help="the video to write (.mp4, .mkv, .webm ...)")
    parser.add_argument("--address", help="the Ray cluster (default: RAY_ADDRESS, else a new local one)")
    parser.add_argument("--part-frames", type=int, help="most frames in one part (toonflow's default 1000)")
    parser.add_argument("--warm-up", type=int, help="warm-up frames of a chunk of a long shot (default: what --temporal-strength needs, 102 at 0.75)")
    parser.add_argument("--toonflow", default="toonflow", help="the toonflow command on every node")
    parser.add_argument("--retries", type=int, default=3, help="tries again of a failed part")
    parser.add_argument("--ship-input", action="store_true", help="send the video to the nodes (no shared storage)")
    parser.add_argument("--work-dir", help="keep the plan and parts here")
    parser.epilog = "Flags after -- go to every `toonflow video part` (style, model, temporal ...)."
    argv = sys.argv[1:] if argv is None else list(argv)
    # Everything after the first "--" is toonflow's, split off by hand: argparse's REMAINDER
    # would also swallow the driver's own options when they follow the video.
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    settings = argv[split + 1:]
    summary = run(args.video, args.output, settings, args.address or os.environ.get("RAY_ADDRESS"), args.part_frames,
                  args.warm_up, args.toonflow, args.retries, args.ship_input, args.work_dir,
                  log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
