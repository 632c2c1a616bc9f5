"""Sampling stage: which frames make each clip. Pure index math, no I/O; every function returns int arrays
and checks each argument with an error that names it.

Keras semantics (:func:`timeseries_windows`), for ``length=4, sampling_rate=2, stride=3``::

    frames:  0  1  2  3  4  5  6  7  8  9 10 11 12 ...
    row 4 :  x     x                                    window [0, 2], target 4   (range(row - 4, row, 2))
    row 7 :           x     x                           window [3, 5], target 7
    row 10:                    x     x                  window [6, 8], target 10

For data preparation at scale, :func:`keyframes_at_times` picks the keyframe nearest each time: each
sample then costs one decoded picture, a trade of accuracy for speed said in its name (what
``snap="keyframe"`` uses in :meth:`~framepipe.VideoFile.get_frames_at_times`,
:meth:`~framepipe.VideoFile.iter_frames`, :func:`framepipe.ray.read_frames` and ``framepipe extract``).

One request, one answer: :class:`Request` (a :class:`ClipSampling` or :class:`FrameSampling`, the output
format and the two error rules) is what every door builds (the datasets, Keras, ``framepipe.ray``, the
CLI), and :func:`rng_for` is the one seeding rule: a video's random draws come from ``(seed, epoch, its
key)``, so the same request gives the same frames through every door, with any number of workers.

The friendlier samplers return an array of shape (num_clips, frames_per_clip):

>>> windows(20, length=4, stride=8).tolist()
[[0, 1, 2, 3], [8, 9, 10, 11], [16, 17, 18, 19]]
>>> segments(30, num_segments=3, train=False).tolist()
[[5, 15, 25]]
"""

from __future__ import annotations

from ._index.keyframes import keyframes_at_times
from ._sampling.request import FrameSampling, Request, rng_for
from ._sampling.samplers import (
    SAMPLERS,
    ClipSampling,
    clips_at_times,
    random_clips,
    sample_clips,
    segments,
    uniform_clips,
    windows,
)
from ._sampling.timeseries import TimeseriesWindows, timeseries_windows

__all__ = [
    "Request",
    "ClipSampling",
    "FrameSampling",
    "rng_for",
    "TimeseriesWindows",
    "timeseries_windows",
    "windows",
    "random_clips",
    "uniform_clips",
    "segments",
    "clips_at_times",
    "sample_clips",
    "SAMPLERS",
    "keyframes_at_times",
]
