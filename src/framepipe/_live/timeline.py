"""Timestamps of a live stream and fps sampling: plain classes, no I/O, unit-tested on their own.

>>> tl = Timeline(interval=0.1)
>>> tl.new_connection(); [round(tl.place(raw, mono=0.0), 3) for raw in (50.0, 50.1, 50.2)]
[0.0, 0.1, 0.2]
>>> tl.new_connection(); round(tl.place(7.0, mono=0.25), 3)      # reconnected: the server's clock restarted
0.3
>>> s = FpsSampler(5.0); [s.keep(t / 10) for t in range(5)]        # 5 of every 10 frames a second
[True, False, True, False, True]
"""

from __future__ import annotations

import math

from .._util.constants import TIME_TOLERANCE

__all__ = ["Timeline", "FpsSampler"]


class Timeline:
    """A stream's timeline: 0 at frame 0, increasing across reconnects and source clock resets.

    ``place(raw, mono)`` maps a frame's own timestamp (seconds, or None where the source has none) and its
    arrival (``time.monotonic()``) to seconds on the timeline. The first frame of each connection continues
    after the last frame placed (or at the time that has passed since frame 0, if that is later, so an
    outage shows as a gap); a timestamp that goes backwards is moved one frame interval past the last.
    """

    def __init__(self, interval: float = 1 / 30) -> None:
        self.interval = interval  # nominal frame interval, seconds
        self.last: float | None = None  # timeline time of the last frame placed
        self._t0: float | None = None  # arrival (monotonic) of frame 0
        self._origin: float | None = None  # source time that maps to the timeline's 0, this connection

    def new_connection(self, interval: float | None = None) -> None:
        """A (re)connection starts: its timestamps get a new origin."""
        if interval:
            self.interval = interval
        self._origin = None

    @property
    def started(self) -> float | None:
        """Arrival (``time.monotonic()``) of frame 0, or None before it."""
        return self._t0

    def place(self, raw: float | None, mono: float) -> float:
        if self._t0 is None:
            self._t0 = mono
        if raw is None:  # no timestamps (e.g. MJPEG over HTTP): arrival time is the best there is
            t = mono - self._t0
        else:
            if self._origin is None:  # first frame of a connection: continue after the last one
                base = 0.0 if self.last is None else max(self.last + self.interval, mono - self._t0)
                self._origin = raw - base
            t = raw - self._origin
        if self.last is not None and t <= self.last:  # the source's clock jumped back (wrap, restart)
            t = self.last + self.interval
            if raw is not None:
                self._origin = raw - t
        self.last = t
        return t


class FpsSampler:
    """Keep one frame per ``1/fps`` seconds of stream time: the first frame at or after each tick."""

    def __init__(self, fps: float) -> None:
        self.fps = fps
        self._next_due = 0.0

    def keep(self, pts: float) -> bool:
        if pts + TIME_TOLERANCE < self._next_due:
            return False
        self._next_due = (math.floor(pts * self.fps + TIME_TOLERANCE) + 1) / self.fps
        return True
