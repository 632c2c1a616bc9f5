"""The documentation (docs/: the tour and the API reference from the docstrings) builds without a warning."""

from __future__ import annotations

import os
import subprocess
import sys

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")


def test_docs_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            DOCS,
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    index = (tmp_path / "html" / "index.html").read_text()
    assert "2026, the framepipe developers" in index  # the footer names who holds the copyright
    api = (tmp_path / "html" / "api.html").read_text()
    for name in (
        "framepipe.open",
        "framepipe.VideoFile",
        "framepipe.open_stream",
        "ClipDataset",
        "TimeseriesGenerator",
        "framepipe.FrameFormat",
    ):
        assert name in api, name
