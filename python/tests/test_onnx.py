"""`toonflow export`: the ONNX file, run by ONNX Runtime, gives toonflow's network output."""
import subprocess

import numpy as np
import onnxruntime as ort

import toonflow
from conftest import run


def test_exported_graph_matches_toonflow_at_odd_sizes(tmp_path, toonflow_bin, model_path):
    onnx_path = tmp_path / "model.onnx"
    run(toonflow_bin, "export", model_path, "-o", onnx_path)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert session.get_inputs()[0].shape == ["batch", 3, "height", "width"]
    model = toonflow.Model(model_path)
    rng = np.random.default_rng(7)
    # Two odd sizes, and a 720p frame, where the norms' means run over millions of values.
    for n, h, w in [(2, 37, 53), (2, 61, 29), (1, 720, 1280)]:
        x = rng.uniform(-1, 1, (n, 3, h, w)).astype(np.float32)
        (ours,) = session.run(["drawing"], {"image": x})
        expected = model.forward(x)
        assert ours.shape == expected.shape == (n, 3, h, w)
        worst = float(np.abs(ours - expected).max())
        assert worst <= 1e-4, f"{h}x{w}: largest difference {worst}"
        # Not a constant: the network's output depends on its input.
        assert float(expected.std()) > 1e-3


def test_a_conditional_model_over_a_base_style_exports_each_style(tmp_path, toonflow_bin, conditional_model_path):
    model = toonflow.Model(conditional_model_path)
    assert len(model.styles) == 2
    rng = np.random.default_rng(8)
    x = rng.uniform(-1, 1, (1, 3, 45, 67)).astype(np.float32)
    base = rng.uniform(-1, 1, x.shape).astype(np.float32)  # the base style's drawing, from the caller
    outputs = []
    for style in model.styles:
        onnx_path = tmp_path / f"{style}.onnx"
        run(toonflow_bin, "export", conditional_model_path, "-o", onnx_path, "--style-id", style)
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        assert [i.name for i in session.get_inputs()] == ["image", "base"]
        (ours,) = session.run(["drawing"], {"image": x, "base": base})
        # toonflow adds the network's output to the base drawing and clips, as in training.
        expected = np.clip(model.forward(x, style_id=style) + base, -1, 1)
        worst = float(np.abs(ours - expected).max())
        assert worst <= 1e-4, f"{style}: largest difference {worst}"
        outputs.append(ours)
    assert float(np.abs(outputs[0] - outputs[1]).max()) > 1e-4, "the style id changes the drawing"
    # A style the model does not have is a usage error naming the styles it has.
    out = subprocess.run([toonflow_bin, "export", conditional_model_path, "-o", tmp_path / "x.onnx", "--style-id", "nope"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and model.styles[0] in out.stderr, out.stderr
    assert not (tmp_path / "x.onnx").exists()
