"""The ring: decoded frames shared by the receiving thread and the readers, and every counter about them.

The ring is the one owner of this state. The receiver only publishes frames, counts what it leaves out
and sets the stream's state; readers only *take* (the newest frame, the next one in order, a frame by
stream index or by time, a window of consecutive frames) and close. Every method holds the ring's lock,
so a :class:`~framepipe.LiveStream` can be read from several threads.

>>> ring = FrameRing(capacity=4, mode="all", overflow="block", name="cam")
>>> for seq in range(3):
...     ring.publish(Item(seq, index=seq, pts=seq / 30, arrival=0.0, mono=0.0, frame=None))
True
True
True
>>> [ring.take_next(timeout=1).index for _ in range(2)], ring.take_index(0, timeout=1).index
([0, 1], 0)
>>> ring.stats(open_seconds=0.1, receiver_alive=True).delivered
3
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .._util.constants import TIME_TOLERANCE
from ..errors import FrameGoneError, StreamEndedError, StreamError, StreamTimeoutError, VideoClosedError
from ..types import StreamStats

__all__ = ["Item", "FrameRing"]


@dataclass
class Item:
    """A decoded frame waiting in the ring; ``seq`` numbers published frames without gaps."""

    seq: int
    index: int  # stream index: frames received since open (sampled-out frames count too)
    pts: float  # seconds on the stream's timeline
    arrival: float  # time.time()
    mono: float  # time.monotonic() of arrival, for latency
    frame: object  # av.VideoFrame, not yet converted


class FrameRing:
    """At most ``capacity`` recent frames with consecutive ``seq`` numbers, and the stream's counters.

    Frames with ``seq < next_seq`` have been read (or skipped on purpose) and stay only as history for
    lookups by index or time. In mode "all" an unread frame is never evicted except under
    ``overflow="drop_oldest"``, where it is counted as dropped; under ``"block"`` the receiver waits.
    """

    def __init__(self, capacity: int, mode: str, overflow: str, *, name: str) -> None:
        self.capacity, self.mode, self.overflow = capacity, mode, overflow
        self.name = name  # the source with credentials masked, for messages
        self._cond = threading.Condition()
        self._items: deque[Item] = deque()
        self._next_seq = 0  # the first frame no reader has taken or skipped
        self._state = "running"
        self._failure: StreamError | None = None
        self._last_error: str | None = None
        self._received = self._delivered = self._dropped = self._sampled_out = 0
        self._decode_errors = self._reconnects = 0
        self._arrivals: deque[float] = deque(maxlen=240)
        self._latencies: deque[float] = deque(maxlen=100)

    # --- the receiver's side --------------------------------------------------------------------------
    def publish(self, item: Item) -> bool:
        """Add a decoded frame (waiting for room under mode "all" with ``overflow="block"``).

        Returns False once the ring is closed (the frame is let go).
        """
        with self._cond:
            items = self._items
            while len(items) >= self.capacity and self._state != "closed":
                if items[0].seq < self._next_seq or self.mode == "latest":
                    items.popleft()  # already read, or superseded: history only
                elif self.overflow == "drop_oldest":
                    items.popleft()
                    self._dropped += 1
                else:  # block until a reader makes room (wakes at least every 0.1 s to notice close)
                    self._cond.wait(0.1)
            if self._state == "closed":
                return False
            items.append(item)
            self._received += 1
            self._arrivals.append(item.mono)
            self._cond.notify_all()
            return True

    def count_decode_error(self) -> None:
        with self._cond:
            self._decode_errors += 1

    def count_sampled_out(self) -> None:
        with self._cond:
            self._sampled_out += 1

    def count_reconnect(self) -> None:
        with self._cond:
            self._reconnects += 1

    def set_state(self, state: str, *, failure: StreamError | None = None, error: str | None = None) -> None:
        """ "running", "reconnecting", "ended", "disconnected" (with ``failure``) or "closed"; wakes
        readers."""
        with self._cond:
            if self._state == "closed":
                return
            self._state = state
            self._failure = failure or self._failure
            self._last_error = error or (str(failure) if failure else self._last_error)
            self._cond.notify_all()

    # --- the readers' side ----------------------------------------------------------------------------
    @property
    def state(self) -> str:
        with self._cond:
            return self._state

    def close(self) -> bool:
        """Stop everything waiting on the ring and let the frames go; False if it was closed already."""
        with self._cond:
            was_open = self._state != "closed"
            self._state = "closed"
            self._items.clear()
            self._cond.notify_all()
            return was_open

    def take_latest(self, timeout: float | None) -> Item:
        """The newest frame not yet taken; the older unread ones are skipped (counted as dropped)."""
        with self._cond:
            self._wait(self._has_unread, timeout, "a new frame", self._ended_at)
            item = self._items[-1]
            self._dropped += item.seq - self._next_seq
            self._mark_read(item.seq)
            self._deliver([item], latency=True)
            return item

    def take_next(self, timeout: float | None) -> Item:
        """The oldest frame not yet taken (in order: mode "all")."""
        with self._cond:
            self._wait(self._has_unread, timeout, "a new frame", self._ended_at)
            item = self._at_seq(max(self._next_seq, self._items[0].seq))
            assert item is not None  # _has_unread: a frame at or after _next_seq is in the ring
            self._mark_read(item.seq)
            self._deliver([item], latency=True)
            return item

    def take_index(self, index: int, timeout: float | None) -> Item:
        """The frame with stream index ``index``, waiting until it has arrived; frames before it count as
        read.

        Raises:
            FrameGoneError: it has left the ring already, or was never kept (sampled out, damaged).
        """
        with self._cond:

            def arrived() -> bool:
                if self._items and self._items[-1].index < index:
                    self._mark_read(self._items[-1].seq)  # frames before it are not wanted: make room
                return bool(self._items) and self._items[-1].index >= index

            self._wait(
                arrived,
                timeout,
                f"frame {index}",
                lambda: f"{self._ended_at()}, before frame {index} of indices",
            )
            item = self._at_index(index)
            if item is None:
                oldest = self._items[0].index
                why = (
                    f"has already left the buffer of the newest {self.capacity} frames (oldest kept: "
                    f"{oldest}; raise queue_size or ask sooner)"
                    if index < oldest
                    else "was not delivered (left out by fps sampling, or it failed to decode)"
                )
                raise FrameGoneError(self.name, f"indices: frame {index} {why}")
            self._mark_read(item.seq)
            self._deliver([item])
            return item

    def take_time(self, seconds: float, timeout: float | None) -> Item:
        """The frame on screen at ``seconds`` on the stream's timeline, waiting until one after it arrived.

        Raises:
            FrameGoneError: that frame has left the ring already.
        """
        with self._cond:
            self._wait(
                lambda: bool(self._items) and self._items[-1].pts >= seconds - TIME_TOLERANCE,
                timeout,
                f"the frame at {seconds:g} s",
                lambda: f"{self._ended_at()}, before {seconds:g} s of seconds",
            )
            item = next((it for it in reversed(self._items) if it.pts <= seconds + TIME_TOLERANCE), None)
            if item is None:
                raise FrameGoneError(
                    self.name,
                    f"seconds: the frame at {seconds:g} s has already left the "
                    f"buffer of the newest {self.capacity} frames",
                )
            self._mark_read(item.seq)
            self._deliver([item])
            return item

    def first_unread(self) -> int:
        """The ``seq`` of the first frame no reader has taken."""
        with self._cond:
            return self._next_seq

    def take_window(
        self, length: int, last: int, have: Callable[[int], bool], timeout: float | None
    ) -> tuple[int, list[Item]]:
        """A window of ``length`` consecutive frames ending at ``seq`` ``last`` (mode "latest": at the
        newest frame, if later). Returns (its last seq, its frames for which ``have(seq)`` is False).

        When frames of the window have been pushed out already, the window moves on to the oldest frame
        kept. Raises :class:`~framepipe.StreamEndedError` when the stream ends first.
        """
        with self._cond:
            while True:
                self._wait(
                    lambda: bool(self._items) and self._items[-1].seq >= last,  # noqa: B023 (waited on here)
                    timeout,
                    "the next window",
                    self._ended_at,
                )
                end = self._items[-1].seq if self.mode == "latest" else last
                first = end - length + 1
                if self._items[0].seq > first and not all(have(s) for s in range(first, end + 1)):
                    last = self._items[0].seq + length - 1  # frames were pushed out: start a fresh window
                    continue
                new = [self._item(s) for s in range(first, end + 1) if not have(s)]
                self._mark_read(end)
                self._deliver(new)
                return end, new

    def stats(self, *, open_seconds: float, receiver_alive: bool) -> StreamStats:
        with self._cond:
            latency = statistics.median(self._latencies) if self._latencies else 0.0
            return StreamStats(
                self._state,
                self._received,
                self._delivered,
                self._dropped,
                self._sampled_out,
                self._decode_errors,
                self._reconnects,
                self._measured_fps(),
                latency,
                open_seconds,
                self._last_error,
                receiver_alive,
            )

    # --- under the lock -------------------------------------------------------------------------------
    def _has_unread(self) -> bool:
        return bool(self._items) and self._items[-1].seq >= self._next_seq

    def _wait(
        self, ready: Callable[[], bool], timeout: float | None, what: str, ended: Callable[[], str]
    ) -> None:
        """Wait until ``ready()``; raise when closed, failed, ended or past ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if self._state == "closed":
                raise VideoClosedError(self.name, "the stream is closed")
            if self._state == "disconnected" and self._failure is not None:
                raise self._failure
            if self._state == "ended":
                raise StreamEndedError(self.name, ended())
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise StreamTimeoutError(self.name, f"{what} did not arrive within timeout={timeout:g} s")
            self._cond.wait(0.5 if remaining is None else min(remaining, 0.5))

    def _ended_at(self) -> str:
        return f"the stream ended after frame {self._items[-1].index}" if self._items else "the stream ended"

    def _mark_read(self, seq: int) -> None:
        if seq + 1 > self._next_seq:
            self._next_seq = seq + 1
            self._cond.notify_all()  # a receiver blocked on a full queue can go on

    def _deliver(self, items: list[Item], *, latency: bool = False) -> None:
        self._delivered += len(items)
        if latency:
            now = time.monotonic()
            self._latencies.extend(now - it.mono for it in items)

    def _item(self, seq: int) -> Item:
        """The frame ``seq``, known to be in the ring."""
        item = self._at_seq(seq)
        assert item is not None
        return item

    def _at_seq(self, seq: int) -> Item | None:
        if not self._items:
            return None
        pos = seq - self._items[0].seq
        return self._items[pos] if 0 <= pos < len(self._items) else None

    def _at_index(self, index: int) -> Item | None:
        for item in reversed(self._items):
            if item.index == index:
                return item
            if item.index < index:
                return None
        return None

    def _measured_fps(self) -> float:
        if len(self._arrivals) < 2:
            return 0.0
        last = self._arrivals[-1]
        recent = [t for t in self._arrivals if t >= last - 2.0]
        span = recent[-1] - recent[0]
        return (len(recent) - 1) / span if span > 0 else 0.0
