"""A missing extra is an ImportError that names the ``pip install`` line, for every adapter: each case
runs in a child process where only the named extras (and what they bring) can be imported."""

from __future__ import annotations

import sys

import pytest

from support.only_extras import run_with_only

_NOT_INSTALLED = "which is not installed: pip install"
CASES = [
    # (extras installed, code, what the message must say)
    ([], "import framepipe.torch", f"framepipe.torch needs torch, {_NOT_INSTALLED} 'framepipe[torch]'"),
    ([], "import framepipe.ray", f"framepipe.ray needs ray, {_NOT_INSTALLED} 'framepipe[ray]'"),
    ([], "import framepipe.keras", f"framepipe.keras needs keras, {_NOT_INSTALLED} 'framepipe[keras]'"),
    (
        ["keras"],
        "import framepipe.keras",
        f"needs tensorflow, {_NOT_INSTALLED} 'framepipe[keras]'; Keras 3 imports its backend (TensorFlow by "
        "default): install one, or set KERAS_BACKEND=torch",
    ),
    (
        [],
        "import framepipe; framepipe.open('https://127.0.0.1:9/v.mp4')",
        f"reading videos from URLs needs fsspec, {_NOT_INSTALLED} 'framepipe[remote]'",
    ),
    (
        ["torch"],  # torch brings fsspec, not aiohttp
        "import framepipe; framepipe.open('http://127.0.0.1:9/v.mp4')",
        f"reading videos over HTTP needs aiohttp, {_NOT_INSTALLED} 'framepipe[remote]'",
    ),
    (
        ["lerobot"],
        "import framepipe.lerobot; framepipe.lerobot.install()",
        f"framepipe.lerobot.install() needs lerobot, {_NOT_INSTALLED} lerobot",
    ),
    (
        [],
        "from framepipe.lerobot import decode_video_frames; decode_video_frames('v.mp4', [0.0], 1e-4)",
        f"framepipe.lerobot needs torch, {_NOT_INSTALLED} 'framepipe[lerobot]'",
    ),
]


@pytest.mark.parametrize(
    "extras, code, message", CASES, ids=[c[1].split(";")[-1].strip()[:40] for c in CASES]
)
def test_a_missing_extra_names_its_install_line(extras, code, message, tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)  # as a reader's environment: no backend chosen
    proc = run_with_only(extras, [sys.executable, "-c", code], cwd=tmp_path, tmp_path=tmp_path, timeout=120)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and message in last, proc.stderr[-2000:]


def test_the_command_line_without_its_extra_says_so(tmp_path):
    proc = run_with_only(
        [],
        [sys.executable, "-m", "framepipe", "probe", "v.mp4"],
        cwd=tmp_path,
        tmp_path=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 1
    assert (
        "the command line needs the [cli] extra" in proc.stderr
        and "pip install 'framepipe[cli]'" in proc.stderr
    )
