"""Times toonflow's generator (toonflow.Model.forward: the channels-last CPU path the CLI runs)
against ONNX Runtime on the file `toonflow export` wrote from the same model, in one process,
on the same inputs, both with every core. Used by bench/onnx.sh."""
import os
import sys
import time

import numpy as np
import onnxruntime as ort

import toonflow

model_path, onnx_path = sys.argv[1:3]
model = toonflow.Model(model_path)
options = ort.SessionOptions()
options.intra_op_num_threads = os.cpu_count() or 1
session = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
names = [i.name for i in session.get_inputs()]


def median_ms(run, reps):
    run()  # warm-up: first-call allocations, ORT's graph preparation
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1e3


print(f"ONNX Runtime {ort.__version__}, {os.cpu_count()} threads each; median ms, same weights, same inputs")
print(f"{'':<12} {'toonflow':>9} {'ORT':>9} {'ORT/toonflow':>13} {'max |diff|':>11}")
rng = np.random.default_rng(1)
for h, w, reps in [(256, 256, 9), (256, 456, 7), (720, 1280, 3)]:
    x = rng.uniform(-1, 1, (1, 3, h, w)).astype(np.float32)
    feeds = {"image": x} | ({"base": np.zeros_like(x)} if "base" in names else {})
    ours, theirs = model.forward(x), session.run(None, feeds)[0]
    diff = float(np.abs(ours - theirs).max())
    t_ours = median_ms(lambda: model.forward(x), reps)
    t_ort = median_ms(lambda: session.run(None, feeds), reps)
    print(f"{w}x{h:<8} {t_ours:>9.0f} {t_ort:>9.0f} {t_ort / t_ours:>12.2f}x {diff:>11.1e}")
