"""Result types: what the reader returns. Plain dataclasses holding NumPy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["VideoMetadata", "Frame", "FrameBatch", "ClipBatch", "FrameIssue", "LiveFrame", "StreamStats"]


@dataclass(frozen=True)
class VideoMetadata:
    """What a video really is, measured from its packet index rather than trusted from its header.

    ``num_frames`` counts the frames a full decode shows (packets an edit list hides are not counted);
    ``header_num_frames`` is what the container claims (0 when it does not say), kept for comparison.
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
    index_mode: str  # "packets" (seekable) or "decode" (container lies; every access decodes forward)

    def __repr__(self) -> str:  # keyframe list can be huge; show a summary
        keys = len(self.keyframe_indices)
        return (
            f"VideoMetadata(path={self.path!r}, stream_index={self.stream_index}, codec={self.codec!r}, "
            f"{self.width}x{self.height} {self.pixel_format}, num_frames={self.num_frames}, "
            f"average_fps={self.average_fps:.3f}, duration_seconds={self.duration_seconds:.3f}, "
            f"start_seconds={self.start_seconds:.3f}, keyframes={keys}, "
            f"is_variable_frame_rate={self.is_variable_frame_rate}, index_mode={self.index_mode!r})"
        )


@dataclass(frozen=True)
class FrameIssue:
    """A frame that failed to decode under ``on_error="skip"`` or ``"previous"``."""

    index: int
    action: str  # "skipped" or "repeated_previous"
    message: str


@dataclass
class Frame:
    """One frame from :meth:`VideoFile.iter_frames`."""

    data: np.ndarray
    index: int
    pts_seconds: float


@dataclass
class FrameBatch:
    """Frames in the order asked: ``data[k]`` is frame ``indices[k]`` shown at ``pts_seconds[k]``."""

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    issues: list[FrameIssue] = field(default_factory=list)
    # live streams only: wall-clock time (time.time()) at which each frame had been decoded
    arrival_times: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class ClipBatch:
    """Clips in the order asked: ``data`` is (B, T, ...) in the clip layout; ``indices`` is (B, T)."""

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    issues: list[FrameIssue] = field(default_factory=list)
    dropped_clips: list[int] = field(default_factory=list)  # positions left out under on_error="skip"

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class LiveFrame:
    """One frame of a live stream.

    ``index`` counts the frames received since open (0 is the first, numbering goes on across
    reconnects); ``pts_seconds`` is its presentation time on the stream's timeline, which starts at 0 with
    frame 0 and stays increasing across reconnects; ``arrival_time`` is the wall-clock time (``time.time()``)
    at which it had been received and decoded.
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
    """

    state: str  # "running", "reconnecting", "ended", "disconnected" or "closed"
    received: int
    delivered: int
    dropped: int
    sampled_out: int
    decode_errors: int
    reconnects: int
    fps: float  # measured over the last 2 s of arrivals
    latency_seconds: float
    open_seconds: float  # how long the first open took
    last_error: str | None
    # the receiving thread runs; True after close() means it outlived close() (a read FFmpeg could not
    # interrupt) and ends by itself when that read times out
    receiver_alive: bool = False
