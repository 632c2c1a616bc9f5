"""Rotation and flips from the display matrix: frames as the ffmpeg CLI shows them."""

from __future__ import annotations

import shutil
import subprocess

import av
import numpy as np
import pytest

import framepipe
from framepipe._source.display import Display
from framepipe.tools.synthetic import make_video

W, H = 160, 96


@pytest.fixture(scope="module")
def upright(tmp_path_factory):
    return make_video(
        tmp_path_factory.mktemp("rot") / "base.mp4", num_frames=12, width=W, height=H, gop=4, bframes=2
    )


def _ffmpeg_frames(path: str) -> np.ndarray:
    """Every frame as the ffmpeg CLI writes it out (autorotate on, RGB24)."""
    out = subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with av.open(path) as c:
        frame = next(c.decode(video=0))
    h, w = Display.from_matrix(_matrix(frame)).shape(frame.height, frame.width) if _matrix(frame) else (H, W)
    return np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)


def _matrix(frame):
    sides = frame.side_data
    for item in sides:  # PyAV 18.1.1 iterates the types, as a mapping does; earlier ones the side data
        side = item if hasattr(item, "type") else sides[item]
        if side.type.name == "DISPLAYMATRIX":
            return np.frombuffer(bytes(side), "<i4")[:9].tolist()
    return None


def _with_matrix(src: str, dst: str, degrees: int, hflip: bool = False, vflip: bool = False) -> str:
    """Copy the packets of ``src`` into an MP4 whose track carries a display matrix (PyAV writes it).

    PyAV before 17 cannot write one: a plain rotation is then written by the ffmpeg CLI's ``rotate`` tag
    (clockwise, where PyAV's degrees turn counter-clockwise); a flip cannot be, and its test skips."""
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        if hflip or vflip:
            pytest.skip(f"PyAV {av.__version__} cannot write a flipped display matrix (PyAV 17 can)")
        if shutil.which("ffmpeg") is None:
            pytest.skip(f"PyAV {av.__version__} cannot write a display matrix and the ffmpeg CLI is missing")
        tag = (360 - degrees) % 360
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-i",
                src,
                "-c",
                "copy",
                "-metadata:s:v:0",
                f"rotate={tag}",
                dst,
            ],
            check=True,
            timeout=60,
        )
        return dst
    with av.open(src) as inp, av.open(dst, "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        ost.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        for packet in inp.demux(ist):
            if packet.dts is not None:
                packet.stream = ost
                out.mux(packet)
    return dst


@pytest.mark.parametrize("tag", [90, 180, 270])
def test_rotated_frames_equal_the_ffmpeg_cli(upright, tmp_path, tag, missing_system_package):
    if shutil.which("ffmpeg") is None:
        missing_system_package("the ffmpeg CLI is not installed")
    rotated = str(tmp_path / f"rot{tag}.mp4")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-i",
            upright,
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={tag}",
            rotated,
        ],
        check=True,
        timeout=60,
    )
    reference = _ffmpeg_frames(rotated)
    with framepipe.open(rotated, index_cache=False) as video:
        got = video.get_frames(range(len(video))).data
        md = video.metadata
    assert got.shape == reference.shape and np.array_equal(got, reference)
    portrait = tag in (90, 270)
    assert (md.width, md.height) == ((H, W) if portrait else (W, H)) and (
        md.coded_width,
        md.coded_height,
    ) == (W, H)
    assert md.rotation in (90, 180, 270) and md.display_transform
    with framepipe.open(rotated, rotation="ignore") as video:  # as stored, and said so
        assert video[3].shape == (H, W, 3) and video.metadata.display_transform is None
        stored = video[3]
    assert np.array_equal(Display.from_matrix(_matrix_of(rotated)).apply(stored), got[3])


def _matrix_of(path: str):
    with av.open(path) as c:
        return _matrix(next(c.decode(video=0)))


