"""Time lookups on a video's frame timestamps (pure functions of the index; no decoding).

Two questions, two answers:

- :func:`frames_at_times`: the frame shown at time t, the last one whose timestamp is at or before t
  (what a player shows; :meth:`~framepipe.VideoFile.get_frames_at_times`).
- :func:`nearest_frames_within`: the frame whose timestamp is nearest t, and whether it lies within a
  tolerance (what data sets that store one timestamp per frame ask, e.g. LeRobot;
  :meth:`~framepipe.VideoFile.get_frames_near_times`). A time slightly *before* a frame gets that
  frame here, and the previous frame from :func:`frames_at_times`.

>>> import numpy as np
>>> pts = np.array([0.0, 1 / 30, 2 / 30])
>>> on_screen = frames_at_times(pts, 0.1, [0.0333])
>>> nearest = nearest_frames_within(pts, [0.0333], tolerance_s=1e-4)
>>> on_screen.tolist(), nearest.indices.tolist()
([0], [1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util.checks import check_choice, check_number, check_times
from .._util.choices import PRECISIONS, TOLERANCE_RULES, Precision, ToleranceRule
from .._util.constants import FEW_VALUES, TIME_TOLERANCE
from ..errors import FrameTimestampError

__all__ = [
    "frames_at_times",
    "frames_on_screen",
    "frames_every",
    "nearest_frames_within",
    "frames_near",
    "NearestFrames",
]


def frames_at_times(pts_seconds: np.ndarray, end_seconds: float, seconds) -> np.ndarray:
    """Index of the frame on screen at each time (pts <= t < next pts, t < end), or -1 where none is."""
    t = np.asarray(seconds, dtype=np.float64)  # any shape: clips of times too
    # slack so that a time typed as a frame's pts selects that frame despite rounding
    found = np.searchsorted(pts_seconds, t + TIME_TOLERANCE, side="right") - 1
    found[(t < pts_seconds[0] - TIME_TOLERANCE) | (t >= end_seconds) | ~np.isfinite(t)] = -1
    return found


@dataclass(frozen=True)
class NearestFrames:
    """The answer of :func:`nearest_frames_within`, one entry per asked time.

    Attributes:
        indices: the nearest frame's index (int64); the earlier frame when two are equally near.
        distances: ``|t - pts|`` computed in the lookup's precision (float64 array).
        within: whether each distance meets the tolerance rule.
    """

    indices: np.ndarray
    distances: np.ndarray
    within: np.ndarray


def nearest_frames_within(
    pts_seconds, seconds, *, tolerance_s: float, rule: ToleranceRule = "<=", precision: Precision = "float32"
) -> NearestFrames:
    """The nearest frame to each time, and whether it lies within ``tolerance_s``.

    Args:
        pts_seconds: every frame's timestamp in seconds, ascending (``VideoFile.pts_seconds``).
        seconds: the asked times, on the same timeline.
        tolerance_s: the largest accepted distance in seconds.
        rule: ``"<="`` accepts a distance equal to the tolerance (LeRobot after 0.6.1); ``"<"`` does not
            (LeRobot 0.6.1 and earlier).
        precision: ``"float32"`` compares as LeRobot does (timestamps and times rounded to float32, as
            ``torch.tensor`` makes them, the difference taken in float32: the tolerance decision is the
            same bit for bit); ``"float64"`` compares exactly.

    Returns:
        A :class:`NearestFrames`; NaN times are never within.

    Raises:
        ValueError: ``rule``, ``precision`` or ``tolerance_s`` is not valid, or there are no frames.

    Example:
        >>> import numpy as np
        >>> pts = np.arange(5) / 30
        >>> r = nearest_frames_within(pts, [0.1 - 1e-5, 0.5], tolerance_s=1e-4)
        >>> r.indices.tolist(), r.within.tolist()
        ([3, 4], [True, False])
    """
    check_choice("rule", rule, TOLERANCE_RULES)
    check_choice("precision", precision, PRECISIONS)
    tol = check_number("tolerance_s", tolerance_s, positive=False)
    if tol < 0:
        raise ValueError(f"tolerance_s must be >= 0, got {tolerance_s!r}")
    dt = np.dtype(precision)
    p = (
        pts_seconds
        if isinstance(pts_seconds, np.ndarray) and pts_seconds.dtype == dt
        else np.asarray(pts_seconds, dtype=np.float64).astype(dt)
    )
    if len(p) == 0:
        raise ValueError("the video has no frames to look up")
    limit = dt.type(tol)
    hits = _exact_hits(p, seconds, dt)
    if hits is not None:
        # every time is some frame's timestamp (LeRobot's usual query): distance 0, nothing to compare
        n = len(hits)
        within = np.ones(n, dtype=bool) if rule == "<=" or limit > 0 else np.zeros(n, dtype=bool)
        return NearestFrames(indices=hits, distances=np.zeros(n), within=within)
    q = check_times("seconds", seconds).reshape(-1).astype(dt)
    # few numpy calls, each on a few values: this runs once per sample and camera
    right = p.searchsorted(q)
    np.minimum(right, len(p) - 1, out=right)
    left = right - 1
    np.maximum(left, 0, out=left)
    before, after = p[left], p[right]
    dist_before, dist_after = np.abs(q - before), np.abs(after - q)
    earlier = dist_before <= dist_after  # ties: the earlier frame, as argmin's first
    found = np.where(earlier, before, after)
    dist = np.where(earlier, dist_before, dist_after)
    nearest = p.searchsorted(found)  # the first of equal (rounded) timestamps
    within = dist <= limit if rule == "<=" else dist < limit
    return NearestFrames(indices=nearest, distances=dist.astype(np.float64), within=within)


def _exact_hits(p: np.ndarray, seconds, dt: np.dtype) -> np.ndarray | None:
    """The first frame at each time, when ``seconds`` are a few Python floats that each equal some frame's
    timestamp in ``dt`` (LeRobot's query: a dataset's own frame times); else None (then the full lookup,
    which also checks the times). Plain Python on a few values: cheaper than the general path's reductions."""
    if type(seconds) is not list or not 0 < len(seconds) <= FEW_VALUES:
        return None
    if not all(type(s) is float for s in seconds):
        return None
    q = np.array(seconds, dtype=np.float64).astype(dt)  # as the full path rounds them
    found = p.searchsorted(q)  # the first of equal timestamps
    where = found.tolist()
    if max(where) >= len(p) or p[found].tolist() != q.tolist():  # (NaN equals nothing: a miss)
        return None
    return found


