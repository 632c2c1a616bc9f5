"""Decode stage for live streams: the background thread that receives, decodes and publishes frames.

The receiver demuxes and decodes continuously into a :class:`FrameRing`, a bounded buffer of the most
recent decoded (not yet converted) frames shared with the readers. Readers never see a stale buffered
frame because buffering happens here, where frames are counted, numbered and timestamped, and dropped
on purpose when a reader is slower than the stream.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass

import av

from ..errors import StreamDisconnectedError, StreamError, StreamTimeoutError
from .source import LiveSource, interrupt_reads, mask_credentials, open_live

__all__ = ["Reconnect", "FrameRing", "Receiver"]

log = logging.getLogger("framepipe.live")

_UNTIMED_FORMATS = {"mpjpeg", "mjpeg", "image2pipe", "jpeg_pipe"}


@dataclass(frozen=True)
class Reconnect:
    """How a lost connection is retried: exponential backoff with jitter, up to ``max_attempts`` in a row.

    The n-th attempt waits ``min(max_delay, initial_delay * multiplier**(n-1))`` seconds, times a random
    factor in ``[1 - jitter, 1 + jitter]`` so that many clients of one server do not retry in step.
    ``max_attempts=None`` retries forever.

    >>> Reconnect(initial_delay=0.5, jitter=0).delay(3)
    2.0
    """

    max_attempts: int | None = 10
    initial_delay: float = 0.5
    max_delay: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts is not None and (isinstance(self.max_attempts, bool)
                                              or not isinstance(self.max_attempts, int) or self.max_attempts < 1):
            raise ValueError(f"max_attempts must be a positive int or None, got {self.max_attempts!r}")
        for name in ("initial_delay", "max_delay", "multiplier"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        base = min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))
        if not self.jitter:
            return base
        return base * (1.0 + self.jitter * (rng or random).uniform(-1.0, 1.0))


@dataclass
class Item:
    """A decoded frame waiting in the ring; ``seq`` numbers published frames without gaps."""

    seq: int
    index: int
    pts: float
    arrival: float  # time.time()
    mono: float  # time.monotonic() of arrival, for latency
    frame: av.VideoFrame


class FrameRing:
    """The frames shared by the receiver thread and the readers, and the counters about them.

    Invariants: ``items`` holds consecutive ``seq`` numbers, at most ``capacity`` of them; frames with
    ``seq < next_seq`` have been read (or skipped on purpose) and stay only as history. In mode "all" an
    unread frame is never evicted except under ``overflow="drop_oldest"``, where it is counted as dropped.
    """

    def __init__(self, capacity: int, mode: str, overflow: str) -> None:
        self.cond = threading.Condition()
        self.items: deque[Item] = deque()
        self.capacity, self.mode, self.overflow = capacity, mode, overflow
        self.next_seq = 0
        self.state = "running"
        self.failure: StreamError | None = None
        self.last_error: str | None = None
        self.received = self.delivered = self.dropped = self.sampled_out = 0
        self.decode_errors = self.reconnects = 0
        self.arrivals: deque[float] = deque(maxlen=240)
        self.latencies: deque[float] = deque(maxlen=100)

    def publish(self, item: Item) -> None:
        with self.cond:
            items = self.items
            while len(items) >= self.capacity and self.state != "closed":
                if items[0].seq < self.next_seq or self.mode == "latest":
                    items.popleft()  # already read, or superseded: history only
                elif self.overflow == "drop_oldest":
                    items.popleft()
                    self.dropped += 1
                else:  # block until a reader makes room (wakes at least every 0.1 s to notice close)
                    self.cond.wait(0.1)
            if self.state == "closed":
                return
            items.append(item)
            self.received += 1
            self.arrivals.append(item.mono)
            self.cond.notify_all()

    def count(self, name: str, n: int = 1) -> None:
        with self.cond:
            setattr(self, name, getattr(self, name) + n)

    def set_state(self, state: str, *, failure: StreamError | None = None, error: str | None = None) -> None:
        with self.cond:
            if self.state == "closed":
                return
            self.state = state
            self.failure = failure or self.failure
            self.last_error = error or (str(failure) if failure else self.last_error)
            self.cond.notify_all()

    def item_at_seq(self, seq: int) -> Item | None:
        if not self.items:
            return None
        pos = seq - self.items[0].seq
        return self.items[pos] if 0 <= pos < len(self.items) else None

    def item_at_index(self, index: int) -> Item | None:
        for item in reversed(self.items):
            if item.index == index:
                return item
            if item.index < index:
                return None
        return None

    def measured_fps(self) -> float:
        if len(self.arrivals) < 2:
            return 0.0
        last = self.arrivals[-1]
        recent = [t for t in self.arrivals if t >= last - 2.0]
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0


class Receiver(threading.Thread):
    """Runs until the stream ends, fails for good or is closed; never raises out of the thread."""

    def __init__(self, src: LiveSource, ring: FrameRing, container, *, open_timeout: float,
                 read_timeout: float, reconnect: Reconnect | None, fps: float | None, realtime: bool,
                 threads: int) -> None:
        super().__init__(name=f"framepipe-live {src.display}", daemon=True)
        self.src, self.ring, self.container = src, ring, container
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.reconnect, self.fps, self.realtime, self.threads = reconnect, fps, realtime, threads
        self.stop = threading.Event()
        self._rng = random.Random()
        self._index = 0
        self._seq = 0
        self._t0: float | None = None  # monotonic arrival of frame 0
        self._last_pts: float | None = None
        self._origin: float | None = None  # stream time that maps to our timeline's 0, per connection
        self._interval = 1 / 30
        self._next_due = 0.0

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must not leave readers waiting forever: tell them, then log it
            self.ring.set_state("disconnected", failure=StreamError(self.src.display, f"receiver failed: {exc!r}"))
            log.exception("framepipe receiver for %s failed", self.src.display)
        finally:
            interrupt_reads(threading.get_ident(), False)

    def _loop(self) -> None:
        container = self.container
        while True:
            end, reason = self._pump(container)
            self.container = None
            container.close()
            if self.stop.is_set():
                self.ring.set_state("closed")
                return
            if end == "eof" and (self.src.is_file or self.src.is_hls or self.reconnect is None):
                self.ring.set_state("ended")
                log.info("%s ended after %d frames", self.src.display, self._index)
                return
            if end == "eof":
                reason = "the server closed the connection"
            if self.reconnect is None:
                cls = StreamTimeoutError if end == "timeout" else StreamDisconnectedError
                self.ring.set_state("disconnected", failure=cls(self.src.display, f"{reason} (reconnect is off)"))
                return
            log.warning("lost %s: %s; reconnecting", self.src.display, reason)
            self.ring.set_state("reconnecting", error=reason)
            container = self._reopen(reason)
            if container is None:
                return
            self.container = container

    def _reopen(self, reason: str):
        policy = self.reconnect
        attempt = 0
        while policy.max_attempts is None or attempt < policy.max_attempts:
            attempt += 1
            if self.stop.wait(policy.delay(attempt, self._rng)):
                self.ring.set_state("closed")
                return None
            try:
                container = open_live(self.src, open_timeout=self.open_timeout, read_timeout=self.read_timeout)
            except StreamError as exc:  # already names the source with credentials masked
                reason = str(exc)
                log.info("reconnect attempt %d to %s failed: %s", attempt, self.src.display, reason)
                continue
            self.ring.count("reconnects")
            self.ring.set_state("running")
            log.info("reconnected to %s after %d attempt(s)", self.src.display, attempt)
            return container
        if self.stop.is_set():
            self.ring.set_state("closed")
            return None
        self.ring.set_state("disconnected", failure=StreamDisconnectedError(
            self.src.display, f"connection lost and {attempt} reconnect attempts failed; last error: {reason}",
            attempts=attempt))
        return None

    def _pump(self, container) -> tuple[str, str | None]:
        """Demux and decode one connection. Returns ("eof" | "timeout" | "error" | "stopped", reason)."""
        try:
            stream = next(s for s in container.streams if s.type == "video")
        except StopIteration:
            return "error", "the source has no video stream any more"
        cc = stream.codec_context
        # slice threads only: frame threads hold each frame back by one frame per thread
        cc.thread_type = "SLICE"
        cc.thread_count = self.threads
        cc.flags |= av.codec.context.Flags.low_delay
        rate = stream.average_rate or stream.guessed_rate
        if rate:
            self._interval = 1.0 / float(rate)
        self._origin = None
        # multipart MJPEG carries no timestamps; FFmpeg makes some up at 25 fps: use arrival times instead
        untimed = container.format.name in _UNTIMED_FORMATS
        try:
            for packet in container.demux(stream):
                if self.stop.is_set():
                    return "stopped", None
                try:
                    frames = cc.decode(packet)
                except av.error.ExitError:
                    raise
                except av.error.FFmpegError as exc:  # a damaged packet: count it and go on
                    self.ring.count("decode_errors")
                    log.debug("decode error in %s: %s", self.src.display, mask_credentials(str(exc)))
                    continue
                timed = untimed is False and (packet.pts is not None or packet.dts is not None)
                for frame in frames:
                    self._on_frame(frame, timed)
                    if self.stop.is_set():
                        return "stopped", None
        except av.error.ExitError:  # the interrupt callback: our close(), or no data within read_timeout
            if self.stop.is_set():
                return "stopped", None
            return "timeout", f"no data within read_timeout={self.read_timeout:g} s"
        except (av.error.FFmpegError, OSError) as exc:
            return "error", mask_credentials(getattr(exc, "strerror", None) or str(exc))
        return "eof", None

    def _on_frame(self, frame: av.VideoFrame, timed: bool) -> None:
        if frame.is_corrupt:  # concealed damage: not a frame anyone asked for
            self.ring.count("decode_errors")
            return
        mono, wall = time.monotonic(), time.time()
        if self._t0 is None:
            self._t0 = mono
        pts = self._timeline(frame.time if timed else None, mono)
        if self.realtime and self.src.is_file:  # play a file at its own pace, as a camera would
            due = self._t0 + pts
            if due > mono and self.stop.wait(due - mono):
                return
            mono, wall = time.monotonic(), time.time()
        index = self._index
        self._index += 1
        if self.fps is not None:
            if pts + 1e-6 < self._next_due:
                self.ring.count("sampled_out")
                return
            self._next_due = (math.floor(pts * self.fps + 1e-6) + 1) / self.fps
        self.ring.publish(Item(self._seq, index, pts, wall, mono, frame))
        self._seq += 1

    def _timeline(self, raw: float | None, mono: float) -> float:
        """Seconds on the stream's timeline: 0 at frame 0, increasing across reconnects and clock resets."""
        if raw is None:  # no timestamps (e.g. MJPEG over HTTP): arrival time is the best there is
            t = mono - self._t0
        else:
            if self._origin is None:  # first frame of a connection: continue after the last one
                base = 0.0 if self._last_pts is None else max(self._last_pts + self._interval, mono - self._t0)
                self._origin = raw - base
            t = raw - self._origin
        if self._last_pts is not None and t <= self._last_pts:  # the source's clock jumped back (wrap, restart)
            t = self._last_pts + self._interval
            if raw is not None:
                self._origin = raw - t
        self._last_pts = t
        return t
