"""Exceptions raised by framepipe.

Every error about a file is a :class:`VideoError` and names the file; errors about an argument are plain
``ValueError``/``IndexError``/``TypeError`` whose message names the argument.
"""

from __future__ import annotations

import os

__all__ = [
    "VideoError",
    "VideoNotFoundError",
    "InvalidVideoError",
    "NoVideoStreamError",
    "TruncatedVideoError",
    "CorruptFrameError",
    "VideoClosedError",
]


class VideoError(Exception):
    """Base class of the errors about one video file; ``.path`` is that file."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else os.fspath(path)
        prefix = f"{self.path}: " if self.path is not None else ""
        super().__init__(prefix + message)


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist."""


class InvalidVideoError(VideoError):
    """The path exists but is not a readable video (a directory, an empty file, text, a damaged header)."""


class NoVideoStreamError(InvalidVideoError):
    """The file is a media file without any video stream."""


class TruncatedVideoError(InvalidVideoError):
    """The file ends before the data its own header promises."""


class CorruptFrameError(VideoError):
    """A packet needed for a requested frame failed to decode (raised when ``on_error="raise"``)."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str, *, frame_index: int | None) -> None:
        self.frame_index = frame_index
        super().__init__(path, message)


class VideoClosedError(VideoError, ValueError):
    """A frame was asked of a :class:`~framepipe.VideoFile` after ``close()``."""
