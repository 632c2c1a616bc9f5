"""The file reader, :class:`VideoFile`: index, plan, decode and format put together, one call at a time.

The adapters' seam is two functions: :func:`load_index` (the exact index of a video, made or taken from
the cache, with no reader left open) and :func:`open_with_index` (a reader over an index made elsewhere:
in the main process, a planning task, or a store). That is how an index built once travels to data-loading
workers and Ray read tasks instead of being built again there.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .._decode.decode import Decoder
from .._decode.seeking import SeekingDecoder
from .._decode.sequential import SequentialDecoder
from .._index.by_time import TimeLookups
from .._index.index import VideoIndex
from .._index.store import IndexStore
from .._pixels.format import FrameFormat
from .._pixels.gather import Assembler
from .._source.source import Source
from .._util.checks import check_choice, check_int
from .._util.choices import ON_ERROR, ClipLayout, OnError
from .._util.fork import track
from ..errors import CorruptFrameError, TooLargeError, VideoClosedError
from ..types import ClipBatch, FrameBatch, VideoMetadata
from .iteration import FrameIteration

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._pixels.format import FormatOptions

__all__ = ["VideoFile", "load_index", "open_with_index"]


def _one_call_at_a_time(method):
    """A reader's decoder and recent frames are one state: calls from several threads take turns."""

    @functools.wraps(method)
    def serialised(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return serialised


class VideoFile(TimeLookups, FrameIteration):
    """One video stream of one file, indexed; frames come out exact and in the order asked.

    Made by :func:`framepipe.open` (which takes the output options as keywords). Frame ``i`` is the
    ``i``-th frame in presentation order of a full decode; ``len(video)`` is the exact count.

    Picklable: a copy re-opens the file lazily in its own process (the index travels with it), so a
    ``VideoFile`` can be handed to DataLoader workers.

    Thread safety: one reader may be shared by threads; its calls take turns (each call decodes with
    the reader's one decoder), and give the same frames as the same calls made one after another. An
    ``iter_frames`` iteration holds the reader until it ends or is closed. For calls that run at the same
    time, give each thread its own reader: :meth:`clone` shares the index and opens nothing until used
    (clones of a reader of a file object take turns reading that object).

    Args:
        path, frame_format, stream, threads, index_cache, on_error, storage_options: as for
            :func:`framepipe.open` (``path`` may also be a ``Source``; ``frame_format`` None: the video's
            own size, RGB uint8).

    Example:
        >>> import os, tempfile, framepipe
        >>> from framepipe.tools.synthetic import make_video
        >>> video = framepipe.VideoFile(make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=12))
        >>> len(video), video[3].shape
        (12, (96, 160, 3))
        >>> video.close()
    """

    def __init__(
        self,
        path,
        *,
        frame_format: FrameFormat | None = None,
        stream: int | None = None,
        threads: int = 0,
        index_cache: bool = True,
        on_error: OnError = "raise",
        storage_options: Mapping | None = None,
    ) -> None:
        self._setup(
            path,
            frame_format=frame_format,
            stream=stream,
            threads=threads,
            index_cache=index_cache,
            on_error=on_error,
            storage_options=storage_options,
        )

    def _setup(
        self,
        path,
        *,
        frame_format: FrameFormat | None,
        stream: int | None,
        threads: int,
        index_cache: bool,
        on_error: str,
        storage_options: Mapping | None,
        index: VideoIndex | None = None,
        keep_recent: bool = True,
    ) -> None:
        check_choice("on_error", on_error, ON_ERROR)
        check_int("threads", threads, minimum=0)
        check_int("stream", stream, allow_none=True)
        self._source = path if isinstance(path, Source) else Source.create(path, storage_options)
        self._path = self._source.name
        self._fmt = FrameFormat.from_options(frame_format, {}, caller="VideoFile")
        self._threads = threads
        self._on_error = on_error
        self._closed = False
        self._lock = threading.RLock()  # re-entrant: get_frames_at_times calls get_frames
        track(self)
        self._store = IndexStore(self._source, stream=stream, use_cache=index_cache, index=index)
        ix = self._store.index
        if ix.width * ix.height > self._fmt.frame_pixels_limit():  # before any frame is decoded
            raise TooLargeError(
                self._path,
                f"its frames are {ix.width}x{ix.height} ({ix.width * ix.height:,} pixels), more than "
                f"max_frame_pixels={self._fmt.frame_pixels_limit():,} allows; raise the limit if the file "
                "is trusted (max_frame_pixels= on open, framepipe.set_max_frame_pixels, "
                "$FRAMEPIPE_MAX_FRAME_PIXELS)",
            )
        self._decoder = self._new_decoder()
        # a reader dropped without close() still closes its file and decoder when it is collected
        self._finalizer = weakref.finalize(self, self._decoder.close)
        self._metadata: VideoMetadata | None = None
        self._assembler = Assembler(
            self._fmt,
            self._path,
            threads=threads,
            display=self._index.display(where=self._path),
            keep_recent=keep_recent,
        )

    @property
    def _index(self) -> VideoIndex:
        return self._store.index

    def _new_decoder(self) -> Decoder:
        cls = SeekingDecoder if self._index.mode == "packets" else SequentialDecoder
        return cls(self._source, self._index, threads=self._threads, on_error=self._on_error)

    # --- metadata -------------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """The video's name in messages: an absolute path, a URL (credentials masked), or ``<bytes: N
        bytes>``."""
        return self._path

    @property
    def pts_seconds(self) -> np.ndarray:
        """Presentation time in seconds of every frame, in order (read-only; from the index, no decoding)."""
        return self._index.pts_seconds

    @property
    def metadata(self) -> VideoMetadata:
        """Exact facts from the index (see :class:`~framepipe.VideoMetadata`)."""
        if self._metadata is None:
            self._metadata = self._index.describe(
                self._path, self._index_mode(), rotate=self._fmt.rotation == "auto"
            )
        return self._metadata

    def _index_mode(self) -> str:
        ix = self._index
        if ix.mode == "decode":
            return "decode"
        if self._source.streamed:
            return "streamed"  # the whole file was read first: no byte ranges, or a stream that cannot seek
        return "sample_table" if ix.built_from == "sample_table" else "packets"

    def __len__(self) -> int:
        return self._index.num_frames

    def __repr__(self) -> str:
        ix = self._index
        return (
            f"<framepipe.VideoFile {self._path!r} {ix.codec} {ix.width}x{ix.height} {ix.num_frames} frames>"
        )

    # --- lifetime -------------------------------------------------------------------------------------
    def after_fork(self) -> None:
        self._lock = threading.RLock()  # a thread of the parent may have held it at the fork

    @_one_call_at_a_time
    def close(self) -> None:
        """Close the file; further frame requests raise :class:`~framepipe.VideoClosedError`."""
        self._finalizer()  # the decoder's close, once
        self._assembler.recent.clear()
        self._closed = True

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # nothing FFmpeg-owned crosses a pickle (or a fork): the copy re-opens lazily where it is used
        return dict(
            source=self._source,
            fmt=self._fmt,
            stream=self._store.stream,
            threads=self._threads,
            index_cache=self._store.use_cache,
            on_error=self._on_error,
            index=self._index,
        )

    def __setstate__(self, state: dict) -> None:
        self._setup(
            state["source"],
            frame_format=state["fmt"],
            stream=state["stream"],
            threads=state["threads"],
            index_cache=state["index_cache"],
            on_error=state["on_error"],
            storage_options=None,
            index=state["index"],
        )

    def _sibling(self, fmt: FrameFormat) -> VideoFile:
        video = VideoFile.__new__(VideoFile)
        video._setup(
            self._source,
            frame_format=fmt,
            stream=self._store.stream,
            threads=self._threads,
            index_cache=self._store.use_cache,
            on_error=self._on_error,
            storage_options=None,
            index=self._index,
        )
        return video

    def clone(self) -> VideoFile:
        """A new, unopened reader of the same file with the same options, sharing the index (no re-index)."""
        return self._sibling(self._fmt)

    def with_format(
        self, frame_format: FrameFormat | None = None, **format_options: Unpack[FormatOptions]
    ) -> VideoFile:
        """A new reader of the same file with other output options (``size``, ``dtype``, ...), same index."""
        return self._sibling(
            FrameFormat.from_options(frame_format or self._fmt, format_options, caller="with_format")
        )

    @property
    def format(self) -> FrameFormat:
        """The output options this reader applies."""
        return self._fmt

    def _check_open(self) -> None:
        if self._closed:
            raise VideoClosedError(self._path, "the video is closed")

    # --- decoding -------------------------------------------------------------------------------------
    def _gather(self, idx: np.ndarray, layout: str):
        """Decode ``idx`` ((N,) frames or (B, T) clips) into one output array: (data, got, issues); got is
        None when every position got its frame.

        Each frame is decoded once, converted once and written into every position that asks for it
        (:class:`~.gather.Assembler`); frames near the end of the previous call are reused.
        """
        self._check_open()
        return self._assembler.gather(idx, layout, self._index, self._decoder.checked_frames)

    # --- access ---------------------------------------------------------------------------------------
    def _indices(self, values, name: str) -> np.ndarray:
        return self._index.check_frames(name, values, path=self._path)

    @_one_call_at_a_time
    def get_frames(self, indices: Sequence[int] | np.ndarray) -> FrameBatch:
        """Frames at ``indices``, in the order asked.

        One forward decode plan per call: each needed frame is decoded once, however often it is asked,
        and no stretch of the file is decoded twice.

        Args:
            indices: frame indices; negative ones count from the end; any order; duplicates allowed.

        Returns:
            A :class:`~framepipe.FrameBatch`: ``data`` (N, H, W, C) or (N, C, H, W), ``indices`` (the
            non-negative indices), ``pts_seconds``, and ``issues`` for frames skipped or repeated under
            ``on_error``.

        Raises:
            IndexError: an index is out of range (the message gives the valid range).
            TypeError: ``indices`` are not integers.
            CorruptFrameError: a frame cannot be decoded and ``on_error="raise"``.
            VideoClosedError: the video is closed.
        """
        idx = self._indices(indices, "indices").reshape(-1)
        data, ok, issues = self._gather(idx, self._fmt.frame_layout)
        if ok is not None:  # on_error="skip": leave the lost frames out
            data, idx = data[ok], idx[ok]
        return self._fmt.finish(
            FrameBatch(data=data, indices=idx, pts_seconds=self._index.pts_seconds[idx], issues=issues)
        )

    @_one_call_at_a_time
    def get_keyframes(self, indices: Sequence[int] | np.ndarray) -> FrameBatch:
        """Keyframes at ``indices``, in the order asked, each decoded on its own: one decoded picture a
        frame, however far apart they are (what keyframe sampling, ``snap="keyframe"``, reads).

        Args:
            indices: frame indices that are keyframes (``metadata.keyframe_indices``); negative ones count
                from the end.

        Returns:
            A :class:`~framepipe.FrameBatch`, as :meth:`get_frames` returns.

        Raises:
            ValueError: an index is not a keyframe (the message names it).
            IndexError, TypeError, CorruptFrameError, VideoClosedError: as for :meth:`get_frames`.

        Example:
            >>> import os, tempfile, framepipe
            >>> from framepipe.tools.synthetic import make_video, read_index
            >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=60, gop=12)
            >>> with framepipe.open(path) as video:
            ...     keys = video.metadata.keyframe_indices
            ...     [read_index(f) for f in video.get_keyframes(keys[1:3]).data], keys[1:3].tolist()
            ([12, 24], [12, 24])
        """
        idx = self._indices(indices, "indices").reshape(-1)
        not_key = idx[~np.isin(idx, self._index.keyframe_indices)]
        if len(not_key):
            raise ValueError(
                f"indices contains {int(not_key[0])}, not a keyframe of {self._path} "
                "(metadata.keyframe_indices lists them)"
            )
        self._check_open()
        data, ok, issues = self._assembler.gather(
            idx, self._fmt.frame_layout, self._index, self._decoder.keyframe_pictures
        )
        if ok is not None:  # on_error="skip": leave the lost frames out
            data, idx = data[ok], idx[ok]
        return self._fmt.finish(
            FrameBatch(data=data, indices=idx, pts_seconds=self._index.pts_seconds[idx], issues=issues)
        )

    @_one_call_at_a_time
    def get_clips(
        self, clips: Sequence[Sequence[int] | np.ndarray] | np.ndarray, *, layout: ClipLayout | None = None
    ) -> ClipBatch:
        """Clips of frame indices, all of one length; frames shared between clips are decoded once.

        Args:
            clips: B lists of T frame indices each (a (B, T) array), e.g. from :mod:`framepipe.sampling`.
            layout: ``"NTHWC"``, ``"NTCHW"`` or ``"NCTHW"``; default: from the reader's ``layout``.

        Returns:
            A :class:`~framepipe.ClipBatch`: ``data`` (B, T, H, W, C) (or as ``layout`` says), ``indices``
            and ``pts_seconds`` (B, T); under ``on_error="skip"`` a clip that lost a frame is left out and
            its position listed in ``dropped_clips``.

        Raises:
            ValueError: the clips are not of one length.
            IndexError: an index is out of range.
            CorruptFrameError: a frame cannot be decoded and ``on_error="raise"``.
        """
        try:
            arr = np.asarray(clips)
        except ValueError as exc:
            raise ValueError("clips must be index lists of equal length") from exc
        if arr.ndim != 2 or arr.dtype == object:
            raise ValueError(
                f"clips must be a list of equal-length index lists (a 2-D array), got shape {arr.shape}"
            )
        clip_layout = self._fmt.clip_layout(layout)
        idx = self._indices(arr, "clips")
        data, ok, issues = self._gather(idx, clip_layout)
        dropped: list[int] = []
        if ok is not None:
            keep = ok.all(axis=1)
            dropped = np.flatnonzero(~keep).tolist()
            data, idx = data[keep], idx[keep]
        return self._fmt.finish(
            ClipBatch(
                data=data,
                indices=idx,
                pts_seconds=self._index.pts_seconds[idx],
                issues=issues,
                dropped_clips=dropped,
            )
        )

    @_one_call_at_a_time
    def __getitem__(self, key: int | slice) -> np.ndarray:
        """``video[i]`` -> one frame (H, W, C); ``video[a:b:s]`` -> frames (N, ...). Negative ``i`` counts
        from the end.

        Both are plain arrays, as indexing and slicing an array give; the frames' indices and timestamps
        come with :meth:`get_frames` (``video.get_frames(range(a, b, s))`` is the same frames as a
        :class:`~framepipe.FrameBatch`).

        Raises:
            IndexError: ``i`` is out of range.
            CorruptFrameError: frame ``i`` cannot be decoded (under any ``on_error``: one frame has no
                stand-in).
        """
        if isinstance(key, slice):
            return self.get_frames(np.arange(len(self))[key]).data
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            batch = self.get_frames([int(key)])
            if len(batch) == 0:  # on_error="skip" left it out: a single frame has nothing to stand in
                raise CorruptFrameError(
                    self._path,
                    f"frame {key} could not be decoded ({batch.issues[0].message})",
                    frame_index=int(batch.issues[0].index),
                )
            return batch.data[0]
        raise TypeError(f"video indices must be int or slice, not {type(key).__name__}")


def load_index(
    path, *, stream: int | None = None, storage_options: Mapping | None = None, index_cache: bool = True
) -> VideoIndex:
    """The exact index of one video (from the index cache, or built and saved there), for
    :func:`open_with_index` elsewhere; nothing stays open.

    Args:
        path, stream, storage_options, index_cache: as for :func:`framepipe.open`.

    Raises:
        VideoError: the video cannot be read.
    """
    source = path if isinstance(path, Source) else Source.create(path, storage_options)
    check_int("stream", stream, allow_none=True)
    return IndexStore(source, stream=stream, use_cache=index_cache).index


def open_with_index(
    path,
    index: VideoIndex,
    *,
    frame_format: FrameFormat | None = None,
    stream: int | None = None,
    threads: int = 1,
    on_error: OnError = "raise",
    storage_options: Mapping | None = None,
    keep_recent: bool = True,
) -> VideoFile:
    """A reader over an index made elsewhere (:func:`load_index`), without indexing again.

    Args:
        path, frame_format, stream, threads, on_error, storage_options: as for :func:`framepipe.open`.
        index: the file's index.
        keep_recent: keep the tail of each call's frames for the next one; False where calls never ask
            for a frame twice (every frame; windows that stride past each other).
    """
    video = VideoFile.__new__(VideoFile)
    video._setup(
        path,
        frame_format=frame_format,
        stream=stream,
        threads=threads,
        index_cache=True,
        on_error=on_error,
        storage_options=storage_options,
        index=index,
        keep_recent=keep_recent,
    )
    return video
