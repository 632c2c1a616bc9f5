"""Index ownership: where a reader's :class:`~.index.VideoIndex` comes from and where it goes.

An :class:`IndexStore` loads the index from the on-disk cache, or builds it from the packets (or, where
packets cannot name frames, by one full decode), saves what it built, and makes the one fallback from a
packet index to a decode index when decoding proves the packets wrong. Nothing else replaces a reader's
index.
"""

from __future__ import annotations

from . import cache
from ..errors import InvalidVideoError
from .index import VideoIndex, build_decode_index, build_index
from .source import file_signature, open_container, select_stream

__all__ = ["IndexStore"]


class IndexStore:
    """The index of one video stream of one file (``stream`` None: the best video stream).

    Picklable with its index, so a copy in a worker process does not index the file again.
    """

    def __init__(self, path: str, *, stream: int | None, use_cache: bool, index: VideoIndex | None = None) -> None:
        self.path = path
        self.stream = stream
        self.use_cache = use_cache
        self.index = index if index is not None else self._load()

    def _load(self) -> VideoIndex:
        sig = file_signature(self.path)
        if self.use_cache:
            found = cache.load_index(self.path, self.stream, sig)
            if found is not None:
                return found
        with open_container(self.path) as container:
            stream = select_stream(container, self.path, self.stream)
            stream_index = stream.index
            index = build_index(container, stream, self.path, sig[0])
        if index is None:  # packets cannot name frames: count them by decoding once, from a fresh open
            index = self._decode_index(stream_index)  # (some streams cannot seek back)
        self._save(index)
        return index

    def _decode_index(self, stream_index: int) -> VideoIndex:
        with open_container(self.path) as container:
            return build_decode_index(container, container.streams[stream_index], self.path)

    def _save(self, index: VideoIndex) -> None:
        if self.use_cache:
            cache.save_index(index, self.stream, file_signature(self.path))

    def fall_back_to_decode(self, why: Exception) -> VideoIndex:
        """The packet index disagreed with what the decoder produced: index by decoding, forward only.

        Raises:
            InvalidVideoError: the index already counts decoded frames, so nothing is left to fall back to.
        """
        if self.index.mode == "decode":
            raise InvalidVideoError(self.path, f"decoding disagrees with the file's own frame count ({why})")
        self.index = self._decode_index(self.index.stream_index)
        self._save(self.index)
        return self.index
