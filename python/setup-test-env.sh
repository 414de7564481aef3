#!/usr/bin/env bash
# The Python tests' own virtualenv, target/python-env: the toonflow package built from this
# checkout by `pip install .` (maturin compiles crates/toonflow-python into an abi3 wheel), and
# what the tests use: pytest, Pillow (to read the CLI's PNGs), ONNX Runtime (the export check)
# Ray (the many-machines driver) and PyYAML (to read the Kubernetes example). Run it again after changing the Rust code.
set -euo pipefail
cd "$(dirname "$0")/.."
env=target/python-env
[ -x "$env/bin/python" ] || python3 -m venv "$env"
"$env/bin/python" -m pip install -q --upgrade pip
"$env/bin/python" -m pip install -q pytest pillow onnxruntime numpy pyyaml "ray>=2.9"
"$env/bin/python" -m pip install -q --force-reinstall --no-deps .
"$env/bin/python" -c 'import toonflow; print("toonflow", toonflow.__file__)'
