"""Stopping a read that blocks inside FFmpeg, so that ``LiveStream.close()`` returns promptly.

What PyAV 18 offers: ``av.open(..., timeout=(open, read))`` installs FFmpeg's interrupt callback, which
gives up a blocked read once ``read_timeout`` seconds pass without a packet. That bounds every read, and
framepipe always passes it, but the deadline is fixed while the read blocks (``read_timeout`` is
read-only, and PyAV takes no interrupt callback of the caller's), so it cannot end a read *now*.

What this module adds: the callback asks ``time.monotonic()`` through the ``time`` global of
``av.container.core``. :func:`install` gives that module a clock that is the real one except in a thread
whose stream is being closed, where it runs a year ahead on every call; the blocked read then gives up
within FFmpeg's polling interval (about 0.1 s). It is installed on the first ``open_stream``, not at
import, and changes nothing for any other thread or PyAV user: their reads see the real clock.

If a PyAV release stops going through that global, :func:`install` returns False, and a ``close()`` that
cannot stop the read logs it and reports ``stats.receiver_alive``: the thread then ends by itself when
its read times out.
"""

from __future__ import annotations

import itertools
import threading

__all__ = ["install", "interrupt", "release"]

_aborting: set[int] = set()  # idents of receiver threads whose stream is closing
_lock = threading.Lock()
_installed: bool | None = None  # None: not tried yet


class _InterruptibleClock:
    """The ``time`` module, except that ``monotonic()`` leaps ahead in threads being interrupted."""

    _leap = itertools.count(1)

    def __init__(self, real) -> None:
        self._real = real

    def monotonic(self) -> float:
        now = self._real.monotonic()
        if _aborting and threading.get_ident() in _aborting:
            return now + 3.2e7 * next(self._leap)
        return now

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def install() -> bool:
    """Put the clock in place (once per process); whether PyAV reads it (False: close waits for timeouts)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = _install()
        return _installed


def _install() -> bool:
    try:
        import av.container.core as core
    except ImportError:
        return False
    clock = getattr(core, "time", None)
    if isinstance(clock, _InterruptibleClock):
        return True
    if clock is None or not callable(getattr(clock, "monotonic", None)):
        return False
    setattr(core, "time", _InterruptibleClock(clock))  # noqa: B010 (the module's stubs do not list it)
    return True


def interrupt(thread_id: int) -> None:
    """Make the FFmpeg reads of thread ``thread_id`` give up now (and every later one, until released)."""
    with _lock:
        _aborting.add(thread_id)


def release(thread_id: int) -> None:
    """Thread ``thread_id`` is done: its reads see the real clock again (thread ids are reused)."""
    with _lock:
        _aborting.discard(thread_id)
