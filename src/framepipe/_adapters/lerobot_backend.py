"""The implementation of :mod:`framepipe.lerobot`, whose docstrings are the documentation."""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import os
import re
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .._util.checks import check_choice, check_int
from .._file.reader import VideoFile
from .._index.timestamps import TOLERANCE_RULES
from ..errors import FrameTimestampError
from .._pixels.format import FrameFormat

__all__ = ["decode_video_frames", "ReaderPool", "PoolStats", "default_pool", "install", "uninstall", "installed",
           "default_tolerance_rule", "BACKENDS"]

# the names LeRobot passes as ``backend``; all decode with framepipe once installed (same answers)
BACKENDS = (None, "framepipe", "pyav", "torchcodec", "video_reader")
_MAX_OPEN = 32


@functools.lru_cache(maxsize=None)  # read once: the installed LeRobot does not change under a process
def default_tolerance_rule() -> str:
    """``"<"`` where the installed LeRobot is 0.6.1 or older (it rejected a distance equal to the
    tolerance), else ``"<="`` (LeRobot's main branch since #3423, and when LeRobot is not installed)."""
    try:
        version = importlib.metadata.version("lerobot")
    except importlib.metadata.PackageNotFoundError:
        return "<="
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    return "<" if parts and parts <= (0, 6, 1) else "<="


@dataclasses.dataclass
class PoolStats:
    """Counts of a :class:`ReaderPool`: ``calls`` asked it for a reader, ``opened`` new readers,
    ``reused`` idle ones, ``closed`` readers evicted or cleared (a reader whose call raised is closed too,
    and counted nowhere)."""

    calls: int = 0
    opened: int = 0
    reused: int = 0
    closed: int = 0


