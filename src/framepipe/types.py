"""Result types: what the readers return. Plain dataclasses holding NumPy arrays (or, after
``to_torch()`` or with ``array="torch"``, PyTorch tensors sharing the same memory).

>>> import numpy as np
>>> FrameBatch(np.zeros((3, 4, 4, 3), np.uint8), np.array([5, 9, 2]), np.array([0.2, 0.36, 0.08]))
FrameBatch(data=uint8[3, 4, 4, 3], indices=[5, 9, 2], pts_seconds=[0.2, 0.36, 0.08])
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("to_torch() needs PyTorch: pip install 'framepipe[torch]'") from exc
    return torch


def _tensor(array):
    """``array`` as a tensor sharing its memory (no copy: results are contiguous in their layout)."""
    torch = _torch()
    if isinstance(array, torch.Tensor) or array is None:
        return array
    return torch.from_numpy(np.ascontiguousarray(array))


def _short(name: str, value) -> str:
    """``data=uint8[4, 224, 224, 3]`` for arrays and tensors; the first values of small 1-D/2-D series."""
    shape = tuple(getattr(value, "shape", ()))
    dtype = str(getattr(value, "dtype", type(value).__name__)).replace("torch.", "")
    if name == "data" or len(shape) > 2:
        return f"{name}={dtype}[{', '.join(map(str, shape))}]"
    flat = np.asarray(value).reshape(-1)
    items = [f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in flat[:6].tolist()]
    more = f", ... ({flat.size})" if flat.size > 6 else ""
    return (
        f"{name}=[{', '.join(items)}{more}]"
        if len(shape) < 2
        else f"{name}={dtype}[{', '.join(map(str, shape))}]"
    )


@dataclass
class _Result:
    """Short reprs, and ``to_torch()`` for every array field."""

    _arrays: ClassVar[tuple[str, ...]] = ("data",)

    def __repr__(self) -> str:
        parts = [_short(f, getattr(self, f)) for f in self._arrays if getattr(self, f) is not None]
        parts += [
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if f.name not in self._arrays and not isinstance(getattr(self, f.name), list)
        ]
        parts += [
            f"{f.name}={len(getattr(self, f.name))}"
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), list) and getattr(self, f.name)
        ]
        return f"{type(self).__name__}({', '.join(parts)})"

    def to_torch(self):
        """The same result with its arrays as ``torch.Tensor``s sharing their memory: no copy, in any layout
        (frames are written straight into an output array allocated in the layout asked for)."""
        return dataclasses.replace(self, **{f: _tensor(getattr(self, f)) for f in self._arrays})


__all__ = ["VideoMetadata", "Frame", "FrameBatch", "ClipBatch", "FrameIssue", "LiveFrame", "StreamStats"]


@dataclass(frozen=True)
class VideoMetadata:
    """What a video really is, measured from its packet index rather than trusted from its header.

    ``num_frames`` counts the frames a full decode shows (packets an edit list hides are not counted);
    ``header_num_frames`` is what the container claims (0 when it does not say), kept for comparison.
    ``width`` and ``height`` are those of the frames returned: turned upright by the display matrix, as the
    ffmpeg CLI shows them (``coded_width`` x ``coded_height`` is the picture as stored); ``rotation`` is how
    far the stored picture is turned clockwise for display (0, 90, 180, 270) and ``display_transform`` the
    ffmpeg filter that does it (None when frames are returned as stored, or opened with
    ``rotation="ignore"``).

    Attributes:
        path: the video's name in messages (credentials masked).
        stream_index: the video stream read, among all the file's streams.
        codec: FFmpeg's codec name (``"h264"``, ``"hevc"``, ``"av1"``, ...).
        width: width of the frames returned (upright).
        height: height of the frames returned (upright).
        pixel_format: FFmpeg's pixel format of the decoded pictures (``"yuv420p"``, ...).
        num_frames: frames a full decode shows: the exact count.
        header_num_frames: what the container claims (0 when it does not say).
        average_fps: ``num_frames`` over the time they span.
        nominal_fps: the stream's declared rate, if any.
        duration_seconds: from the first frame's timestamp to the end of the last frame's display.
        start_seconds: the first frame's timestamp.
        end_seconds: where the last frame's display ends.
        keyframe_indices: indices of the frames a decode can start at.
        is_variable_frame_rate: frame intervals differ by more than timestamp rounding.
        index_mode: how the index was made: ``"sample_table"`` (an MP4's own tables: nothing read beyond
            the header), ``"packets"`` (one demuxing pass over the file), ``"streamed"`` (the whole file
            read first: a server without byte ranges, a pipe), ``"decode"`` (timestamps unusable: one
            full decode; every access decodes forward).
        coded_width: width of the picture as stored.
        coded_height: height of the picture as stored.
        rotation: degrees the stored picture is turned clockwise for display (0, 90, 180, 270).
        display_transform: the ffmpeg filter that shows it upright, or None.
        truncated: the file was cut off (an interrupted download or recording) or cannot be demuxed past
            a point (damaged); ``num_frames`` counts the frames before that, as a sequential decode shows
            them, and ``header_num_frames`` what the header promised.
    """

    path: str
    stream_index: int
    codec: str
    width: int
    height: int
    pixel_format: str
    num_frames: int
    header_num_frames: int
    average_fps: float
    nominal_fps: float | None
    duration_seconds: float
    start_seconds: float
    end_seconds: float
    keyframe_indices: np.ndarray
    is_variable_frame_rate: bool
    index_mode: str
    coded_width: int = 0
    coded_height: int = 0
    rotation: int = 0
    display_transform: str | None = None
    truncated: bool = False

    def __repr__(self) -> str:  # keyframe list can be huge; show a summary
        keys = len(self.keyframe_indices)
        return (
            f"VideoMetadata(path={self.path!r}, stream_index={self.stream_index}, codec={self.codec!r}, "
            f"{self.width}x{self.height} {self.pixel_format}"
            f"{f', rotation={self.rotation}' if self.rotation else ''}, num_frames={self.num_frames}, "
            f"average_fps={self.average_fps:.3f}, duration_seconds={self.duration_seconds:.3f}, "
            f"start_seconds={self.start_seconds:.3f}, keyframes={keys}, "
            f"is_variable_frame_rate={self.is_variable_frame_rate}, index_mode={self.index_mode!r}"
            f"{', truncated=True' if self.truncated else ''})"
        )


@dataclass(frozen=True)
class FrameIssue:
    """A frame that failed to decode under ``on_error="skip"`` or ``"previous"``.

    Attributes:
        index: the frame.
        action: ``"skipped"`` or ``"repeated_previous"``.
        message: what went wrong, naming the file.
    """

    index: int
    action: str
    message: str


@dataclass(repr=False)
class Frame(_Result):
    """One frame from :meth:`VideoFile.iter_frames`.

    Attributes:
        data: the frame, in the reader's output format.
        index: its index in the video.
        pts_seconds: its presentation time.
        requested_seconds: with ``snap="keyframe"``: the time this keyframe answers.
    """

    data: np.ndarray
    index: int
    pts_seconds: float
    requested_seconds: float | None = None


@dataclass(repr=False)
class FrameBatch(_Result):
    """Frames in the order asked: ``data[k]`` is frame ``indices[k]`` shown at ``pts_seconds[k]``.

    Attributes:
        data: (N, ...) frames in the frame layout.
        indices: (N,) frame indices.
        pts_seconds: (N,) presentation times.
        issues: frames that failed to decode (``on_error="skip"`` or ``"previous"``).
        arrival_times: live streams only: the wall-clock time (``time.time()``) at which each frame had
            been decoded.
        requested_seconds: sampling by time with ``snap="keyframe"`` only: the time each frame answers
            (``pts_seconds - requested_seconds`` is how far the keyframe is from it).
    """

    _arrays = ("data", "indices", "pts_seconds", "arrival_times", "requested_seconds")

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    issues: list[FrameIssue] = field(default_factory=list)
    arrival_times: np.ndarray | None = None
    requested_seconds: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(repr=False)
class ClipBatch(_Result):
    """Clips in the order asked: ``data`` is (B, T, ...) in the clip layout; ``indices`` is (B, T).

    Attributes:
        data: the clips, in the clip layout.
        indices: (B, T) frame indices.
        pts_seconds: (B, T) presentation times.
        issues: frames that failed to decode.
        dropped_clips: positions of the clips left out under ``on_error="skip"``.
    """

    _arrays = ("data", "indices", "pts_seconds")

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    issues: list[FrameIssue] = field(default_factory=list)
    dropped_clips: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(repr=False)
class LiveFrame(_Result):
    """One frame of a live stream.

    ``index`` counts the frames received since open (0 is the first, numbering goes on across
    reconnects); ``pts_seconds`` is its presentation time on the stream's timeline, which starts at 0 with
    frame 0 and stays increasing across reconnects; ``arrival_time`` is the wall-clock time (``time.time()``)
    at which it had been received and decoded.

    Attributes:
        data: the frame, in the stream's output format.
        index: frames received before it since open.
        pts_seconds: its time on the stream's timeline.
        arrival_time: when it had been received and decoded (``time.time()``).
    """

    data: np.ndarray
    index: int
    pts_seconds: float
    arrival_time: float


@dataclass(frozen=True)
class StreamStats:
    """Counters of a live stream, a snapshot taken by :attr:`LiveStream.stats`.

    ``dropped`` counts frames that were decoded but never delivered: skipped by ``mode="latest"`` reads,
    or pushed out of a full queue under ``overflow="drop_oldest"``. Frames left out on purpose by
    ``fps=`` sampling are ``sampled_out``, not dropped. ``latency_seconds`` is the median time from a
    frame's arrival to its delivery to the reader over the last 100 frames.

    Attributes:
        state: ``"running"``, ``"reconnecting"``, ``"ended"``, ``"disconnected"`` or ``"closed"``.
        received: frames received and decoded.
        delivered: frames handed to the reader.
        dropped: frames decoded but never delivered.
        sampled_out: frames left out by ``fps=`` sampling.
        decode_errors: packets that failed to decode.
        reconnects: reconnections made.
        fps: the rate of arrivals over the last 2 s.
        latency_seconds: median time from arrival to delivery over the last 100 frames.
        open_seconds: how long the first open took.
        last_error: the last error seen, if any.
        receiver_alive: the receiving thread runs; True after ``close()`` means it outlived ``close()``
            (a read whose connection it could not find to shut down) and ends by itself when that read
            times out.
    """

    state: str
    received: int
    delivered: int
    dropped: int
    sampled_out: int
    decode_errors: int
    reconnects: int
    fps: float
    latency_seconds: float
    open_seconds: float
    last_error: str | None
    receiver_alive: bool = False
