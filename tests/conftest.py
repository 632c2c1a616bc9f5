"""Test videos, generated once per session with PyAV's bundled encoders; every frame shows its index."""

from __future__ import annotations

import os

import av
import numpy as np
import pytest

from framepipe.tools.synthetic import cut_with_edit_list, make_video, read_index

DATA = os.path.join(os.path.dirname(__file__), "data")

# name -> make_video keyword arguments; the exactness tests run over every entry
CASES = {
    "h264_bframes.mp4": dict(codec="libx264", bframes=3, num_frames=60),
    "h264_open_gop.mp4": dict(codec="libx264", num_frames=60, gop=None,
                              options={"x264-params": "keyint=12:min-keyint=12:open-gop=1:bframes=3:scenecut=0"}),
    "hevc.mp4": dict(codec="libx265", bframes=3, num_frames=48),
    "vp9.webm": dict(codec="libvpx-vp9", num_frames=48, options={"deadline": "realtime", "cpu-used": "8"}),
    "av1.mkv": dict(codec="libsvtav1", num_frames=48, options={"preset": "12"}),
    "mpeg4_bframes.avi": dict(codec="mpeg4", bframes=2, num_frames=60),
    "mjpeg.avi": dict(codec="mjpeg", pix_fmt="yuvj420p", num_frames=40),
    "h264_10bit.mp4": dict(codec="libx264", pix_fmt="yuv420p10le", bframes=2, num_frames=48),
    "h264_444.mp4": dict(codec="libx264", pix_fmt="yuv444p", bframes=2, num_frames=48),
    "vfr.mkv": dict(codec="libx264", bframes=2, num_frames=60,
                    timestamps_ms=np.cumsum(np.r_[0, np.random.default_rng(7).integers(15, 70, 59)]).tolist()),
}


def _truth(path: str) -> list[int]:
    """The index pattern of every frame of a plain sequential decode: what frame i must be."""
    with av.open(path) as c:
        return [read_index(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _lying_keyframes(src: str, dst: str) -> str:
    """Copy src to MP4, flagging every 10th packet as a keyframe although it is not (the MP4 sync-sample
    table keeps such lies for MPEG-4 Part 2, whose decoder then shows garbage instead of failing)."""
    with av.open(src) as inp, av.open(dst, "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        for i, packet in enumerate(inp.demux(ist)):
            if packet.dts is None:
                continue
            if i % 10 == 5:
                packet.is_keyframe = True
            packet.stream = ost
            out.mux(packet)
    return dst


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test run gets its own index cache, so no test sees another run's entries."""
    old = os.environ.get("FRAMEPIPE_CACHE_DIR")
    os.environ["FRAMEPIPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("index-cache"))
    yield
    if old is None:
        os.environ.pop("FRAMEPIPE_CACHE_DIR", None)
    else:
        os.environ["FRAMEPIPE_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> dict[str, tuple[str, list[int]]]:
    """name -> (path, truth) for every case of the exactness requirement."""
    root = tmp_path_factory.mktemp("videos")
    out = {}
    for name, kwargs in CASES.items():
        path = make_video(str(root / name), **kwargs)
        out[name] = (path, _truth(path))
    long = make_video(str(root / "src_100.mp4"), codec="libx264", bframes=3, gop=25, num_frames=100)
    out["h264_edit_list.mp4"] = (p := cut_with_edit_list(long, str(root / "h264_edit_list.mp4"), start_seconds=1.3), _truth(p))
    mp4v = make_video(str(root / "src_mpeg4.avi"), codec="mpeg4", bframes=2, gop=25, num_frames=80)
    out["lying_keyframes.mp4"] = (p := _lying_keyframes(mp4v, str(root / "lying_keyframes.mp4")), _truth(p))
    out["raw_no_pts.h264"] = (p := make_video(str(root / "raw_no_pts.h264"), codec="libx264", bframes=3,
                                              container_format="h264", num_frames=40), _truth(p))
    return out


@pytest.fixture(scope="session")
def small_video(videos) -> str:
    return videos["h264_bframes.mp4"][0]


@pytest.fixture(scope="session")
def nasa() -> str:
    return os.path.join(DATA, "nasa_13013.mp4")
