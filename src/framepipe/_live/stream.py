"""Live streams with the file API: cameras, RTSP/HTTP/UDP/TCP/HLS feeds, and files played at real-time pace.

A background thread (:mod:`framepipe._live.receiver`) decodes continuously, so the reader never gets a
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

import math
import os
import statistics
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np
from av.video.reformatter import VideoReformatter

from ..errors import FrameGoneError, StreamEndedError, StreamOpenError, StreamTimeoutError, VideoClosedError
from ..format import FRAME_LAYOUTS, FrameFormat
from .receiver import FrameRing, Item, Receiver, Reconnect
from .source import describe_source, interrupt_reads, open_live
from .._file.source import check_path
from ..types import FrameBatch, LiveFrame, StreamStats

__all__ = ["open_stream", "LiveStream", "Reconnect"]

_MODES = ("latest", "all")
_OVERFLOW = ("block", "drop_oldest")


def _positive(name: str, value, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds{' or None' if allow_none else ''}, "
                         f"got {value!r}")
    return float(value)


def _count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def open_stream(source: int | str | os.PathLike[str], *, size: int | tuple[int, int] | None = None,
                resize: str = "stretch", color: str = "rgb", dtype: str = "uint8", layout: str = "NHWC",
                interpolation: str = "area", mean: Sequence[float] | None = None,
                std: Sequence[float] | None = None, mode: str = "latest", overflow: str = "block",
                fps: float | None = None, queue_size: int = 32, open_timeout: float = 5.0,
                read_timeout: float = 5.0, reconnect: bool | int | Reconnect = True, realtime: bool = True,
                threads: int = 0, options: dict[str, str] | None = None) -> LiveStream:
    """Open a live source and start receiving in the background. Returns once the source is open.

    ``source``: a camera index (``0`` is ``/dev/video0``), a device path, an ``rtsp://``, ``rtmp://``,
    ``http(s)://`` (MJPEG multipart, MPEG-TS, HLS ``.m3u8``), ``udp://`` or ``tcp://`` URL, or a video
    file, which is played at its own pace (``realtime=False``: as fast as it decodes).
    ``size``/``resize``/``color``/``dtype``/``layout``/``mean``/``std``: as for :func:`framepipe.open`
    (layouts NHWC and NCHW). ``fps``: keep one frame per ``1/fps`` seconds of stream time.
    ``queue_size``: how many decoded frames are kept (the queue of mode "all", the history that
    :meth:`LiveStream.get_frames` can still reach). ``open_timeout``/``read_timeout``: seconds without an
    answer before giving up (always on). ``reconnect``: ``True`` (10 attempts with backoff), ``False``,
    a number of attempts, or a :class:`Reconnect`. ``options``: FFmpeg options, over the per-protocol
    defaults (RTSP over TCP, short probing, no demuxer buffering).
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}; got {mode!r}")
    if overflow not in _OVERFLOW:
        raise ValueError(f"overflow must be one of {', '.join(_OVERFLOW)}; got {overflow!r}")
    if layout not in FRAME_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(FRAME_LAYOUTS)} for a stream; got {layout!r}")
    fmt = FrameFormat.create(size=size, resize=resize, color=color, dtype=dtype, layout=layout,
                             interpolation=interpolation, mean=mean, std=std)
    fps = _positive("fps", fps, allow_none=True)
    open_timeout = _positive("open_timeout", open_timeout)
    read_timeout = _positive("read_timeout", read_timeout)
    queue_size = _count("queue_size", queue_size, 1)
    threads = _count("threads", threads, 0)
    if not isinstance(realtime, bool):
        raise TypeError(f"realtime must be True or False, got {realtime!r}")
    if isinstance(reconnect, Reconnect):
        policy = reconnect
    elif isinstance(reconnect, bool):
        policy = Reconnect() if reconnect else None
    elif isinstance(reconnect, int):
        policy = Reconnect(max_attempts=reconnect)
    else:
        raise TypeError(f"reconnect must be True, False, a number of attempts or a Reconnect; got {reconnect!r}")
    src = describe_source(source, options)
    if src.is_file:
        check_path(src.url)
    started = time.monotonic()
    container = open_live(src, open_timeout=open_timeout, read_timeout=read_timeout)
    video = next((s for s in container.streams if s.type == "video"), None)
    if video is None:
        kinds = ", ".join(s.type for s in container.streams) or "none"
        container.close()
        raise StreamOpenError(src.display, f"has no video stream (streams: {kinds})")
    return LiveStream(src, container, video, fmt, mode=mode, overflow=overflow, fps=fps, queue_size=queue_size,
                      open_timeout=open_timeout, read_timeout=read_timeout, reconnect=policy,
                      realtime=realtime, threads=threads, open_seconds=time.monotonic() - started)


