"""Keyframe sampling: for each time, the keyframe nearest to it, so that each sample costs one decoded
picture. A trade, said in its name (``snap="keyframe"``): the frames are exact pictures (a keyframe, with
its true index and timestamp), but chosen from keyframes, so they are only as close to the times asked
as the keyframe spacing allows.

"Nearest" is measured to what is on screen: the frame on screen at ``t`` when that is a keyframe (so on
all-intra video, MJPEG say, keyframe sampling equals exact sampling), else the keyframe whose display
(from its timestamp to the next frame's) starts or ends nearest ``t``; the earlier one on a tie.

>>> import numpy as np
>>> pts = np.arange(10) * 0.5                      # 2 fps, keyframes at frames 0, 4 and 8
>>> frames, asked = keyframes_at_times(pts, 5.0, np.array([0, 4, 8]), [0.2, 1.4, 1.6, 2.2, 4.9])
>>> frames.tolist(), asked.tolist()                # two times near frame 4 give one row
([0, 4, 8], [0.2, 1.4, 4.9])
"""

from __future__ import annotations

import numpy as np

from .._util.checks import check_times
from .timestamps import frames_at_times

__all__ = ["keyframes_at_times", "keyframes_in_range"]


def keyframes_at_times(
    pts_seconds: np.ndarray, end_seconds: float, keyframe_indices: np.ndarray, seconds
) -> tuple[np.ndarray, np.ndarray]:
    """The keyframe nearest each time, each keyframe once, in the order first asked.

    Args:
        pts_seconds: every frame's presentation time, ascending.
        end_seconds: where the last frame's display ends.
        keyframe_indices: the frames a decode can start at (``VideoMetadata.keyframe_indices``).
        seconds: the times asked.

    Returns:
        ``(frames, requested)``: int64 keyframe indices, and for each the time asked that it answers
        (the first, where several times snap to the same keyframe).

    Raises:
        IndexError: a time lies outside the frames (as for exact sampling), or the video has no
            keyframe index (one decoded as a whole: ``index_mode == "decode"``).
        ValueError, TypeError: a time is not a finite number.
    """
    t = check_times("seconds", seconds).reshape(-1)
    keys = np.asarray(keyframe_indices, dtype=np.int64)
    if len(keys) == 0:
        raise IndexError("the video has no keyframe index (index_mode 'decode'): use snap='exact'")
    on_screen = frames_at_times(pts_seconds, end_seconds, t)
    if (on_screen < 0).any():
        bad = float(t[on_screen < 0][0])
        raise IndexError(
            f"seconds contains {bad}, outside the frames [{pts_seconds[0]:.6f}, {end_seconds:.6f})"
        )
    # the keyframe at or before the frame on screen, and the one after it
    pos = np.searchsorted(keys, on_screen, side="right") - 1
    before = keys[np.maximum(pos, 0)]
    after = keys[np.minimum(pos + 1, len(keys) - 1)]
    ends = np.append(pts_seconds[1:], end_seconds)  # where each frame's display ends
    gap_before = np.where(pos >= 0, np.maximum(t - ends[before], 0.0), np.inf)
    gap_after = np.where(after > on_screen, np.maximum(pts_seconds[after] - t, 0.0), np.inf)
    chosen = np.where(gap_after < gap_before, after, before)
    chosen = np.where(np.isin(on_screen, keys), on_screen, chosen)
    first = np.unique(chosen, return_index=True)[1]
    order = np.sort(first)  # each keyframe once, where it was first asked
    return chosen[order].astype(np.int64), t[order]


def keyframes_in_range(
    pts_seconds: np.ndarray,
    end_seconds: float,
    keyframe_indices: np.ndarray,
    seconds,
    *,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`keyframes_at_times` among the keyframes of frames ``[start, stop)``, in time order: what
    every ``snap="keyframe"`` door returns (``iter_frames``, ``framepipe.ray``, ``framepipe extract``).

    Raises:
        IndexError: as for :func:`keyframes_at_times`.
    """
    keys = np.asarray(keyframe_indices, dtype=np.int64)
    if len(keys) == 0:
        raise IndexError("the video has no keyframe index (index_mode 'decode'): use snap='exact'")
    keys = keys[(keys >= start) & (keys < stop)]
    t = np.asarray(seconds, dtype=np.float64).reshape(-1)
    if len(t) == 0 or len(keys) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    frames, asked = keyframes_at_times(pts_seconds, end_seconds, keys, t)
    order = np.argsort(frames, kind="stable")  # forward through the file
    return frames[order], asked[order]
