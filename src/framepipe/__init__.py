"""framepipe: exact frames and clips from video files into training and inference loops.

>>> import os, tempfile, framepipe
>>> from framepipe.tools.synthetic import make_video
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=40)
>>> with framepipe.open(path, size=(112, 112)) as video:
...     clips = video.get_clips([[0, 2, 4, 6], [4, 6, 8, 10]])
>>> clips.data.shape
(2, 4, 112, 112, 3)
"""

from ._file.open import open
from ._file.reader import VideoFile
from ._index.timestamps import NearestFrames, nearest_frames_within
from ._live.opening import open_stream
from ._live.stream import LiveStream, Reconnect
from ._pixels.format import FormatOptions, FrameFormat
from ._pixels.recent import recent_frames_bytes, recent_frames_limit, set_recent_frames_limit
from ._util.limits import max_frame_pixels, max_output_bytes, set_max_frame_pixels, set_max_output_bytes
from .errors import (
    AccessDeniedError,
    CorruptFrameError,
    FrameGoneError,
    FrameSizeChangedError,
    FrameTimestampError,
    InvalidVideoError,
    NoVideoStreamError,
    RemoteError,
    RemoteReadError,
    SourceUnreachableError,
    StreamDisconnectedError,
    StreamEndedError,
    StreamError,
    StreamOpenError,
    StreamTimeoutError,
    TooLargeError,
    TruncatedFrameError,
    TruncatedVideoError,
    VideoClosedError,
    VideoError,
    VideoNotFoundError,
)
from .types import ClipBatch, Frame, FrameBatch, FrameIssue, LiveFrame, StreamStats, VideoMetadata

__version__ = "0.1.0"

__all__ = [
    "open",
    "VideoFile",
    "VideoMetadata",
    "Frame",
    "FrameBatch",
    "ClipBatch",
    "FrameIssue",
    "FrameFormat",
    "FormatOptions",
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
    "nearest_frames_within",
    "NearestFrames",
    "set_recent_frames_limit",
    "recent_frames_limit",
    "recent_frames_bytes",
    "max_output_bytes",
    "set_max_output_bytes",
    "max_frame_pixels",
    "set_max_frame_pixels",
    "RemoteError",
    "SourceUnreachableError",
    "AccessDeniedError",
    "RemoteReadError",
    "open_stream",
    "LiveStream",
    "LiveFrame",
    "StreamStats",
    "Reconnect",
    "StreamError",
    "StreamOpenError",
    "StreamTimeoutError",
    "StreamDisconnectedError",
    "StreamEndedError",
    "FrameGoneError",
    "__version__",
]
