"""The implementation of :mod:`framepipe.keras`, whose docstrings are the documentation."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from .._file.reader import VideoFile
from .._pixels.format import FrameFormat
from .._sampling.request import VideoSource
from .._sampling.timeseries import TimeseriesWindows
from .._util.checks import check_bool, check_callable, check_int
from .._util.choices import OnBadVideo, OnError
from .._util.docs import fill
from .._util.warn import warn
from ..augment import Augmentation
from .indexing import index_sources, open_store
from .keras_base import KerasBatches, tensor_shape
from .listing import LabelMap, resolve_sources
from .pool import Opener, ReaderPool

__all__ = ["TimeseriesGenerator", "keras_format"]


def keras_format(frame_format: FrameFormat | None, options: dict, caller: str) -> FrameFormat:
    # float32 in [0, 1], clips as (T, H, W, C), unless told otherwise; Keras takes NumPy batches
    return FrameFormat.from_options(
        frame_format, options, caller=caller, dtype="float32", layout="NTHWC"
    ).replace(array="numpy")


@fill
class TimeseriesGenerator(KerasBatches):
    """A ``keras.utils.PyDataset`` of frame windows with exactly Keras's ``TimeseriesGenerator`` semantics,
    over one video or many, frames decoded on demand (never the whole video).

    Thread safety: batches may be read from several threads at once (Keras's ``workers``, tf.data), each
    with its own reader; ``set_epoch`` / ``on_epoch_end`` between epochs.

    Keras's own signature, positionally: ``TimeseriesGenerator(data, targets, length, sampling_rate=1,
    stride=1, start_index=0, end_index=None, shuffle=False, reverse=False, batch_size=128)``, with
    ``data`` a video instead of an array. Batch ``i`` holds the windows of rows ``start_index + length + i *
    batch_size * stride`` on, every ``stride`` rows, up to ``end_index`` (default: the last frame); the
    window of row ``r`` is frames ``range(r - length, r, sampling_rate)`` and its target ``targets[r]``.
    ``len(gen)`` is ``(end - start + batch_size * stride) // (batch_size * stride)``. With ``shuffle``, each
    batch draws ``batch_size`` rows at random with replacement, as Keras does (from ``seed``, the epoch,
    the video key and the batch: the seeding rule of every door, so a seed makes each epoch reproducible
    in any worker). ``reverse`` flips each window in time.

    **Many videos** (a list, a folder of class sub-folders, a manifest, a glob, in-memory videos): each
    video's rows follow the rules above on their own (``end_index`` is capped at each video's last frame),
    one after the other in the listing's order; a window never crosses from one video into the next.
    ``targets`` is then a list of per-frame targets, one array per video, or a callable of ``(frames,
    videos)``; with ``targets=None`` and labelled videos (class folders, a manifest, ``labels=``), ``y`` is
    each window's label id.

    ``x`` is (batch, ceil(length / sampling_rate), H, W, C), float32 in [0, 1] unless the output options
    (``size``, ``resize``, ``color``, ``dtype``, ``layout``, ``interpolation``, ``mean``, ``std``, or
    ``frame_format``: see :class:`~framepipe.FrameFormat`) say otherwise.

    Args:
        data: a path, URL or open :class:`~framepipe.VideoFile` (its index is reused); or many videos.
        targets: None (batches are ``x`` alone, or ``(x, label ids)`` for labelled videos), one target per
            frame (``y = targets[rows]``; a list of such arrays for many videos), or a callable taking the
            (batch, T) frame indices (and for many videos the (batch,) video numbers) and returning ``y``.
        length: Keras's ``length``: frames of history per window, before ``sampling_rate``.
        sampling_rate: take every ``sampling_rate``-th frame of the window.
        stride: rows between windows.
        start_index: first row is ``start_index + length``.
        end_index: last row (default: the last frame).
        shuffle: draw rows at random with replacement (Keras's behaviour).
        reverse: windows in reverse time order.
        batch_size: windows per batch.
        labels: one label per video, for a list of videos.
        frame_format: {frame_format}
        stream: video stream index; None: the best one.
        threads: decoder threads per reader.
        on_error: a frame that fails to decode: ``"raise"``, ``"skip"`` (a batch then holds fewer
            windows) or ``"previous"``.
        on_bad_video: a video that cannot be read (many videos): ``"raise"`` or ``"skip"``.
        augment: a callable on each (T, H, W, C) clip after decoding: ``f(clip, rng)`` (see
            :mod:`framepipe.augment`) or ``f(clip)``; ``rng`` is the window's own generator.
        seed: makes ``shuffle`` and ``augment`` reproducible per epoch; None: fresh draws.
        workers: Keras ``PyDataset`` workers.
        use_multiprocessing: Keras ``PyDataset`` processes instead of threads (on JAX, threads: JAX does
            not survive Keras's forked workers; a warning says so).
        max_queue_size: Keras ``PyDataset`` queue.
        storage_options: {storage_options}
        index: an index store's folder (``framepipe index``): the videos it lists are not opened here.
        **format_options: {format_options}

    Raises:
        ValueError, TypeError: an argument is wrong; the message names it.

    Example:
        >>> import os, tempfile
        >>> from framepipe.tools.synthetic import make_video
        >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=40)
        >>> gen = TimeseriesGenerator(path, None, 8, 2, 4, batch_size=3, size=(32, 32))
        >>> len(gen), gen[0].shape
        (3, (3, 4, 32, 32, 3))
    """

    def __init__(
        self,
        data=None,
        targets: np.ndarray | Sequence | Callable | None = None,
        length: int | None = None,
        sampling_rate: int = 1,
        stride: int = 1,
        start_index: int = 0,
        end_index: int | None = None,
        shuffle: bool = False,
        reverse: bool = False,
        batch_size: int = 128,
        *,
        labels: Sequence | None = None,
        frame_format: FrameFormat | None = None,
        stream: int | None = None,
        threads: int = 1,
        on_error: OnError = "raise",
        on_bad_video: OnBadVideo = "raise",
        augment: Callable[..., np.ndarray] | None = None,
        seed: int | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        storage_options: dict | None = None,
        index=None,
        video=None,
        **format_options,
    ) -> None:
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        if video is not None:  # the older name of data
            if data is not None:
                raise TypeError("give data (the video), not both data and video")
            warn("framepipe: TimeseriesGenerator(video=...) is deprecated: pass data=", DeprecationWarning)
            data = video
        if data is None:
            raise TypeError("TimeseriesGenerator needs data: a video (a path, URL or VideoFile), or many")
        if length is None:
            raise TypeError("TimeseriesGenerator needs length (Keras's third argument)")
        fmt = keras_format(frame_format, format_options, "TimeseriesGenerator")
        check_callable("augment", augment, "a clip array")
        self._augment = Augmentation(augment) if augment is not None else None
        self._seed = check_int("seed", seed, minimum=0, allow_none=True)
        keras_args: dict = dict(
            length=length,
            sampling_rate=sampling_rate,
            stride=stride,
            start_index=start_index,
            end_index=end_index,
            shuffle=check_bool("shuffle", shuffle),
            reverse=check_bool("reverse", reverse),
            batch_size=batch_size,
        )
        if isinstance(data, VideoFile):
            base = data.with_format(fmt)
            base.close()  # the template only; each worker opens its own reader
            sources = [VideoSource(base.path, key=os.path.basename(base.path))]
            self._readers = ReaderPool(Opener(template=base), max_open=max(1, workers))
            indexes = [(sources[0], len(base), base.metadata.height, base.metadata.width)]
        else:
            listed = resolve_sources(data, labels, storage_options=storage_options)
            if not listed:
                raise ValueError("data is empty: no videos to read")
            known, indexes = self._index(listed, stream, storage_options, on_bad_video, open_store(index))
            sources = [src for src, *_ in indexes]
            self._readers = ReaderPool(
                Opener(
                    fmt,
                    stream=stream,
                    threads=threads,
                    on_error=on_error,
                    storage_options=storage_options,
                    known=known,
                ),
                max_open=max(1, workers),
            )
        self._fmt = fmt
        self._key = sources[0].seed_key
        self._many = not isinstance(data, (VideoFile, str, os.PathLike, bytes, dict)) or len(sources) > 1
        self._sources = sources
        self._shape = (
            (indexes[0][2], indexes[0][3]) if len({(h, w) for *_, h, w in indexes}) == 1 else (None, None)
        )
        if not self._many:
            self._windows = TimeseriesWindows(indexes[0][1], **keras_args)
        else:
            self._windows_of = self._plan_many(indexes, keras_args)
        self._labels = LabelMap([s.label for s in sources])
        self._labelled = bool(self._labels.classes) or self._labels.numeric
        self._window_length = len(range(0, check_int("length", length, minimum=1), max(1, sampling_rate)))
        self._targets = self._check_targets(targets, [n for _, n, *_ in indexes])

    # --- construction -------------------------------------------------------------------------------------
    @staticmethod
    def _index(listed: list[VideoSource], stream, storage_options, on_bad_video: str, store):
        kept, _skipped = index_sources(
            listed, on_bad_video=on_bad_video, stream=stream, storage_options=storage_options, store=store
        )
        known = {v: (src.target, got.index) for v, (src, got) in enumerate(kept)}
        return known, [(src, got.num_frames, got.height, got.width) for src, got in kept]

    def _plan_many(self, indexes, keras_args: dict) -> list[TimeseriesWindows | None]:
        windows: list[TimeseriesWindows | None] = []
        short = []
        for src, n, *_ in indexes:
            end = keras_args["end_index"]
            args = dict(keras_args, end_index=None if end is None else min(end, n - 1))
            try:
                windows.append(TimeseriesWindows(n, **args))
            except ValueError:  # too short for one window
                windows.append(None)
                short.append(f"{src.path} ({n} frames)")
        if short:
            warn(f"framepipe: {len(short)} videos give no window: {', '.join(short[:5])}")
        if all(w is None for w in windows):
            raise ValueError("no video is long enough for one window")
        rows = [
            np.arange(w.first_row, w.last_row + 1, w.stride, dtype=np.int64) if w else np.zeros(0, np.int64)
            for w in windows
        ]
        self._row_video = np.concatenate([np.full(len(r), v, np.int64) for v, r in enumerate(rows)])
        self._row = np.concatenate(rows)
        # for shuffle: every row from first to last of each video, as Keras draws (stride aside)
        spans = [(w.last_row - w.first_row + 1) if w else 0 for w in windows]
        self._span_ends = np.cumsum(spans)
        self._span_firsts = np.array([w.first_row if w else 0 for w in windows], dtype=np.int64)
        self._batch_size = keras_args["batch_size"]
        self._shuffle = keras_args["shuffle"]
        return windows

    def _check_targets(self, targets, lengths: list[int]):
        if targets is None or callable(targets):
            return targets
        if not self._many:
            targets = np.asarray(targets)
            if len(targets) != lengths[0]:
                raise ValueError(
                    f"targets must have one entry per frame ({lengths[0]} for {self._sources[0].path}), "
                    f"got {len(targets)}"
                )
            return targets
        if len(targets) != len(lengths):
            raise ValueError(
                f"targets for many videos: one array per video ({len(lengths)}), got {len(targets)}"
            )
        arrays = [np.asarray(t) for t in targets]
        for src, n, t in zip(self._sources, lengths, arrays):
            if len(t) != n:
                raise ValueError(f"targets for {src.path} must have one entry per frame ({n}), got {len(t)}")
        return arrays

    # --- batches ------------------------------------------------------------------------------------------
    @property
    def windows(self) -> TimeseriesWindows:
        """The index math (Keras parameters) behind a generator of one video."""
        if self._many:
            raise AttributeError("a generator of many videos has one TimeseriesWindows per video: windows_of")
        return self._windows

    @property
    def windows_of(self) -> list[TimeseriesWindows | None]:
        """The index math of each video (None for one too short for a window)."""
        return [self._windows] if not self._many else self._windows_of

    def __len__(self) -> int:
        if not self._many:
            return len(self._windows)
        return -(-len(self._row) // self._batch_size)

    def _rows(self, index: int, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(video number, row) of each window of batch ``index``."""
        rng = self._rng(epoch, index)
        if not self._many:
            rows = self._windows.batch_rows(index, rng=rng)
            return np.zeros(len(rows), np.int64), rows
        if self._shuffle:
            pick = rng.integers(0, int(self._span_ends[-1]), size=self._batch_size)
            video = np.searchsorted(self._span_ends, pick, side="right")
            before = np.where(video > 0, self._span_ends[np.maximum(video - 1, 0)], 0)
            return video, self._span_firsts[video] + pick - before
        sl = slice(index * self._batch_size, (index + 1) * self._batch_size)
        return self._row_video[sl], self._row[sl]

    def _frames(self, videos: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The frame indices of each row's window, (len(rows), T)."""
        if not self._many:
            return self._windows.window(rows)
        out = np.zeros((len(rows), self._window_length), dtype=np.int64)
        for k, (v, r) in enumerate(zip(videos.tolist(), rows.tolist())):
            out[k] = self._windows_of[v].window(np.array([r]))[0]  # type: ignore[union-attr]
        return out

    def batch(self, index: int, epoch: int):
        videos, rows = self._rows(index, epoch)
        frames = self._frames(videos, rows)
        keep = np.ones(len(rows), dtype=bool)
        groups = []
        for v in np.unique(videos).tolist():
            at = np.flatnonzero(videos == v)
            with self._readers.reader(v) as reader:  # one reader per thread of Keras's workers
                got = reader.get_clips(frames[at])
            keep[at[got.dropped_clips]] = False  # on_error="skip": keep x and y aligned
            groups.append((at, got))
        if len(groups) == 1 and keep.all():
            x = groups[0][1].data  # one video, nothing dropped: the decoded batch as it is
        else:
            placed: dict[int, np.ndarray] = {}
            for at, got in groups:
                ok = np.ones(len(at), dtype=bool)
                ok[got.dropped_clips] = False
                placed.update(zip(at[ok].tolist(), got.data))
            shape = tensor_shape(self._fmt, self._window_length, *self._shape)[1:]
            empty = np.zeros((0, *(d or 0 for d in shape)), dtype=self._fmt.dtype)
            x = np.stack([placed[p] for p in np.flatnonzero(keep).tolist()]) if keep.any() else empty
        videos, rows, frames = videos[keep], rows[keep], frames[keep]
        x = self._augmented(x, self._augment, epoch, index)
        if self._targets is None:
            if not self._labelled:
                return x
            return x, np.array([self._labels.id(self._sources[v].label) for v in videos.tolist()], np.int64)
        return x, self._y(videos, rows, frames)

    def _y(self, videos: np.ndarray, rows: np.ndarray, frames: np.ndarray) -> np.ndarray:
        if callable(self._targets):
            return np.asarray(self._targets(frames) if not self._many else self._targets(frames, videos))
        if not self._many:
            return self._targets[rows]
        if not len(rows):
            return self._targets[0][:0]
        return np.stack([self._targets[v][r] for v, r in zip(videos.tolist(), rows.tolist())])

    def element_spec(self) -> tuple:
        x_shape = tensor_shape(self._fmt, self._window_length, *self._shape)
        if self._targets is None:
            return (x_shape, self._fmt.dtype) + (((None,), "int64") if self._labelled else (None, None))
        videos, rows = self._rows(0, self._epoch)  # y of the first batch's rows: no decoding
        y = self._y(videos, rows, self._frames(videos, rows))
        return x_shape, self._fmt.dtype, (None, *y.shape[1:]), y.dtype.name
