"""LeRobot fixtures: videos made the way LeRobot's encoder makes them, and LeRobot's own decode functions.

``lerobot_utils`` is LeRobot's real ``lerobot.datasets.video_utils`` where LeRobot is installed (the
README's test command installs lerobot 0.6.1 without its dependency tree: its package ``__init__`` files
need Python 3.12, so the parent packages are bypassed here and only what ``video_utils`` imports is
loaded), else a pinned copy of its decode path (``pinned_video_utils.py``) registered under the same name.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import numpy as np
import pytest

from framepipe.tools.synthetic import draw_frame, make_video
from support.lerobot_compat import load_lerobot_video_utils

FPS = 30
EPISODES, EPISODE_FRAMES = 4, 30


def _register_pinned_copy():
    path = os.path.join(os.path.dirname(__file__), "pinned_video_utils.py")
    spec = importlib.util.spec_from_file_location("lerobot.datasets.video_utils", path)
    module = importlib.util.module_from_spec(spec)
    for name in ("lerobot", "lerobot.datasets"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["lerobot.datasets.video_utils"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def lerobot_utils():
    """LeRobot's ``video_utils`` (``.real`` says whether it is LeRobot's own code or the pinned copy)."""
    module = load_lerobot_video_utils()
    real = module is not None
    if module is None and os.environ.get("FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES"):
        pytest.fail("LeRobot's video_utils does not import: the README's test command installs lerobot 0.6.1")
    if module is None:
        module = _register_pinned_copy()
    module.real = real
    return module


@pytest.fixture(scope="session")
def lerobot_videos(tmp_path_factory):
    """Episodes appended in one file per camera, keyframe every 2 frames, crf 30, as LeRobot encodes."""
    root = tmp_path_factory.mktemp("lerobot")
    n = EPISODES * EPISODE_FRAMES
    vfr_ms = np.cumsum(np.r_[0, np.random.default_rng(3).integers(20, 50, n - 1)]).tolist()
    return types.SimpleNamespace(
        fps=FPS,
        episodes=EPISODES,
        episode_frames=EPISODE_FRAMES,
        h264=make_video(
            root / "h264.mp4", num_frames=n, fps=FPS, width=128, height=96, gop=2, options={"crf": "30"}
        ),
        av1=make_video(
            root / "av1.mp4",
            num_frames=n,
            fps=FPS,
            width=128,
            height=96,
            gop=2,
            codec="libsvtav1",
            options={"crf": "30", "preset": "12"},
        ),
        h264_front=make_video(
            root / "front.mp4", num_frames=n, fps=FPS, width=160, height=96, gop=2, options={"crf": "30"}
        ),
        vfr=make_video(
            root / "vfr.mp4",
            num_frames=n,
            width=128,
            height=96,
            gop=2,
            options={"crf": "30"},
            timestamps_ms=vfr_ms,
        ),
        depth=_depth_video(root / "depth.mp4", num_frames=60),
    )


def depth_code(index: int) -> np.ndarray:
    """Frame ``index`` of the depth video: the index pattern as 12-bit codes (gray level * 16)."""
    return draw_frame(index, height=96, width=128).mean(axis=2).astype(np.uint16) * 16


def _depth_video(path, *, num_frames: int) -> str:
    """12-bit depth codes in HEVC gray12le, LeRobot's depth default."""
    import av

    with av.open(os.fspath(path), "w") as out:
        stream = out.add_stream("libx265", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "gray12le"
        stream.options = {"x265-params": "log-level=error:keyint=2", "crf": "20"}
        for i in range(num_frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(depth_code(i), format="gray12le")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return os.fspath(path)