def frames_on_screen(pts_seconds: np.ndarray, end_seconds: float, seconds, *, path: str) -> np.ndarray:
    """:func:`frames_at_times` for a reader: every time must fall on a frame.

    Raises:
        IndexError: a time lies outside the frames (the message gives the range covered).
    """
    t = check_times("seconds", seconds).reshape(-1)
    found = frames_at_times(pts_seconds, end_seconds, t)
    if (found < 0).any():
        raise IndexError(
            f"seconds contains {float(t[found < 0][0])}, outside {path} "
            f"(frames cover [{float(pts_seconds[0]):.6f}, {end_seconds:.6f}) s)"
        )
    return found


def times_every(
    pts_seconds: np.ndarray, end_seconds: float, fps: float, *, start: int, stop: int
) -> np.ndarray:
    """The times every ``1/fps`` seconds from frame ``start``'s timestamp to before frame ``stop``'s."""
    if start >= stop:
        return np.zeros(0, dtype=np.float64)
    end = pts_seconds[stop] if stop < len(pts_seconds) else end_seconds
    return np.arange(pts_seconds[start], end, 1.0 / fps)


def frames_every(
    pts_seconds: np.ndarray, end_seconds: float, fps: float, *, start: int, stop: int
) -> np.ndarray:
    """The frames on screen every ``1/fps`` seconds from frame ``start`` to before frame ``stop`` (unique)."""
    if start >= stop:
        return np.zeros(0, dtype=np.int64)
    times = times_every(pts_seconds, end_seconds, fps, start=start, stop=stop)
    targets = np.unique(frames_at_times(pts_seconds, end_seconds, times))
    return targets[(targets >= start) & (targets < stop)]


def frames_near(
    pts_seconds: np.ndarray,
    seconds,
    *,
    tolerance_s: float,
    rule: ToleranceRule,
    precision: Precision,
    path: str,
) -> np.ndarray:
    """:func:`nearest_frames_within` for a reader: every time must have a frame within the tolerance.

    Raises:
        FrameTimestampError: some do not (``.seconds`` and ``.distances`` list them all).
    """
    t = check_times("seconds", seconds).reshape(-1)
    found = nearest_frames_within(pts_seconds, t, tolerance_s=tolerance_s, rule=rule, precision=precision)
    if not found.within.all():
        miss = ~found.within
        raise FrameTimestampError(
            path,
            f"{int(miss.sum())} of {len(t)} times have no frame within tolerance_s={tolerance_s} "
            f"(rule {rule!r}, {precision}): times {t[miss].tolist()[:8]} are "
            f"{found.distances[miss].tolist()[:8]} s from the nearest frame; frames cover "
            f"[{float(pts_seconds[0]):.6f}, {float(pts_seconds[-1]):.6f}] s",
            seconds=t[miss].tolist(),
            distances=found.distances[miss].tolist(),
        )
    return found.indices
