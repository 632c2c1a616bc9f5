"""The frames readers returned last, kept converted so that an overlapping next call need not seek back.

Sliding windows ask for frames that the previous call has just decoded. Each reader keeps the tail of its
last call (only frames within :data:`RECENT_SPAN` of its last one), so the next call starts where the
decoder already is and continues forward. What all readers of a process keep together is bounded by one
budget, :func:`set_recent_frames_limit` (32 MiB unless ``$FRAMEPIPE_RECENT_FRAMES_BYTES`` says otherwise):
a process that holds a hundred open readers holds no more than one does. When the budget runs out, the
readers used longest ago give their frames back first. A reader whose calls stop overlapping (random
access) stops keeping until one overlaps again (:meth:`RecentFrames.keep_after`).

>>> import numpy as np
>>> recent = RecentFrames(max_bytes=3 * 12, span=4)
>>> recent.keep({f: np.zeros((2, 2, 3), np.uint8) for f in range(10)}, last=9)
>>> sorted(recent.frames)           # within 4 of frame 9, and at most 3 frames of 12 bytes
[7, 8, 9]
"""

from __future__ import annotations

import bisect
import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .._util.checks import check_int, env_int
from .._util.fork import keep_forever, track

if TYPE_CHECKING:
    from .convert import DecodedPicture, PlanarImage

__all__ = [
    "RecentFrames",
    "RecentBudget",
    "RECENT_SPAN",
    "set_recent_frames_limit",
    "recent_frames_limit",
    "recent_frames_bytes",
]

RECENT_SPAN = 64  # frames kept are those within this many frames of the last call's last one
_DEFAULT_BYTES = 32 << 20


class RecentBudget:
    """The one owner of what all :class:`RecentFrames` of a process may hold together (thread-safe).

    Holders report their size after each call; when the total passes ``max_bytes``, the holders that reported
    longest ago drop their frames. A holder replaces its dict of frames instead of changing it, so a reader
    that took a reference to the old dict can still read from it while another thread evicts.
    """

    def __init__(self, max_bytes: int | None) -> None:
        self._max = max_bytes  # None: $FRAMEPIPE_RECENT_FRAMES_BYTES (or 32 MiB), read when first needed
        self._lock = threading.RLock()  # re-entrant: a holder's weakref callback may run inside charge()
        self._held: OrderedDict[int, tuple[weakref.ref, int]] = OrderedDict()  # id -> (holder, bytes)
        self._total = 0  # the sum of the bytes in _held
        track(self)

    def after_fork(self) -> None:
        self._lock = threading.RLock()  # a parent thread may have held it at the fork

    @property
    def max_bytes(self) -> int:
        if self._max is None:
            self._max = env_int("FRAMEPIPE_RECENT_FRAMES_BYTES", _DEFAULT_BYTES, minimum=0)
        return self._max

    def total(self) -> int:
        with self._lock:
            return self._total

    def charge(self, holder: RecentFrames, nbytes: int) -> None:
        """``holder`` now keeps ``nbytes``: make it the newest, and evict the oldest others over budget."""
        with self._lock:
            key = id(holder)
            old = self._held.pop(key, None)
            if old is not None:
                self._total -= old[1]
            if nbytes:  # a reader dropped without close() gives its share back when collected
                ref = (
                    old[0]
                    if old is not None
                    else weakref.ref(holder, functools.partial(self._collected, key))
                )
                self._held[key] = (ref, nbytes)
                self._total += nbytes
            self._evict(spare=key)

    def set_limit(self, max_bytes: int) -> None:
        """A new budget, applied now: the holders used longest ago give their frames back first."""
        with self._lock:
            self._max = max_bytes
            self._evict(spare=None)

    def _evict(self, *, spare: int | None) -> None:
        # (lock held) the oldest holders drop their frames until the total fits; ``spare`` (the caller of
        # charge(), which already kept within the budget) is never evicted
        while self._total > self.max_bytes and self._held:
            old_key, (ref, n) = next(iter(self._held.items()))
            if old_key == spare:
                break
            del self._held[old_key]
            self._total -= n
            old = ref()
            if old is not None:
                old.frames = {}

    def _collected(self, key: int, _ref: object) -> None:
        self._forget(key)

    def release(self, holder: RecentFrames) -> None:
        self._forget(id(holder))

    def _forget(self, key: int) -> None:
        with self._lock:
            old = self._held.pop(key, None)
            if old is not None:
                self._total -= old[1]


BUDGET = RecentBudget(None)


