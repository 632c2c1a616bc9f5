"""The implementation of :mod:`framepipe.dataset`, whose docstrings are the documentation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._index.archive import IndexArchive, StoredIndex
from .._index.index import VideoIndex
from .._pixels.format import FrameFormat
from .._sampling.request import Request, error_rules, frame_range
from .._sampling.samplers import ClipSampling
from .._util.choices import SAMPLERS, OnBadVideo, OnEnd, OnError, Sampler
from .._util.constants import VIDEO_EXTENSIONS
from .._util.docs import fill
from .._util.warn import warn
from .indexing import Indexed, index_sources, open_store
from .listing import (
    LabelMap,
    VideoSource,
    resolve_sources,
    sources_from_folder,
    sources_from_manifest,
    sources_from_paths,
    with_keys,
)

__all__ = ["VideoSource", "ClipRef", "VideoDataset", "VIDEO_EXTENSIONS", "SAMPLERS"]


@dataclass(frozen=True)
class ClipRef:
    """Item ``i`` of a dataset: which video, its integer label (-1 if none), which frames, and which of
    the video's clips it is (``clip``: the number the seeding rule gives its augmentation)."""

    video: int
    label: int
    frames: list[int]
    clip: int = 0


@fill
class VideoDataset:
    """Clips over many videos. ``len(ds)`` clips; ``ds.clip(i)`` says which; ``ds.read(i, reader)`` decodes.

    Thread safety: ``clip``, ``read`` and ``len`` may be called from several threads at once (each with its
    own reader); ``set_epoch`` between epochs, not during one.

    Samplers (``sampler=``): ``"windows"`` (every window of ``length`` frames ``step`` apart, every
    ``stride`` frames), ``"random"`` (``clips_per_video`` random clips, redrawn by :meth:`set_epoch`),
    ``"uniform"`` (``clips_per_video`` evenly spaced), ``"segments"`` (TSN: ``length`` segments, one frame
    each, random in training). Per-video frame counts come from the index cache, so building a dataset
    over videos opened before takes milliseconds per video; new videos are indexed in ``index_workers``
    threads. A video that cannot be read follows ``on_bad_video``.

    Args:
        sources: the videos (:class:`VideoSource`); see also :meth:`from_folder`, :meth:`from_manifest`,
            :meth:`from_paths`.
        length: frames per clip (segments per clip for ``"segments"``).
        step: frames between the frames of a clip.
        stride: frames between window starts (``"windows"``; default ``length * step``).
        sampler: ``"windows"``, ``"random"``, ``"uniform"`` or ``"segments"``.
        clips_per_video: clips per video for the other samplers.
        train: ``"segments"`` picks at random in training, the centre otherwise.
        seed: seeds random clips (with the epoch); None: different every time.
        on_end: clips running past the end: ``"drop"``, ``"repeat_last"`` or ``"wrap"``.
        on_error: a frame that fails to decode: ``"raise"`` or ``"previous"`` (the frame before stands
            in), and ``"skip"`` where an item may be dropped (``can_skip_frames``).
        on_bad_video: a video that cannot be read: ``"raise"`` (default), or ``"skip"`` with a warning
            naming the file (``ds.skipped`` lists them all).
        stream: video stream index; None: the best one.
        index_workers: threads that index new videos.
        classes: class names in label order (default: the labels found, sorted).
        storage_options: {storage_options}
        frame_format: the output options of the readers (the request's format).
        can_skip_frames: whether the door can drop an item (an iterable dataset can; a map-style one
            cannot, so ``on_error="skip"`` is refused there).

    Random clips follow the seeding rule: a video's clips come from ``(seed, epoch, its key)`` (see
    the training guide's "One request, one answer"), sorted by start.

    Raises:
        ValueError: no sources, no readable video, or a bad argument.
        VideoError: a video cannot be read and ``on_bad_video="raise"``.
    """

    def __init__(
        self,
        sources: Sequence[VideoSource],
        *,
        length: int,
        step: int = 1,
        stride: int | None = None,
        sampler: Sampler = "windows",
        clips_per_video: int = 1,
        train: bool = True,
        seed: int | None = 0,
        on_end: OnEnd = "drop",
        on_error: OnError = "raise",
        on_bad_video: OnBadVideo | None = None,
        stream: int | None = None,
        index_workers: int | None = None,
        classes: Sequence[str] | None = None,
        storage_options: dict | None = None,
        frame_format: FrameFormat | None = None,
        can_skip_frames: bool = False,
        index: str | os.PathLike[str] | IndexArchive | None = None,
    ) -> None:
        sampling = ClipSampling(
            sampler=sampler,
            length=length,
            step=step,
            stride=stride,
            clips_per_video=clips_per_video,
            train=train,
            on_end=on_end,
            seed=seed,
        )
        on_error, on_bad_video = error_rules(
            on_error, on_bad_video, caller=type(self).__name__, can_skip_frames=can_skip_frames
        )
        self.request = Request(
            sampling,
            frame_format if frame_format is not None else FrameFormat(),
            on_error=on_error,
            on_bad_video=on_bad_video,
            stream=stream,
        )
        if not sources:
            raise ValueError("sources is empty: no videos to read")
        self.storage_options = storage_options
        self.labels = LabelMap([s.label for s in sources], classes)
        self.classes: list[str] = self.labels.classes
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        if index_workers is not None:
            warn(
                "framepipe: index_workers is deprecated: videos are indexed with as many requests in "
                "flight as helps (or read from index=STORE)",
                DeprecationWarning,
            )
        kept, self.skipped = index_sources(
            with_keys(list(sources)),
            on_bad_video=on_bad_video,
            stream=stream,
            storage_options=storage_options,
            store=open_store(index),
        )
        # (source, label id, what a reader needs): a few numbers a video, never its frames
        self._videos: list[tuple[VideoSource, int, Indexed]] = [
            (src, self.labels.id(src.label), got) for src, got in kept
        ]
        self._epoch = 0
        self._warned_short = False
        self._plan()

    @property
    def sampling(self) -> ClipSampling:
        """How clips are drawn (the request's sampling)."""
        assert isinstance(self.request.sampling, ClipSampling)  # a dataset's request is of clips
        return self.request.sampling

    @property
    def stream(self) -> int | None:
        return self.request.stream

    @property
    def on_error(self) -> str:
        """What a frame that fails to decode does (the request's ``on_error``)."""
        return self.request.on_error

    # the sampling options, as given (stride: as used)
    length = property(lambda self: self.sampling.length)
    step = property(lambda self: self.sampling.step)
    sampler = property(lambda self: self.sampling.sampler)
    stride = property(lambda self: self.sampling.window_stride)
    clips_per_video = property(lambda self: self.sampling.clips_per_video)
    train = property(lambda self: self.sampling.train)
    seed = property(lambda self: self.sampling.seed)
    on_end = property(lambda self: self.sampling.on_end)

    # --- construction ------------------------------------------------------------------------------
    @classmethod
    def from_folder(
        cls, root: str | os.PathLike[str], *, extensions: Sequence[str] = VIDEO_EXTENSIONS, **kwargs
    ):
        """``root/<class>/<video>``: one class per sub-folder, classes sorted by name."""
        return cls(sources_from_folder(root, extensions=extensions), **kwargs)

    @classmethod
    def from_manifest(cls, manifest: str | os.PathLike[str], **kwargs):
        """A CSV (``path,label[,start,end]``, header optional) or JSON-lines file (``{"path": ..., "label":
        ..., "start": ..., "end": ...}``); relative paths are relative to the manifest's folder, and URLs
        (``s3://...``, ``https://...``) are read as they are."""
        return cls(sources_from_manifest(manifest), **kwargs)

    @classmethod
    def from_paths(cls, paths: Sequence[str | os.PathLike[str]], labels: Sequence | None = None, **kwargs):
        """A list of videos (paths or URLs), with optional labels (class names or ints)."""
        return cls(sources_from_paths(paths, labels), **kwargs)

    @classmethod
    def from_any(cls, videos, labels: Sequence | None = None, **kwargs):
        """Whatever :func:`~framepipe._adapters.listing.resolve_sources` takes: a folder, a manifest, a glob,
        paths."""
        if isinstance(videos, VideoDataset):
            if labels is not None:
                raise ValueError("labels come from the VideoDataset; do not pass labels with one")
            return videos
        return cls(resolve_sources(videos, labels, storage_options=kwargs.get("storage_options")), **kwargs)

    # --- clip plan ---------------------------------------------------------------------------------
    def _plan(self) -> None:
        """How many clips each video gives (vectorised: no clip is drawn before it is asked for), and
        where each video's clips start among the items."""
        frames = np.array([self._usable_frames(v) for v in range(len(self._videos))], dtype=np.int64)
        counts = self.sampling.counts(frames)
        self._counts = counts
        self._starts = np.r_[0, np.cumsum(counts)]
        self._drawn: dict[tuple[int, int], np.ndarray] = {}  # the clips of the videos asked for lately
        short = np.flatnonzero(counts == 0)
        if len(short) and not self._warned_short:  # once per dataset, not at every epoch
            self._warned_short = True
            span = (self.length - 1) * self.step + 1
            names = [f"{self._videos[v][0].path} ({frames[v]} frames)" for v in short[:5].tolist()]
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            warn(
                f"framepipe: {len(short)} of {len(self._videos)} videos give no clips: too short for "
                f"clips spanning {span} frames (length={self.length}, step={self.step}): "
                f"{', '.join(names)}{more}"
            )

    def _usable_frames(self, v: int) -> int:
        """The frames of video ``v`` that clips may use (its start/end, where given, need its times)."""
        src, _label, got = self._videos[v]
        if src.start is None and src.end is None:
            return got.num_frames
        lo, hi = frame_range(src, got.pts_seconds())
        return hi - lo

    def _clips_of(self, v: int, epoch: int) -> np.ndarray:
        """Video ``v``'s clips in ``epoch``, drawn by the seeding rule on first use. Safe from several
        threads (Keras's workers, tf.data): a draw is a pure function of the video and the epoch."""
        clips = self._drawn.get((v, epoch))
        if clips is None:
            src, _label, got = self._videos[v]
            # each video's clips from (seed, epoch, its key): the same clips whichever door, worker or
            # process draws them, and whatever the other videos are (the request's one seeding rule)
            pts = got.pts_seconds() if src.start is not None or src.end is not None else _count_only(got)
            clips = self.request.rows(src, pts, epoch=epoch)
            if len(clips) != self._counts[v]:  # the plan's count and the draw are one rule
                raise AssertionError(f"{src.path}: planned {self._counts[v]} clips, drew {len(clips)}")
            while len(self._drawn) >= 64:  # readers go through videos in runs: keep the last few
                try:
                    self._drawn.pop(next(iter(self._drawn)), None)
                except (StopIteration, RuntimeError):  # another thread changed it meanwhile
                    break
            self._drawn[(v, epoch)] = clips
        return clips

    @property
    def epoch(self) -> int:
        """The epoch random clips were last drawn for (see :meth:`set_epoch`)."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Redraw random clips for ``epoch`` (seeded: the same epoch gives the same clips)."""
        self._epoch = int(epoch)
        self._plan()

    # --- access ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def num_videos(self) -> int:
        return len(self._videos)

    def video_path(self, video: int) -> str:
        return self._videos[video][0].path

    def video_source(self, video: int) -> VideoSource:
        """The listing entry of a (readable) video: its path, label and seeding key."""
        return self._videos[video][0]

    def frame_size(self, video: int) -> tuple[int, int]:
        """(height, width) of a (readable) video as stored."""
        got = self._videos[video][2]
        return got.height, got.width

    def num_frames(self, video: int) -> int:
        """The exact frame count of a (readable) video."""
        return self._videos[video][2].num_frames

    def openables(self) -> dict[int, tuple[str | bytes, VideoIndex | StoredIndex]]:
        """Every readable video by its number: what a reader opens (its path, or its bytes) and its index
        (made once here, or in the store), handed to the readers of every worker: they never index a
        video again."""
        return {v: (src.target, got.index) for v, (src, _label, got) in enumerate(self._videos)}

    def clip(self, i: int, *, epoch: int | None = None) -> ClipRef:
        """Item ``i``: which video, its label, which frames (``epoch``'s draw; default: :attr:`epoch`)."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"clip index {i} out of range for {n} clips")
        i %= n
        v = int(np.searchsorted(self._starts, i, side="right")) - 1
        k = i - int(self._starts[v])
        frames = self._clips_of(v, self._epoch if epoch is None else epoch)[k]
        return ClipRef(video=v, label=self._videos[v][1], frames=frames.tolist(), clip=k)

    def clips_per_video_count(self) -> np.ndarray:
        """How many clips each (readable) video contributes."""
        return self._counts.copy()


def _count_only(got: Indexed) -> np.ndarray:
    """A stand-in for a video's frame times where only their number matters (no start/end): a read-only
    array of its length that costs no memory, so that the store's times are not read."""
    return np.broadcast_to(np.float64(0.0), (got.num_frames,))
