"""The implementation of :mod:`framepipe.dataset`, whose docstrings are the documentation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .._file.open import open as open_video
from .._sampling.samplers import ClipSampling
from .._util.checks import check_choice
from .._util.choices import READ_ON_ERROR, SAMPLERS, OnEnd, ReadOnError, Sampler
from .._util.constants import VIDEO_EXTENSIONS
from .._util.docs import fill
from .._util.warn import warn
from .listing import (
    VideoSource,
    frame_range,
    resolve_sources,
    sources_from_folder,
    sources_from_manifest,
    sources_from_paths,
)

__all__ = ["VideoSource", "ClipRef", "VideoDataset", "VIDEO_EXTENSIONS", "SAMPLERS"]


@dataclass(frozen=True)
class ClipRef:
    """Item ``i`` of a dataset: which video, its integer label (-1 if none), which frames."""

    video: int
    label: int
    frames: list[int]


@fill
class VideoDataset:
    """Clips over many videos. ``len(ds)`` clips; ``ds.clip(i)`` says which; ``ds.read(i, reader)`` decodes.

    Samplers (``sampler=``): ``"windows"`` (every window of ``length`` frames ``step`` apart, every
    ``stride`` frames), ``"random"`` (``clips_per_video`` random clips, redrawn by :meth:`set_epoch`),
    ``"uniform"`` (``clips_per_video`` evenly spaced), ``"segments"`` (TSN: ``length`` segments, one frame
    each, random in training). Per-video frame counts come from the index cache, so building a dataset
    over videos opened before takes milliseconds per video; new videos are indexed in ``index_workers``
    threads. A video that cannot be read follows ``on_error``: ``"raise"``, or ``"skip"`` with a warning
    naming the file (``ds.skipped`` lists them all).

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
        on_error: ``"raise"`` or ``"skip"``.
        stream: video stream index; None: the best one.
        index_workers: threads that index new videos.
        classes: class names in label order (default: the labels found, sorted).
        storage_options: {storage_options}

    Raises:
        ValueError: no sources, no readable video, or a bad argument.
        VideoError: a video cannot be read and ``on_error="raise"``.
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
        on_error: ReadOnError = "raise",
        stream: int | None = None,
        index_workers: int = 4,
        classes: Sequence[str] | None = None,
        storage_options: dict | None = None,
    ) -> None:
        self.sampling = ClipSampling(
            sampler=sampler,
            length=length,
            step=step,
            stride=stride,
            clips_per_video=clips_per_video,
            train=train,
            on_end=on_end,
            seed=seed,
        )
        check_choice("on_error", on_error, READ_ON_ERROR)
        if not sources:
            raise ValueError("sources is empty: no videos to read")
        self.stream = stream
        self.storage_options = storage_options
        labels = sorted(
            {str(s.label) for s in sources if s.label is not None and not isinstance(s.label, int)}
        )
        self.classes: list[str] = list(classes) if classes is not None else labels
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.skipped: list[tuple[str, str]] = []
        self._videos: list[tuple[VideoSource, int, np.ndarray]] = []  # (source, label id, frame times)
        self._index_all(list(sources), on_error, index_workers)
        self._epoch = 0
        self._warned_short = False
        self._plan()

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

    def _index_all(self, sources: list[VideoSource], on_error: str, workers: int) -> None:
        def probe(src: VideoSource):
            try:
                with open_video(src.path, stream=self.stream, storage_options=self.storage_options) as v:
                    return src, v.pts_seconds, None
            except Exception as exc:
                return src, None, exc  # raised below under on_error="raise", skipped with a warning otherwise

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # demuxing releases the GIL
            results = list(pool.map(probe, sources))
        for src, pts, exc in results:
            if exc is not None:
                if on_error == "raise":
                    raise exc
                warn(f"framepipe: skipping {src.path}: {exc}")
                self.skipped.append((src.path, str(exc)))
                continue
            self._videos.append((src, self._label_id(src.label), pts))
        if self.skipped:
            warn(f"framepipe: skipped {len(self.skipped)} of {len(sources)} videos that could not be read")
        if not self._videos:
            raise ValueError("none of the videos could be read")

    def _label_id(self, label) -> int:
        if label is None:
            return -1
        if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
            return int(label)
        if str(label) not in self.class_to_idx:
            raise ValueError(f"label {label!r} is not one of classes {self.classes}")
        return self.class_to_idx[str(label)]

    # --- clip plan ---------------------------------------------------------------------------------
    def _plan(self) -> None:
        rng = np.random.default_rng(None if self.seed is None else [self.seed, self._epoch])
        refs: list[tuple[int, np.ndarray]] = []
        short: list[str] = []
        for v, (src, _label, pts) in enumerate(self._videos):
            lo, hi = frame_range(src, pts)
            clips = self.sampling.draw(hi - lo, seed=rng) if hi > lo else np.zeros((0, 1), np.int64)
            if len(clips) == 0:
                short.append(f"{src.path} ({max(hi - lo, 0)} frames)")
            for c in clips:
                refs.append((v, c + lo))
        self._refs = refs
        if short and not self._warned_short:  # once per dataset, not at every epoch
            self._warned_short = True
            span = (self.length - 1) * self.step + 1
            names = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
            warn(
                f"framepipe: {len(short)} of {len(self._videos)} videos give no clips: too short for "
                f"clips spanning {span} frames (length={self.length}, step={self.step}): {names}"
            )

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
        return len(self._refs)

    @property
    def num_videos(self) -> int:
        return len(self._videos)

    def video_path(self, video: int) -> str:
        return self._videos[video][0].path

    def clip(self, i: int) -> ClipRef:
        if not -len(self) <= i < len(self):
            raise IndexError(f"clip index {i} out of range for {len(self)} clips")
        v, frames = self._refs[i]
        return ClipRef(video=v, label=self._videos[v][1], frames=frames.tolist())

    def clips_per_video_count(self) -> np.ndarray:
        """How many clips each (readable) video contributes."""
        return np.bincount([v for v, _ in self._refs], minlength=len(self._videos))
