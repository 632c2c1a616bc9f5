"""Readers for data-loading workers: one open reader per process and thread, opened lazily where used.

DataLoader and Keras workers either fork (inheriting every object) or unpickle a copy. FFmpeg state must
never be used across a fork: a decoder's frame threads do not exist in the child, so even closing an
inherited decoder could wait on them forever. :class:`ReaderCache` therefore opens fresh readers in each
process and thread, and keeps (but never touches) anything inherited.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from .._file.reader import VideoFile
from .._util.fork import keep_forever

__all__ = ["ReaderCache", "CloneOf"]


class ReaderCache:
    """``cache.get(key)`` -> a :class:`VideoFile` for this process and thread, made by ``opener(key)``.

    Picklable: a copy starts empty. ``max_open`` bounds the readers each thread keeps (least recently
    used are closed), so a dataset over thousands of files does not run out of file descriptors.
    """

    def __init__(self, opener: Callable[[object], VideoFile], *, max_open: int = 16) -> None:
        self._opener = opener
        self._max_open = max_open
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._local = threading.local()

    def get(self, key) -> VideoFile:
        if self._pid != os.getpid():
            # forked: readers in self._local belong to the parent. Keep them unfreed here (their destructors
            # would close the parent's decoders) and start afresh.
            keep_forever(self._local)
            self._reset()
        readers: dict = getattr(self._local, "readers", None)
        if readers is None:
            readers = self._local.readers = {}
        reader = readers.pop(key, None)
        if reader is None:
            reader = self._opener(key)
            if len(readers) >= self._max_open:
                oldest = next(iter(readers))
                readers.pop(oldest).close()
        readers[key] = reader  # most recently used last
        return reader

    def close(self) -> None:
        """Close this thread's readers (other threads' readers close when their threads end)."""
        readers = getattr(self._local, "readers", None) if self._pid == os.getpid() else None
        for reader in (readers or {}).values():
            reader.close()
        if readers:
            readers.clear()

    def __getstate__(self) -> dict:
        return {"opener": self._opener, "max_open": self._max_open}

    def __setstate__(self, state: dict) -> None:
        self._opener = state["opener"]
        self._max_open = state["max_open"]
        self._reset()


class CloneOf:
    """Opener for a :class:`ReaderCache` of one video: a fresh reader sharing ``base``'s index (picklable)."""

    def __init__(self, base: VideoFile) -> None:
        self.base = base

    def __call__(self, _key) -> VideoFile:
        return self.base.clone()

