"""Walking a file forward one frame at a time, by step, by rate, or by rate snapped to keyframes: the
:meth:`~framepipe.VideoFile.iter_frames` part of the reader (memory: one frame)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from .._index.keyframes import keyframes_in_range
from .._index.timestamps import frames_every, times_every
from .._pixels.convert import PlanarImage
from .._pixels.format import FrameFormat
from .._util.checks import check_choice, check_int, check_number
from .._util.choices import SNAPS, Snap
from ..types import Frame, FrameBatch

if TYPE_CHECKING:
    from .._decode.decode import Decoder
    from .._index.index import VideoIndex
    from .._pixels.gather import Assembler

__all__ = ["FrameIteration"]


class FrameIteration:
    """``iter_frames``, for a reader that has ``_index``, ``_decoder``, ``_assembler``, ``_fmt``,
    ``_path``, ``_check_open()``, ``get_keyframes()`` and a length."""

    _path: str
    _fmt: FrameFormat
    _decoder: Decoder
    _assembler: Assembler
    _check_open: Callable[[], None]
    _lock: threading.RLock
    get_keyframes: Callable[..., FrameBatch]

    @property
    def _index(self) -> VideoIndex:  # the reader's own
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def iter_frames(
        self,
        start: int = 0,
        stop: int | None = None,
        step: int = 1,
        *,
        fps: float | None = None,
        snap: Snap = "exact",
    ) -> Iterator[Frame]:
        """Walk the file forward, one :class:`~framepipe.Frame` at a time (memory: one frame).

        Args:
            start: first frame index.
            stop: end (exclusive); None: the last frame.
            step: every ``step``-th frame.
            fps: instead of ``step``, the frame on screen every ``1/fps`` seconds (by timestamp), each
                frame once (the frame grid of :class:`~framepipe.sampling.FrameSampling`, the same in
                ``framepipe.ray.read_frames(fps=)`` and ``framepipe extract --fps``).
            snap: with ``fps``: ``"exact"``, or ``"keyframe"`` for the keyframe nearest each time, a trade
                of accuracy for speed (one decoded picture a sample; see :meth:`get_frames_at_times`);
                each frame's ``requested_seconds`` says which time it answers.

        Yields:
            :class:`~framepipe.Frame` objects, in order; frames lost under ``on_error="skip"`` are left out.

        Raises:
            IndexError: ``start`` or ``stop`` is out of range.
            ValueError: ``step`` < 1, a bad ``fps``, both ``step`` and ``fps``, or ``snap="keyframe"``
                without ``fps``.
        """
        self._check_open()
        check_choice("snap", snap, SNAPS)
        n = len(self)
        start = check_int("start", start)
        step = check_int("step", step)
        if step <= 0:
            raise ValueError(f"step must be >= 1, got {step}")
        stop = n if stop is None else check_int("stop", stop)
        if not 0 <= start <= n or not 0 <= stop <= n:
            raise IndexError(f"start={start}, stop={stop} out of range for {self._path} ({n} frames)")
        if snap == "keyframe":
            if fps is None or step != 1:
                raise ValueError("snap='keyframe' samples by time: give fps (and no step)")
            yield from self._iter_keyframes(start, stop, check_number("fps", fps))
            return
        if fps is None:
            targets = np.arange(start, stop, step, dtype=np.int64)
        else:
            if step != 1:
                raise ValueError("give either step or fps, not both")
            targets = frames_every(
                self._index.pts_seconds,
                self._index.end_seconds,
                check_number("fps", fps),
                start=start,
                stop=stop,
            )
        with self._lock:  # the iteration holds the reader's decoder: other threads' calls wait
            for frame_index, frame, _issue in self._decoder.checked_frames(targets):
                if frame is None:
                    continue
                img = self._assembler.convert(frame, self._fmt.frame_layout)
                img = (
                    img.to_chw()
                    if isinstance(img, PlanarImage)
                    else np.ascontiguousarray(FrameFormat.arrange(img, self._fmt.frame_layout))
                )
                yield self._fmt.finish(
                    Frame(
                        data=img, index=frame_index, pts_seconds=float(self._index.pts_seconds[frame_index])
                    )
                )

    def _iter_keyframes(self, start: int, stop: int, fps: float) -> Iterator[Frame]:
        ix = self._index
        times = times_every(ix.pts_seconds, ix.end_seconds, fps, start=start, stop=stop)
        try:
            frames, asked = keyframes_in_range(
                ix.pts_seconds, ix.end_seconds, ix.keyframe_indices, times, start=start, stop=stop
            )
        except IndexError as exc:
            raise IndexError(f"{self._path}: {exc}") from None
        for k in range(len(frames)):
            batch = self.get_keyframes(frames[k : k + 1])
            if len(batch):
                yield Frame(
                    data=batch.data[0],
                    index=int(frames[k]),
                    pts_seconds=float(ix.pts_seconds[frames[k]]),
                    requested_seconds=float(asked[k]),
                )
