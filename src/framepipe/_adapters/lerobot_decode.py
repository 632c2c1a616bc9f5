"""LeRobot's ``decode_video_frames`` semantics, answered by framepipe (documented in
:mod:`framepipe.lerobot`)."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._file.reader import VideoFile
from .._pixels.format import FrameFormat
from .._util.checks import check_choice, env_int
from .._util.choices import TOLERANCE_RULES, ToleranceRule
from .._util.extras import require
from ..errors import FrameTimestampError
from .pool import ReaderPool

__all__ = ["decode_video_frames", "default_pool", "default_tolerance_rule", "BACKENDS"]

# the names LeRobot passes as ``backend``; all decode with framepipe once installed (same answers)
BACKENDS = (None, "framepipe", "pyav", "torchcodec", "video_reader")
_MAX_OPEN = 32


@functools.cache  # read once: the installed LeRobot does not change under a process
def default_tolerance_rule() -> ToleranceRule:
    """``"<"`` where the installed LeRobot is 0.6.1 or older (it rejected a distance equal to the
    tolerance), else ``"<="`` (LeRobot's main branch since #3423, and when LeRobot is not installed)."""
    try:
        version = importlib.metadata.version("lerobot")
    except importlib.metadata.PackageNotFoundError:
        return "<="
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    return "<" if parts and parts <= (0, 6, 1) else "<="


@functools.lru_cache(maxsize=2)
def _format(depth: bool) -> FrameFormat:
    if depth:  # LeRobot's depth videos hold 12-bit codes (gray12le): keep them as they are
        return FrameFormat(color="gray12", dtype="uint16", layout="NCHW")
    return FrameFormat(color="rgb", dtype="uint8", layout="NCHW")


@functools.cache  # imported once: this runs for every camera of every sample
def _torch():
    return require("torch", extra="lerobot", what="framepipe.lerobot")


@functools.cache  # made on first use, not at import: the setting is read (and checked) then
def default_pool() -> ReaderPool:
    """The process's pool of readers for LeRobot's calls (``$FRAMEPIPE_LEROBOT_MAX_OPEN`` readers, 32
    unless set); change its ``max_open`` to tune it, or pass ``pool=`` to :func:`decode_video_frames`.

    Raises:
        ValueError: ``$FRAMEPIPE_LEROBOT_MAX_OPEN`` is not a whole number >= 1 (the message names it).
    """
    return ReaderPool(max_open=env_int("FRAMEPIPE_LEROBOT_MAX_OPEN", _MAX_OPEN, minimum=1))


def decode_video_frames(
    video_path: Path | str,
    timestamps: Sequence[float],
    tolerance_s: float,
    backend: str | None = None,
    return_uint8: bool = False,
    is_depth: bool = False,
    *,
    rule: ToleranceRule | None = None,
    pool: ReaderPool | None = None,
):
    """LeRobot's ``decode_video_frames``, answered by framepipe: the nearest frame to each timestamp.

    The same shapes, dtypes, ranges and errors as LeRobot's pyav backend: each time gets the frame whose
    timestamp is nearest (the earlier on a tie), compared in float32 as LeRobot's tensors do, and fails
    when that distance breaks the tolerance rule.

    Args:
        video_path: the video (a path, or a URL with the ``[remote]`` extra).
        timestamps: times in seconds on the video's timeline (LeRobot adds the episode's
            ``from_timestamp``).
        tolerance_s: the largest accepted distance to the nearest frame.
        backend: ignored beyond a check: every LeRobot backend name (and ``"framepipe"``) gives the same
            frames; an unknown one raises as LeRobot does.
        return_uint8: uint8 frames instead of float32 in [0, 1].
        is_depth: the video holds 12-bit depth codes: (N, 1, H, W) uint16, not normalised.
        rule: ``"<="`` or ``"<"``; None: :func:`default_tolerance_rule` (the installed LeRobot's).
        pool: the readers to use; None: :func:`default_pool`.

    Returns:
        A ``torch.Tensor`` (N, C, H, W): float32 in [0, 1], uint8 with ``return_uint8``, or uint16 depth.

    Raises:
        FrameTimestampError: a timestamp has no frame within the tolerance; LeRobot's own class when
            LeRobot is loaded, else :class:`framepipe.FrameTimestampError` (both ValueErrors).
        ValueError: ``timestamps`` is empty, or ``backend`` is unknown.
        VideoError: the file cannot be read (see :mod:`framepipe.errors`).
    """
    torch = _torch()

    if backend not in BACKENDS:
        raise ValueError(f"Unsupported video backend: {backend}")
    if rule is None:
        rule = default_tolerance_rule()
    else:
        check_choice("rule", rule, TOLERANCE_RULES)
    # LeRobot's list of floats goes to the lookup as it is (its fast path takes a list of a few floats)
    listed = type(timestamps) is list and timestamps and type(timestamps[0]) is float
    t = timestamps if listed else np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if len(t) == 0:
        raise ValueError(f"timestamps is empty: no frames to decode from {video_path}")
    with (default_pool() if pool is None else pool).reader(
        (os.fspath(video_path), _format(is_depth))
    ) as video:
        found = video.nearest_frames(t, tolerance_s=tolerance_s, rule=rule)
        # raised after the reader is back in the pool: a time out of tolerance says nothing against it
        error = None if found.within.all() else _timestamp_error(video, t, found, tolerance_s, rule)
        batch = None if error else video.get_frames(found.indices)
    if error is not None or batch is None:
        raise error or AssertionError("no frames and no error")
    frames = torch.from_numpy(batch.data)
    if return_uint8 or is_depth:
        return frames
    return frames.to(torch.float32) / 255  # as LeRobot: a true division, not a multiply by 1/255


def _timestamp_error(video: VideoFile, times, found, tolerance_s: float, rule: str) -> ValueError:
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    miss = ~found.within
    message = (
        f"One or several query timestamps unexpectedly violate the tolerance "
        f"({found.distances[miss].tolist()} {'>' if rule == '<=' else '>='} tolerance_s={tolerance_s}). "
        "It means that the closest frame that can be loaded from the video is too far away in time. "
        f"queried timestamps: {t.tolist()}; nearest frames at "
        f"{video.pts_seconds[found.indices].tolist()}; backend: framepipe"
    )
    lerobot_utils = sys.modules.get("lerobot.datasets.video_utils")
    if lerobot_utils is not None and hasattr(lerobot_utils, "FrameTimestampError"):
        return lerobot_utils.FrameTimestampError(f"{message}; video: {video.path}")
    return FrameTimestampError(
        video.path, message, seconds=t[miss].tolist(), distances=found.distances[miss].tolist()
    )
