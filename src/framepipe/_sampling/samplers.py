"""Clip samplers (windows, random, uniform, segments, by time) of :mod:`framepipe.sampling`, whose
docstrings are the documentation."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._index.timestamps import frames_at_times
from .._util.checks import check_choice, check_int, check_number
from .._util.choices import END_POLICIES, SAMPLERS, OnEnd, Sampler

__all__ = [
    "ClipSampling",
    "windows",
    "random_clips",
    "uniform_clips",
    "segments",
    "clips_at_times",
    "sample_clips",
    "SAMPLERS",
    "rng_for",
]


#: the purposes a video's generators are drawn for: its clips (the plan), and each item's augmentation
CLIPS, ITEMS = 0, 1


def _key_number(key: str) -> int:
    # a stable 64-bit number for a key, the same in every process and on every machine (hash() is not)
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "little")


def rng_for(seed: int | None, epoch: int, key: str, *more: int) -> np.random.Generator:
    """The generator of one video's draws: seeded by ``(seed, epoch, key, *more)``, or fresh OS entropy
    when ``seed`` is None (so that no two processes share a stream).

    Args:
        seed: the request's seed (an int >= 0), or None.
        epoch: the epoch (an int >= 0).
        key: the video's key (:attr:`VideoSource.key`).
        *more: further ints >= 0 that name the draw (its purpose, an item's number).

    Returns:
        A ``numpy.random.Generator``.
    """
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng([seed, epoch, _key_number(key), *more])


def _policy(on_end: str) -> str:
    return check_choice("on_end", on_end, END_POLICIES)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _clip_offsets(frames_per_clip: int, step: int) -> np.ndarray:
    return np.arange(frames_per_clip, dtype=np.int64) * step


def _apply_end(clips: np.ndarray, num_frames: int, on_end: str) -> np.ndarray:
    """Clips that run past the last frame: dropped, clamped to the last frame, or wrapped to the start."""
    over = clips >= num_frames
    if not over.any():
        return clips
    if on_end == "drop":
        return clips[~over.any(axis=1)]
    if on_end == "repeat_last":
        return np.minimum(clips, num_frames - 1)
    return clips % num_frames


def windows(
    num_frames: int, *, length: int, stride: int = 1, step: int = 1, on_end: OnEnd = "drop"
) -> np.ndarray:
    """Every window of ``length`` frames ``step`` apart, starting every ``stride`` frames.

    Args:
        num_frames: frames in the video.
        length: frames per window.
        stride: frames between window starts.
        step: frames between the frames of a window.
        on_end: ``"drop"`` keeps only full windows (the last frame included when it fits exactly);
            ``"repeat_last"`` and ``"wrap"`` also keep windows that start before the end and run past it.

    Returns:
        An int64 array (num_windows, length) of frame indices.

    Raises:
        TypeError, ValueError: an argument is not an int or out of range.
    """
    num_frames = check_int("num_frames", num_frames, minimum=1)
    length = check_int("length", length, minimum=1)
    stride = check_int("stride", stride, minimum=1)
    step = check_int("step", step, minimum=1)
    _policy(on_end)
    starts = np.arange(0, num_frames, stride, dtype=np.int64)
    clips = starts[:, None] + _clip_offsets(length, step)[None, :]
    return _apply_end(clips, num_frames, on_end).reshape(-1, length)


def _clip_args(num_frames, num_clips, length, step, on_end) -> tuple[int, int, int, int, int]:
    """Validate the arguments shared by the clip samplers; also return the frames one clip spans."""
    num_frames = check_int("num_frames", num_frames, minimum=1)
    num_clips = check_int("num_clips", num_clips, minimum=0)
    length = check_int("length", length, minimum=1)
    step = check_int("step", step, minimum=1)
    _policy(on_end)
    span = (length - 1) * step + 1
    if span > num_frames and on_end == "drop":
        raise ValueError(
            f"a clip of length={length} with step={step} spans {span} frames, more than the "
            f"video's {num_frames}; use on_end='repeat_last' or 'wrap' to allow it"
        )
    return num_frames, num_clips, length, step, span


def random_clips(
    num_frames: int, *, num_clips: int, length: int, step: int = 1, seed=None, on_end: OnEnd = "drop"
) -> np.ndarray:
    """``num_clips`` clips starting at random frames (uniform over every start that fits).

    Args:
        num_frames: frames in the video.
        num_clips: how many clips.
        length: frames per clip.
        step: frames between the frames of a clip.
        seed: an int, a ``numpy.random.Generator``, or None (a fresh draw each time).
        on_end: a clip longer than the video: ``"drop"`` refuses it; ``"repeat_last"`` or ``"wrap"`` fill it.

    Returns:
        An int64 array (num_clips, length).

    Raises:
        ValueError: a clip cannot fit and ``on_end="drop"``, or an argument is out of range.
    """
    num_frames, num_clips, length, step, span = _clip_args(num_frames, num_clips, length, step, on_end)
    last_start = max(num_frames - span, 0) if on_end == "drop" else num_frames - 1
    starts = _rng(seed).integers(0, last_start + 1, size=num_clips)
    clips = starts[:, None] + _clip_offsets(length, step)[None, :]
    return _apply_end(clips, num_frames, "repeat_last" if on_end == "drop" else on_end).reshape(-1, length)


def uniform_clips(
    num_frames: int, *, num_clips: int, length: int, step: int = 1, on_end: OnEnd = "drop"
) -> np.ndarray:
    """``num_clips`` clips with starts evenly spaced from the first frame to the last start that fits.

    Args:
        num_frames: frames in the video.
        num_clips: how many clips.
        length: frames per clip.
        step: frames between the frames of a clip.
        on_end: as for :func:`random_clips`.

    Returns:
        An int64 array (num_clips, length).
    """
    num_frames, num_clips, length, step, span = _clip_args(num_frames, num_clips, length, step, on_end)
    last_start = max(num_frames - span, 0)
    starts = (
        np.round(np.linspace(0, last_start, num_clips)).astype(np.int64)
        if num_clips
        else np.zeros(0, np.int64)
    )
    clips = starts[:, None] + _clip_offsets(length, step)[None, :]
    return _apply_end(clips, num_frames, "repeat_last" if on_end == "drop" else on_end).reshape(-1, length)


def segments(num_frames: int, *, num_segments: int, train: bool = True, seed=None) -> np.ndarray:
    """TSN sampling: one frame from each of ``num_segments`` equal segments, shape (1, num_segments).

    Random within each segment when ``train``, the segment's centre otherwise. A video shorter than
    ``num_segments`` repeats frames (segments then share frames) rather than failing.
    """
    num_frames = check_int("num_frames", num_frames, minimum=1)
    num_segments = check_int("num_segments", num_segments, minimum=1)
    edges = np.linspace(0, num_frames, num_segments + 1)
    lo = np.floor(edges[:-1]).astype(np.int64)
    hi = np.maximum(np.ceil(edges[1:]).astype(np.int64) - 1, lo)
    if train:
        picks = _rng(seed).integers(lo, hi + 1)
    else:
        picks = ((edges[:-1] + edges[1:]) / 2).astype(np.int64)
    return np.minimum(picks, num_frames - 1).reshape(1, -1)


def clips_at_times(
    pts_seconds: Sequence[float] | np.ndarray,
    starts: Sequence[float],
    *,
    length: int,
    step: int | None = None,
    fps: float | None = None,
    end_seconds: float | None = None,
    on_end: OnEnd = "drop",
) -> np.ndarray:
    """Clips starting at the given times (seconds): ``length`` frames ``step`` apart, or one every ``1/fps``
    seconds by timestamp. ``pts_seconds`` is the video's frame times (``VideoFile.pts_seconds``).
    """
    pts = np.asarray(pts_seconds, dtype=np.float64)
    if pts.ndim != 1 or len(pts) == 0:
        raise ValueError("pts_seconds must be a non-empty 1-D array of frame times")
    length = check_int("length", length, minimum=1)
    _policy(on_end)
    if (step is None) == (fps is None):
        raise ValueError("give exactly one of step (frames) or fps (samples per second)")
    t0 = np.asarray(starts, dtype=np.float64).reshape(-1)
    end = pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1e-3) if end_seconds is None else end_seconds
    first = frames_at_times(pts, end, t0)
    bad = first < 0
    if bad.any():
        raise ValueError(f"starts contains {t0[bad][0]}, outside the video's [{pts[0]:.6f}, {end:.6f}) s")
    if step is not None:
        step = check_int("step", step, minimum=1)
        clips = first[:, None] + _clip_offsets(length, step)[None, :]
    else:
        fps = check_number("fps", fps)
        times = t0[:, None] + np.arange(length)[None, :] / fps
        clips = frames_at_times(pts, end, times)
        clips[clips < 0] = len(pts)  # past the end: the policy decides
    return _apply_end(clips.astype(np.int64), len(pts), on_end).reshape(-1, length)


@dataclass(frozen=True)
class ClipSampling:
    """How clips are drawn from each video, with every argument checked here once: what
    :class:`~framepipe.dataset.VideoDataset` and :func:`framepipe.ray.read_clips` share.

    Attributes:
        sampler: ``"windows"``, ``"random"``, ``"uniform"`` or ``"segments"`` (see :func:`sample_clips`).
        length: frames per clip (segments for ``"segments"``).
        step: frames between the frames of a clip.
        stride: ``"windows"`` only: frames between starts; None: ``length * step``.
        clips_per_video: clips per video for the other samplers.
        train: ``"segments"`` picks at random in training, the centre otherwise.
        on_end: clips past the end: ``"drop"``, ``"repeat_last"`` or ``"wrap"``.
        seed: seeds random clips, with the epoch and each video's key (the seeding rule of
            :mod:`framepipe._sampling.request`); None draws differently every time.

    Raises:
        ValueError, TypeError: an argument is wrong; the message names it.

    Example:
        >>> ClipSampling(length=4).draw(10).tolist()
        [[0, 1, 2, 3], [4, 5, 6, 7]]
        >>> ClipSampling(length=0)
        Traceback (most recent call last):
        ...
        ValueError: length must be an int >= 1, got 0
    """

    sampler: Sampler = "windows"
    length: int = 1
    step: int = 1
    stride: int | None = None
    clips_per_video: int = 1
    train: bool = True
    on_end: OnEnd = "drop"
    seed: int | None = 0

    def __post_init__(self) -> None:
        check_choice("sampler", self.sampler, SAMPLERS)
        check_int("length", self.length, minimum=1)
        check_int("step", self.step, minimum=1)
        check_int("stride", self.stride, minimum=1, allow_none=True)
        check_int("clips_per_video", self.clips_per_video, minimum=1)
        check_choice("on_end", self.on_end, END_POLICIES)
        check_int("seed", self.seed, minimum=0, allow_none=True)

    @property
    def window_stride(self) -> int:
        """Frames between window starts."""
        return self.length * self.step if self.stride is None else self.stride

    def counts(self, num_frames: np.ndarray) -> np.ndarray:
        """How many clips :meth:`draw` gives each video of ``num_frames`` frames (an int64 array, one a
        video), computed for all at once without drawing any.

        >>> ClipSampling(length=4, stride=2).counts(np.array([3, 4, 9, 0])).tolist()
        [0, 1, 3, 0]
        """
        frames = np.asarray(num_frames, dtype=np.int64)
        if self.sampler == "windows":
            stride = self.window_stride
            if self.on_end == "drop":
                span = (self.length - 1) * self.step + 1
                counts = np.where(frames >= span, (frames - span) // stride + 1, 0)
            else:
                counts = -(-frames // stride)
        else:
            counts = np.full(len(frames), self.clips_per_video, dtype=np.int64)
        counts[frames <= 0] = 0
        return counts

    def draw(self, num_frames: int, *, epoch: int = 0, key: str = "") -> np.ndarray:
        """The clips of one video of ``num_frames`` frames, drawn by the seeding rule (from ``(seed,
        epoch, key)``: :func:`rng_for`), so they do not depend on any other
        video.

        Args:
            num_frames: frames the clips may use.
            epoch: which epoch's random draws.
            key: the video's key (its path relative to the folder the request names).

        Returns:
            An int64 array (num_clips, frames_per_clip), in the order drawn.
        """
        return sample_clips(
            num_frames,
            sampler=self.sampler,
            length=self.length,
            step=self.step,
            stride=self.stride,
            clips_per_video=self.clips_per_video,
            train=self.train,
            on_end=self.on_end,
            seed=rng_for(self.seed, check_int("epoch", epoch, minimum=0), key, CLIPS),
        )


def sample_clips(
    num_frames: int,
    *,
    sampler: str,
    length: int,
    step: int = 1,
    stride: int | None = None,
    clips_per_video: int = 1,
    train: bool = True,
    on_end: OnEnd = "drop",
    seed=None,
) -> np.ndarray:
    """The clips one sampler draws from one video: what a dataset asks of each of its videos.

    Args:
        num_frames: frames in the video (or the part of it clips may use).
        sampler: ``"windows"`` (every ``stride`` frames), ``"random"`` or ``"uniform"`` (``clips_per_video``
            clips), ``"segments"`` (TSN: ``length`` segments, one frame each, ``clips_per_video`` times).
        length: frames per clip (segments for ``"segments"``).
        step: frames between the frames of a clip.
        stride: ``"windows"`` only: frames between starts (default ``length * step``).
        clips_per_video: clips for the other samplers.
        train: ``"segments"`` picks at random in training, the centre otherwise.
        on_end: clips past the end: ``"drop"`` (for random and uniform clips of a short video: repeat the
            last frame, so the video still gives its clips), ``"repeat_last"`` or ``"wrap"``.
        seed: an int, a ``numpy.random.Generator`` or None.

    Returns:
        An int64 array (num_clips, frames_per_clip).

    >>> sample_clips(10, sampler="windows", length=4).tolist()
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    """
    check_choice("sampler", sampler, SAMPLERS)
    rng = _rng(seed)
    fill = "repeat_last" if on_end == "drop" else on_end
    if sampler == "windows":
        return windows(
            num_frames,
            length=length,
            stride=length * step if stride is None else stride,
            step=step,
            on_end=on_end,
        )
    if sampler == "random":
        return random_clips(
            num_frames, num_clips=clips_per_video, length=length, step=step, seed=rng, on_end=fill
        )
    if sampler == "uniform":
        return uniform_clips(num_frames, num_clips=clips_per_video, length=length, step=step, on_end=fill)
    return np.concatenate(
        [segments(num_frames, num_segments=length, train=train, seed=rng) for _ in range(clips_per_video)]
    )
