"""``framepipe.open(path) -> VideoFile``: the file path's entry point.

>>> import os, tempfile, framepipe
>>> from framepipe.tools.synthetic import make_video, read_index
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=30)
>>> with framepipe.open(path, size=(64, 64), resize="shorter_side") as video:
...     batch = video.get_frames([5, 20, 5])
...     [read_index(f) for f in batch.data], batch.data.shape
([5, 20, 5], (3, 64, 64, 3))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._pixels.format import FrameFormat
from .._util.choices import OnError
from .._util.docs import fill
from .reader import VideoFile

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._pixels.format import FormatOptions

__all__ = ["open"]


@fill
def open(
    path,
    *,
    frame_format: FrameFormat | None = None,
    stream: int | None = None,
    threads: int = 0,
    index_cache: bool = True,
    on_error: OnError = "raise",
    storage_options: Mapping | None = None,
    **format_options: Unpack[FormatOptions],
) -> VideoFile:
    """Open a video for exact, random frame access: a file, a URL, bytes or a binary file object.

    Args:
        path: the video: a local path; a URL of any fsspec protocol (``https://``, ``s3://``, ``gs://``,
            ``az://``, ``hf://``, ``file://``; needs the ``[remote]`` extra, and the protocol's package for
            object stores); ``bytes``/``memoryview``; or a binary file object, seekable or not (one that
            cannot seek is copied to a temporary file first). Live-stream URLs go to :func:`open_stream`.
        frame_format: {frame_format}
        stream: index of the video stream in a multi-stream file; None picks the best one.
        threads: decoder threads; 0 lets FFmpeg use every core. Use 1 inside many DataLoader workers.
        index_cache: keep the packet index on disk (``$FRAMEPIPE_CACHE_DIR`` or the user cache dir).
        on_error: what a frame that fails to decode does: ``"raise"`` raises
            :class:`~framepipe.CorruptFrameError`; ``"skip"`` leaves it out of the result; ``"previous"``
            repeats the last good frame. Skipped and repeated frames are listed in the result's ``issues``.
        storage_options: {storage_options}
        **format_options: {format_options}

    Returns:
        An open :class:`VideoFile`; use it as a context manager or call ``close()``.

    Raises:
        VideoNotFoundError: ``path`` does not exist (a local file, or a URL the server has nothing at).
        InvalidVideoError: ``path`` is not a readable video (see its subclasses).
        RemoteError: a URL cannot be reached or read (see its subclasses).
        ValueError, TypeError: an option is wrong, or a live-stream URL; the message names it.
    """
    fmt = FrameFormat.from_options(frame_format, format_options, caller="open")
    return VideoFile(
        path,
        frame_format=fmt,
        stream=stream,
        threads=threads,
        index_cache=index_cache,
        on_error=on_error,
        storage_options=storage_options,
    )