class LiveStream:
    """A live source being received in the background; made by :func:`open_stream`. Thread-safe."""

    def __init__(self, src, container, video, fmt: FrameFormat, *, mode: str, overflow: str,
                 fps: float | None, queue_size: int, open_timeout: float, read_timeout: float,
                 reconnect: Reconnect | None, realtime: bool, threads: int, open_seconds: float) -> None:
        self._src, self._fmt, self.mode = src, fmt, mode
        self.codec = video.codec_context.name
        self.width, self.height = video.codec_context.width, video.codec_context.height
        rate = video.average_rate or video.guessed_rate
        self.nominal_fps = float(rate) if rate else None
        self._open_seconds = open_seconds
        self._ring = FrameRing(queue_size, mode, overflow)
        self._reformatter = VideoReformatter()
        self._convert_lock = threading.Lock()
        self._receiver = Receiver(src, self._ring, container, open_timeout=open_timeout,
                                  read_timeout=read_timeout, reconnect=reconnect, fps=fps, realtime=realtime,
                                  threads=threads)
        self._receiver.start()

    # --- state ------------------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        """The source as given, with credentials masked."""
        return self._src.display

    @property
    def state(self) -> str:
        return self._ring.state

    @property
    def stats(self) -> StreamStats:
        r = self._ring
        with r.cond:
            latency = statistics.median(r.latencies) if r.latencies else 0.0
            return StreamStats(r.state, r.received, r.delivered, r.dropped, r.sampled_out, r.decode_errors,
                               r.reconnects, r.measured_fps(), latency, self._open_seconds, r.last_error)

    def close(self) -> None:
        """Stop receiving and join the background thread (returns within about a second)."""
        r = self._ring
        with r.cond:
            if r.state == "closed" and not self._receiver.is_alive():
                return
            r.state = "closed"
            r.cond.notify_all()
        self._receiver.stop.set()
        if self._receiver.is_alive() and self._receiver.ident is not None:
            interrupt_reads(self._receiver.ident)  # a read blocked inside FFmpeg gives up now
            self._receiver.join(timeout=1.0)
        with r.cond:
            r.items.clear()  # let the decoded frames go

    def __enter__(self) -> LiveStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_receiver", None) is not None:
            self.close()

    def __repr__(self) -> str:
        return f"LiveStream({self.source!r}, mode={self.mode!r}, state={self.state!r})"

    # --- reading ----------------------------------------------------------------------------------------
    def _wait(self, ready, timeout: float | None, what: str, ended_message) -> None:
        """Wait (holding ``cond``) until ``ready()``; raise when closed, failed, ended or timed out."""
        r = self._ring
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if r.state == "closed":
                raise VideoClosedError(self.source, "the stream is closed")
            if r.state == "disconnected":
                raise r.failure
            if r.state == "ended":
                raise StreamEndedError(self.source, ended_message())
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise StreamTimeoutError(self.source, f"{what} did not arrive within timeout={timeout:g} s")
            r.cond.wait(0.5 if remaining is None else min(remaining, 0.5))

    def _ended_at(self) -> str:
        items = self._ring.items
        return f"the stream ended after frame {items[-1].index}" if items else "the stream ended"

    def _taken(self, seq: int) -> None:
        r = self._ring
        if seq + 1 > r.next_seq:
            r.next_seq = seq + 1
            r.cond.notify_all()  # a receiver blocked on a full queue can go on

    def read(self, *, timeout: float | None = None) -> LiveFrame:
        """The next frame: the newest one (mode "latest") or the next in order (mode "all").

        Waits up to ``timeout`` seconds (``None``: as long as the stream is alive). Raises
        :class:`StreamEndedError` after the last frame, the stream's failure once it has given up.
        """
        timeout = _positive("timeout", timeout, allow_none=True)
        r = self._ring
        with r.cond:
            self._wait(lambda: bool(r.items) and r.items[-1].seq >= r.next_seq, timeout, "a new frame",
                       self._ended_at)
            item = r.items[-1] if self.mode == "latest" else r.item_at_seq(max(r.next_seq, r.items[0].seq))
            if self.mode == "latest":
                r.dropped += item.seq - r.next_seq
            self._taken(item.seq)
            r.delivered += 1
            r.latencies.append(time.monotonic() - item.mono)
        return LiveFrame(self._convert([item])[0], item.index, item.pts, item.arrival)

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
        Indices older than the ``queue_size`` frames kept raise :class:`FrameGoneError`.
        """
        want = self._check_indices(indices)
        timeout = _positive("timeout", timeout, allow_none=True)
        r = self._ring
        found: dict[int, Item] = {}
        with r.cond:
            for index in sorted(set(want)):
                def ready(index=index) -> bool:
                    if r.items and r.items[-1].index < index:
                        self._taken(r.items[-1].seq)  # frames before it are not wanted: make room
                    return bool(r.items) and r.items[-1].index >= index

                self._wait(ready, timeout, f"frame {index}",
                           lambda index=index: f"{self._ended_at()}, before frame {index} of indices")
                item = r.item_at_index(index)
                if item is None:
                    oldest = r.items[0].index
                    why = (f"has already left the buffer of the newest {r.capacity} frames (oldest kept: "
                           f"{oldest}; raise queue_size or ask sooner)" if index < oldest
                           else "was not delivered (left out by fps sampling, or it failed to decode)")
                    raise FrameGoneError(self.source, f"indices: frame {index} {why}")
                found[index] = item
                self._taken(item.seq)
            r.delivered += len(found)
        return self._batch([found[i] for i in want])

    def get_frames_at_times(self, seconds: Sequence[float], *, timeout: float | None = None) -> FrameBatch:
        """The frames on screen at these times (seconds on the stream's timeline, 0 = frame 0 ~ open)."""
        times = np.asarray(seconds, dtype=np.float64).reshape(-1) if len(seconds) else np.zeros(0)
        if times.size == 0:
            raise ValueError("seconds must not be empty")
        if not np.isfinite(times).all() or (times < 0).any():
            raise ValueError(f"seconds must be finite and >= 0, got {list(seconds)!r}")
        timeout = _positive("timeout", timeout, allow_none=True)
        r = self._ring
        found: dict[float, Item] = {}
        with r.cond:
            for t in sorted(set(times.tolist())):
                self._wait(lambda t=t: bool(r.items) and r.items[-1].pts >= t - 1e-9, timeout,
                           f"the frame at {t:g} s", lambda t=t: f"{self._ended_at()}, before {t:g} s of seconds")
                item = next((it for it in reversed(r.items) if it.pts <= t + 1e-9), None)
                if item is None:
                    raise FrameGoneError(self.source, f"seconds: the frame at {t:g} s has already left the "
                                                      f"buffer of the newest {r.capacity} frames")
                found[t] = item
                self._taken(item.seq)
            r.delivered += len(found)
        return self._batch([found[t] for t in times.tolist()])

    def clips(self, length: int, stride: int = 1, *, timeout: float | None = None) -> Iterator[FrameBatch]:
        """Sliding windows of ``length`` consecutive frames, one every ``stride`` new frames.

        Mode "all": every window in order (frames t..t+length-1, then t+stride...). Mode "latest": each
        window ends at the newest frame, at least ``stride`` frames after the previous one, so a slow model
        always sees the present. Each window is a :class:`FrameBatch` of shape (length, ...).
        """
        length = _count("length", length, 1)
        stride = _count("stride", stride, 1)
        timeout = _positive("timeout", timeout, allow_none=True)
        r = self._ring
        if length > r.capacity:
            raise ValueError(f"length={length} is more than queue_size={r.capacity} frames the stream keeps")
        done: dict[int, tuple[Item, np.ndarray]] = {}  # converted frames shared by overlapping windows
        with r.cond:
            target = r.next_seq + length - 1
        while True:
            with r.cond:
                try:
                    self._wait(lambda: bool(r.items) and r.items[-1].seq >= target, timeout, "the next window",
                               self._ended_at)
                except StreamEndedError:
                    return
                end = r.items[-1].seq if self.mode == "latest" else target
                if r.items[0].seq > end - length + 1 and any(s not in done for s in range(end - length + 1, end + 1)):
                    target = r.items[0].seq + length - 1  # frames were pushed out: start a fresh window
                    continue
                new = [r.item_at_seq(s) for s in range(end - length + 1, end + 1) if s not in done]
                self._taken(end)
                r.delivered += len(new)
            for item, img in zip(new, self._convert(new)):
                done[item.seq] = (item, img)
            window = [done[s] for s in range(end - length + 1, end + 1)]
            for s in [s for s in done if s < end - length + 1 + stride]:
                del done[s]
            yield self._stack([it for it, _ in window], [img for _, img in window])
            target = end + stride

    # --- conversion -------------------------------------------------------------------------------------
    @staticmethod
    def _check_indices(indices) -> list[int]:
        arr = np.asarray(indices)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"indices must be a non-empty 1-D sequence of ints, got {indices!r}")
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"indices must be ints, got dtype {arr.dtype}")
        if (arr < 0).any():
            raise ValueError(f"indices must be >= 0 (stream indices count from the first frame), got {arr.min()}")
        return arr.tolist()

    def _convert(self, items: list[Item]) -> list[np.ndarray]:
        fmt = self._fmt
        with self._convert_lock:
            imgs = [fmt.convert(it.frame, self._reformatter) for it in items]
        return imgs if fmt.frame_layout == "NHWC" else [img.transpose(2, 0, 1) for img in imgs]

    def _stack(self, items: list[Item], imgs: list[np.ndarray]) -> FrameBatch:
        if len({img.shape for img in imgs}) > 1:
            raise StreamOpenError(self.source, "the frame size changed mid-stream; pass size= to get one size")
        return FrameBatch(np.stack(imgs), np.array([it.index for it in items], dtype=np.int64),
                          np.array([it.pts for it in items]), arrival_times=np.array([it.arrival for it in items]))

    def _batch(self, items: list[Item]) -> FrameBatch:
        return self._stack(items, self._convert(items))
