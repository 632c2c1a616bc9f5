"""The implementation of :mod:`framepipe.ray`, whose docstrings are the documentation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ray
from ray.data.context import DataContext

from .._pixels.format import FrameFormat
from .._sampling.request import FrameSampling, Request, error_rules
from .._sampling.samplers import ClipSampling
from .._util.checks import check_int
from .._util.choices import OnBadVideo, OnEnd, OnError, Sampler, Snap
from .._util.docs import fill
from .indexing import open_store
from .listing import resolve_sources
from .ray_datasource import VideoDatasource
from .ray_plan import Plan

__all__ = ["read_clips", "read_frames", "VideoDatasource"]


def _read(
    sources,
    labels,
    sampling: ClipSampling | FrameSampling,
    *,
    epoch: int,
    frame_format,
    stream,
    on_error,
    on_bad_video,
    storage_options,
    num_cpus,
    concurrency,
    override_num_blocks,
    ray_remote_args,
    rows_per_block,
    format_options,
    caller,
    index=None,
):
    on_error, on_bad_video = error_rules(on_error, on_bad_video, caller=caller, can_skip_frames=True)
    request = Request(
        sampling,
        FrameFormat.from_options(frame_format, format_options, caller=caller),
        on_error=on_error,
        on_bad_video=on_bad_video,
        stream=stream,
    )
    listed = resolve_sources(sources, labels, storage_options=storage_options)
    if not listed:
        raise ValueError("sources is empty: no videos to read")
    datasource = VideoDatasource(
        listed,
        Plan(request, epoch=check_int("epoch", epoch, minimum=0)),
        storage_options=storage_options,
        rows_per_block=rows_per_block,
        store=open_store(index),
    )
    if override_num_blocks is None:
        # Ray splits every block a read task yields when it expects fewer blocks than its requested
        # parallelism (at least 200, by its own size estimate). Our tasks already yield blocks of Ray's
        # target size, so a split only copies them once more: tell Ray how many tasks there are.
        override_num_blocks = datasource.num_tasks(DataContext.get_current().read_op_min_num_blocks)
    return ray.data.read_datasource(
        datasource,
        num_cpus=num_cpus,
        concurrency=concurrency,
        override_num_blocks=override_num_blocks,
        ray_remote_args=ray_remote_args,
    )


@fill
def read_clips(
    sources,
    labels: Sequence | None = None,
    *,
    length: int,
    step: int = 1,
    sampler: Sampler = "windows",
    stride: int | None = None,
    clips_per_video: int = 1,
    train: bool = True,
    on_end: OnEnd = "drop",
    seed: int | None = 0,
    epoch: int = 0,
    frame_format: FrameFormat | None = None,
    stream: int | None = None,
    on_error: OnError = "raise",
    on_bad_video: OnBadVideo | None = None,
    storage_options: Mapping | None = None,
    num_cpus: float = 1,
    concurrency: int | None = None,
    override_num_blocks: int | None = None,
    ray_remote_args: dict | None = None,
    rows_per_block: int | None = None,
    index=None,
    **format_options,
) -> ray.data.Dataset:
    """A Ray Dataset with one row per clip: ``clip`` (T, H, W, C; or as the output options say),
    ``indices`` (T,), ``pts_seconds`` (T,), ``path``, and ``label`` (plus ``label_id``, the label's position
    among the sorted class names, when labels are names) where labels are given.

    Args:
        sources: a folder of class sub-folders, a manifest (``.csv``/``.jsonl``), a glob, a path or URL,
            or a list of them (with ``labels``).
        labels: one per path when ``sources`` is a list.
        length: frames per clip (segments for ``sampler="segments"``).
        step: frames between the frames of a clip.
        sampler: ``"windows"``, ``"random"``, ``"uniform"`` or ``"segments"`` (see
            :func:`framepipe.sampling.sample_clips`).
        stride: frames between window starts (``"windows"``; default ``length * step``).
        clips_per_video: clips per video for the other samplers.
        train: ``"segments"`` picks at random in training, the centre otherwise.
        on_end: clips that run past the end: ``"drop"``, ``"repeat_last"`` or ``"wrap"``.
        seed: seeds random clips, with ``epoch`` and each video's key (the seeding rule: the same clips
            as ``ClipDataset`` and ``framepipe clips`` give); None draws differently every time.
        epoch: which epoch's random clips (the same seed and epoch give the same clips).
        frame_format: {frame_format}
        stream: video stream index; None: the best one.
        on_error: a frame that fails to decode: ``"raise"``, ``"skip"`` (its row is left out, logged per
            block) or ``"previous"`` (the frame before stands in).
        on_bad_video: a video that cannot be read: ``"raise"`` (default), or ``"skip"`` with a warning
            and a count (``VideoDatasource.skipped``).
        storage_options: {storage_options}
        num_cpus: CPUs per read task (a decoder uses one thread).
        concurrency: at most this many read tasks at once (Ray's default: as many as fit).
        override_num_blocks: at most this many read tasks; Ray splits their blocks when there are fewer
            tasks than this. Default: the planned read tasks (see the module's text), with whole blocks.
        ray_remote_args: more Ray options for the read tasks.
        rows_per_block: rows per block (default: as many as fit Ray's target block size).
        index: an index store's folder (``framepipe index``): the planning tasks take each video's index
            from it (a video changed since is indexed again) instead of indexing every video.
        **format_options: {format_options}

    Returns:
        A lazy ``ray.data.Dataset``: iterate it, ``map_batches`` a model over it, write it out, or hand it
        to Ray Train.

    Raises:
        VideoError: a video cannot be read and ``on_error="raise"``.
        ValueError, TypeError: an argument is wrong; the message names it.
    """
    clips = ClipSampling(
        sampler=sampler,
        length=length,
        step=step,
        stride=stride,
        clips_per_video=clips_per_video,
        train=train,
        on_end=on_end,
        seed=seed,
    )
    return _read(
        sources,
        labels,
        clips,
        epoch=epoch,
        frame_format=frame_format,
        stream=stream,
        on_error=on_error,
        on_bad_video=on_bad_video,
        storage_options=storage_options,
        num_cpus=num_cpus,
        concurrency=concurrency,
        override_num_blocks=override_num_blocks,
        ray_remote_args=ray_remote_args,
        rows_per_block=rows_per_block,
        format_options=format_options,
        index=index,
        caller="read_clips",
    )


@fill
def read_frames(
    sources,
    labels: Sequence | None = None,
    *,
    fps: float | None = None,
    every: int | None = None,
    times: Sequence[float] | None = None,
    snap: Snap = "exact",
    frame_format: FrameFormat | None = None,
    stream: int | None = None,
    on_error: OnError = "raise",
    on_bad_video: OnBadVideo | None = None,
    storage_options: Mapping | None = None,
    num_cpus: float = 1,
    concurrency: int | None = None,
    override_num_blocks: int | None = None,
    ray_remote_args: dict | None = None,
    rows_per_block: int | None = None,
    index=None,
    **format_options,
) -> ray.data.Dataset:
    """A Ray Dataset with one row per frame: ``frame`` (H, W, C), ``index``, ``pts_seconds``, ``path`` and
    ``label`` where given. An exact, sampled and resized replacement for ``ray.data.read_videos``.

    Args:
        sources: as for :func:`read_clips`.
        labels: as for :func:`read_clips`.
        fps: the frame on screen every ``1/fps`` seconds (by timestamp: right on variable frame rate),
            each frame once (the frame grid of :class:`~framepipe.sampling.FrameSampling`, as
            ``VideoFile.iter_frames(fps=)`` and ``framepipe extract --fps``).
        every: every ``every``-th frame.
        times: the frames on screen at these times (seconds), in every video.
        snap: with ``fps`` or ``times``: ``"exact"``, the frame on screen at each time; ``"keyframe"``, a
            trade of accuracy for speed: the keyframe nearest each time, each decoded on its own (one
            picture a row, where exact sampling decodes from each time's keyframe up to it), so frames
            are only as close to the times as the keyframe spacing allows; times that snap to one keyframe
            give one row, and a ``requested_seconds`` column says which time each row answers.
        frame_format: {frame_format}
        stream: as for :func:`read_clips`.
        on_error: as for :func:`read_clips`.
        on_bad_video: as for :func:`read_clips`.
        storage_options: as for :func:`read_clips`.
        num_cpus: as for :func:`read_clips`.
        concurrency: as for :func:`read_clips`.
        override_num_blocks: as for :func:`read_clips`.
        ray_remote_args: as for :func:`read_clips`.
        rows_per_block: as for :func:`read_clips`.
        index: as for :func:`read_clips`.
        **format_options: {format_options}

    Give at most one of ``fps``, ``every`` and ``times``; none reads every frame.

    Returns:
        A lazy ``ray.data.Dataset``.

    Raises:
        ValueError: more than one of ``fps``, ``every``, ``times``, or a bad value.
    """
    frames = FrameSampling(fps=fps, every=every, times=None if times is None else tuple(times), snap=snap)
    return _read(
        sources,
        labels,
        frames,
        epoch=0,
        frame_format=frame_format,
        stream=stream,
        on_error=on_error,
        on_bad_video=on_bad_video,
        storage_options=storage_options,
        num_cpus=num_cpus,
        concurrency=concurrency,
        override_num_blocks=override_num_blocks,
        ray_remote_args=ray_remote_args,
        rows_per_block=rows_per_block,
        format_options=format_options,
        index=index,
        caller="read_frames",
    )
