"""toonflow.stylize, toonflow.Model and toonflow.styles: the CLI's results, bad arrays, threads."""
import threading
import time

import numpy as np
import pytest
from PIL import Image

import toonflow
from conftest import read_png, run


def test_stylize_equals_the_cli_pixel_for_pixel(tmp_path, toonflow_bin, photo):
    rgba = np.dstack([photo, np.linspace(0, 255, photo.shape[1], dtype=np.uint8)[None, :].repeat(photo.shape[0], 0)])
    cases = [
        (photo, {}, []),
        (photo, {"style": "webtoon", "strength": 0.8, "colors": 8}, ["--style", "webtoon", "--strength", "0.8", "--colors", "8"]),
        (rgba, {"style": "manga", "lines": False, "tone_size": 5.0}, ["--style", "manga", "--no-lines", "--tone-size", "5"]),
        (photo, {"style": "webtoon", "tone": True, "line_width": 2.5, "smoothing": 0}, ["--style", "webtoon", "--tone", "--line-width", "2.5", "--smoothing", "0"]),
    ]
    for i, (image, keywords, flags) in enumerate(cases):
        src, dst = tmp_path / f"in{i}.png", tmp_path / f"out{i}.png"
        Image.fromarray(image).save(src)
        run(toonflow_bin, "stylize", src, "-o", dst, *flags)
        ours = toonflow.stylize(image, **keywords)
        assert ours.dtype == np.uint8 and ours.shape == image.shape
        assert np.array_equal(ours, read_png(dst)), f"case {i}: {keywords}"


def test_float_images_give_float_results_on_the_same_pixels(photo):
    as_uint8 = toonflow.stylize(photo)
    as_float = toonflow.stylize(photo.astype(np.float32) / 255.0)
    assert as_float.dtype == np.float32 and as_float.shape == photo.shape
    assert np.array_equal(np.round(as_float * 255).astype(np.uint8), as_uint8)
    # Any memory layout: a transposed view is read as the image it shows.
    view = np.ascontiguousarray(photo.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert not view.flags["C_CONTIGUOUS"]
    assert np.array_equal(toonflow.stylize(view), as_uint8)


def test_model_equals_stylize_with_model_on_the_cli(tmp_path, toonflow_bin, model_path, photo):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(photo).save(src)
    run(toonflow_bin, "stylize", src, "-o", dst, "--model", model_path, "--strength", "0.7")
    model = toonflow.Model(model_path)
    assert np.array_equal(model.stylize(photo, strength=0.7), read_png(dst))
    assert "Model(" in repr(model)


@pytest.mark.parametrize(
    "image, error, message",
    [
        (np.zeros((10, 10), np.uint8), ValueError, "image of shape (10, 10): expected (height, width, 3)"),
        (np.zeros((10, 10, 2), np.uint8), ValueError, "expected (height, width, 3)"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "at least 1"),
        (np.zeros((10, 10, 3), np.int32), TypeError, "expected a NumPy array of uint8, float32 or float64"),
        (np.full((10, 10, 3), 2.0, np.float32), ValueError, "expected 0 to 1"),
        (np.full((10, 10, 3), np.nan), ValueError, "expected 0 to 1"),
        ([[1, 2, 3]], TypeError, "expected a NumPy array"),
    ],
)
def test_bad_arrays_say_what_was_expected(image, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        toonflow.stylize(image)


def test_bad_settings_name_the_keyword(photo):
    for keywords, message in [
        ({"style": "sketch"}, "style 'sketch': the built-in styles are comic, webtoon, manga"),
        ({"strength": 1.5}, "strength 1.5: expected a number from 0 to 1"),
        ({"colors": 0}, "colors 0: expected 1 to 256"),
        ({"line_width": 11.0}, "line_width 11: expected a line width above 0, up to 10"),
    ]:
        with pytest.raises(ValueError, match=message):
            toonflow.stylize(photo, **keywords)
    # A keyword that is no knob, or a knob of the wrong type, is a TypeError saying so.
    with pytest.raises(TypeError, match="unexpected keyword 'colour': the style knobs are colors, saturation"):
        toonflow.stylize(photo, colour=8)
    with pytest.raises(TypeError, match="colors: "):
        toonflow.stylize(photo, colors="many")
    with pytest.raises(TypeError, match="unexpected keyword 'fps'"):
        toonflow.video("in.mp4", "out.mp4", fps=12)
    with pytest.raises(toonflow.ToonflowError, match="no-such.safetensors"):
        toonflow.Model("no-such.safetensors")


def test_two_threads_stylize_at_once_with_the_gil_released(photo):
    big = np.tile(photo, (4, 4, 1))
    expected = toonflow.stylize(big, style="webtoon")
    results = [None, None]

    def work(i):
        results[i] = toonflow.stylize(big, style="webtoon")

    # While Rust works, Python code keeps running: the GIL is released.
    ticks = 0
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks += 1
        time.sleep(0.001)
    for t in threads:
        t.join()
    assert all(np.array_equal(r, expected) for r in results)
    assert ticks > 10, f"the main thread ran only {ticks} times while two stylize calls ran"


def test_styles_lists_the_presets():
    names = [s["name"] for s in toonflow.styles()]
    assert names == ["comic", "webtoon", "manga"]
    assert all(isinstance(s["description"], str) and s["colors"] > 0 for s in toonflow.styles())
