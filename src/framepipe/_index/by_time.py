"""A reader's lookups by time: the frame on screen at a time, the frame nearest a time within a tolerance.

They turn times into frame indices with the packet index's timestamps (:mod:`.timestamps`), then decode
through the reader's own :meth:`get_frames`; :class:`~.reader.VideoFile` inherits them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._util.checks import check_choice, check_times
from .._util.choices import SNAPS, Precision, Snap, ToleranceRule
from .keyframes import keyframes_at_times
from .timestamps import NearestFrames, frames_near, frames_on_screen, nearest_frames_within

if TYPE_CHECKING:
    from ..types import FrameBatch
    from .index import VideoIndex

__all__ = ["TimeLookups"]


class TimeLookups:
    """Frames by time, for a reader that has ``_index``, ``_path``, ``_check_open()`` and ``get_frames()``."""

    _path: str
    _check_open: Callable[[], None]
    get_frames: Callable[..., FrameBatch]
    get_keyframes: Callable[..., FrameBatch]

    @property
    def _index(self) -> VideoIndex:  # the reader's own
        raise NotImplementedError

    def get_frames_at_times(
        self, seconds: Sequence[float] | np.ndarray, *, snap: Snap = "exact"
    ) -> FrameBatch:
        """The frame on screen at each time: the last frame whose timestamp is at or before it.

        Timestamps come from the packet index, so this is right on variable frame rate video too.

        Args:
            seconds: times in seconds on the video's own timeline (``metadata.start_seconds`` on).
            snap: ``"exact"``: the frame on screen at each time. ``"keyframe"``, a trade of accuracy
                for speed: the keyframe nearest each time (:func:`framepipe.sampling.keyframes_at_times`),
                each decoded on its own, one picture a sample; times that snap to the same keyframe give
                one row, and ``requested_seconds`` says which time each row answers.

        Returns:
            A :class:`~framepipe.FrameBatch`, one frame per time in the order asked (``snap="keyframe"``:
            one per keyframe, in the order first asked).

        Raises:
            IndexError: a time lies outside the frames (the message gives the range covered).
            ValueError, TypeError: a time is not a finite number, or ``snap`` is not a choice.
        """
        check_choice("snap", snap, SNAPS)
        ix = self._index
        if snap == "keyframe":
            try:
                frames, asked = keyframes_at_times(
                    ix.pts_seconds, ix.end_seconds, ix.keyframe_indices, seconds
                )
            except IndexError as exc:
                raise IndexError(f"{self._path}: {exc}") from None
            batch = self.get_keyframes(frames)
            batch.requested_seconds = asked[np.isin(frames, batch.indices)]  # less any lost under "skip"
            return batch
        t = check_times("seconds", seconds).reshape(-1)
        return self.get_frames(frames_on_screen(ix.pts_seconds, ix.end_seconds, t, path=self._path))

    def get_frames_near_times(
        self,
        seconds: Sequence[float] | np.ndarray,
        *,
        tolerance_s: float,
        rule: ToleranceRule = "<=",
        precision: Precision = "float32",
    ) -> FrameBatch:
        """The frame whose timestamp is nearest each time, if it lies within ``tolerance_s``.

        This is the lookup of data sets that store one timestamp per frame (LeRobot's): a time a hair
        before a frame gets that frame, where :meth:`get_frames_at_times` gives the one on screen (the
        previous). See :func:`framepipe.nearest_frames_within` for ``rule`` and ``precision``.

        Args:
            seconds: times in seconds on the video's own timeline.
            tolerance_s: the largest accepted distance between a time and its frame.
            rule: ``"<="`` (a distance equal to the tolerance is accepted) or ``"<"``.
            precision: ``"float32"`` (LeRobot's comparison, bit for bit) or ``"float64"``.

        Returns:
            A :class:`~framepipe.FrameBatch`, one frame per time, in the order asked.

        Raises:
            FrameTimestampError: a time has no frame within the tolerance (``.seconds`` and
                ``.distances`` list them all).
            ValueError: ``tolerance_s``, ``rule`` or ``precision`` is not valid.

        Example:
            >>> import os, tempfile, framepipe
            >>> from framepipe.tools.synthetic import make_video, read_index
            >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=30)  # 25 fps
            >>> with framepipe.open(path) as v:
            ...     [read_index(f) for f in v.get_frames_near_times([0.4 - 1e-5], tolerance_s=1e-4).data]
            [10]
        """
        return self.get_frames(
            frames_near(
                self._index.pts_seconds_as(precision),
                seconds,
                tolerance_s=tolerance_s,
                rule=rule,
                precision=precision,
                path=self._path,
            )
        )

    def nearest_frames(
        self,
        seconds: Sequence[float] | np.ndarray,
        *,
        tolerance_s: float,
        rule: ToleranceRule = "<=",
        precision: Precision = "float32",
    ) -> NearestFrames:
        """Which frame is nearest each time, and whether it lies within ``tolerance_s``; decodes nothing.

        :meth:`get_frames_near_times` without the frames and without raising: for callers that report a
        time out of tolerance their own way (``framepipe.lerobot`` raises LeRobot's error).

        Returns:
            A :class:`~framepipe.NearestFrames` (``indices``, ``distances``, ``within``).

        Raises:
            ValueError: ``tolerance_s``, ``rule`` or ``precision`` is not valid.

        Example:
            >>> import os, tempfile, framepipe
            >>> from framepipe.tools.synthetic import make_video
            >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=30)
            >>> with framepipe.open(path) as v:
            ...     found = v.nearest_frames([0.4 - 1e-5, 5.0], tolerance_s=1e-4)  # 25 fps
            >>> found.indices.tolist(), found.within.tolist()
            ([10, 29], [True, False])
        """
        self._check_open()
        return nearest_frames_within(
            self._index.pts_seconds_as(precision),
            seconds,
            tolerance_s=tolerance_s,
            rule=rule,
            precision=precision,
        )
