"""What a forked child must not touch: FFmpeg objects and locks its parent made. One mechanism for all.

Freeing a codec, libswscale or filter-graph context joins its worker threads, which exist only in the
parent: a child would wait forever, at the call or at interpreter exit. A lock that a parent thread held
at the fork stays held in the child. So every owner of such state registers itself with :func:`track`;
in each forked child, before anything else runs there, this module's one ``os.register_at_fork`` hook
calls the owner's ``after_fork()``, which keeps the inherited FFmpeg objects unfreed
(:func:`keep_forever`) and re-makes its state on first use (decoders, converters, the reader pool, the
recent-frames budget).

>>> class Owner:
...     def __init__(self):
...         self.forks = 0
...         track(self)
...     def after_fork(self):
...         self.forks += 1
>>> Owner().forks
0
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from typing import Protocol

__all__ = ["keep_forever", "track", "ForkAware"]


class ForkAware(Protocol):
    """An owner of state that a forked child must re-make."""

    def after_fork(self) -> None:
        """Called in each forked child, right after the fork, while no other thread runs there."""


_owners: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_owners_lock = threading.Lock()


def track(owner: ForkAware) -> None:
    """Call ``owner.after_fork()`` in every forked child for as long as ``owner`` lives."""
    with _owners_lock:
        _owners.add(owner)


def keep_forever(obj: object) -> None:
    """Never free ``obj`` in this process (an extra reference that is never dropped keeps it out of every
    collection; its memory is the parent's pages, shared copy-on-write)."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))


def _in_child() -> None:
    global _owners_lock
    _owners_lock = threading.Lock()  # a parent thread may have held it at the fork
    for owner in list(_owners):
        owner.after_fork()


os.register_at_fork(after_in_child=_in_child)
