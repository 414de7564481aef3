"""What the Python tests share: the toonflow binary to compare with, a small photo, a model.

The Rust test `crates/toonflow/tests/python.rs` runs them (`cargo test --workspace`) with
TOONFLOW_BIN (the command line built from the same checkout), TOONFLOW_TEST_MODEL (a tiny
trained generator) and TOONFLOW_TEST_CONDITIONAL_MODEL (one of two styles drawn over the comic
preset) set; they can be run by hand the same way.
"""
import os
import pathlib
import subprocess

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _from_env(name, what):
    """The path the Rust test side passes in `name`; the test is skipped without it."""
    path = os.environ.get(name)
    if not path:
        pytest.skip(f"{name} not set ({what})")
    return path


@pytest.fixture(scope="session")
def toonflow_bin():
    return _from_env("TOONFLOW_BIN", "the toonflow command line to compare with")


@pytest.fixture(scope="session")
def model_path():
    return _from_env("TOONFLOW_TEST_MODEL", "a trained generator file")


@pytest.fixture(scope="session")
def conditional_model_path():
    return _from_env("TOONFLOW_TEST_CONDITIONAL_MODEL", "a generator of two styles over a base style")


@pytest.fixture(scope="session")
def photo():
    """A bundled photo, shrunk to an odd size (fast, and not a multiple of anything)."""
    with Image.open(ROOT / "assets/samples/chelsea.jpg") as img:
        return np.asarray(img.convert("RGB").resize((151, 101), Image.BILINEAR))


def run(toonflow_bin, *args):
    out = subprocess.run([toonflow_bin, "-q", *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def read_png(path):
    with Image.open(path) as img:
        return np.asarray(img)