@pytest.mark.parametrize(
    "degrees, hflip, vflip, expect",
    [
        (0, True, False, lambda a: a[:, ::-1]),
        (0, False, True, lambda a: a[::-1]),
        (90, True, False, lambda a: np.rot90(a, 1)[:, ::-1]),  # PyAV: counter-clockwise, then mirror
        (270, False, True, lambda a: np.rot90(a, -1)[::-1]),
        (180, False, False, lambda a: a[::-1, ::-1]),
    ],
)
def test_flips_and_rotations_from_any_matrix(upright, tmp_path, degrees, hflip, vflip, expect):
    path = _with_matrix(upright, str(tmp_path / "m.mp4"), degrees, hflip, vflip)
    with framepipe.open(upright) as plain, framepipe.open(path, index_cache=False) as video:
        want = np.stack([expect(f) for f in plain.get_frames([0, 5, 11]).data])
        got = video.get_frames([0, 5, 11]).data
    assert got.shape == want.shape and np.array_equal(got, want)


def test_size_applies_after_rotation_and_the_index_cache_keeps_the_matrix(
    upright, tmp_path, monkeypatch, mp4_index_mode
):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    path = _with_matrix(upright, str(tmp_path / "p.mp4"), 90)
    for _ in range(2):  # built, then from the cache
        with framepipe.open(path, size=(80, 48)) as video:
            assert video.metadata.index_mode == mp4_index_mode
            small = video.get_frames([4]).data[0]
            assert (video.metadata.width, video.metadata.height) == (H, W)
    assert small.shape == (80, 48, 3)
    with framepipe.open(path) as video:  # the same picture turned at full size, then resized
        full = video[4]
    again = (
        av.VideoFrame.from_ndarray(np.ascontiguousarray(full), format="rgb24")
        .reformat(width=48, height=80, interpolation="AREA")
        .to_ndarray()
    )
    assert np.abs(again.astype(int) - small).mean() < 1.0
    with framepipe.open(path, size=(80, 48), resize="letterbox", color="gray") as video:
        assert video.get_frames([0]).data.shape == (1, 80, 48, 1)


def test_display_from_matrix_covers_the_eight_orientations():
    def matrix(a, b, c, d):  # 16.16 fixed point, as the container stores it
        return (a * 65536, b * 65536, 0, c * 65536, d * 65536, 0, 0, 0, 1 << 30)

    cases = {
        matrix(1, 0, 0, 1): (0, None),
        matrix(0, 1, -1, 0): (90, "transpose=clock"),
        matrix(-1, 0, 0, -1): (180, "hflip,vflip"),
        matrix(0, -1, 1, 0): (270, "transpose=cclock"),
        matrix(-1, 0, 0, 1): (180, "hflip"),
        matrix(1, 0, 0, -1): (0, "vflip"),
        matrix(0, 1, 1, 0): (90, "transpose=cclock_flip"),
        matrix(0, -1, -1, 0): (270, "transpose=clock_flip"),
    }
    img = np.arange(2 * 3).reshape(2, 3, 1)
    shapes = set()
    for m, (rotation, transform) in cases.items():
        d = Display.from_matrix(m)
        assert (d.rotation, d.transform) == (rotation, transform), m
        shapes.add((d.apply(img).shape, d.apply(img).tobytes()))
    assert len(shapes) == 8  # eight different pictures
    assert Display.from_matrix(None).transform is None
    with pytest.warns(RuntimeWarning, match="not a multiple of 90"):
        c, s = int(65536 * 0.7071), int(65536 * 0.7071)
        assert Display.from_matrix((c, s, 0, -s, c, 0, 0, 0, 1 << 30)).transform is None


def test_live_stream_of_a_rotated_file_is_upright(upright, tmp_path):
    path = _with_matrix(upright, str(tmp_path / "live.mp4"), 90)
    with framepipe.open(path) as video:
        want = video.get_frames([0, 1, 2]).data
    with framepipe.open_stream(path, mode="all", realtime=False) as stream:
        got = stream.get_frames([0, 1, 2], timeout=10).data
    assert np.array_equal(got, want)
