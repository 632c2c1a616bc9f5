"""Index ownership: where a reader's :class:`~.index.VideoIndex` comes from and where it goes.

An :class:`IndexStore` loads the index from the on-disk cache, or builds it: from an MP4's own sample
tables (no pass over the media data), else from one demuxing pass over the packets, else (packets that
cannot name frames) by one full decode, and saves what it built. The index never changes after it is
made: ``num_frames`` found at open is the count for good (frames that later prove unreachable are
reported through ``on_error``, never renumbered).
"""

from __future__ import annotations

from .._source.source import Source
from .._source.streams import select_stream
from . import cache
from .build import build_decode_index, build_index, build_table_index
from .index import VideoIndex
from .mkv import segment_end

__all__ = ["IndexStore"]


class IndexStore:
    """The index of one video stream of one source (``stream`` None: the best video stream).

    Picklable with its index, so a copy in a worker process does not index the video again.
    """

    def __init__(
        self, source: Source, *, stream: int | None, use_cache: bool, index: VideoIndex | None = None
    ) -> None:
        self.source = source
        self.stream = stream
        self.use_cache = use_cache and source.cache_key is not None
        self.index = index if index is not None else self._load()

    def _load(self) -> VideoIndex:
        src = self.source
        if self.use_cache:
            assert src.cache_key is not None and src.version is not None  # use_cache says so
            found = cache.load_index(src.cache_key, src.name, self.stream, src.version)
            if found is not None:
                return found
        with src.open() as opened:
            stream = select_stream(opened.container, src.name, self.stream)
            stream_index = stream.index
            with opened.tables() as tables:
                index = opened.checked(
                    build_table_index, opened.container, stream, src.name, src.size, tables
                )
        if index is None:  # not an MP4 with usable tables: one pass over the packets, from a fresh open
            with src.open() as opened:
                index = opened.checked(
                    build_index, opened.container, opened.container.streams[stream_index], src.name, src.size
                )
                if index is not None and opened.container.format.name.startswith("matroska"):
                    with opened.tables() as f:  # the header says how long the file should be
                        end = segment_end(f)
                    index.truncated |= end is not None and end > src.size
        if index is None:  # packets cannot name frames: count them by decoding once, from a fresh open
            index = self._decode_index(stream_index)  # (some streams cannot seek back)
        self._save(index)
        return index

    def _decode_index(self, stream_index: int) -> VideoIndex:
        with self.source.open() as opened:
            return opened.checked(
                build_decode_index, opened.container, opened.container.streams[stream_index], self.source.name
            )

    def _save(self, index: VideoIndex) -> None:
        src = self.source
        if self.use_cache:
            assert src.cache_key is not None and src.version is not None  # use_cache says so
            cache.save_index(index, src.cache_key, self.stream, src.version)
