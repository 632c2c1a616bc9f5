"""One request, one answer: what every door (the PyTorch and Keras datasets, Ray, the CLI) asks of each
video, and the one seeding rule behind every random draw.

A :class:`Request` is a sampling (:class:`~.samplers.ClipSampling` for clips,
:class:`FrameSampling` for frames) plus the output format and the two error rules. Every door builds one
and asks it for each video's rows (:meth:`Request.rows`), so the same request gives the same frames
whichever door it goes through.

The seeding rule: every random draw comes from a generator seeded by ``(seed, epoch, video key, ...)``
(:func:`rng_for`): a video's clips do not depend on the other videos, on which ones were skipped, on the
worker or process that draws them, or on the door. A video's key is its path relative to the folder the
request names (see :class:`VideoSource`). With ``seed=None`` each draw takes fresh entropy from the
operating system, so forked workers never replay each other.

>>> import numpy as np
>>> a = rng_for(5, 0, "walk/a.mp4").integers(0, 100, 3)
>>> b = rng_for(5, 0, "walk/a.mp4").integers(0, 100, 3)
>>> bool((a == b).all()), bool((rng_for(5, 1, "walk/a.mp4").integers(0, 100, 3) == a).all())
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._index.keyframes import keyframes_in_range
from .._index.timestamps import frames_at_times, frames_every, times_every
from .._pixels.format import FrameFormat
from .._util.checks import check_choice, check_int, check_number
from .._util.choices import ON_BAD_VIDEO, ON_ERROR, SNAPS, OnBadVideo, OnError, Snap
from .._util.constants import TIME_TOLERANCE
from .._util.warn import warn
from .samplers import CLIPS, ITEMS, ClipSampling, rng_for

__all__ = [
    "VideoSource",
    "FrameSampling",
    "Request",
    "rng_for",
    "item_rng",
    "frame_range",
    "error_rules",
    "CLIPS",
    "ITEMS",
]


def item_rng(seed: int | None, epoch: int, key: str, clip: int) -> np.random.Generator:
    """The generator of one item's augmentation (and temporal jitter): the ``clip``-th clip of the video
    ``key`` in ``epoch``. Which worker reads the item does not matter."""
    return rng_for(seed, epoch, key, ITEMS, clip)


@dataclass(frozen=True)
class VideoSource:
    """One video and its label; ``start``/``end`` (seconds) restrict clips to a part of it.

    Attributes:
        path: a local path or a URL.
        label: a class name or number; None: unlabelled.
        start: the first second clips may use; None: the start.
        end: the second clips end before; None: the end.
        key: the name the seeding rule uses: the path relative to the folder the request names (a folder,
            a manifest's folder, a glob's folder, or the common folder of a list of paths), with ``/``
            between folders. None: the file name.
        data: the video's bytes, for a video held in memory (a Hugging Face ``Video(decode=False)`` value,
            ``bytes``, a ``BytesIO``, a webdataset sample); ``path`` is then its name in messages.
    """

    path: str
    label: str | int | None = None
    start: float | None = None
    end: float | None = None
    key: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def target(self) -> str | bytes:
        """What a reader opens: the video's bytes where it is held in memory, else its path or URL."""
        return self.path if self.data is None else self.data

    @property
    def seed_key(self) -> str:
        """:attr:`key`, or the file name when none was given."""
        return self.key if self.key is not None else self.path.replace("\\", "/").rsplit("/", 1)[-1]


def frame_range(src: VideoSource, pts: np.ndarray) -> tuple[int, int]:
    """The frames ``[lo, hi)`` of a video that its ``start``/``end`` (seconds) allow."""
    lo, hi = 0, len(pts)
    if src.start is not None:
        lo = int(np.searchsorted(pts, src.start - TIME_TOLERANCE))
    if src.end is not None:
        hi = int(np.searchsorted(pts, src.end - TIME_TOLERANCE))
    return lo, max(lo, hi)


