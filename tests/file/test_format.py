"""Output size, resize modes, colour, dtype, normalisation and layouts."""

from __future__ import annotations

import numpy as np
import pytest

import framepipe
from framepipe.tools.synthetic import pattern_box, read_index


def test_default_is_native_rgb_uint8(small_video):
    with framepipe.open(small_video) as v:
        frame = v[3]
    assert frame.shape == (96, 160, 3) and frame.dtype == np.uint8
    left = frame[:, :5].reshape(-1, 3).mean(axis=0)  # the red bar drawn on the left
    assert left[0] > 150 and left[2] < 80


def test_bgr_and_gray(small_video):
    with framepipe.open(small_video, color="bgr") as v:
        left = v[3][:, :5].reshape(-1, 3).mean(axis=0)
    assert left[2] > 150 and left[0] < 80
    with framepipe.open(small_video, color="gray", size=(48, 48), resize="shorter_side") as v:
        g = v.get_frames([11]).data
    assert g.shape == (1, 48, 48, 1)
    assert read_index(g[0]) == 11


def test_stretch(small_video):
    with framepipe.open(small_video, size=(40, 90)) as v:
        f = v[21]
    assert f.shape == (40, 90, 3)
    assert read_index(f, box=pattern_box(96, 160)) == 21  # same fractions as in the source


def test_shorter_side_crops_the_centre(small_video):
    with framepipe.open(small_video, size=(64, 64), resize="shorter_side") as v:
        f = v[13]
    assert f.shape == (64, 64, 3)
    assert read_index(f, box=(0, 0, 1, 1)) == 13  # the centre square is exactly the pattern


def test_letterbox_pads(small_video):
    with framepipe.open(small_video, size=(100, 100), resize="letterbox") as v:
        f = v[9]
    # 160x96 fits as 100x60 with 20 black rows above and below
    assert f.shape == (100, 100, 3)
    assert f[:19].max() == 0 and f[-19:].max() == 0 and f[25:75].max() > 0
    top, left, bottom, right = pattern_box(96, 160)
    box = (0.2 + 0.6 * top, left, 0.2 + 0.6 * bottom, right)
    assert read_index(f, box=box) == 9


def test_float_mean_std_and_layouts(small_video):
    with framepipe.open(small_video, size=(32, 32), resize="shorter_side") as v:
        ref = v.get_frames([5, 6]).data.astype(np.float32) / 255
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.3)
    with framepipe.open(
        small_video, size=(32, 32), resize="shorter_side", dtype="float32", mean=mean, std=std, layout="NCHW"
    ) as v:
        b = v.get_frames([5, 6])
        clips = v.get_clips([[5, 6], [6, 5]])
        clips_ncthw = v.get_clips([[5, 6]], layout="NCTHW")
    assert b.data.shape == (2, 3, 32, 32) and b.data.dtype == np.float32
    expect = (ref - np.array(mean, np.float32)) / np.array(std, np.float32)
    np.testing.assert_allclose(b.data, expect.transpose(0, 3, 1, 2), atol=1e-5)
    assert clips.data.shape == (2, 2, 3, 32, 32)  # NCHW frames -> NTCHW clips
    np.testing.assert_array_equal(clips.data[1, 0], b.data[1])
    assert clips_ncthw.data.shape == (1, 3, 2, 32, 32)
    np.testing.assert_array_equal(clips_ncthw.data[0, :, 1], b.data[1])


def test_float_without_stats_is_unit_range(small_video):
    with framepipe.open(small_video, dtype="float32", size=(24, 24)) as v:
        f = v[0]
    assert f.dtype == np.float32 and f.min() >= 0.0 and f.max() <= 1.0


def test_iter_frames_layout(small_video):
    with framepipe.open(small_video, size=(16, 24), layout="NCHW") as v:
        first = next(v.iter_frames())
    assert first.data.shape == (3, 16, 24) and first.index == 0 and first.pts_seconds == 0.0


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(size=(0, 5)), "size"),
        (dict(size=(10,)), "size"),
        (dict(size="224"), "size"),
        (dict(resize="crop"), "resize"),
        (dict(color="rgba"), "color"),
        (dict(dtype="float16"), "dtype"),
        (dict(layout="HWC"), "layout"),
        (dict(interpolation="nearest"), "interpolation"),
        (dict(mean=(0.5, 0.5)), "mean"),
        (dict(dtype="float32", mean=(0.5, 0.5)), "mean"),
        (dict(dtype="float32", std=0), "std"),
        (dict(on_error="ignore"), "on_error"),
        (dict(threads=-1), "threads"),
    ],
)
def test_invalid_options_name_the_argument(small_video, kwargs, word):
    with pytest.raises(ValueError, match=word):
        framepipe.open(small_video, **kwargs)


def test_invalid_clip_layout(small_video):
    with framepipe.open(small_video) as v, pytest.raises(ValueError, match="layout"):
        v.get_clips([[0, 1]], layout="NHWC")


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_to_torch_shares_memory_in_every_layout(small_video, layout):
    torch = pytest.importorskip("torch")
    with framepipe.open(small_video, size=(32, 48), layout=layout) as v:
        frames = v.get_frames([3, 1])
        clips = v.get_clips([[0, 1], [2, 3]], layout="NCTHW")
    for batch in (frames, clips):
        t = batch.to_torch()
        assert isinstance(t.data, torch.Tensor) and t.data.data_ptr() == batch.data.ctypes.data  # no copy
        assert tuple(t.data.shape) == batch.data.shape and t.indices.tolist() == batch.indices.tolist()


def test_array_torch_gives_tensors_from_the_reader(small_video):
    torch = pytest.importorskip("torch")
    with framepipe.open(small_video, dtype="float32", layout="NCHW", array="torch") as v:
        batch = v.get_frames([4])
        frame = next(v.iter_frames(5, 6))
    assert isinstance(batch.data, torch.Tensor) and batch.data.dtype == torch.float32
    assert tuple(batch.data.shape) == (1, 3, 96, 160) and read_index(batch.data[0].numpy(), layout="CHW") == 4
    assert isinstance(frame.data, torch.Tensor) and read_index(frame.data.numpy(), layout="CHW") == 5
    with pytest.raises(ValueError, match="array must be one of numpy, torch"):
        framepipe.open(small_video, array="jax")


def test_results_have_short_reprs(small_video):
    with framepipe.open(small_video, size=(224, 224)) as v:
        text = repr(v.get_frames(list(range(20))))
    assert text.startswith("FrameBatch(data=uint8[20, 224, 224, 3], indices=[0, 1, 2, 3, 4, 5, ... (20)]")
    assert len(text) < 200


def test_help_documents_every_argument_of_open():
    doc = framepipe.open.__doc__
    for name in (
        "path:",
        "frame_format:",
        "stream:",
        "threads:",
        "index_cache:",
        "on_error:",
        "**format_options:",
        "Returns:",
        "Raises:",
    ):
        assert name in doc, name
    for option in (
        "size:",
        "resize:",
        "color:",
        "dtype:",
        "layout:",
        "interpolation:",
        "mean:",
        "std:",
        "array:",
    ):
        assert option in framepipe.FrameFormat.__doc__, option
