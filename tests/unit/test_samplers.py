"""framepipe.sampling: pure index math, checked against Keras 2's TimeseriesGenerator logic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from framepipe import sampling

GRID = list(
    itertools.product([20, 37], [1, 5], [1, 2, 3], [1, 4], [0, 3], [None, 30], [1, 4, 128], [False, True])
)


@pytest.mark.parametrize("n, length, rate, stride, start, end, batch, reverse", GRID)
def test_keras_grid(n, length, rate, stride, start, end, batch, reverse, keras_oracle):
    if end is not None and end >= n:
        end = n - 1
    oracle = keras_oracle(n, length, rate, stride, start, end, reverse, batch)
    tw = sampling.TimeseriesWindows(n, length, rate, stride, start, end, False, reverse, batch)
    assert len(tw) == len(oracle)
    for b in range(len(tw)):
        want_x, want_y = oracle[b]
        rows = tw.batch_rows(b)
        np.testing.assert_array_equal(rows, want_y)
        np.testing.assert_array_equal(tw.window(rows), want_x)


def test_keras_shuffle_draws_rows_in_range():
    tw = sampling.TimeseriesWindows(50, 5, shuffle=True, batch_size=16, start_index=2, end_index=40)
    rows = tw.batch_rows(0, rng=np.random.default_rng(0))
    assert len(rows) == 16 and rows.min() >= 7 and rows.max() <= 40
    again = tw.batch_rows(0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(rows, again)


def test_timeseries_windows_flat():
    w, t = sampling.timeseries_windows(10, length=3, stride=2)
    assert w.tolist() == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6, 7, 8]] and t.tolist() == [3, 5, 7, 9]


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(num_frames=10, length=0), "length"),
        (dict(num_frames=10, length=3, sampling_rate=0), "sampling_rate"),
        (dict(num_frames=10, length=3, stride=1.5), "stride"),
        (dict(num_frames=10, length=3, start_index=-1), "start_index"),
        (dict(num_frames=10, length=3, end_index=10), "end_index"),
        (dict(num_frames=10, length=9, start_index=2), "start_index"),
        (dict(num_frames=10, length=3, batch_size=0), "batch_size"),
    ],
)
def test_keras_argument_errors(kwargs, word):
    with pytest.raises((ValueError, TypeError), match=word):
        sampling.TimeseriesWindows(**kwargs)


def test_windows_include_last_frame_and_policies():
    assert sampling.windows(12, length=4, stride=4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert sampling.windows(10, length=4, stride=4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert sampling.windows(10, length=4, stride=4, on_end="repeat_last")[-1].tolist() == [8, 9, 9, 9]
    assert sampling.windows(10, length=4, stride=4, on_end="wrap")[-1].tolist() == [8, 9, 0, 1]
    assert sampling.windows(10, length=3, step=2, stride=5).tolist() == [[0, 2, 4], [5, 7, 9]]


def test_random_clips_seeded_and_in_range():
    a = sampling.random_clips(100, num_clips=50, length=8, step=2, seed=3)
    b = sampling.random_clips(100, num_clips=50, length=8, step=2, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 8) and a.min() >= 0 and a.max() <= 99
    assert (np.diff(a, axis=1) == 2).all()
    with pytest.raises(ValueError, match="length=20"):
        sampling.random_clips(10, num_clips=1, length=20)
    short = sampling.random_clips(10, num_clips=3, length=20, on_end="repeat_last", seed=0)
    assert short.max() == 9


def test_uniform_clips_and_segments():
    assert sampling.uniform_clips(100, num_clips=3, length=10).tolist() == [
        list(range(0, 10)),
        list(range(45, 55)),
        list(range(90, 100)),
    ]
    assert sampling.segments(30, num_segments=3, train=False).tolist() == [[5, 15, 25]]
    picks = sampling.segments(30, num_segments=3, seed=1)[0]
    assert 0 <= picks[0] <= 9 and 10 <= picks[1] <= 19 and 20 <= picks[2] <= 29
    assert sampling.segments(2, num_segments=4, train=False).tolist() == [[0, 0, 1, 1]]
    with pytest.raises(ValueError, match="on_end"):
        sampling.uniform_clips(10, num_clips=1, length=2, on_end="pad")


def test_clips_at_times():
    pts = np.arange(50) * 0.04  # 25 fps
    assert sampling.clips_at_times(pts, [0.0, 1.0], length=3, step=2).tolist() == [[0, 2, 4], [25, 27, 29]]
    assert sampling.clips_at_times(pts, [0.5], length=3, fps=5).tolist() == [[12, 17, 22]]
    assert sampling.clips_at_times(pts, [1.9], length=3, fps=5).tolist() == []  # runs past the end: dropped
    assert sampling.clips_at_times(pts, [1.9], length=3, fps=5, on_end="repeat_last").tolist() == [
        [47, 49, 49]
    ]
    with pytest.raises(ValueError, match="starts contains 3.0"):
        sampling.clips_at_times(pts, [3.0], length=2, step=1)
    with pytest.raises(ValueError, match="exactly one of step"):
        sampling.clips_at_times(pts, [0.0], length=2)
