"""Arguments checked alike everywhere, warnings that point at the caller's line, and datasets that say
which videos are too short for the clips asked instead of coming out empty without a word."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import framepipe
from framepipe.dataset import VideoDataset
from framepipe.sampling import ClipSampling
from framepipe.tools.synthetic import make_video, read_index


def test_a_dataset_says_once_which_videos_are_too_short(tmp_path):
    short = make_video(tmp_path / "short.mp4", num_frames=20)
    long = make_video(tmp_path / "long.mp4", num_frames=60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = VideoDataset.from_paths([short, long], length=30, stride=30)
        ds.set_epoch(1)  # planning again says nothing more
    too_short = [w for w in caught if "give no clips" in str(w.message)]
    assert len(too_short) == 1 and len(ds) == 2
    message = str(too_short[0].message)
    assert (
        "1 of 2 videos" in message and "short.mp4 (20 frames)" in message and "spanning 30 frames" in message
    )
    assert too_short[0].filename == __file__  # the caller's line, not framepipe's


def test_torch_datasets_too_short_for_every_clip_warn_and_are_empty(tmp_path):
    pytest.importorskip("torch")
    from framepipe.torch import ClipDataset, WindowStream

    path = make_video(tmp_path / "v.mp4", num_frames=24)
    for make in (ClipDataset, WindowStream):
        with pytest.warns(UserWarning, match=r"1 of 1 videos give no clips.*v\.mp4 \(24 frames\)") as record:
            ds = make([path], length=1000, size=16)
        assert len(ds) == 0 and record[0].filename == __file__


def test_clip_sampling_checks_each_argument_once():
    with pytest.raises(
        ValueError, match="sampler must be one of windows, random, uniform, segments; got 'x'"
    ):
        ClipSampling(sampler="x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stride must be an int or None, got str '2'"):
        ClipSampling(length=4, stride="2")  # type: ignore[arg-type]
    assert ClipSampling(length=4, step=2).window_stride == 8
    assert ClipSampling(length=4, step=2).draw(20).tolist() == [[0, 2, 4, 6], [8, 10, 12, 14]]


def test_slices_are_arrays_as_numpy_slices_are(tmp_path):
    """``video[a:b:c]`` gives an ndarray like any array slice (documented); get_frames keeps indices and
    timestamps."""
    with framepipe.open(make_video(tmp_path / "v.mp4", num_frames=30)) as video:
        part = video[10:20:5]
        assert isinstance(part, np.ndarray) and [read_index(f) for f in part] == [10, 15]
        assert "get_frames" in type(video).__getitem__.__doc__
