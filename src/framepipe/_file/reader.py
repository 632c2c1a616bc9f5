"""The file reader: ``framepipe.open(path) -> VideoFile``.

>>> import os, tempfile, framepipe
>>> from framepipe.tools.synthetic import make_video, read_index
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=30)
>>> with framepipe.open(path, size=(64, 64), resize="shorter_side") as video:
...     batch = video.get_frames([5, 20, 5])
...     [read_index(f) for f in batch.data], batch.data.shape
([5, 20, 5], (3, 64, 64, 3))
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
from av.video.reformatter import VideoReformatter

from . import cache
from .decode import FrameDecoder, IndexMismatch
from ..errors import InvalidVideoError, VideoClosedError
from ..format import FrameFormat
from .index import VideoIndex, build_decode_index, build_index, nearest_frames
from .plan import unique_targets
from .source import check_path, file_signature, open_container, select_stream
from ..types import ClipBatch, Frame, FrameBatch, FrameIssue, VideoMetadata

__all__ = ["open", "VideoFile"]

_ON_ERROR = ("raise", "skip", "previous")
RECENT_BYTES = 64 << 20  # converted frames kept from the last call: a constant, not the video's length
RECENT_SPAN = 64  # ... and only those within this many frames of that call's last one


def open(
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] | int | None = None,
    resize: str = "stretch",
    color: str = "rgb",
    dtype: str = "uint8",
    layout: str = "NHWC",
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    interpolation: str = "area",
    stream: int | None = None,
    threads: int = 0,
    index_cache: bool = True,
    on_error: str = "raise",
) -> VideoFile:
    """Open a video file for exact, random frame access.

    Args:
        size: output ``(height, width)`` (an int means square); None keeps the video's size.
        resize: ``"stretch"`` to ``size``; ``"shorter_side"`` scales to cover ``size`` and cuts the centre;
            ``"letterbox"`` scales to fit inside and pads with black.
        color: ``"rgb"``, ``"bgr"`` or ``"gray"`` (one channel).
        dtype: ``"uint8"``, or ``"float32"`` scaled to [0, 1], then ``(x - mean) / std`` if given.
        layout: ``"NHWC"`` or ``"NCHW"`` for frames; clips insert T (``NTHWC``, ``NTCHW``), or pass a clip
            layout (``"NCTHW"`` too) and frames use the matching frame layout.
        interpolation: libswscale filter for resizing, ``"area"`` by default (see :mod:`framepipe.format`).
        stream: index of the video stream in a multi-stream file; None picks the best one.
        threads: decoder threads; 0 lets FFmpeg use every core. Use 1 inside many DataLoader workers.
        index_cache: keep the packet index on disk (``$FRAMEPIPE_CACHE_DIR`` or the user cache dir).
        on_error: a frame that fails to decode ``"raise"`` s :class:`~framepipe.CorruptFrameError`,
            is ``"skip"`` ped (left out of the result), or repeats the ``"previous"`` good frame; the
            latter two are reported in the result's ``issues``.
    """
    return VideoFile(path, fmt=FrameFormat.create(size=size, resize=resize, color=color, dtype=dtype, layout=layout,
                                                  interpolation=interpolation, mean=mean, std=std),
                     stream=stream, threads=threads, index_cache=index_cache, on_error=on_error)


class VideoFile:
    """One video stream of one file, indexed; frames come out exact and in the order asked.

    Picklable: a copy re-opens the file lazily in its own process (the index travels with it), so a
    ``VideoFile`` can be handed to DataLoader workers. Not safe to share between threads.
    """

    def __init__(self, path, *, fmt: FrameFormat, stream: int | None = None, threads: int = 0,
                 index_cache: bool = True, on_error: str = "raise", _index: VideoIndex | None = None) -> None:
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {', '.join(_ON_ERROR)}; got {on_error!r}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be an int >= 0 (0 = automatic), got {threads!r}")
        if stream is not None and (isinstance(stream, bool) or not isinstance(stream, int)):
            raise TypeError(f"stream must be an int stream index or None, got {type(stream).__name__}")
        self._path = check_path(path)
        self._fmt = fmt
        self._stream_request = stream
        self._threads = threads
        self._index_cache = index_cache
        self._on_error = on_error
        self._closed = False
        self._index = _index if _index is not None else self._load_index()
        self._decoder = FrameDecoder(self._index, threads=threads, on_error=on_error)
        self._reformatter = VideoReformatter()
        self._metadata: VideoMetadata | None = None
        self._recent: dict[int, np.ndarray] = {}

    # --- index ----------------------------------------------------------------------------------------
    def _load_index(self) -> VideoIndex:
        sig = file_signature(self._path)
        if self._index_cache:
            found = cache.load_index(self._path, self._stream_request, sig)
            if found is not None:
                return found
        with open_container(self._path) as container:
            stream = select_stream(container, self._path, self._stream_request)
            stream_index = stream.index
            index = build_index(container, stream, self._path, sig[0])
        if index is None:  # packets cannot name frames: count them by decoding once, from a fresh open
            index = self._decode_index(index_of_stream=stream_index)  # (some streams cannot seek back)
        if self._index_cache:
            cache.save_index(index, self._stream_request, sig)
        return index

    def _decode_index(self, *, index_of_stream: int) -> VideoIndex:
        with open_container(self._path) as container:
            return build_decode_index(container, container.streams[index_of_stream], self._path)

    def _fall_back_to_decode_index(self, why: IndexMismatch) -> None:
        """The packet index disagreed with what the decoder produced: index by decoding, forward only."""
        self._decoder.close()
        self._recent = {}
        if self._index.mode == "decode":  # already counting decoded frames: nothing left to fall back to
            raise InvalidVideoError(self._path, f"decoding disagrees with the file's own frame count ({why})")
        self._index = self._decode_index(index_of_stream=self._index.stream_index)
        if self._index_cache:
            cache.save_index(self._index, self._stream_request, file_signature(self._path))
        self._decoder = FrameDecoder(self._index, threads=self._threads, on_error=self._on_error)
        self._metadata = None

    # --- metadata -------------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self._path

    @property
    def frame_times(self) -> np.ndarray:
        """Presentation time in seconds of every frame, in order (from the packet index: no decoding)."""
        times = self._index.pts_seconds.view()
        times.flags.writeable = False
        return times

    @property
    def metadata(self) -> VideoMetadata:
        """Exact facts from the index (see :class:`~framepipe.VideoMetadata`)."""
        if self._metadata is None:
            ix = self._index
            tb = float(ix.time_base)
            start = float(ix.frame_pts[0]) * tb
            end = ix.end_pts * tb
            duration = end - start
            self._metadata = VideoMetadata(
                path=self._path, stream_index=ix.stream_index, codec=ix.codec, width=ix.width, height=ix.height,
                pixel_format=ix.pixel_format, num_frames=ix.num_frames, header_num_frames=ix.header_num_frames,
                average_fps=ix.num_frames / duration if duration > 0 else 0.0, nominal_fps=ix.nominal_fps,
                duration_seconds=duration, start_seconds=start, end_seconds=end,
                keyframe_indices=ix.keyframe_indices, is_variable_frame_rate=ix.is_variable_frame_rate(),
                index_mode=ix.mode)
        return self._metadata

    @property
    def pts_seconds(self) -> np.ndarray:
        """Presentation time of every frame, in seconds."""
        return self._index.pts_seconds.copy()

    def __len__(self) -> int:
        return self._index.num_frames

    def __repr__(self) -> str:
        ix = self._index
        return f"<framepipe.VideoFile {self._path!r} {ix.codec} {ix.width}x{ix.height} {ix.num_frames} frames>"

    # --- lifetime -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the file; further frame requests raise :class:`~framepipe.VideoClosedError`."""
        self._decoder.close()
        self._recent = {}
        self._closed = True

    def __enter__(self) -> VideoFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        # nothing FFmpeg-owned crosses a pickle (or a fork): the copy re-opens lazily where it is used
        return dict(path=self._path, fmt=self._fmt, stream=self._stream_request, threads=self._threads,
                    index_cache=self._index_cache, on_error=self._on_error, index=self._index)

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], fmt=state["fmt"], stream=state["stream"], threads=state["threads"],
                      index_cache=state["index_cache"], on_error=state["on_error"], _index=state["index"])

    def _sibling(self, fmt: FrameFormat) -> VideoFile:
        return VideoFile(self._path, fmt=fmt, stream=self._stream_request, threads=self._threads,
                         index_cache=self._index_cache, on_error=self._on_error, _index=self._index)

    def clone(self) -> VideoFile:
        """A new, unopened reader of the same file with the same options, sharing the index (no re-index)."""
        return self._sibling(self._fmt)

    def with_format(self, **options) -> VideoFile:
        """A new reader of the same file with other output options (``size``, ``dtype``, ...), same index."""
        return self._sibling(self._fmt.replace(**options))

    @property
    def format(self) -> FrameFormat:
        """The output options this reader applies."""
        return self._fmt

    # --- argument checks ------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise VideoClosedError(self._path, "the video is closed")

    def _indices(self, indices, name: str = "indices") -> np.ndarray:
        arr = np.asarray(indices)
        if arr.dtype == bool or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
            if arr.size and np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"{name} must be integers, got {arr.dtype} values")
        arr = arr.astype(np.int64, copy=False)
        n = len(self)
        bad = (arr < -n) | (arr >= n)
        if bad.any():
            raise IndexError(f"{name} contains {int(arr[bad].flat[0])}, out of range for {self._path} "
                             f"({n} frames: valid indices are -{n}..{n - 1})")
        return np.where(arr < 0, arr + n, arr)

    # --- access ---------------------------------------------------------------------------------------
    def _decode_unique(self, uniq: np.ndarray, on_frame) -> list[FrameIssue]:
        """Decode each frame of ascending ``uniq`` once; ``on_frame(slot, array)``. Returns the issues.

        Frames near the end of the previous call are kept, converted (:data:`RECENT_BYTES` at most), so a
        following call that overlaps them, as sliding windows do, continues forward instead of seeking
        back to re-decode them.
        """
        issues: list[FrameIssue] = []
        slots = {int(f): k for k, f in enumerate(uniq)}
        hit = np.array([int(f) in self._recent for f in uniq], dtype=bool)
        for k in np.flatnonzero(hit):
            on_frame(int(k), self._recent[int(uniq[k])])
        keep_after = int(uniq[-1]) - RECENT_SPAN if len(uniq) else 0
        fresh: dict[int, np.ndarray] = {}
        try:
            for frame_index, frame, issue in self._decoder.frames(uniq[~hit]):
                if issue is not None:
                    issues.append(issue)
                if frame is not None:
                    img = self._fmt.convert(frame, self._reformatter)
                    on_frame(slots[frame_index], img)
                    if frame_index > keep_after and issue is None:
                        fresh[frame_index] = img
        except IndexMismatch as exc:
            self._fall_back_to_decode_index(exc)
            return self._decode_unique(uniq, on_frame)
        self._keep_recent(fresh, keep_after)
        return issues

    def _keep_recent(self, fresh: dict[int, np.ndarray], keep_after: int) -> None:
        merged = {f: a for f, a in {**self._recent, **fresh}.items() if f > keep_after}
        self._recent, total = {}, 0
        for f in sorted(merged, reverse=True):  # the latest frames are the likeliest to be asked again
            total += merged[f].nbytes
            if total > RECENT_BYTES:
                break
            self._recent[f] = merged[f]

    def _gather(self, idx: np.ndarray, layout: str):
        """Decode ``idx`` (any shape: (N,) frames or (B, T) clips) into one output array."""
        self._check_open()
        uniq, slot_of = unique_targets(idx)
        out = self._fmt.alloc(idx.shape, self._index.height, self._index.width, layout)
        positions: list[list[tuple]] = [[] for _ in range(len(uniq))]
        for where, slot in np.ndenumerate(slot_of):
            positions[slot].append(where)
        got = np.zeros(len(uniq), dtype=bool)

        def on_frame(slot: int, img: np.ndarray) -> None:
            if img.shape[:2] != out_hw:  # only without size=: resizing gives every frame the same shape
                raise InvalidVideoError(self._path, f"frame {uniq[slot]} is {img.shape[1]}x{img.shape[0]}, the "
                                        f"stream starts at {out_hw[1]}x{out_hw[0]}; pass size= to resize all frames")
            got[slot] = True
            for where in positions[slot]:
                self._fmt.place(img, out, where, layout)

        out_hw = self._fmt.frame_hw(self._index.height, self._index.width)
        issues = self._decode_unique(uniq, on_frame)
        return out, got[slot_of], issues

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> FrameBatch:
        """Frames at ``indices`` (negative allowed, any order, duplicates allowed), in that order.

        One forward decode plan per call: each needed frame is decoded once, however often it is asked.
        """
        idx = self._indices(indices).reshape(-1)
        data, ok, issues = self._gather(idx, self._fmt.frame_layout)
        if not ok.all():  # on_error="skip": leave the lost frames out
            data, idx = data[ok], idx[ok]
        return FrameBatch(data=data, indices=idx, pts_seconds=self._index.pts_seconds[idx], issues=issues)

    def get_frames_at_times(self, seconds: Sequence[float] | np.ndarray) -> FrameBatch:
        """The frame on screen at each time (from real timestamps, so right on variable frame rate)."""
        t = np.asarray(seconds, dtype=np.float64).reshape(-1)
        found = nearest_frames(self._index, t)
        if (found < 0).any():
            bad = float(t[found < 0][0])
            md = self.metadata
            raise IndexError(f"seconds contains {bad}, outside {self._path} "
                             f"(frames cover [{md.start_seconds:.6f}, {md.end_seconds:.6f}) s)")
        return self.get_frames(found)

    def get_clips(self, clips: Sequence[Sequence[int]] | np.ndarray, *, layout: str | None = None) -> ClipBatch:
        """Clips of frame indices, all of one length; frames shared between clips are decoded once.

        ``layout`` overrides the clip layout (``NTHWC``, ``NTCHW``, ``NCTHW``); data is (B, T, ...).
        """
        try:
            arr = np.asarray(clips)
        except ValueError as exc:
            raise ValueError("clips must be index lists of equal length") from exc
        if arr.ndim != 2 or arr.dtype == object:
            raise ValueError(f"clips must be a list of equal-length index lists (a 2-D array), got shape {arr.shape}")
        clip_layout = self._fmt.clip_layout(layout)
        idx = self._indices(arr, "clips")
        data, ok, issues = self._gather(idx, clip_layout)
        dropped: list[int] = []
        if not ok.all():
            keep = ok.all(axis=1)
            dropped = np.flatnonzero(~keep).tolist()
            data, idx = data[keep], idx[keep]
        return ClipBatch(data=data, indices=idx, pts_seconds=self._index.pts_seconds[idx], issues=issues,
                         dropped_clips=dropped)

    def __getitem__(self, key: int | slice) -> np.ndarray:
        """``video[i]`` -> one frame; ``video[a:b:s]`` -> frames (N, ...)."""
        if isinstance(key, slice):
            return self.get_frames(np.arange(len(self))[key]).data
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            batch = self.get_frames([int(key)])
            if len(batch) == 0:
                raise IndexError(f"frame {key} of {self._path} could not be decoded ({batch.issues[0].message})")
            return batch.data[0]
        raise TypeError(f"video indices must be int or slice, not {type(key).__name__}")

    def iter_frames(self, start: int = 0, stop: int | None = None, step: int = 1, *,
                    fps: float | None = None) -> Iterator[Frame]:
        """Walk the file forward without random access, one :class:`~framepipe.Frame` at a time.

        ``fps`` samples by timestamp instead of ``step``: the frame on screen every ``1/fps`` seconds.
        Memory holds one frame at a time.
        """
        self._check_open()
        n = len(self)
        for name, value in (("start", start), ("step", step)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if step <= 0:
            raise ValueError(f"step must be >= 1, got {step}")
        stop = n if stop is None else stop
        if not 0 <= start <= n or not 0 <= stop <= n:
            raise IndexError(f"start={start}, stop={stop} out of range for {self._path} ({n} frames)")
        if fps is None:
            targets = np.arange(start, stop, step, dtype=np.int64)
        else:
            if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not fps > 0 or not np.isfinite(fps):
                raise ValueError(f"fps must be a positive number, got {fps!r}")
            if step != 1:
                raise ValueError("give either step or fps, not both")
            pts = self._index.pts_seconds
            if start >= stop:
                targets = np.zeros(0, dtype=np.int64)
            else:
                end = pts[stop] if stop < n else self._index.end_pts * float(self._index.time_base)
                times = np.arange(pts[start], end, 1.0 / fps)
                targets = np.unique(nearest_frames(self._index, times))
                targets = targets[(targets >= start) & (targets < stop)]
        yielded = -1
        while True:
            try:
                for frame_index, frame, issue in self._decoder.frames(targets[targets > yielded]):
                    yielded = frame_index
                    if frame is None:
                        continue
                    img = self._fmt.convert(frame, self._reformatter)
                    if self._fmt.frame_layout == "NCHW":
                        img = np.ascontiguousarray(img.transpose(2, 0, 1))
                    yield Frame(data=img, index=frame_index, pts_seconds=float(self._index.pts_seconds[frame_index]))
                return
            except IndexMismatch as exc:
                self._fall_back_to_decode_index(exc)
