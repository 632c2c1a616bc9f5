"""The frames a reader returned last, kept converted so that an overlapping next call need not seek back.

Sliding windows ask for frames that the previous call has just decoded. Keeping the tail of each call
(at most :data:`RECENT_BYTES`, and only frames within :data:`RECENT_SPAN` of its last one) lets the next
call start where the decoder already is and continue forward. The budget is a constant: it does not grow
with the video's length.

>>> import numpy as np
>>> recent = RecentFrames(max_bytes=3 * 12, span=4)
>>> recent.keep({f: np.zeros((2, 2, 3), np.uint8) for f in range(10)}, last=9)
>>> sorted(recent.frames)           # within 4 of frame 9, and at most 3 frames of 12 bytes
[7, 8, 9]
"""

from __future__ import annotations

import numpy as np

__all__ = ["RecentFrames", "RECENT_BYTES", "RECENT_SPAN"]

RECENT_BYTES = 64 << 20  # converted frames kept from the last call: a constant, not the video's length
RECENT_SPAN = 64  # ... and only those within this many frames of that call's last one


class RecentFrames:
    """Converted frames by index, bounded in bytes; the newest are kept when the budget runs out."""

    def __init__(self, *, max_bytes: int = RECENT_BYTES, span: int = RECENT_SPAN) -> None:
        self.max_bytes = max_bytes
        self.span = span
        self.frames: dict[int, np.ndarray] = {}

    def hits(self, targets: np.ndarray) -> np.ndarray:
        """Which of ``targets`` are kept (a bool mask)."""
        return np.fromiter((int(f) in self.frames for f in targets), dtype=bool, count=len(targets))

    def keeps(self, frame: int, last: int) -> bool:
        """Whether a frame of a call ending at ``last`` is near enough its end to be worth keeping."""
        return frame > last - self.span

    def keep(self, fresh: dict[int, np.ndarray], *, last: int) -> None:
        """After a call that ended at frame ``last``: keep the newest frames near it, old and ``fresh``."""
        merged = {f: a for f, a in {**self.frames, **fresh}.items() if self.keeps(f, last)}
        self.frames, total = {}, 0
        for f in sorted(merged, reverse=True):  # the latest frames are the likeliest to be asked again
            total += merged[f].nbytes
            if total > self.max_bytes:
                break
            self.frames[f] = merged[f]

    def clear(self) -> None:
        self.frames = {}
