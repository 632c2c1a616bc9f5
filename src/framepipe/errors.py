"""Exceptions raised by framepipe.

Every error about a file or stream is a :class:`VideoError` and names it; errors about an argument are
plain ``ValueError``/``IndexError``/``TypeError`` whose message names the argument. The hierarchy::

    VideoError
    ├── VideoNotFoundError (also FileNotFoundError)
    ├── InvalidVideoError
    │   ├── NoVideoStreamError
    │   ├── TruncatedVideoError
    │   │   └── TruncatedFrameError (also IndexError)
    │   └── FrameSizeChangedError
    ├── CorruptFrameError
    ├── VideoClosedError (also ValueError)
    ├── FrameTimestampError (also ValueError)
    ├── RemoteError
    │   ├── SourceUnreachableError (also ConnectionError)
    │   ├── AccessDeniedError (also PermissionError)
    │   └── RemoteReadError (also ConnectionError)
    └── StreamError
        ├── StreamOpenError
        ├── StreamTimeoutError (also TimeoutError)
        ├── StreamDisconnectedError (also ConnectionError)
        ├── StreamEndedError (also EOFError)
        └── FrameGoneError (also LookupError)
"""

from __future__ import annotations

import os

__all__ = [
    "VideoError",
    "VideoNotFoundError",
    "InvalidVideoError",
    "NoVideoStreamError",
    "TruncatedVideoError",
    "TruncatedFrameError",
    "CorruptFrameError",
    "FrameSizeChangedError",
    "TooLargeError",
    "VideoClosedError",
    "FrameTimestampError",
    "RemoteError",
    "SourceUnreachableError",
    "AccessDeniedError",
    "RemoteReadError",
    "StreamError",
    "StreamOpenError",
    "StreamTimeoutError",
    "StreamDisconnectedError",
    "StreamEndedError",
    "FrameGoneError",
]


class VideoError(Exception):
    """Base class of the errors about one video file or stream; ``.path`` names it (credentials masked)."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str) -> None:
        self.path = None if path is None else os.fspath(path)
        prefix = f"{self.path}: " if self.path is not None else ""
        super().__init__(prefix + message)

    def __reduce__(self):
        # picklable as it is (DataLoader and process-pool workers send errors back to the parent): the
        # default would call __init__ with the formatted message as the only argument
        return _rebuild, (type(self), self.args, self.__dict__)


def _rebuild(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class VideoNotFoundError(VideoError, FileNotFoundError):
    """The path does not exist."""


class InvalidVideoError(VideoError):
    """The path exists but is not a readable video (a directory, an empty file, text, a damaged header)."""


class NoVideoStreamError(InvalidVideoError):
    """The file is a media file without any video stream."""


class TruncatedVideoError(InvalidVideoError):
    """The file ends before the data its own header promises, so early that no frame is complete (a file
    cut off later opens: its complete frames are readable, see ``VideoMetadata.truncated``)."""


class TruncatedFrameError(TruncatedVideoError, IndexError):
    """A frame past where a truncated file ends; ``.last_readable_frame`` is the last one there is."""

    def __init__(self, path, message: str, *, last_readable_frame: int) -> None:
        super().__init__(path, message)
        self.last_readable_frame = last_readable_frame


class CorruptFrameError(VideoError):
    """A packet needed for a requested frame failed to decode (raised when ``on_error="raise"``)."""

    def __init__(self, path: str | os.PathLike[str] | None, message: str, *, frame_index: int | None) -> None:
        self.frame_index = frame_index
        super().__init__(path, message)


class TooLargeError(VideoError, ValueError):
    """A call would allocate more than the limits for untrusted input allow (output bytes per call, or
    pixels per frame); raised before anything is allocated, naming the setting that allows more
    (``max_bytes`` / ``framepipe.set_max_output_bytes``, ``max_frame_pixels`` /
    ``framepipe.set_max_frame_pixels``)."""


class FrameSizeChangedError(InvalidVideoError):
    """The frame size changed mid-stream and no ``size=`` was given to bring every frame to one size
    (raised by files and live streams alike)."""


class VideoClosedError(VideoError, ValueError):
    """A frame was asked of a reader after its ``close()``: a :class:`~framepipe.VideoFile` or a
    :class:`~framepipe.LiveStream`."""


class FrameTimestampError(VideoError, ValueError):
    """No frame lies within the tolerance of an asked time
    (:meth:`~framepipe.VideoFile.get_frames_near_times`);
    ``.seconds`` holds the times that missed and ``.distances`` how far their nearest frames are."""

    def __init__(self, path, message: str, *, seconds=(), distances=()) -> None:
        super().__init__(path, message)
        self.seconds = list(seconds)
        self.distances = list(distances)


class RemoteError(VideoError):
    """Base class of the errors about reaching a video over the network (an ``http(s)://``, ``s3://``,
    ``gs://``, ... URL); ``.path`` is the URL with credentials masked. A missing remote file is a
    :class:`VideoNotFoundError`."""


class SourceUnreachableError(RemoteError, ConnectionError):
    """The server could not be reached (refused, no such host, no answer within the timeout)."""


class AccessDeniedError(RemoteError, PermissionError):
    """The server refused access (HTTP 401/403), or credentials are missing or wrong."""


class RemoteReadError(RemoteError, ConnectionError):
    """A read failed mid-file (a dropped connection, a timeout, a server error) and retries gave up;
    ``.attempts`` says how often it was tried."""

    def __init__(self, path: str | None, message: str, *, attempts: int = 0) -> None:
        self.attempts = attempts
        super().__init__(path, message)


class StreamError(VideoError):
    """Base class of the errors about a live stream; ``.path`` is the source with credentials masked."""


class StreamOpenError(StreamError):
    """The source could not be opened: refused, not found, not a video stream, bad options."""


class StreamTimeoutError(StreamError, TimeoutError):
    """Nothing arrived within ``open_timeout`` or ``read_timeout`` (a source that accepts but never sends)."""


class StreamDisconnectedError(StreamError, ConnectionError):
    """The connection was lost and reconnecting is off or gave up; ``.attempts`` says how often it tried."""

    def __init__(self, path: str | None, message: str, *, attempts: int = 0) -> None:
        self.attempts = attempts
        super().__init__(path, message)


class StreamEndedError(StreamError, EOFError):
    """The source finished (end of a file or of an HLS playlist, or a server that closed with reconnect off)
    and every frame has been read. Iteration ends quietly instead of raising it."""


class FrameGoneError(StreamError, LookupError):
    """A frame asked by stream index or time has already left the stream's buffer of recent frames."""
