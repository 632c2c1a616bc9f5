"""Live streams with the file API: cameras, RTSP/HTTP/UDP/TCP/HLS feeds, and files played at real-time pace.

A background thread (:mod:`~framepipe._live.receiver`) decodes continuously, so the reader never gets a
stale buffered frame. Two modes:

- ``mode="latest"`` (default): :meth:`LiveStream.read` returns the newest frame; the older ones it skips
  are counted in ``stats.dropped``. For models that must act on what the camera sees now.
- ``mode="all"``: every frame in order through a queue of ``queue_size`` frames; when it is full the
  receiver waits (``overflow="block"``) or pushes the oldest out (``overflow="drop_oldest"``, counted).

Frames are numbered from 0 (the first frame received after open) on across reconnects; their timeline
starts at 0 with frame 0 (so "seconds since open") and keeps increasing across reconnects.

>>> import os, tempfile, framepipe
>>> from framepipe.tools.synthetic import make_video, read_index
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "cam.mp4"), num_frames=30, fps=30)
>>> with framepipe.open_stream(path, mode="all") as stream:
...     batch = stream.get_frames([2, 10])
>>> [read_index(f) for f in batch.data], batch.pts_seconds.round(3).tolist()
([2, 10], [0.067, 0.333])
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._pixels.convert import Converter
from .._pixels.format import FrameFormat
from .._source.display import display_of
from .._util.checks import check_int, check_seconds
from ..errors import FrameSizeChangedError, StreamEndedError
from ..types import FrameBatch, LiveFrame, StreamStats
from .abort import Sockets
from .receiver import Receiver
from .reconnect import Reconnect
from .ring import FrameRing, Item

if TYPE_CHECKING:
    pass

__all__ = ["LiveStream", "Reconnect"]

log = logging.getLogger("framepipe.live")

_JOIN_SECONDS = 1.0  # how long close() waits for the receiving thread once its connection is shut down


def _shut_down(ring: FrameRing, receiver: Receiver) -> None:
    """Close the ring, stop the receiver and join it; runs once (``close()``, or when the stream is
    garbage-collected). Holds no reference to the stream, so it can run as its finalizer."""
    ring.close()
    receiver.stop.set()
    if receiver.is_alive():
        receiver.sockets.shut_down()  # a read blocked inside FFmpeg sees the end of its input now
        receiver.join(timeout=_JOIN_SECONDS)
    if receiver.is_alive():
        log.warning(
            "%s: the receiving thread did not stop within %.0f s of close(); it ends when its read "
            "times out (read_timeout=%g s)",
            ring.name,
            _JOIN_SECONDS,
            receiver.read_timeout,
        )


class LiveStream:
    """A live source being received in the background; made by :func:`open_stream`. Thread-safe.

    Attributes:
        codec: the video codec's name.
        width: frame width as sent (before any rotation by the display matrix, and any ``size``).
        height: frame height as sent.
        nominal_fps: the frame rate the source declares, or None.
        mode: ``"latest"`` or ``"all"``.
    """

    def __init__(
        self,
        src,
        container,
        video,
        fmt: FrameFormat,
        *,
        mode: str,
        overflow: str,
        fps: float | None,
        queue_size: int,
        open_timeout: float,
        read_timeout: float,
        reconnect: Reconnect | None,
        realtime: bool,
        threads: int,
        open_seconds: float,
        sockets: Sockets,
    ) -> None:
        self._src, self._fmt, self.mode = src, fmt, mode
        self.codec = video.codec_context.name
        self.width, self.height = video.codec_context.width, video.codec_context.height
        rate = video.average_rate or video.guessed_rate
        self.nominal_fps = float(rate) if rate else None
        self._open_seconds = open_seconds
        self._ring = FrameRing(queue_size, mode, overflow, name=src.display)
        self._converter = Converter()
        self._convert_lock = threading.Lock()
        self._receiver = Receiver(
            src,
            self._ring,
            container,
            open_timeout=open_timeout,
            read_timeout=read_timeout,
            reconnect=reconnect,
            fps=fps,
            realtime=realtime,
            threads=threads,
            sockets=sockets,
        )
        self._receiver.start()
        self._close = weakref.finalize(self, _shut_down, self._ring, self._receiver)

    # --- state ------------------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The source as given, with credentials masked."""
        return self._src.display

    @property
    def state(self) -> str:
        """ "running", "reconnecting", "ended", "disconnected" or "closed"."""
        return self._ring.state

    @property
    def stats(self) -> StreamStats:
        """Counters of the stream so far (see :class:`~framepipe.StreamStats`)."""
        return self._ring.stats(open_seconds=self._open_seconds, receiver_alive=self._receiver.is_alive())

    def close(self) -> None:
        """Stop receiving and join the background thread; returns at once, even while a read is blocked
        inside FFmpeg (its connection is shut down).

        Where the connection cannot be found (see the live guide), the thread runs on until its
        ``read_timeout``: close() waits a second, logs it, and ``stats.receiver_alive`` shows it.
        """
        self._close()

    def __enter__(self) -> LiveStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LiveStream({self.source!r}, mode={self.mode!r}, state={self.state!r})"

    # --- reading ----------------------------------------------------------------------------------------
    def read(self, *, timeout: float | None = None) -> LiveFrame:
        """The next frame: the newest one (mode "latest") or the next in order (mode "all").

        Args:
            timeout: seconds to wait for a frame; None waits as long as the stream is alive.

        Returns:
            A :class:`~framepipe.LiveFrame`: ``data``, stream ``index``, ``pts_seconds``, ``arrival_time``.

        Raises:
            StreamEndedError: the stream ended and every frame has been read.
            StreamTimeoutError: no frame within ``timeout``.
            StreamDisconnectedError: the connection was lost and reconnecting gave up.
            VideoClosedError: the stream is closed.
        """
        timeout = check_seconds("timeout", timeout, allow_none=True)
        take = self._ring.take_latest if self.mode == "latest" else self._ring.take_next
        item = take(timeout)
        return self._fmt.finish(LiveFrame(self._convert([item])[0], item.index, item.pts, item.arrival))

    def __iter__(self) -> Iterator[LiveFrame]:
        """Frames until the stream ends (as :meth:`read` returns them)."""
        while True:
            try:
                yield self.read()
            except StreamEndedError:
                return

    def get_frames(self, indices: Sequence[int], *, timeout: float | None = None) -> FrameBatch:
        """Wait for the frames with these stream indices and return them in the order asked.

        Returns as soon as the last one has arrived. Frames before the highest index asked count as read.

        Args:
            indices: stream indices (0 is the first frame received), any order.
            timeout: seconds to wait for each frame; None waits as long as the stream is alive.

        Returns:
            A :class:`~framepipe.FrameBatch` with ``arrival_times``.

        Raises:
            FrameGoneError: a frame is older than the ``queue_size`` frames kept, or was never kept.
            StreamEndedError: the stream ended before a frame asked for.
            StreamTimeoutError: a frame did not arrive within ``timeout``.
        """
        want = self._check_indices(indices)
        timeout = check_seconds("timeout", timeout, allow_none=True)
        found = {index: self._ring.take_index(index, timeout) for index in sorted(set(want))}
        return self._batch([found[i] for i in want])

    def get_frames_at_times(self, seconds: Sequence[float], *, timeout: float | None = None) -> FrameBatch:
        """The frames on screen at these times, waiting for them where they are still to come.

        Args:
            seconds: times on the stream's timeline (0 is frame 0, about when the stream opened).
            timeout: seconds to wait for each; None waits as long as the stream is alive.

        Returns:
            A :class:`~framepipe.FrameBatch`, one frame per time, in the order asked.

        Raises:
            ValueError: ``seconds`` is empty, negative or not finite.
            FrameGoneError: a frame has left the ``queue_size`` frames kept.
        """
        times = np.asarray(seconds, dtype=np.float64).reshape(-1) if len(seconds) else np.zeros(0)
        if times.size == 0:
            raise ValueError("seconds must not be empty")
        if not np.isfinite(times).all() or (times < 0).any():
            raise ValueError(f"seconds must be finite and >= 0, got {list(seconds)!r}")
        timeout = check_seconds("timeout", timeout, allow_none=True)
        found = {t: self._ring.take_time(t, timeout) for t in sorted(set(times.tolist()))}
        return self._batch([found[t] for t in times.tolist()])

    def clips(self, length: int, stride: int = 1, *, timeout: float | None = None) -> Iterator[FrameBatch]:
        """Sliding windows of ``length`` consecutive frames, one every ``stride`` new frames.

        Mode "all": every window in order (frames t..t+length-1, then t+stride...). Mode "latest": each
        window ends at the newest frame, at least ``stride`` frames after the previous one, so a slow model
        always sees the present. Frames shared by overlapping windows are converted once.

        Args:
            length: frames per window (at most ``queue_size``).
            stride: new frames between windows.
            timeout: seconds to wait for a window; None waits as long as the stream is alive.

        Yields:
            :class:`~framepipe.FrameBatch` objects of ``length`` frames; iteration ends with the stream.

        Raises:
            ValueError: ``length`` exceeds ``queue_size``.
        """
        length = check_int("length", length, minimum=1)
        stride = check_int("stride", stride, minimum=1)
        timeout = check_seconds("timeout", timeout, allow_none=True)
        if length > self._ring.capacity:
            raise ValueError(
                f"length={length} is more than queue_size={self._ring.capacity} frames the stream keeps"
            )
        done: dict[int, tuple[Item, np.ndarray]] = {}  # converted frames shared by overlapping windows
        last = self._ring.first_unread() + length - 1
        while True:
            try:
                end, new = self._ring.take_window(length, last, done.__contains__, timeout)
            except StreamEndedError:
                return
            for item, img in zip(new, self._convert(new)):
                done[item.seq] = (item, img)
            window = [done[s] for s in range(end - length + 1, end + 1)]
            for s in [s for s in done if s < end - length + 1 + stride]:
                del done[s]
            yield self._stack([it for it, _ in window], [img for _, img in window])
            last = end + stride

    # --- conversion -------------------------------------------------------------------------------------
    @staticmethod
    def _check_indices(indices) -> list[int]:
        arr = np.asarray(indices)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"indices must be a non-empty 1-D sequence of ints, got {indices!r}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"indices must be ints, got dtype {arr.dtype}")
        if (arr < 0).any():
            raise ValueError(
                f"indices must be >= 0 (stream indices count from the first frame), got {arr.min()}"
            )
        return arr.tolist()

    def _convert(self, items: list[Item]) -> list[np.ndarray]:
        fmt = self._fmt
        with self._convert_lock:  # one converter (swscale context, filter graphs), shared by the readers
            # each frame carries the display matrix it was sent with (rotation="auto" turns it upright)
            imgs = [
                fmt.convert(it.frame, self._converter, display=display_of(it.frame, where=self._src.display))
                for it in items
            ]
        return [FrameFormat.arrange(np.asarray(img), fmt.frame_layout) for img in imgs]

    def _stack(self, items: list[Item], imgs: list[np.ndarray]) -> FrameBatch:
        if len({img.shape for img in imgs}) > 1:
            raise FrameSizeChangedError(
                self.source, "the frame size changed mid-stream; pass size= to get one size"
            )
        return self._fmt.finish(
            FrameBatch(
                np.stack(imgs),
                np.array([it.index for it in items], dtype=np.int64),
                np.array([it.pts for it in items]),
                arrival_times=np.array([it.arrival for it in items]),
            )
        )

    def _batch(self, items: list[Item]) -> FrameBatch:
        return self._stack(items, self._convert(items))
