"""The receiving thread of a live stream: connect, demux, decode, publish into the ring; reconnect.

It decodes continuously into a :class:`~.ring.FrameRing`, so readers never see a stale buffered frame:
buffering happens here, where frames are numbered and timestamped (:class:`~.timeline.Timeline`),
sampled (:class:`~.timeline.FpsSampler`) and, when a reader is slower than the stream, dropped on
purpose by the ring. A lost connection is retried as the :class:`~.reconnect.Reconnect` policy says.
"""

from __future__ import annotations

import logging
import random
import threading
import time

import av

from .._source.streams import best_video_stream
from ..errors import StreamDisconnectedError, StreamError, StreamTimeoutError
from .abort import Sockets
from .reconnect import Reconnect
from .ring import FrameRing, Item
from .source import LiveSource, mask_credentials, open_live
from .timeline import FpsSampler, Timeline

__all__ = ["Receiver"]

log = logging.getLogger("framepipe.live")

_UNTIMED_FORMATS = {"mpjpeg", "mjpeg", "image2pipe", "jpeg_pipe"}


class Receiver(threading.Thread):
    """Runs until the stream ends, fails for good or is closed; never raises out of the thread."""

    def __init__(
        self,
        src: LiveSource,
        ring: FrameRing,
        container,
        *,
        open_timeout: float,
        read_timeout: float,
        reconnect: Reconnect | None,
        fps: float | None,
        realtime: bool,
        threads: int,
        sockets: Sockets,
    ) -> None:
        super().__init__(name=f"framepipe-live {src.display}", daemon=True)
        self.sockets = sockets  # the connection's sockets: close() shuts them down to end a blocked read
        self.src, self.ring, self.container = src, ring, container
        self.open_timeout, self.read_timeout = open_timeout, read_timeout
        self.reconnect, self.realtime, self.threads = reconnect, realtime, threads
        self.stop = threading.Event()
        self._rng = random.Random()
        self._index = 0  # stream index of the next frame received
        self._seq = 0  # seq of the next frame published
        self._timeline = Timeline()
        self._sampler = FpsSampler(fps) if fps is not None else None

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug must not leave readers waiting forever: tell them, then log it
            self.ring.set_state(
                "disconnected", failure=StreamError(self.src.display, f"receiver failed: {exc!r}")
            )
            log.exception("framepipe receiver for %s failed", self.src.display)

    def _loop(self) -> None:
        container = self.container
        while True:
            try:
                end, reason = self._pump(container)
            finally:  # closed on every path: a bug in _pump (reported by run) must not leak the socket
                self.container = None
                container.close()
                self.sockets.release()
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
                self.ring.set_state(
                    "disconnected", failure=cls(self.src.display, f"{reason} (reconnect is off)")
                )
                return
            log.warning("lost %s: %s; reconnecting", self.src.display, reason)
            self.ring.set_state("reconnecting", error=reason)
            container = self._reopen(reason or "the stream stopped")
            if container is None:
                return
            self.container = container

    def _reopen(self, reason: str):
        assert self.reconnect is not None  # run() reopens only where a policy is set
        attempt = 0
        for delay in self.reconnect.delays(self._rng):
            attempt += 1
            if self.stop.wait(delay):
                self.ring.set_state("closed")
                return None
            try:
                container = open_live(
                    self.src,
                    open_timeout=self.open_timeout,
                    read_timeout=self.read_timeout,
                    sockets=self.sockets,
                )
            except StreamError as exc:  # already names the source with credentials masked
                reason = str(exc)
                log.info("reconnect attempt %d to %s failed: %s", attempt, self.src.display, reason)
                continue
            self.ring.count_reconnect()
            self.ring.set_state("running")
            log.info("reconnected to %s after %d attempt(s)", self.src.display, attempt)
            return container
        if self.stop.is_set():
            self.ring.set_state("closed")
            return None
        self.ring.set_state(
            "disconnected",
            failure=StreamDisconnectedError(
                self.src.display,
                f"connection lost and {attempt} reconnect attempts failed; last error: {reason}",
                attempts=attempt,
            ),
        )
        return None

    def _pump(self, container) -> tuple[str, str | None]:
        """Demux and decode one connection. Returns ("eof" | "timeout" | "error" | "stopped", reason)."""
        stream = best_video_stream(container)
        if stream is None:
            return "error", "the source has no video stream any more"
        cc = stream.codec_context
        # slice threads only: frame threads hold each frame back by one frame per thread
        cc.thread_type = "SLICE"
        cc.thread_count = self.threads
        cc.flags |= av.codec.context.Flags.low_delay
        rate = stream.average_rate or stream.guessed_rate
        self._timeline.new_connection(1.0 / float(rate) if rate else None)
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
                    self.ring.count_decode_error()
                    log.debug("decode error in %s: %s", self.src.display, mask_credentials(str(exc)))
                    continue
                timed = untimed is False and (packet.pts is not None or packet.dts is not None)
                for frame in frames:
                    self._on_frame(frame, timed)
                    if self.stop.is_set():
                        return "stopped", None
        except (av.error.ExitError, TimeoutError):  # PyAV's interrupt callback, or the UDP input: silence
            if self.stop.is_set():
                return "stopped", None
            return "timeout", f"no data within read_timeout={self.read_timeout:g} s"
        except (av.error.FFmpegError, OSError) as exc:
            return "error", mask_credentials(getattr(exc, "strerror", None) or str(exc))
        return "eof", None

    def _on_frame(self, frame: av.VideoFrame, timed: bool) -> None:
        if frame.is_corrupt:  # concealed damage: not a frame anyone asked for
            self.ring.count_decode_error()
            return
        mono, wall = time.monotonic(), time.time()
        pts = self._timeline.place(frame.time if timed else None, mono)
        if self.realtime and self.src.is_file:  # play a file at its own pace, as a camera would
            due = (self._timeline.started or mono) + pts  # placing a frame started the timeline
            if due > mono and self.stop.wait(due - mono):
                return
            mono, wall = time.monotonic(), time.time()
        index = self._index
        self._index += 1
        if self._sampler is not None and not self._sampler.keep(pts):
            self.ring.count_sampled_out()
            return
        if self.ring.publish(Item(self._seq, index, pts, wall, mono, frame)):
            self._seq += 1
