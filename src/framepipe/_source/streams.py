"""Source stage: which stream of a container is the video, and what each stream is.

Stream kinds come from the stream's class, never from PyAV's ``stream.type`` (see :func:`stream_kind`).
"""

from __future__ import annotations

from typing import Any

import av
import av.audio.stream
import av.stream
import av.subtitles.stream
import av.video.stream

from .._util.checks import check_int
from ..errors import InvalidVideoError, NoVideoStreamError

__all__ = ["best_video_stream", "select_stream", "stream_kind"]

_KINDS = (
    (av.video.stream.VideoStream, "video"),
    (av.audio.stream.AudioStream, "audio"),
    (av.subtitles.stream.SubtitleStream, "subtitle"),
    (av.stream.DataStream, "data"),
    (av.stream.AttachmentStream, "attachment"),
)


def stream_kind(stream: Any) -> str:
    """ "video", "audio", "subtitle", "data", "attachment" or "unknown", from the stream's class.

    Not ``stream.type``: PyAV before 17 turns FFmpeg's NULL name of an unknown media type into a string,
    and a damaged file that declares one crashes the process (a segmentation fault)."""
    for cls, kind in _KINDS:
        if isinstance(stream, cls):
            return kind
    return "unknown"


def best_video_stream(container: av.container.InputContainer) -> Any:
    """FFmpeg's best video stream, never cover art; None if the container has no video stream."""
    videos = [s for s in container.streams if isinstance(s, av.video.stream.VideoStream)]
    # cover art is stored as a one-frame video stream flagged attached_pic; it is not the video
    real = [s for s in videos if not (s.disposition & av.stream.Disposition.attached_pic)] or videos
    if not real:
        return None
    try:
        best = container.streams.best("video")
    except (ValueError, av.error.FFmpegError):
        best = None
    return best if best in real else real[0]


def select_stream(
    container: av.container.InputContainer, path: str, stream: int | None
) -> av.video.stream.VideoStream:
    """The video stream ``stream`` (an index among all the file's streams), or the best one if None."""
    best = best_video_stream(container)
    if best is None:
        kinds = ", ".join(f"#{s.index} {stream_kind(s)}" for s in container.streams) or "no streams at all"
        raise NoVideoStreamError(path, f"has no video stream ({kinds})")
    if stream is None:
        return _known_codec(best, path)
    check_int("stream", stream)
    videos = [s for s in container.streams if isinstance(s, av.video.stream.VideoStream)]
    for s in videos:
        if s.index == stream:
            return _known_codec(s, path)
    choices = ", ".join(str(s.index) for s in videos)
    raise ValueError(f"stream={stream} is not a video stream of {path}; its video streams are: {choices}")


def _known_codec(stream: Any, path: str) -> av.video.stream.VideoStream:
    """The stream, if FFmpeg has a decoder for it (ffprobe shows ``codec_name=unknown`` otherwise)."""
    if stream.codec_context is None or stream.codec_context.codec is None:
        raise InvalidVideoError(
            path, f"video stream {stream.index} uses a codec FFmpeg does not know, so it cannot be decoded"
        )
    return stream
