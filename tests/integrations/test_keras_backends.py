"""The Keras tests on every backend: test_keras.py and keras_backend_checks.py, each backend in its own
process (Keras picks its backend once, at import). torch runs here too, in a fresh process, so that the
backend checks see each backend alike."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).parent
PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_keras_on_backend(backend, tmp_path):
    if importlib.util.find_spec(PACKAGES[backend]) is None:
        pytest.fail(f"{backend} is not installed: the dev extra installs every Keras backend")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--basetemp",
            str(tmp_path / "t"),
            str(HERE / "test_keras.py"),
            str(HERE / "keras_backend_checks.py"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=HERE.parents[1],
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    passed = int(re.search(r"(\d+) passed", summary).group(1))
    assert passed >= 20, summary  # every test ran, under this backend
    print(f"keras[{backend}]: {summary}")