def set_recent_frames_limit(max_bytes: int) -> None:
    """Bound the converted frames that all readers of this process keep for overlapping calls.

    Each reader keeps the tail of its last call so that sliding windows and consecutive timestamps
    continue forward instead of seeking back. This sets what all of them keep together; 0 turns the
    reuse off (each call then decodes what it asks for). Set it in each worker process, or through
    ``$FRAMEPIPE_RECENT_FRAMES_BYTES`` (read when a reader first needs it; a bad value is an error that
    names it).

    Args:
        max_bytes: the budget in bytes (default 32 MiB).

    Raises:
        ValueError: ``max_bytes`` is negative.

    Example:
        >>> import framepipe
        >>> framepipe.set_recent_frames_limit(16 << 20)
        >>> framepipe.recent_frames_limit()
        16777216
        >>> framepipe.set_recent_frames_limit(32 << 20)
    """
    BUDGET.set_limit(check_int("max_bytes", max_bytes, minimum=0))


def recent_frames_limit() -> int:
    """The budget :func:`set_recent_frames_limit` set, in bytes."""
    return BUDGET.max_bytes


def recent_frames_bytes() -> int:
    """What all readers of this process keep right now, in bytes (at most :func:`recent_frames_limit`)."""
    return BUDGET.total()


class RecentFrames:
    """One reader's converted frames by index; the newest are kept, within its own cap and the process
    budget."""

    def __init__(
        self, *, max_bytes: int | None = None, span: int = RECENT_SPAN, budget: RecentBudget = BUDGET
    ) -> None:
        self.max_bytes = max_bytes  # None: only the process budget bounds this reader
        self.span = span
        self.budget = budget
        self.frames: dict[int, np.ndarray | PlanarImage | DecodedPicture] = {}
        self._last: int | None = None  # the last frame of the call before
        track(self)

    def after_fork(self) -> None:
        """In a forked child: a frame kept decoded holds a buffer of the parent's decoder, whose pool a
        parent thread may have held locked at the fork; never free it here, and decode it again if asked.
        (Converted pictures are plain memory: they stay.)"""
        from .convert import DecodedPicture  # (convert's types only annotate here otherwise)

        decoded = {f: a for f, a in self.frames.items() if isinstance(a, DecodedPicture)}
        if decoded:
            for picture in decoded.values():
                keep_forever(picture)
            self.frames = {f: a for f, a in self.frames.items() if f not in decoded}

    def snapshot(self) -> dict[int, np.ndarray | PlanarImage | DecodedPicture]:
        """The frames as of now; stays readable if another thread's eviction empties this holder."""
        return self.frames

    def cap(self) -> int:
        """The most this holder may keep: the process budget, or its own limit if lower."""
        return self.budget.max_bytes if self.max_bytes is None else min(self.max_bytes, self.budget.max_bytes)

    def keep_after(self, wanted: list[int]) -> int | None:
        """The frames of a call for ``wanted`` (ascending, unique) worth keeping are those above this; None:
        none are (then a call need not hold on to its converted frames for :meth:`keep`).

        None also where this call shares no frame with what the call before it could keep: calls that do
        not overlap (random access, as a shuffled data loader's) never ask a kept frame again, and keeping
        one costs more than the keeping saves (each kept picture holds its converted buffer, so the next
        conversion writes to fresh memory). The first overlapping call of a sliding sequence turns keeping
        back on; only it decodes what one more kept call would have held.

        >>> recent = RecentFrames(span=4)
        >>> recent.keep_after([10, 11]), recent.keep_after([11, 12]), recent.keep_after([40, 41])
        (7, 8, None)
        """
        last, before = wanted[-1], self._last
        self._last = last
        if self.cap() <= 0:
            return None
        if before is not None:
            i = bisect.bisect_right(wanted, before - self.span)
            if i == len(wanted) or wanted[i] > before:
                return None
        return last - self.span

    def keep(self, fresh: Mapping[int, np.ndarray | PlanarImage | DecodedPicture], *, last: int) -> None:
        """After a call that ended at frame ``last``: keep the newest frames near it, old and ``fresh``."""
        cap = self.cap()
        if cap <= 0:
            if self.frames:
                self.clear()
            return
        lo = last - self.span
        merged = {f: a for f, a in self.frames.items() if f > lo}
        merged.update((f, a) for f, a in fresh.items() if f > lo)
        total = sum(a.nbytes for a in merged.values())
        kept = merged
        if total > cap:
            kept, total = {}, 0
            for f in sorted(merged, reverse=True):  # the latest frames are the likeliest to be asked again
                if total + merged[f].nbytes > cap:
                    break
                total += merged[f].nbytes
                kept[f] = merged[f]
        self.frames = kept
        self.budget.charge(self, total)

    def clear(self) -> None:
        self.frames = {}
        self.budget.release(self)
