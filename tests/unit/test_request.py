"""The request every door builds, as pure logic: the frame grid, rows per video, the seeding rule and the
error rules (no media)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from framepipe._pixels.format import FrameFormat
from framepipe._sampling.request import FrameSampling, Request, VideoSource, error_rules, item_rng, rng_for
from framepipe._sampling.samplers import ClipSampling
from framepipe.augment import Augmentation, takes_rng


def test_the_frame_grid_gives_each_frame_once_in_time_order():
    # 4 frames 0.1 s apart, then a frame shown for 3 s, then 3 more
    pts = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 3.4, 3.5, 3.6])
    frames, asked = FrameSampling(fps=2).frames(pts, 3.7)
    assert asked is None
    # ticks 0, 0.5, ..., 3.5: frame 4 is on screen from 0.4 to 3.4 (six ticks), given once
    assert frames.tolist() == [0, 4, 6]
    assert FrameSampling(fps=2).frames(pts, 3.7, start=5)[0].tolist() == [5]  # ticks from frame 5's time
    assert FrameSampling(every=3).frames(pts, 3.7)[0].tolist() == [0, 3, 6]
    assert FrameSampling().frames(pts, 3.7, start=2, stop=4)[0].tolist() == [2, 3]
    times = FrameSampling(times=(0.05, 0.06, 3.45, 9.0)).frames(pts, 3.7)[0]
    assert times.tolist() == [0, 5]  # each frame once; a time past the end picks nothing


def test_keyframe_grid_picks_keyframes_within_the_range():
    pts = np.arange(20) * 0.5
    frames, asked = FrameSampling(fps=1, snap="keyframe").frames(pts, 10.0, keyframes=np.array([0, 8, 16]))
    assert frames.tolist() == [0, 8, 16] and asked is not None and len(asked) == 3
    part, _ = FrameSampling(fps=1, snap="keyframe").frames(
        pts, 10.0, start=4, stop=12, keyframes=np.array([0, 8, 16])
    )
    assert part.tolist() == [8]  # keyframes outside [start, stop) are never picked


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(fps=1, every=2), "at most one of fps, every and times"),
        (dict(every=0), "every must be an int >= 1"),
        (dict(snap="keyframe"), "samples by time: give fps or times"),
        (dict(fps=1, snap="nearest"), "snap must be one of"),
    ],
)
def test_frame_sampling_names_the_argument(options, message):
    with pytest.raises(ValueError, match=message):
        FrameSampling(**options)


def test_rows_follow_the_seeding_rule():
    pts = np.arange(100) / 25
    req = Request(ClipSampling(sampler="random", length=4, step=2, clips_per_video=5, seed=7), FrameFormat())
    a = req.rows(VideoSource("/x/walk/a.mp4", key="walk/a.mp4"), pts)
    again = req.rows(VideoSource("/elsewhere/walk/a.mp4", key="walk/a.mp4"), pts)
    other = req.rows(VideoSource("/x/walk/b.mp4", key="walk/b.mp4"), pts)
    later = req.rows(VideoSource("/x/walk/a.mp4", key="walk/a.mp4"), pts, epoch=1)
    assert a.shape == (5, 4) and (a == again).all()  # the key, not where the file lies
    assert not (a == other).all() and not (a == later).all()
    assert (np.diff(a[:, 0]) >= 0).all()  # sorted by start
    assert (a[:, 1:] - a[:, :-1] == 2).all()
    # start/end of a source restrict its clips
    part = req.rows(VideoSource("a.mp4", start=1.0, end=2.0, key="a"), pts)
    assert part.min() >= 25 and part.max() < 50
    assert req.rows(VideoSource("a.mp4", start=5.0, key="a"), pts).shape == (0, 4)
    # no key: the file name
    assert VideoSource("/data/run/c.mp4").seed_key == "c.mp4"


def test_generators_are_per_video_and_item_and_fresh_without_a_seed():
    draw = lambda g: g.integers(0, 2**32, 4).tolist()
    assert draw(rng_for(1, 0, "a")) == draw(rng_for(1, 0, "a"))
    assert draw(rng_for(1, 0, "a")) != draw(rng_for(1, 0, "b"))
    assert draw(item_rng(1, 0, "a", 0)) != draw(item_rng(1, 0, "a", 1))
    assert draw(item_rng(1, 0, "a", 0)) != draw(rng_for(1, 0, "a"))  # augmentation is not the plan's stream
    assert draw(rng_for(None, 0, "a")) != draw(rng_for(None, 0, "a"))


def test_error_rules():
    assert error_rules("previous", None, caller="X", can_skip_frames=False) == ("previous", "raise")
    assert error_rules("skip", "raise", caller="X", can_skip_frames=True) == ("skip", "raise")
    with pytest.warns(DeprecationWarning, match=r"X\(on_error='skip'\).*on_bad_video='skip'"):
        assert error_rules("skip", None, caller="X", can_skip_frames=False) == ("raise", "skip")
    with pytest.warns(DeprecationWarning):
        assert error_rules("skip", None, caller="X", can_skip_frames=True) == ("skip", "skip")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="would drop an item"):
            error_rules("skip", "skip", caller="X", can_skip_frames=False)
        with pytest.raises(ValueError, match="on_bad_video must be one of"):
            error_rules("raise", "ignore", caller="X", can_skip_frames=True)
        with pytest.raises(ValueError, match="on_error must be one of"):
            Request(ClipSampling(), FrameFormat(), on_error="drop")  # type: ignore[arg-type]


def test_augmentation_is_called_with_or_without_the_generator():
    rng = np.random.default_rng(0)
    clip = np.zeros((2, 2, 2, 3), np.uint8)
    assert Augmentation(lambda c: c + 1)(clip, rng).max() == 1
    assert Augmentation(lambda c, rng: c + rng.integers(2, 3))(clip, rng).max() == 2
    assert Augmentation(np.flip)(clip, rng).shape == clip.shape  # a default second parameter: clip alone
    assert takes_rng(print) is False  # *args only: called with the clip alone
    with pytest.raises(TypeError, match="augment must be a callable"):
        Augmentation(3)  # type: ignore[arg-type]
