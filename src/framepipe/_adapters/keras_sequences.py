"""The implementation of :mod:`framepipe.keras`, whose docstrings are the documentation."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import keras
import numpy as np

from .._file.reader import VideoFile
from .._pixels.format import FrameFormat
from .._sampling.request import ITEMS, rng_for
from .._sampling.timeseries import TimeseriesWindows
from .._util.checks import check_callable, check_int
from .._util.choices import OnError
from .._util.docs import fill
from ..augment import Augmentation
from .listing import sources_from_paths
from .pool import Opener, ReaderPool

__all__ = ["TimeseriesGenerator"]


@fill
class TimeseriesGenerator(keras.utils.PyDataset):
    """A ``keras.utils.PyDataset`` of frame windows with exactly Keras's ``TimeseriesGenerator`` semantics.

    Batch ``i`` holds the windows of rows ``start_index + length + i * batch_size * stride`` on, every
    ``stride`` rows, up to ``end_index`` (default: the last frame); the window of row ``r`` is frames
    ``range(r - length, r, sampling_rate)`` and its target is ``targets[r]``. ``len(gen)`` is
    ``(end - start + batch_size * stride) // (batch_size * stride)``. With ``shuffle``, each batch draws
    ``batch_size`` rows at random with replacement, as Keras does (seeded by ``seed``, the epoch and the
    batch index, so a seed makes every epoch reproducible). ``reverse`` flips each window in time.

    ``x`` is (batch, ceil(length / sampling_rate), H, W, C), float32 in [0, 1] unless the output options
    (``size``, ``resize``, ``color``, ``dtype``, ``layout``, ``interpolation``, ``mean``, ``std`` as
    keywords, or ``frame_format``: see :class:`~framepipe.FrameFormat`) say otherwise. ``targets``: None
    (batches are ``x`` alone), an array with one target
    per frame (``y = targets[rows]``), or a callable taking the (batch, T) frame indices of the windows and
    returning ``y``. ``augment``: a callable applied to each clip (T, H, W, C) after decoding, ``f(clip,
    rng)`` (see :mod:`framepipe.augment`) or ``f(clip)``; ``rng`` is the window's own generator (from
    ``seed``, the epoch, the batch and the window's place in it), so Keras's workers never replay each
    other's draws. Frames are decoded on demand by one reader per worker thread or process.

    Args:
        video: a path or an open :class:`~framepipe.VideoFile` (its index is reused).
        length: Keras's ``length``: frames of history per window, before ``sampling_rate``.
        sampling_rate: take every ``sampling_rate``-th frame of the window.
        stride: rows between windows.
        start_index: first row is ``start_index + length``.
        end_index: last row (default: the last frame).
        shuffle: draw rows at random with replacement (Keras's behaviour).
        reverse: windows in reverse time order.
        batch_size: windows per batch.
        targets: None, one target per frame, or a callable on the (batch, T) frame indices.
        frame_format: {frame_format}
        stream: video stream index; None: the best one.
        threads: decoder threads per reader.
        on_error: ``"raise"``, ``"skip"`` (a batch then holds fewer windows) or ``"previous"``.
        augment: callable on each (T, H, W, C) clip: ``f(clip, rng)`` or ``f(clip)``.
        seed: makes ``shuffle`` and ``augment`` reproducible per epoch; None: fresh draws.
        workers: Keras ``PyDataset`` workers.
        use_multiprocessing: Keras ``PyDataset`` processes instead of threads.
        max_queue_size: Keras ``PyDataset`` queue.
        storage_options: {storage_options}
        **format_options: {format_options}

    Raises:
        ValueError, TypeError: an argument is wrong; the message names it.
    """

    def __init__(
        self,
        video: str | os.PathLike[str] | VideoFile,
        *,
        length: int,
        sampling_rate: int = 1,
        stride: int = 1,
        start_index: int = 0,
        end_index: int | None = None,
        shuffle: bool = False,
        reverse: bool = False,
        batch_size: int = 128,
        targets: np.ndarray | Sequence | Callable[[np.ndarray], np.ndarray] | None = None,
        frame_format: FrameFormat | None = None,
        stream: int | None = None,
        threads: int = 1,
        on_error: OnError = "raise",
        augment: Callable[..., np.ndarray] | None = None,
        seed: int | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        storage_options: dict | None = None,
        **format_options,
    ) -> None:
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        # float32 in [0, 1], clips as (T, H, W, C), unless told otherwise
        fmt = FrameFormat.from_options(
            frame_format, format_options, caller="TimeseriesGenerator", dtype="float32", layout="NTHWC"
        ).replace(array="numpy")  # Keras takes NumPy batches
        if isinstance(video, VideoFile):
            base = video.with_format(fmt)
        else:
            base = VideoFile(
                video,
                frame_format=fmt,
                stream=stream,
                threads=threads,
                on_error=on_error,
                storage_options=storage_options,
            )
        base.close()  # the template only; each worker opens its own reader
        self._base = base
        self._readers = ReaderPool(Opener(template=base), max_open=max(1, workers))
        n = len(base)
        self._windows = TimeseriesWindows(
            n, length, sampling_rate, stride, start_index, end_index, bool(shuffle), bool(reverse), batch_size
        )
        if targets is not None and not callable(targets):
            targets = np.asarray(targets)
            if len(targets) != n:
                raise ValueError(
                    f"targets must have one entry per frame ({n} for {base.path}), got {len(targets)}"
                )
        self._targets = targets
        check_callable("augment", augment, "a clip array")
        self._augment = Augmentation(augment) if augment is not None else None
        self._seed = check_int("seed", seed, minimum=0, allow_none=True)
        self._key = sources_from_paths([base.path])[0].seed_key  # as a dataset of this one video keys it
        self._epoch = 0

    @property
    def num_batches(self) -> int:
        return len(self._windows)

    def __len__(self) -> int:
        return len(self._windows)

    @property
    def windows(self) -> TimeseriesWindows:
        """The index math (Keras parameters) behind this generator."""
        return self._windows

    @property
    def epoch(self) -> int:
        """The epoch that shuffled rows and augmentation are drawn for."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw shuffled rows and augmentation for ``epoch`` (``fit`` moves on by itself, through
        ``on_epoch_end``; this is for loops of your own)."""
        self._epoch = check_int("epoch", epoch, minimum=0)

    def _rng(self, *item: int) -> np.random.Generator:
        return rng_for(self._seed, self._epoch, self._key, ITEMS, *item)

    def __getitem__(self, index: int):
        check_int("batch index", index)
        batch_number = int(index) % max(len(self), 1)
        rng = self._rng(batch_number)
        rows = self._windows.batch_rows(int(index), rng=rng)
        frames = self._windows.window(rows)
        with self._readers.reader(None) as reader:  # one per thread of Keras's workers
            batch = reader.get_clips(frames)
        x = batch.data
        if batch.dropped_clips:  # on_error="skip": keep x and y aligned
            keep = np.ones(len(rows), dtype=bool)
            keep[batch.dropped_clips] = False
            rows, frames = rows[keep], frames[keep]
        if self._augment is not None and len(x):
            x = np.stack([self._augment(clip, self._rng(batch_number, k)) for k, clip in enumerate(x)])
        if self._targets is None:
            return x
        y = self._targets(frames) if callable(self._targets) else self._targets[rows]
        return x, np.asarray(y)

    def on_epoch_end(self) -> None:
        self._epoch += 1
