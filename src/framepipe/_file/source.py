"""Source stage: check a path, open it with PyAV, pick the video stream.

All FFmpeg failures at open time become a specific :class:`~framepipe.errors.VideoError` naming the file.
"""

from __future__ import annotations

import os

import av

from .._checks import check_int
from ..errors import InvalidVideoError, NoVideoStreamError, VideoNotFoundError

__all__ = ["check_path", "open_container", "select_stream", "best_video_stream", "file_signature"]


def check_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as an absolute string, or raise the error that says what is wrong with it."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise VideoNotFoundError(path, "no such file")
    if os.path.isdir(path):
        raise InvalidVideoError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise InvalidVideoError(path, "is an empty (zero-byte) file")
    return path


def file_signature(path: str) -> tuple[int, int]:
    """(size in bytes, mtime in ns): what the index cache is keyed on besides the path."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def open_container(path: str, *, timeout: float | None = None) -> av.container.InputContainer:
    """Open ``path`` for reading; FFmpeg's errors become :class:`InvalidVideoError` naming the file."""
    try:
        return av.open(path, mode="r", timeout=timeout)
    except FileNotFoundError as exc:
        raise VideoNotFoundError(path, "no such file") from exc
    except PermissionError as exc:
        raise InvalidVideoError(path, "permission denied") from exc
    except av.error.FFmpegError as exc:
        raise InvalidVideoError(path, f"not a readable video ({exc.strerror or exc})") from exc


def best_video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """FFmpeg's best video stream, never cover art; None if the container has no video stream."""
    videos = [s for s in container.streams if s.type == "video"]
    # cover art is stored as a one-frame video stream flagged attached_pic; it is not the video
    real = [s for s in videos if not (s.disposition & av.stream.Disposition.attached_pic)] or videos
    if not real:
        return None
    try:
        best = container.streams.best("video")
    except (ValueError, av.error.FFmpegError):
        best = None
    return best if best in real else real[0]


def select_stream(container: av.container.InputContainer, path: str, stream: int | None) -> av.video.stream.VideoStream:
    """The video stream ``stream`` (an index among all the file's streams), or the best one if None."""
    best = best_video_stream(container)
    if best is None:
        kinds = ", ".join(f"#{s.index} {s.type}" for s in container.streams) or "no streams at all"
        raise NoVideoStreamError(path, f"has no video stream ({kinds})")
    if stream is None:
        return best
    check_int("stream", stream)
    videos = [s for s in container.streams if s.type == "video"]
    for s in videos:
        if s.index == stream:
            return s
    choices = ", ".join(str(s.index) for s in videos)
    raise ValueError(f"stream={stream} is not a video stream of {path}; its video streams are: {choices}")
