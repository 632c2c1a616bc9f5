"""The one pool of open readers, shared by the PyTorch, Keras and LeRobot adapters.

Data-loading workers either fork (inheriting every object) or unpickle a copy. A pool that crosses a
pickle starts empty; one that crosses a fork keeps its idle readers, whose decoders re-open in the child
on first use (:mod:`framepipe._util.fork`), and re-makes its lock. Readers are handed out one thread at
a time, and at most ``max_open`` idle ones stay open, so a dataset over thousands of files does not run
out of file descriptors.

>>> pool = ReaderPool(lambda key: None, max_open=4)
>>> len(pool), pool.stats()
(0, PoolStats(calls=0, opened=0, reused=0, closed=0))
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from .._file.reader import VideoFile, open_with_index
from .._index.archive import StoredIndex
from .._index.index import VideoIndex
from .._pixels.format import FrameFormat
from .._util.checks import check_callable, check_int
from .._util.choices import OnError
from .._util.fork import track

__all__ = ["ReaderPool", "PoolStats", "Opener"]


@dataclasses.dataclass
class PoolStats:
    """How a :class:`ReaderPool` has been used (in this process).

    Attributes:
        calls: readers asked for.
        opened: new readers opened.
        reused: idle readers handed out again.
        closed: readers evicted or cleared (a reader whose call raised is closed too, and counted nowhere).
    """

    calls: int = 0
    opened: int = 0
    reused: int = 0
    closed: int = 0


class ReaderPool:
    """Open readers by key, the least recently used closed first; thread-safe, fork-safe, bounded.

    A reader is handed to one thread at a time; a second thread asking for the same key meanwhile gets a
    second reader. At most ``max_open`` idle readers stay open.

    Args:
        opener: makes the reader for a key (called outside the pool's lock); must pickle where the pool
            does (DataLoader workers started by ``spawn``). None: an :class:`Opener` with its defaults
            (keys are paths, or ``(path, frame_format)``).
        max_open: the most readers (each one open file and one decoder) kept open between calls.

    Raises:
        ValueError: ``max_open`` is below 1.

    Example:
        >>> import os, tempfile, framepipe
        >>> from framepipe.tools.synthetic import make_video
        >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=8)
        >>> pool = ReaderPool(framepipe.open, max_open=2)
        >>> with pool.reader(path) as video:
        ...     len(video)
        8
        >>> pool.stats().opened, len(pool)
        (1, 1)
    """

    def __init__(self, opener: Callable[[Hashable], VideoFile] | None = None, *, max_open: int = 32) -> None:
        check_callable("opener", opener, "a key")
        self.opener: Callable[[Hashable], VideoFile] = Opener() if opener is None else opener
        self.max_open = check_int("max_open", max_open, minimum=1)
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[Hashable, list[VideoFile]] = OrderedDict()
        self._count = 0  # the idle readers, all keys together
        self._stats = PoolStats()
        track(self)

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # a parent thread may have held it at the fork

    def __getstate__(self) -> dict:
        return {"opener": self.opener, "max_open": self.max_open}  # a copy starts empty

    def __setstate__(self, state: dict) -> None:
        self.opener, self.max_open = state["opener"], state["max_open"]
        self._reset()

    def stats(self) -> PoolStats:
        """How the pool has been used so far (a copy): readers handed out, opened, reused and closed."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def reader(self, key: Hashable) -> AbstractContextManager[VideoFile]:
        """The reader for ``key``, this thread's for the duration of a ``with`` block.

        Raises:
            VideoError: from the opener (the file cannot be opened).
        """
        return _Lease(self, key)

    def _take(self, key: Hashable) -> VideoFile:
        with self._lock:
            self._stats.calls += 1
            readers = self._idle.get(key)
            if readers:
                self._stats.reused += 1
                self._count -= 1
                video = readers.pop()
                if not readers:
                    del self._idle[key]
                return video
        video = self.opener(key)  # outside the lock: opening indexes the file
        with self._lock:
            self._stats.opened += 1
        return video

    def _give(self, key: Hashable, video: VideoFile) -> None:
        evicted = []
        with self._lock:
            self._idle.setdefault(key, []).append(video)
            self._idle.move_to_end(key)
            self._count += 1
            while self._count > self.max_open:
                old_key, readers = next(iter(self._idle.items()))
                evicted.append(readers.pop(0))
                if not readers:
                    del self._idle[old_key]
                self._count -= 1
            self._stats.closed += len(evicted)
        for old in evicted:  # outside the lock: closing a decoder may take a moment
            old.close()

    def clear(self) -> None:
        """Close every idle reader."""
        with self._lock:
            readers = [v for vs in self._idle.values() for v in vs]
            self._idle.clear()
            self._count = 0
            self._stats.closed += len(readers)
        for video in readers:
            video.close()


class _Lease:
    """One ``with pool.reader(key)`` block: the reader goes back to the pool at its end, or is closed if
    the block raised (its decoder may be mid-call). A class, not a generator: it runs on every call."""

    __slots__ = ("pool", "key", "video")

    def __init__(self, pool: ReaderPool, key: Hashable) -> None:
        self.pool, self.key = pool, key

    def __enter__(self) -> VideoFile:
        self.video = self.pool._take(self.key)
        return self.video

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.pool._give(self.key, self.video)
        else:
            self.video.close()


class Opener:
    """The pool's ``key -> VideoFile``, picklable: a key is a path or URL, or ``(path, frame_format)`` to
    open that file with other output options. Thread-safe: it holds only its options (and the indexes it
    was given), and each call opens a new reader.

    Args:
        frame_format: the output options of every reader (but a key's own).
        stream, threads, on_error, storage_options, index_cache: as for :func:`framepipe.open`; one
            decoder thread by default, since data-loading workers already share the cores.
        template: open clones of this reader (sharing its index; the key is ignored) instead of paths.
        known: videos by key, each ``(what to open, its index)``, made once in the main process: a reader
            of one of them opens over its index and never indexes the video again (they travel with the
            opener to the workers).
    """

    def __init__(
        self,
        frame_format: FrameFormat | None = None,
        *,
        stream: int | None = None,
        threads: int = 1,
        on_error: OnError = "raise",
        storage_options: Mapping | None = None,
        index_cache: bool = True,
        template: VideoFile | None = None,
        known: Mapping[Any, tuple[Any, VideoIndex | StoredIndex]] | None = None,
    ) -> None:
        self.frame_format, self.stream, self.threads = frame_format, stream, threads
        self.on_error, self.storage_options, self.index_cache = on_error, storage_options, index_cache
        self.template = template
        self.known = dict(known or {})

    def __call__(self, key: Hashable) -> VideoFile:
        if self.template is not None:
            return self.template.clone()
        path, fmt = key if isinstance(key, tuple) else (key, self.frame_format)
        if path in self.known:
            target, index = self.known[path]
            return open_with_index(
                target,
                index.load() if isinstance(index, StoredIndex) else index,
                frame_format=fmt,
                stream=self.stream,
                threads=self.threads,
                on_error=self.on_error,
                storage_options=self.storage_options,
            )
        return VideoFile(
            path,
            frame_format=fmt,
            stream=self.stream,
            threads=self.threads,
            on_error=self.on_error,
            storage_options=self.storage_options,
            index_cache=self.index_cache,
        )
