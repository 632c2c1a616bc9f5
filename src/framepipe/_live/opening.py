"""Opening a live stream: check the options, open the source, start the :class:`~.stream.LiveStream`.

>>> import os, tempfile, framepipe
>>> from framepipe.tools.synthetic import make_video
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "cam.mp4"), num_frames=10, fps=30)
>>> with framepipe.open_stream(path, mode="all") as stream:
...     stream.read(timeout=5).index
0
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from .._pixels.format import FRAME_LAYOUTS, FrameFormat
from .._source.source import check_path
from .._source.streams import best_video_stream, stream_kind
from .._util.checks import check_bool, check_choice, check_int, check_number, check_seconds
from .._util.choices import MODES, OVERFLOW, Overflow, StreamMode
from .._util.docs import fill
from ..errors import StreamOpenError
from .abort import Sockets
from .reconnect import Reconnect
from .source import describe_source, open_live
from .stream import LiveStream

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._pixels.format import FormatOptions

__all__ = ["open_stream"]


@fill
def open_stream(
    source: int | str | os.PathLike[str],
    *,
    frame_format: FrameFormat | None = None,
    mode: StreamMode = "latest",
    overflow: Overflow = "block",
    fps: float | None = None,
    queue_size: int = 32,
    open_timeout: float = 5.0,
    read_timeout: float = 5.0,
    reconnect: bool | int | Reconnect = True,
    realtime: bool = True,
    threads: int = 0,
    options: dict[str, str] | None = None,
    **format_options: Unpack[FormatOptions],
) -> LiveStream:
    """Open a live source and start receiving in the background. Returns once the source is open.

    Args:
        source: a camera index (``0`` is ``/dev/video0``), a device path, an ``rtsp://``, ``rtmp://``,
            ``http(s)://`` (MJPEG multipart, MPEG-TS, HLS ``.m3u8``), ``udp://`` or ``tcp://`` URL, or a
            video file, which is played at its own pace (``realtime=False``: as fast as it decodes).
        frame_format: {frame_format}
        mode: ``"latest"`` (each read returns the newest frame) or ``"all"`` (every frame, in order).
        overflow: mode "all" with a full queue: ``"block"`` the receiver or ``"drop_oldest"`` (counted).
        fps: keep one frame per ``1/fps`` seconds of stream time; None keeps every frame.
        queue_size: how many decoded frames are kept (the queue of mode "all", the history that
            :meth:`LiveStream.get_frames` can still reach).
        open_timeout: seconds without an answer before opening gives up (always on).
        read_timeout: seconds without data before a read gives up (always on).
        reconnect: ``True`` (10 attempts with backoff), ``False``, a number of attempts, or a
            :class:`~framepipe.Reconnect`.
        realtime: play a file at its own pace, as a camera would.
        threads: decoder slice threads; 0 lets FFmpeg choose.
        options: FFmpeg options, over the per-protocol defaults (RTSP over TCP, short probing, low delay).

    Returns:
        A running :class:`LiveStream`; use it as a context manager or call ``close()``.

    Raises:
        StreamOpenError: the source cannot be opened or has no video stream.
        StreamTimeoutError: nothing answered within ``open_timeout``.
        VideoNotFoundError: a file source does not exist.
        ValueError, TypeError: an option is wrong; the message names it.
    """
    check_choice("mode", mode, MODES)
    check_choice("overflow", overflow, OVERFLOW)
    fmt = FrameFormat.from_options(frame_format, format_options, caller="open_stream")
    if fmt.layout not in FRAME_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(FRAME_LAYOUTS)} for a stream; got {fmt.layout!r}")
    fps = check_number("fps", fps, allow_none=True)
    open_timeout = check_seconds("open_timeout", open_timeout)
    read_timeout = check_seconds("read_timeout", read_timeout)
    queue_size = check_int("queue_size", queue_size, minimum=1)
    threads = check_int("threads", threads, minimum=0)
    check_bool("realtime", realtime)
    policy = Reconnect.from_option(reconnect)
    src = describe_source(source, options)
    if src.is_file:
        check_path(src.url)
    started = time.monotonic()
    sockets = Sockets(None if src.is_file or src.kind == "device" else src.url)
    container = open_live(src, open_timeout=open_timeout, read_timeout=read_timeout, sockets=sockets)
    video = best_video_stream(container)
    if video is None:
        kinds = ", ".join(stream_kind(s) for s in container.streams) or "none"
        container.close()
        sockets.release()
        raise StreamOpenError(src.display, f"has no video stream (streams: {kinds})")
    try:
        return LiveStream(
            src,
            container,
            video,
            fmt,
            mode=mode,
            overflow=overflow,
            fps=fps,
            queue_size=queue_size,
            open_timeout=open_timeout,
            read_timeout=read_timeout,
            reconnect=policy,
            realtime=realtime,
            threads=threads,
            open_seconds=time.monotonic() - started,
            sockets=sockets,
        )
    except BaseException:  # the stream never started: its container is ours to close
        container.close()
        sockets.release()
        raise