def error_rules(
    on_error: str, on_bad_video: str | None, *, caller: str, can_skip_frames: bool
) -> tuple[OnError, OnBadVideo]:
    """``(on_error, on_bad_video)`` as every door reads them: ``on_error`` is about a frame that fails to
    decode, ``on_bad_video`` about a video that cannot be read (None: ``"raise"``).

    ``on_error="skip"`` without ``on_bad_video`` is how the datasets and ``framepipe.ray`` used to ask to
    skip unreadable videos: for one release it still does (``on_bad_video="skip"``), with a
    ``DeprecationWarning`` that names the new argument.

    Raises:
        ValueError: a value outside its choices, or ``on_error="skip"`` where an item cannot be dropped
            (``can_skip_frames`` False: a map-style dataset).
    """
    check_choice("on_error", on_error, ON_ERROR)
    if on_bad_video is None:
        on_bad_video = "raise"
        if on_error == "skip":
            warn(
                f"framepipe: {caller}(on_error='skip') to skip videos that cannot be read is deprecated: "
                "pass on_bad_video='skip' (on_error is about frames that fail to decode, as in "
                "framepipe.open)",
                DeprecationWarning,
            )
            on_bad_video = "skip"
            if not can_skip_frames:
                on_error = "raise"  # what it meant before: frames raise
    check_choice("on_bad_video", on_bad_video, ON_BAD_VIDEO)
    if on_error == "skip" and not can_skip_frames:
        raise ValueError(
            f"{caller}: on_error='skip' would drop an item, which a map-style dataset cannot do; use "
            "on_error='previous' (the frame before stands in) or 'raise'"
        )
    return on_error, on_bad_video  # type: ignore[return-value]


