"""RGB equal to the ffmpeg CLI's for every pixel format, range, matrix and interlacing."""

from __future__ import annotations

import shutil
import subprocess

import av
import numpy as np
import pytest

import framepipe
from framepipe._pixels.convert import FAST_FORMATS, PLANAR_FORMATS, Converter
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
    "full_range_709": dict(
        codec=X264,
        pix_fmt="yuv420p",
        options={"x264-params": "fullrange=on:colormatrix=bt709:colorprim=bt709:transfer=bt709"},
    ),
    "bt601": dict(codec=X264, pix_fmt="yuv420p", options={"x264-params": "colormatrix=smpte170m"}),
    "bt2020_10": dict(
        codec=X264,
        pix_fmt="yuv420p10le",
        options={"x264-params": "colormatrix=bt2020nc:colorprim=bt2020:transfer=bt2020-10"},
    ),
    "interlaced_ts": dict(
        codec=X264,
        pix_fmt="yuv420p",
        container_format="mpegts",
        options={"x264-params": "interlaced=1:tff=1"},
    ),
    "mjpeg": dict(codec="mjpeg", pix_fmt="yuvj420p", gop=None),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("colour")


def _cli(path: str, *args: str, pix_fmt: str = "rgb24") -> bytes:
    return subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", path, *args, "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout


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
    # BGR, and channel-first output (planar where libswscale allows it), equal the CLI's as well
    bgr = np.frombuffer(_cli(path, pix_fmt="bgr24"), np.uint8).reshape(-1, H, W, 3)
    for color, cli in (("rgb", reference), ("bgr", bgr)):
        for layout in ("NHWC", "NCHW"):
            with framepipe.open(path, layout=layout, color=color, index_cache=False) as video:
                got = video.get_frames(range(len(video))).data
            want = cli if layout == "NHWC" else cli.transpose(0, 3, 1, 2)
            assert np.array_equal(got, want), f"{case}: {color} {layout} differs from the CLI"
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


@pytest.mark.parametrize("fmt", sorted(PLANAR_FORMATS))
def test_planar_output_equals_packed(fmt):
    """Channel-first frames come from libswscale's planar output where it equals the packed output."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img[:, : W // 2] = np.linspace(0, 255, W // 2).astype(np.uint8)[None, :, None]  # smooth half, noisy half
    for colorspace in (None, "ITU709", "ITU601"):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
            format=fmt, dst_colorspace=colorspace
        )
        c = Converter()
        for packed, order in (("rgb24", [0, 1, 2]), ("bgr24", [0, 1, 2])):
            planar = c.to_planar(frame, format=packed).to_chw()
            assert planar.flags.c_contiguous and planar.shape == (3, H, W)
            assert np.array_equal(planar, c.to_array(frame, format=packed).transpose(2, 0, 1)[order]), (
                fmt,
                colorspace,
            )


def test_planar_output_declined_where_it_differs():
    c = Converter()
    odd = av.VideoFrame.from_ndarray(np.zeros((H + 1, W + 1, 3), np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    nv12 = av.VideoFrame.from_ndarray(np.zeros((H, W, 3), np.uint8), format="rgb24").reformat(format="nv12")
    even = av.VideoFrame.from_ndarray(np.zeros((H, W, 3), np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    assert c.to_planar(odd, format="rgb24") is None  # odd sizes: the packed route differs at the edge
    assert c.to_planar(nv12, format="rgb24") is None  # interpolates chroma differently
    assert c.to_planar(even, format="gray") is None  # one channel: nothing to transpose


@pytest.mark.parametrize("fmt", sorted(FAST_FORMATS))
def test_large_pictures_take_the_pooled_route_with_the_same_values(fmt):
    """From 1280x720 a picture at its own size goes through the filter graph (pooled output frames, no
    fresh pages per frame) where that gives the one-call route's values; nv12 keeps the one call."""
    from av.video.reformatter import VideoReformatter

    from framepipe._pixels import convert as _convert

    rng = np.random.default_rng(2)
    h, w = 720, 1280
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[:, : w // 2] = np.linspace(0, 255, w // 2).astype(np.uint8)[None, :, None]
    for colorspace in (None, "ITU709"):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(
            format=fmt, dst_colorspace=colorspace
        )
        assert frame.width * frame.height >= _convert._POOLED_PIXELS
        c = Converter()
        for packed in ("rgb24", "bgr24"):
            one_call = VideoReformatter().reformat(frame, format=packed).to_ndarray()
            got = c.to_array(frame, format=packed)
            assert np.array_equal(got, one_call), (fmt, colorspace, packed)
            planar = c.to_planar(frame, format=packed)  # channel-first output: the same values, planar
            if fmt in PLANAR_FORMATS:
                assert np.array_equal(planar.to_chw(), one_call.transpose(2, 0, 1)), (fmt, colorspace, packed)
        # the route is what this test checks: nv12's graph output differs, so it keeps the one call
        assert bool(c._graphs) == (fmt in _convert.POOLED_FORMATS), fmt


@pytest.mark.parametrize("case", ["420p", "full_range_709"])
def test_large_pictures_equal_the_ffmpeg_cli(folder, case, missing_system_package):
    if shutil.which("ffmpeg") is None:
        missing_system_package("the ffmpeg CLI is not installed")
    h, w = 720, 1280
    path = make_video(folder / f"large_{case}.mkv", num_frames=3, width=w, height=h, noise=24, **CASES[case])
    reference = np.frombuffer(_cli(path), np.uint8).reshape(-1, h, w, 3)
    with framepipe.open(path, index_cache=False) as video:
        assert np.array_equal(video.get_frames(range(len(video))).data, reference), case