class ReaderPool:
    """Open readers by file, least recently used first out; thread-safe, fork-safe, bounded.

    A reader is handed to one thread at a time; a second thread asking for the same file meanwhile gets a
    second reader (which shares the first one's index through the on-disk cache). At most ``max_open``
    idle readers stay open; the longest unused is closed first.

    Args:
        max_open: the most readers (each one open file and one decoder) kept open between calls.
        threads: decoder threads per reader; 1 (the default) is fastest for a few frames per call, and
            DataLoader workers already use the cores.
        index_cache: keep each file's index on disk, so a re-open costs about a millisecond.

    Example:
        >>> pool = ReaderPool(max_open=4)
        >>> len(pool), pool.stats()
        (0, PoolStats(calls=0, opened=0, reused=0, closed=0))
    """

    def __init__(self, *, max_open: int = _MAX_OPEN, threads: int = 1, index_cache: bool = True) -> None:
        self.max_open = check_int("max_open", max_open, minimum=1)
        self.threads = check_int("threads", threads, minimum=0)
        self.index_cache = index_cache
        self._lock = threading.Lock()
        self._idle: OrderedDict[tuple[str, str], list[VideoFile]] = OrderedDict()
        self._stats = PoolStats()
        _POOLS.add(self)

    def stats(self) -> PoolStats:
        """How the pool has been used so far (a copy): readers handed out, opened, reused and closed."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._idle.values())

    @contextmanager
    def reader(self, path: str | os.PathLike[str], *, depth: bool = False) -> Iterator[VideoFile]:
        """A reader of ``path`` for the duration of a ``with`` block: RGB uint8 NCHW, or 12-bit gray.

        Raises:
            VideoNotFoundError, InvalidVideoError: from :func:`framepipe.open`.
        """
        key = (os.fspath(path), "gray12" if depth else "rgb")
        video = self._take(key)
        if video is None:
            video = VideoFile(key[0], frame_format=_format(depth), threads=self.threads,
                              index_cache=self.index_cache)
            with self._lock:
                self._stats.opened += 1
        try:
            yield video
        except BaseException:
            video.close()  # its decoder may be mid-call: do not hand it out again
            raise
        self._give(key, video)

    def _take(self, key) -> VideoFile | None:
        with self._lock:
            # readers kept from before a fork are fine: their decoders re-open in the child on first use
            self._stats.calls += 1
            readers = self._idle.get(key)
            if not readers:
                return None
            self._stats.reused += 1
            video = readers.pop()
            if not readers:
                del self._idle[key]
            return video

    def _give(self, key, video: VideoFile) -> None:
        evicted = []
        with self._lock:
            self._idle.setdefault(key, []).append(video)
            self._idle.move_to_end(key)
            count = sum(len(v) for v in self._idle.values())
            while count > self.max_open:
                old_key, readers = next(iter(self._idle.items()))
                evicted.append(readers.pop(0))
                if not readers:
                    del self._idle[old_key]
                count -= 1
            self._stats.closed += len(evicted)
        for old in evicted:  # outside the lock: closing joins nothing with threads=1, but may take a moment
            old.close()

    def clear(self) -> None:
        """Close every idle reader."""
        with self._lock:
            readers = [v for vs in self._idle.values() for v in vs]
            self._idle.clear()
            self._stats.closed += len(readers)
        for video in readers:
            video.close()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a thread of the parent may have held it at the fork


_POOLS: weakref.WeakSet[ReaderPool] = weakref.WeakSet()
os.register_at_fork(after_in_child=lambda: [pool._after_fork() for pool in list(_POOLS)])


def _format(depth: bool) -> FrameFormat:
    if depth:  # LeRobot's depth videos hold 12-bit codes (gray12le): keep them as they are
        return FrameFormat(color="gray12", dtype="uint16", layout="NCHW")
    return FrameFormat(color="rgb", dtype="uint8", layout="NCHW")


_POOL = ReaderPool(max_open=int(os.environ.get("FRAMEPIPE_LEROBOT_MAX_OPEN", _MAX_OPEN)))


def default_pool() -> ReaderPool:
    """The process's pool (``$FRAMEPIPE_LEROBOT_MAX_OPEN`` readers, 32 unless set); change its
    ``max_open`` or ``threads`` to tune it."""
    return _POOL


def decode_video_frames(video_path: Path | str, timestamps: Sequence[float], tolerance_s: float,
                        backend: str | None = None, return_uint8: bool = False, is_depth: bool = False, *,
                        rule: str | None = None, pool: ReaderPool | None = None):
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
    try:
        import torch
    except ImportError as exc:
        raise ImportError("framepipe.lerobot needs PyTorch: pip install 'framepipe[lerobot]'") from exc

    if backend not in BACKENDS:
        raise ValueError(f"Unsupported video backend: {backend}")
    rule = default_tolerance_rule() if rule is None else check_choice("rule", rule, TOLERANCE_RULES)
    t = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if len(t) == 0:
        raise ValueError(f"timestamps is empty: no frames to decode from {video_path}")
    with (_POOL if pool is None else pool).reader(video_path, depth=is_depth) as video:
        found = video.nearest_frames(t, tolerance_s=tolerance_s, rule=rule)
        # raised after the reader is back in the pool: a time out of tolerance says nothing against it
        error = None if found.within.all() else _timestamp_error(video, t, found, tolerance_s, rule)
        batch = None if error else video.get_frames(found.indices)
    if error is not None:
        raise error
    frames = torch.from_numpy(batch.data)
    if return_uint8 or is_depth:
        return frames
    return frames.to(torch.float32) / 255  # as LeRobot: a true division, not a multiply by 1/255


def _timestamp_error(video: VideoFile, t: np.ndarray, found, tolerance_s: float, rule: str) -> ValueError:
    miss = ~found.within
    message = (f"One or several query timestamps unexpectedly violate the tolerance "
               f"({found.distances[miss].tolist()} {'>' if rule == '<=' else '>='} tolerance_s={tolerance_s}). "
               "It means that the closest frame that can be loaded from the video is too far away in time. "
               f"queried timestamps: {t.tolist()}; nearest frames at "
               f"{video.pts_seconds[found.indices].tolist()}; backend: framepipe")
    lerobot_utils = sys.modules.get("lerobot.datasets.video_utils")
    if lerobot_utils is not None and hasattr(lerobot_utils, "FrameTimestampError"):
        return lerobot_utils.FrameTimestampError(f"{message}; video: {video.path}")
    return FrameTimestampError(video.path, message, seconds=t[miss].tolist(), distances=found.distances[miss].tolist())


# --- the way into a running LeRobot ---------------------------------------------------------------------

def _as_pyav(video_path, timestamps, tolerance_s, log_loaded_timestamps=False, return_uint8=False, is_depth=False):
    """Stands in for ``decode_video_frames_pyav`` (same signature)."""
    return decode_video_frames(video_path, timestamps, tolerance_s, return_uint8=return_uint8, is_depth=is_depth)


def _as_torchcodec(video_path, timestamps, tolerance_s, log_loaded_timestamps=False, decoder_cache=None,
                   return_uint8=False):
    """Stands in for ``decode_video_frames_torchcodec`` (same signature; LeRobot's decoder cache is unused)."""
    return decode_video_frames(video_path, timestamps, tolerance_s, return_uint8=return_uint8)


_REPLACEMENTS = {"decode_video_frames": decode_video_frames, "decode_video_frames_pyav": _as_pyav,
                 "decode_video_frames_torchcodec": _as_torchcodec}
_ORIGINALS: dict[str, object] = {}


def install() -> list[str]:
    """Make the running LeRobot decode every video through framepipe.

    Replaces ``decode_video_frames`` (and its pyav and torchcodec variants) in
    ``lerobot.datasets.video_utils`` and in every LeRobot module already imported that bound them at
    import (``dataset_reader``, ``streaming_dataset``, the annotation pipeline's frames module, ...);
    modules imported later bind the replacements. Forked DataLoader workers inherit the switch; a
    worker started with ``spawn`` must call ``install()`` itself (e.g. in ``worker_init_fn``).

    Returns:
        The ``module.function`` names replaced.

    Raises:
        ImportError: LeRobot is not importable.
    """
    import lerobot.datasets.video_utils as video_utils

    for name, replacement in _REPLACEMENTS.items():
        current = getattr(video_utils, name, None)
        if current is not None and current is not replacement:
            _ORIGINALS.setdefault(name, current)
    return _swap({name: (_ORIGINALS.get(name), replacement) for name, replacement in _REPLACEMENTS.items()})


def uninstall() -> list[str]:
    """Put LeRobot's own functions back wherever :func:`install` replaced them; returns the names."""
    swapped = _swap({name: (_REPLACEMENTS[name], original) for name, original in _ORIGINALS.items()})
    return swapped


def installed() -> bool:
    """Whether LeRobot's ``video_utils.decode_video_frames`` is framepipe's right now."""
    module = sys.modules.get("lerobot.datasets.video_utils")
    return module is not None and getattr(module, "decode_video_frames", None) is decode_video_frames


def _swap(pairs: dict[str, tuple[object, object]]) -> list[str]:
    done = []
    for mod_name, module in list(sys.modules.items()):
        if module is None or not (mod_name == "lerobot" or mod_name.startswith("lerobot.")):
            continue
        for name, (old, new) in pairs.items():
            if old is not None and new is not None and getattr(module, name, None) is old:
                setattr(module, name, new)
                done.append(f"{mod_name}.{name}")
    return sorted(done)
