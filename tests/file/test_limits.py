"""Limits for untrusted input: a small file of huge frames cannot make a call allocate without bound. The
output bytes of a call and the pixels of a frame are capped, process-wide and per reader, with an error
that names the setting, raised before anything is allocated or decoded."""

from __future__ import annotations

import fractions
import os
import subprocess
import sys
import time

import av
import numpy as np
import pytest

import framepipe

SIDE = 8192


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> str:
    """40 frames of 8192x8192 (one MJPEG picture muxed 40 times): a file of well under 1% of the 8 GB the
    frames fill."""
    path = str(tmp_path_factory.mktemp("limits") / "huge.avi")
    with av.open(path, "w") as out:
        stream = out.add_stream("mjpeg", rate=25)
        stream.width = stream.height = SIDE
        stream.pix_fmt = "yuvj420p"
        picture = np.zeros((SIDE, SIDE, 3), np.uint8)
        picture[: SIDE // 2] = 200
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuvj420p")
        (packet,) = [*stream.encode(frame), *stream.encode()]
        data = bytes(packet)
        for i in range(40):
            p = av.Packet(data)
            p.pts = p.dts = i
            p.time_base = fractions.Fraction(1, 25)
            p.stream = stream
            out.mux(p)
    assert os.path.getsize(path) < 64_000_000
    return path


@pytest.fixture(autouse=True)
def _process_limits_restored():
    yield
    framepipe.set_max_output_bytes(None)
    framepipe.set_max_frame_pixels(None)


def test_a_call_for_more_than_the_output_limit_fails_before_allocating(huge):
    assert framepipe.max_output_bytes() == 4 << 30
    with framepipe.open(huge) as video:
        assert len(video) == 40
        started = time.perf_counter()
        with pytest.raises(framepipe.TooLargeError, match=r"8,053,063,680 bytes .*max_bytes=4,294,967,296"):
            video.get_frames(range(40))  # 8 GB asked for: refused at once, nothing decoded
        assert time.perf_counter() - started < 1.0
        with pytest.raises(framepipe.TooLargeError, match="set_max_output_bytes"):
            video.get_clips([list(range(20)), list(range(20, 40))])
    with framepipe.open(huge, size=64) as small:  # the same frames, smaller: well inside the limit
        assert small.get_frames(range(40)).data.shape == (40, 64, 64, 3)


def test_the_limit_is_set_process_wide_and_per_reader(huge):
    one = SIDE * SIDE * 3
    framepipe.set_max_output_bytes(one + 1000)
    with framepipe.open(huge) as video:
        assert video.get_frames([0]).data.shape == (1, SIDE, SIDE, 3)
        with pytest.raises(framepipe.TooLargeError):
            video.get_frames([0, 1])
    with framepipe.open(huge, max_bytes=2 * one) as video:  # this reader may allocate more
        batch = video.get_frames([0, 39])
        assert batch.data.shape == (2, SIDE, SIDE, 3) and batch.data[:, 0].mean() > 150
        assert video.with_format(size=32).format.max_bytes == 2 * one  # clones keep the reader's limit
    with pytest.raises(ValueError, match="max_bytes must be an int >= 1"):
        framepipe.open(huge, max_bytes=0)
    with pytest.raises(ValueError, match="limit must be an int >= 1"):
        framepipe.set_max_output_bytes(-5)


def test_frames_larger_than_the_pixel_limit_are_refused_at_open(huge):
    framepipe.set_max_frame_pixels(4096 * 4096)
    with pytest.raises(framepipe.TooLargeError, match=r"8192x8192 .*max_frame_pixels=16,777,216"):
        framepipe.open(huge)
    with framepipe.open(huge, max_frame_pixels=SIDE * SIDE, size=16) as video:  # trusted: allowed
        assert len(video.get_frames([3])) == 1


def test_the_environment_sets_the_limits_and_a_bad_value_names_the_variable(huge, tmp_path):
    code = "import framepipe; print(framepipe.max_output_bytes(), framepipe.max_frame_pixels())"
    env = dict(os.environ, FRAMEPIPE_MAX_OUTPUT_BYTES="1000", FRAMEPIPE_MAX_FRAME_PIXELS="2000")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["1000", "2000"]
    env["FRAMEPIPE_MAX_OUTPUT_BYTES"] = "lots"
    bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "$FRAMEPIPE_MAX_OUTPUT_BYTES must be a whole number" in bad.stderr
    # the command line has the same limit: one line naming the file and the setting
    cli = subprocess.run(
        [sys.executable, "-m", "framepipe", "extract", huge, "--every", "1", "--out", tmp_path / "f.npz"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1 and "huge.avi" in cli.stderr and "max_bytes=" in cli.stderr
    assert "Traceback" not in cli.stderr
