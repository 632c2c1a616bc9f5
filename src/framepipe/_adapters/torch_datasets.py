"""The implementation of :mod:`framepipe.torch`, whose docstrings are the documentation."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from .._file.reader import VideoFile
from .._pixels.format import FrameFormat
from .._sampling.request import item_rng
from .._util.checks import check_callable, check_choice, check_int
from .._util.choices import ClipLayout, OnBadVideo, OnError, TensorClipLayout
from .._util.docs import fill
from ..augment import Augmentation, TemporalJitter
from .dataset import VideoDataset
from .pool import Opener, ReaderPool

__all__ = ["ClipDataset", "WindowStream"]

# one clip's layout -> the clip layout a reader arranges it in; a clip is named either way (without the
# batch's N, or as a batch of clips is: the layout vocabulary of FrameFormat)
_LAYOUTS: dict[str, ClipLayout] = {
    "TCHW": "NTCHW",
    "CTHW": "NCTHW",
    "THWC": "NTHWC",
    "NTCHW": "NTCHW",
    "NCTHW": "NCTHW",
    "NTHWC": "NTHWC",
}


def _opener(fmt: FrameFormat, videos: VideoDataset, threads: int) -> Opener:
    # credentials for URLs travel with the opener: each worker connects itself; so do the indexes made
    # in the main process, so that no worker indexes a video again
    return Opener(
        fmt,
        stream=videos.stream,
        threads=threads,
        on_error=videos.request.on_error,
        storage_options=videos.storage_options,
        known=videos.openables(),  # keyed by video number
    )


def _format(frame_format: FrameFormat | None, options: dict, caller: str) -> FrameFormat:
    # training wants float32 in [0, 1] unless told otherwise; the adapter makes the tensors itself
    return FrameFormat.from_options(frame_format, options, caller=caller, dtype="float32").replace(
        array="numpy"
    )


def _dataset(videos, labels, kwargs) -> VideoDataset:
    return VideoDataset.from_any(videos, labels, **kwargs)


class _SharedEpoch:
    """The epoch, in shared memory: ``set_epoch`` in the main process reaches every DataLoader worker,
    persistent ones included (a plain attribute would stay at the value the worker was started with)."""

    def __init__(self) -> None:
        self.value = torch.zeros(1, dtype=torch.int64).share_memory_()

    def get(self) -> int:
        return int(self.value[0])

    def set(self, epoch: int) -> None:
        self.value[0] = epoch


@fill
class ClipDataset(Dataset):
    """Map-style dataset: item ``i`` is ``(clip, label)``, clip a float32 tensor in ``layout`` (``TCHW``
    by default, or ``CTHW``/``THWC``), label an int (-1 without labels).

    Thread safety: items may be read from several threads at once (its reader pool hands each thread its
    own reader), and in DataLoader workers (each process its own pool); ``set_epoch`` between epochs.

    Args:
        videos: a folder of class sub-folders, a manifest (``.csv``/``.jsonl``), a list of paths (with
            ``labels``), or a :class:`~framepipe.dataset.VideoDataset`.
        labels: one label per path when ``videos`` is a list (class names or ints).
        length: frames per clip.
        layout: the tensor's layout: ``"TCHW"``, ``"CTHW"`` or ``"THWC"``.
        frame_format: {frame_format}
        augment: a callable on each decoded (T, H, W, C) clip, before the layout change: ``f(clip, rng)``
            (the built-ins of :mod:`framepipe.augment`, ``Compose``) or ``f(clip)``. ``rng`` is the item's
            own generator, from ``(seed, epoch, video, clip)``: a seeded run repeats exactly with any
            number of workers, and no two workers replay each other's draws (``seed=None``: fresh
            entropy per item).
        temporal_jitter: shift each clip by up to this many frames (drawn from the item's generator).
        threads: decoder threads per reader (1: many workers share the cores).
        max_open: readers kept open per worker.
        **options: sampling keywords for :class:`~framepipe.dataset.VideoDataset` (``step``, ``stride``,
            ``sampler``, ``clips_per_video``, ``train``, ``seed``, ``on_end``, ``on_error`` (a frame that
            fails: ``"raise"`` or ``"previous"``), ``on_bad_video``, ``stream``) and the output keywords.

    The request's clips are the same as ``framepipe.ray.read_clips`` and ``framepipe clips`` give for
    the same arguments (the training guide's "One request, one answer").

    Raises:
        ValueError, TypeError: an argument is wrong; the message names it.

    Example:
        >>> import os, tempfile
        >>> from framepipe.tools.synthetic import make_video
        >>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=24)
        >>> ds = ClipDataset([path], labels=["a"],
        ...                  length=8, size=32)
        >>> clip, label = ds[0]; tuple(clip.shape), label
        ((8, 3, 32, 32), 0)
    """

    def __init__(
        self,
        videos,
        labels: Sequence | None = None,
        *,
        length: int,
        layout: TensorClipLayout | ClipLayout = "TCHW",
        frame_format: FrameFormat | None = None,
        augment: Callable[..., np.ndarray] | None = None,
        temporal_jitter: int = 0,
        threads: int = 1,
        max_open: int = 16,
        **options,
    ) -> None:
        format_options, sampling_options = FrameFormat.split_options(options)
        self._layout = _LAYOUTS[check_choice("layout", layout, tuple(_LAYOUTS))]
        # augmentations see (T, H, W, C); the tensor layout is applied after them
        self._fmt = _format(frame_format, format_options, "ClipDataset").replace(layout="NTHWC")
        self.videos = _dataset(
            videos, labels, dict(length=length, frame_format=self._fmt, **sampling_options)
        )
        self.augment = check_callable("augment", augment, "a clip array")
        self._augment = Augmentation(augment) if augment is not None else None
        temporal_jitter = check_int("temporal_jitter", temporal_jitter, minimum=0)
        self._jitter = TemporalJitter(temporal_jitter) if temporal_jitter else None
        self._readers = ReaderPool(_opener(self._fmt, self.videos, threads), max_open=max_open)
        self._epoch = _SharedEpoch()
        self._epoch.set(self.videos.epoch)

    @property
    def classes(self) -> list[str]:
        return self.videos.classes

    def __len__(self) -> int:
        return len(self.videos)

    @property
    def epoch(self) -> int:
        """The epoch that random clips and augmentation are drawn for."""
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        """Redraw random clips and augmentation for ``epoch`` (call before each epoch in the main process,
        as with ``DistributedSampler``). It reaches every DataLoader worker, persistent ones included: the
        epoch lives in shared memory."""
        epoch = check_int("epoch", epoch, minimum=0)
        self._epoch.set(epoch)
        self.videos.set_epoch(epoch)

    def __getitem__(self, i: int):
        epoch = self._epoch.get()  # set in the main process; shared memory reaches every worker
        ref = self.videos.clip(i, epoch=epoch)
        src = self.videos.video_source(ref.video)
        # the item's own draws: the same whichever worker reads it, never another worker's
        rng = item_rng(self.videos.seed, epoch, src.seed_key, ref.clip)
        frames = np.asarray(ref.frames)
        with self._readers.reader(ref.video) as reader:
            if self._jitter is not None:
                frames = self._jitter(frames, len(reader), rng)
            clip = reader.get_clips([frames]).data[0]
        if self._augment is not None:
            clip = self._augment(clip, rng)
        return _to_tensor(clip, self._layout), ref.label


def _to_tensor(clip: np.ndarray, layout: str) -> torch.Tensor:
    """A (T, H, W, C) clip as a contiguous tensor in the clip ``layout``."""
    return torch.from_numpy(np.ascontiguousarray(FrameFormat.arrange(clip, layout)))


@fill
class WindowStream(IterableDataset):
    """Every window of ``length`` frames (``step`` apart, one every ``stride`` frames) over one or more long
    videos, read sequentially: yields ``(clip, label)``.

    Thread safety: each ``iter()`` is its own pass with its own readers; one iterator is for one thread
    (DataLoader workers each get their share of the windows).

    Args:
        videos: as for :class:`ClipDataset`.
        labels: as for :class:`ClipDataset`.
        length: frames per window.
        step: frames between the frames of a window.
        stride: frames between window starts (default: ``length * step``).
        layout: the tensor's layout: ``"TCHW"``, ``"CTHW"`` or ``"THWC"``.
        frame_format: {frame_format}
        batch_windows: windows decoded per call (overlaps decoded once).
        threads: decoder threads per reader.
        on_error: a frame that fails to decode: ``"raise"``, ``"skip"`` (its window is left out) or
            ``"previous"``.
        on_bad_video: a video that cannot be read: ``"raise"`` or ``"skip"``.
        **options: more :class:`~framepipe.dataset.VideoDataset` keywords, and the output keywords.

    Windows are split into contiguous shards, one per (rank, worker), so each worker decodes forward
    through its own stretch and every window comes out exactly once per epoch across all of them.
    Clips are grouped ``batch_windows`` at a time per decode call (frames shared by overlapping windows
    are decoded once).
    """

    def __init__(
        self,
        videos,
        labels: Sequence | None = None,
        *,
        length: int,
        step: int = 1,
        stride: int | None = None,
        layout: TensorClipLayout | ClipLayout = "TCHW",
        frame_format: FrameFormat | None = None,
        batch_windows: int = 16,
        threads: int = 1,
        on_error: OnError = "raise",
        on_bad_video: OnBadVideo | None = None,
        **options,
    ) -> None:
        super().__init__()
        format_options, dataset_options = FrameFormat.split_options(options)
        clip_layout = _LAYOUTS[check_choice("layout", layout, tuple(_LAYOUTS))]
        # the reader arranges clips in the tensor layout already
        self._fmt = _format(frame_format, format_options, "WindowStream").replace(layout=clip_layout)
        self.videos = _dataset(
            videos,
            labels,
            dict(
                length=length,
                step=step,
                stride=stride,
                sampler="windows",
                on_error=on_error,
                on_bad_video=on_bad_video,
                frame_format=self._fmt,
                can_skip_frames=True,
                **dataset_options,
            ),
        )
        self.batch_windows = check_int("batch_windows", batch_windows, minimum=1)
        self._opener = _opener(self._fmt, self.videos, threads)

    def __len__(self) -> int:
        return len(self.videos)

    def _shard(self) -> tuple[int, int]:
        rank, world = 0, 1
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
        info = get_worker_info()
        workers, wid = (1, 0) if info is None else (info.num_workers, info.id)
        return rank * workers + wid, world * workers

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        shard, shards = self._shard()
        n = len(self.videos)
        lo, hi = n * shard // shards, n * (shard + 1) // shards
        reader: VideoFile | None = None
        current = -1
        i = lo
        try:
            while i < hi:
                ref = self.videos.clip(i)
                if ref.video != current:
                    if reader is not None:
                        reader.close()
                    reader = self._opener(ref.video)
                    current = ref.video
                group = [ref]
                while len(group) < self.batch_windows and i + len(group) < hi:
                    nxt = self.videos.clip(i + len(group))
                    if nxt.video != current:
                        break
                    group.append(nxt)
                assert reader is not None  # opened for the first clip above
                batch = reader.get_clips([g.frames for g in group])  # already in the clip layout
                dropped = set(batch.dropped_clips)
                kept = [g for k, g in enumerate(group) if k not in dropped]
                for clip, g in zip(batch.data, kept):  # (on_error="skip" leaves a failed window out)
                    yield torch.from_numpy(clip), g.label  # (already in the tensor layout)
                i += len(group)
        finally:
            if reader is not None:
                reader.close()
