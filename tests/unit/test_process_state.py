"""Process state is lazy and checked: importing framepipe reads no setting; a setting is read when first
used, and a bad value is an error that names the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=120
    )


@pytest.mark.parametrize(
    "variable, use",
    [
        ("FRAMEPIPE_LEROBOT_MAX_OPEN", "import framepipe.lerobot as m; m.default_pool()"),
        ("FRAMEPIPE_MAX_OUTPUT_BYTES", "import framepipe as m; m.max_output_bytes()"),
        ("FRAMEPIPE_MAX_FRAME_PIXELS", "import framepipe as m; m.max_frame_pixels()"),
        ("FRAMEPIPE_RECENT_FRAMES_BYTES", "import framepipe as m; m.recent_frames_limit()"),
    ],
)
def test_a_bad_setting_fails_where_it_is_used_and_names_the_variable(variable, use):
    pytest.importorskip("torch")
    module = use.split(";")[0]
    assert run(module, **{variable: "x"}).returncode == 0  # importing reads nothing
    used = run(use, **{variable: "x"})
    assert used.returncode != 0 and f"${variable} must be" in used.stderr
    assert run(use, **{variable: "7"}).returncode == 0