@dataclass(frozen=True)
class FrameSampling:
    """Which frames of each video, one row per frame: ``fps`` (the frame grid by time), ``every`` (every
    n-th frame), ``times`` (the frames on screen at these times), or none of them (every frame).

    The frame grid (``fps``, and ``framepipe extract --fps`` / ``--every 2s``): ticks every ``1/fps``
    seconds from the first frame's timestamp to before the end; the frame on screen at each tick; **each
    frame once**, in time order. On a variable-frame-rate file with a gap longer than ``1/fps`` the frame
    that stays on screen through the gap is given once, not at every tick (a frame's own
    ``pts_seconds`` says when it is shown). ``snap="keyframe"`` trades accuracy for speed: the keyframe
    nearest each tick or time, each decoded on its own.

    Raises:
        ValueError, TypeError: more than one of ``fps``, ``every`` and ``times``, or a bad value.

    Example:
        >>> import numpy as np
        >>> pts = np.array([0.0, 0.1, 0.2, 5.0, 5.1])   # a gap of 4.8 s
        >>> FrameSampling(fps=2).frames(pts, 5.2)[0].tolist()
        [0, 2, 3]
    """

    fps: float | None = None
    every: int | None = None
    times: tuple[float, ...] | None = None
    snap: Snap = "exact"

    def __post_init__(self) -> None:
        if sum(v is not None for v in (self.fps, self.every, self.times)) > 1:
            raise ValueError("give at most one of fps, every and times")
        check_number("fps", self.fps, allow_none=True)
        check_int("every", self.every, minimum=1, allow_none=True)
        check_choice("snap", self.snap, SNAPS)
        if self.times is not None:
            object.__setattr__(
                self, "times", tuple(float(check_number("times", t, positive=False)) for t in self.times)
            )
        if self.snap == "keyframe" and self.fps is None and self.times is None:
            raise ValueError("snap='keyframe' samples by time: give fps or times")

    def frames(
        self,
        pts: np.ndarray,
        end_seconds: float,
        *,
        start: int = 0,
        stop: int | None = None,
        keyframes: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The frames of one video in ``[start, stop)``, in time order, each once; with
        ``snap="keyframe"`` also the time each answers (else None).

        Args:
            pts: every frame's timestamp (seconds).
            end_seconds: when the last frame stops being shown.
            start: the first frame that may be picked.
            stop: the frame before which picks stop (None: the end).
            keyframes: the keyframe indices, for ``snap="keyframe"``.
        """
        stop = len(pts) if stop is None else stop
        if stop <= start:
            return np.zeros(0, dtype=np.int64), (np.zeros(0) if self.snap == "keyframe" else None)
        if self.fps is None and self.times is None:
            return np.arange(start, stop, self.every or 1, dtype=np.int64), None
        if self.fps is not None:
            wanted = times_every(pts, end_seconds, self.fps, start=start, stop=stop)
        else:
            t0, t1 = pts[start], (pts[stop] if stop < len(pts) else end_seconds)
            wanted = np.asarray(self.times, dtype=np.float64)
            wanted = wanted[(wanted >= t0 - TIME_TOLERANCE) & (wanted < t1)]
        if self.snap == "keyframe":
            keys = np.zeros(0, dtype=np.int64) if keyframes is None else keyframes
            return keyframes_in_range(pts, end_seconds, keys, wanted, start=start, stop=stop)
        if self.fps is not None:
            return frames_every(pts, end_seconds, self.fps, start=start, stop=stop).astype(np.int64), None
        picked = frames_at_times(pts, end_seconds, wanted)
        return np.unique(picked[(picked >= start) & (picked < stop)]).astype(np.int64), None


@dataclass(frozen=True)
class Request:
    """What a door asks of every video: the sampling, the output format and the two error rules. The
    datasets, ``framepipe.ray`` and ``framepipe clips`` / ``extract`` each build one from their
    arguments, and each video's rows come from :meth:`rows`, so one request means the same frames through
    every door.

    Attributes:
        sampling: clips (:class:`~framepipe.sampling.ClipSampling`) or frames (:class:`FrameSampling`).
        format: the output options.
        on_error: a frame that fails to decode: ``"raise"``, ``"skip"`` or ``"previous"`` (as
            :func:`framepipe.open`'s).
        on_bad_video: a video that cannot be opened or indexed: ``"raise"``, or ``"skip"`` with a
            warning naming it.
        stream: the video stream; None: the best one.

    Example:
        >>> import numpy as np
        >>> req = Request(ClipSampling(length=2, stride=4), FrameFormat())
        >>> req.rows(VideoSource("a.mp4"), np.arange(10) / 25).tolist()
        [[0, 1], [4, 5], [8, 9]]
    """

    sampling: ClipSampling | FrameSampling
    format: FrameFormat
    on_error: OnError = "raise"
    on_bad_video: OnBadVideo = "raise"
    stream: int | None = None

    def __post_init__(self) -> None:
        check_choice("on_error", self.on_error, ON_ERROR)
        check_choice("on_bad_video", self.on_bad_video, ON_BAD_VIDEO)
        check_int("stream", self.stream, minimum=0, allow_none=True)

    @property
    def kind(self) -> str:
        """``"clips"`` or ``"frames"``."""
        return "clips" if isinstance(self.sampling, ClipSampling) else "frames"

    @property
    def frames_per_row(self) -> int:
        """Frames in one row: a clip's length, or 1."""
        return self.sampling.length if isinstance(self.sampling, ClipSampling) else 1

    def rows(
        self,
        src: VideoSource,
        pts: np.ndarray,
        *,
        end_seconds: float | None = None,
        keyframes: np.ndarray | None = None,
        epoch: int = 0,
    ) -> np.ndarray:
        """The rows of one video: an int64 array (rows, frames per row), in time order (by first frame).

        Args:
            src: the video (its ``start``/``end`` and its key).
            pts: its frames' timestamps.
            end_seconds: when its last frame stops being shown (None: one frame interval after it).
            keyframes: its keyframe indices (``snap="keyframe"`` picks among them).
            epoch: which epoch's random draws.
        """
        return self.rows_and_times(src, pts, end_seconds=end_seconds, keyframes=keyframes, epoch=epoch)[0]

    def rows_and_times(
        self,
        src: VideoSource,
        pts: np.ndarray,
        *,
        end_seconds: float | None = None,
        keyframes: np.ndarray | None = None,
        epoch: int = 0,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`rows`, and with ``snap="keyframe"`` the time each row answers (else None)."""
        lo, hi = frame_range(src, pts)
        width = self.frames_per_row
        if hi <= lo:
            return np.zeros((0, width), dtype=np.int64), None
        if isinstance(self.sampling, FrameSampling):
            if end_seconds is None:
                end_seconds = float(pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 1e-3))
            picked, asked = self.sampling.frames(pts, end_seconds, start=lo, stop=hi, keyframes=keyframes)
            return picked[:, None], asked
        clips = self.sampling.draw(hi - lo, epoch=epoch, key=src.seed_key) + lo
        return (clips[np.lexsort(clips.T[::-1])] if len(clips) else clips), None
