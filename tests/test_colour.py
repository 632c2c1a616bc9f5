"""RGB equal to the ffmpeg CLI's for every pixel format, range, matrix and interlacing (issue 12, item 2)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import framepipe
from framepipe._convert import Converter
from framepipe.tools.synthetic import make_video

W, H = 160, 96
X264 = "libx264"
CASES = {
    "420p": dict(codec=X264, pix_fmt="yuv420p"),
    "420p10": dict(codec=X264, pix_fmt="yuv420p10le"),
    "422p": dict(codec=X264, pix_fmt="yuv422p"),
    "422p10": dict(codec=X264, pix_fmt="yuv422p10le"),
    "444p": dict(codec=X264, pix_fmt="yuv444p"),
    "444p10": dict(codec=X264, pix_fmt="yuv444p10le"),
    "hevc_420p12": dict(codec="libx265", pix_fmt="yuv420p12le"),
    "hevc_422p10": dict(codec="libx265", pix_fmt="yuv422p10le"),
    "full_range_709": dict(codec=X264, pix_fmt="yuv420p",
                           options={"x264-params": "fullrange=on:colormatrix=bt709:colorprim=bt709:transfer=bt709"}),
    "bt601": dict(codec=X264, pix_fmt="yuv420p", options={"x264-params": "colormatrix=smpte170m"}),
    "bt2020_10": dict(codec=X264, pix_fmt="yuv420p10le",
                      options={"x264-params": "colormatrix=bt2020nc:colorprim=bt2020:transfer=bt2020-10"}),
    "interlaced_ts": dict(codec=X264, pix_fmt="yuv420p", container_format="mpegts",
                          options={"x264-params": "interlaced=1:tff=1"}),
    "mjpeg": dict(codec="mjpeg", pix_fmt="yuvj420p", gop=None),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("colour")


def _cli(path: str, *args: str) -> bytes:
    return subprocess.run(["ffmpeg", "-loglevel", "error", "-i", path, *args, "-f", "rawvideo", "-pix_fmt", "rgb24",
                           "-"], capture_output=True, check=True, timeout=120).stdout


@pytest.mark.parametrize("case", sorted(CASES))
def test_rgb_equals_the_ffmpeg_cli(folder, case, missing_system_package):
    if shutil.which("ffmpeg") is None:
        missing_system_package("the ffmpeg CLI is not installed")
    ext = ".ts" if CASES[case].get("container_format") else ".avi" if case == "mjpeg" else ".mkv"
    path = make_video(folder / f"{case}{ext}", num_frames=6, width=W, height=H, noise=24, **CASES[case])
    reference = np.frombuffer(_cli(path), np.uint8).reshape(-1, H, W, 3)
    with framepipe.open(path, index_cache=False) as video:
        got = video.get_frames(range(len(video))).data
    assert got.shape == reference.shape
    diff = np.abs(got.astype(int) - reference)
    assert diff.max() == 0, f"{case}: mean {diff.mean():.3f}, max {diff.max()} levels from the ffmpeg CLI"
    # resized output goes the same way (matrix, range, chroma siting); the scaler is ours (area)
    small = np.frombuffer(_cli(path, "-vf", "scale=80:48:flags=area"), np.uint8).reshape(-1, 48, 80, 3)
    with framepipe.open(path, size=(48, 80), index_cache=False) as video:
        resized = video.get_frames(range(len(video))).data
    assert np.abs(resized.astype(int) - small).mean() < 1.0


def test_routes(folder):
    """The fast route only where it equals the CLI; the filter graph elsewhere."""
    import av

    routes = {}
    for case in ("420p", "420p10", "interlaced_ts", "444p10"):
        ext = ".ts" if case == "interlaced_ts" else ".mkv"
        path = make_video(folder / f"route_{case}{ext}", num_frames=6, width=W, height=H, **CASES[case])
        with av.open(path) as c:
            routes[case] = Converter().route(next(c.decode(video=0)))
    assert routes == {"420p": "swscale", "420p10": "graph", "interlaced_ts": "graph", "444p10": "swscale"}
