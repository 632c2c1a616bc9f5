"""The implementation of :mod:`framepipe.ray`, whose docstrings are the documentation."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import ray
from ray.data.block import BlockAccessor, BlockMetadata
from ray.data.context import DataContext
from ray.data.datasource import Datasource, ReadTask

from .._sampling import samplers as sampling
from .._util.checks import check_choice, check_int, check_number
from .._file.reader import VideoFile
from .listing import VideoSource, resolve_sources
from .ray_plan import Plan, Shard, num_tasks, pack_shards, video_summary
from ..errors import VideoError
from .._pixels.format import FrameFormat

__all__ = ["read_clips", "read_frames", "VideoDatasource"]

log = logging.getLogger("framepipe.ray")

@ray.remote(num_returns=3)
def _plan_video(position: int, src: VideoSource, plan: Plan, stream: int | None, storage_options: dict | None,
                on_error: str):
    """Index one video and draw its rows: (index, rows, summary). The first two stay in the object store."""
    try:
        with VideoFile(src.path, stream=stream, threads=1, storage_options=storage_options) as video:
            index = video._index
            rows = plan.draw(position, src, index.pts_seconds, index.end_pts * float(index.time_base))
    except VideoError as exc:
        if on_error == "raise":
            raise
        return None, None, dict(error=f"{type(exc).__name__}: {exc}")
    return index, rows, video_summary(index, rows)


class VideoDatasource(Datasource):
    """A Ray Data :class:`~ray.data.Datasource` of clips or frames (made by :func:`read_clips` and
    :func:`read_frames`; see the module's text for how the work is split)."""

    def __init__(self, sources: list[VideoSource], plan: Plan, fmt: FrameFormat, *, stream: int | None,
                 storage_options: dict | None, on_error: str, rows_per_block: int | None) -> None:
        super().__init__()
        self._sources, self._plan, self._fmt = sources, plan, fmt.replace(array="numpy")
        self._stream, self._options, self._on_error = stream, storage_options, on_error
        planned = [_plan_video.remote(i, s, plan, stream, storage_options, on_error) for i, s in enumerate(sources)]
        summaries = ray.get([p[2] for p in planned])  # only the small part comes to the driver
        self._indexes = [p[0] for p in planned]
        self._rows = [p[1] for p in planned]
        self._summaries = summaries
        self.skipped = [(s.path, m["error"]) for s, m in zip(sources, summaries) if m["error"]]
        if self.skipped:
            warnings.warn(f"framepipe: skipped {len(self.skipped)} of {len(sources)} videos that could not be read "
                          f"(first: {self.skipped[0][0]}: {self.skipped[0][1]})", stacklevel=3)
        if len(self.skipped) == len(sources):
            raise ValueError("none of the videos could be read")
        self._row_bytes = self._bytes_per_row()
        self._runs = self._plan_runs()
        self._rows_per_block = rows_per_block or max(1, DataContext.get_current().target_max_block_size // self._row_bytes)
        labels = [s.label for s in sources if s.label is not None]
        self._numeric_labels = all(isinstance(v, (int, np.integer)) for v in labels)
        self._classes = sorted({str(v) for v in labels}) if labels and not self._numeric_labels else []

    @property
    def num_rows(self) -> int:
        return sum(m.get("rows", 0) for m in self._summaries)

    def _bytes_per_row(self) -> int:
        m = next(m for m in self._summaries if not m["error"])
        h, w = self._fmt.frame_hw(m["height"], m["width"])
        return max(1, self._plan.length * h * w * self._fmt.channels * np.dtype(self._fmt.dtype).itemsize)

    def estimate_inmemory_data_size(self) -> int:
        return self.num_rows * self._row_bytes

    def _plan_runs(self) -> list[tuple[int, int, int, int]]:
        """Every video's runs of rows that start in one GOP, as ``(video, first, last, work)``: the work in
        pixels (frames decoded at the video's size plus frames written at the output size) is what the task
        planner balances."""
        runs = []
        for position, m in enumerate(self._summaries):
            if m["error"] or not m["rows"]:
                continue
            h, w = self._fmt.frame_hw(m["height"], m["width"])
            cuts = m["gop_starts"] + [m["rows"]]
            for first, last, decoded in zip(cuts[:-1], cuts[1:], m["gop_decodes"]):
                work = decoded * m["height"] * m["width"] + (last - first) * self._plan.length * h * w
                runs.append((position, first, last, work))
        return runs

    def num_tasks(self, parallelism: int) -> int:
        """How many read tasks to plan (see :func:`framepipe._adapters.ray_plan.num_tasks`) on this Ray cluster."""
        cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
        return num_tasks(sum(r[3] for r in self._runs), cpus, parallelism)

    def shards(self, num_tasks: int) -> list[list[Shard]]:
        """The read tasks: shards of equal work (see :func:`framepipe._adapters.ray_plan.pack_shards`)."""
        return pack_shards(self._runs, num_tasks)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: DataContext | None = None) -> list[ReadTask]:
        tasks = []
        for shards in self.shards(self.num_tasks(parallelism)):
            rows = sum(s.last - s.first for s in shards)
            refs = {s.position: (self._indexes[s.position], self._rows[s.position]) for s in shards}
            read = _Reader(self, shards, refs)
            paths = tuple(dict.fromkeys(self._sources[s.position].path for s in shards))
            meta = BlockMetadata(num_rows=rows, size_bytes=rows * self._row_bytes, exec_stats=None, input_files=paths)
            tasks.append(ReadTask(read, meta, per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        return "FramepipeClips" if self._plan.kind == "clips" else "FramepipeFrames"


class _Reader:
    """The body of one read task: its shards' rows, decoded in blocks (picklable; runs on a worker)."""

    def __init__(self, ds: VideoDatasource, shards: list[Shard], refs: dict) -> None:
        self.shards, self.refs = shards, refs
        self.sources = {s.position: ds._sources[s.position] for s in shards}
        self.fmt, self.kind, self.stream = ds._fmt, ds._plan.kind, ds._stream
        self.keep_recent = ds._plan.rows_share_frames
        self.options, self.on_error, self.per_block = ds._options, ds._on_error, ds._rows_per_block
        self.numeric_labels, self.classes = ds._numeric_labels, ds._classes

    def __call__(self) -> Iterator:
        for shard in self.shards:
            index, rows = (ray.get(r) for r in self.refs[shard.position])
            src = self.sources[shard.position]
            with VideoFile(src.path, frame_format=self.fmt, stream=self.stream, threads=1,
                           on_error="skip" if self.on_error == "skip" else "raise", storage_options=self.options,
                           _index=index, _keep_recent=self.keep_recent) as video:
                for a in range(shard.first, shard.last, self.per_block):
                    yield self._block(video, src, rows[a : min(a + self.per_block, shard.last)])

    def _block(self, video: VideoFile, src: VideoSource, rows: np.ndarray):
        # clips in the clip layout; frames (clips of one) with T first, so that [:, 0] is the frame
        layout = self.fmt.clip_layout()
        batch = video.get_clips(rows, layout="NTCHW" if self.kind == "frames" and layout == "NCTHW" else layout)
        if batch.dropped_clips:
            log.warning("%s: %d clips left out (frames that failed to decode)", video.path, len(batch.dropped_clips))
        n = len(batch)
        cols = {}
        if self.kind == "clips":
            cols.update(clip=batch.data, indices=batch.indices, pts_seconds=batch.pts_seconds)
        else:
            cols.update(frame=batch.data[:, 0], index=batch.indices[:, 0], pts_seconds=batch.pts_seconds[:, 0])
        cols["path"] = np.array([src.path] * n, dtype=object)
        if src.label is not None or self.classes:
            if self.numeric_labels:
                cols["label"] = np.full(n, -1 if src.label is None else int(src.label), dtype=np.int64)
            else:
                cols["label"] = np.array([None if src.label is None else str(src.label)] * n, dtype=object)
                cols["label_id"] = np.full(n, self.classes.index(str(src.label)) if src.label is not None else -1,
                                           dtype=np.int64)
        return BlockAccessor.batch_to_block(cols)


def _read(sources, labels, plan: Plan, *, frame_format, stream, on_error, storage_options, num_cpus, concurrency,
          override_num_blocks, ray_remote_args, rows_per_block, format_options, caller):
    check_choice("on_error", on_error, ("raise", "skip"))
    fmt = FrameFormat.from_options(frame_format, format_options, caller=caller)
    listed = resolve_sources(sources, labels, storage_options=storage_options)
    if not listed:
        raise ValueError("sources is empty: no videos to read")
    datasource = VideoDatasource(listed, plan, fmt, stream=stream, storage_options=storage_options,
                                 on_error=on_error, rows_per_block=rows_per_block)
    if override_num_blocks is None:
        # Ray splits every block a read task yields when it expects fewer blocks than its requested parallelism
        # (at least 200, by its own size estimate). Our tasks already yield blocks of Ray's target size, and
        # splits cost time: four read tasks for every frame of four 1080p videos took 7.4 s told to Ray against
        # 8.8 s split by Ray, for 16-frame clips 3.3 s against 4.3 s (interleaved, medians of 5, 2 CPUs).
        override_num_blocks = datasource.num_tasks(DataContext.get_current().read_op_min_num_blocks)
    return ray.data.read_datasource(datasource, num_cpus=num_cpus, concurrency=concurrency,
                                    override_num_blocks=override_num_blocks, ray_remote_args=ray_remote_args)


def read_clips(sources, labels: Sequence | None = None, *, length: int, step: int = 1, sampler: str = "windows",
               stride: int | None = None, clips_per_video: int = 1, train: bool = True, on_end: str = "drop",
               seed: int | None = 0, epoch: int = 0, frame_format: FrameFormat | None = None,
               stream: int | None = None, on_error: str = "raise", storage_options: dict | None = None,
               num_cpus: float = 1, concurrency: int | None = None, override_num_blocks: int | None = None,
               ray_remote_args: dict | None = None, rows_per_block: int | None = None,
               **format_options) -> ray.data.Dataset:
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
        seed: seeds random clips, with ``epoch``; None draws differently every time.
        epoch: which epoch's random clips (the same seed and epoch give the same clips).
        frame_format: output options as one :class:`~framepipe.FrameFormat`, or give them as keywords.
        stream: video stream index; None: the best one.
        on_error: a video that cannot be read: ``"raise"``, or ``"skip"`` with a warning and a count
            (``VideoDatasource.skipped``); frames that fail to decode drop their clips, logged per block.
        storage_options: fsspec options for URLs.
        num_cpus: CPUs per read task (a decoder uses one thread).
        concurrency: at most this many read tasks at once (Ray's default: as many as fit).
        override_num_blocks: at most this many read tasks; Ray splits their blocks when there are fewer
            tasks than this. Default: the planned read tasks (see the module's text), with whole blocks.
        ray_remote_args: more Ray options for the read tasks.
        rows_per_block: rows per block (default: as many as fit Ray's target block size).
        **format_options: ``size``, ``resize``, ``color``, ``dtype``, ``layout``, ``interpolation``,
            ``mean``, ``std``.

    Returns:
        A lazy ``ray.data.Dataset``: iterate it, ``map_batches`` a model over it, write it out, or hand it
        to Ray Train.

    Raises:
        VideoError: a video cannot be read and ``on_error="raise"``.
        ValueError, TypeError: an argument is wrong; the message names it.
    """
    check_int("length", length, minimum=1)
    check_int("step", step, minimum=1)
    check_int("clips_per_video", clips_per_video, minimum=1)
    check_int("epoch", epoch, minimum=0)
    check_choice("sampler", sampler, sampling.SAMPLERS)
    check_choice("on_end", on_end, sampling.END_POLICIES)
    plan = Plan("clips", length=length, step=step, stride=check_int("stride", stride, minimum=1, allow_none=True),
                 sampler=sampler, clips_per_video=clips_per_video, train=train, on_end=on_end,
                 seed=check_int("seed", seed, allow_none=True), epoch=epoch)
    return _read(sources, labels, plan, frame_format=frame_format, stream=stream, on_error=on_error,
                 storage_options=storage_options, num_cpus=num_cpus, concurrency=concurrency,
                 override_num_blocks=override_num_blocks, ray_remote_args=ray_remote_args,
                 rows_per_block=rows_per_block, format_options=format_options, caller="read_clips")


def read_frames(sources, labels: Sequence | None = None, *, fps: float | None = None, every: int | None = None,
                times: Sequence[float] | None = None, frame_format: FrameFormat | None = None,
                stream: int | None = None, on_error: str = "raise", storage_options: dict | None = None,
                num_cpus: float = 1, concurrency: int | None = None, override_num_blocks: int | None = None,
                ray_remote_args: dict | None = None, rows_per_block: int | None = None,
                **format_options) -> ray.data.Dataset:
    """A Ray Dataset with one row per frame: ``frame`` (H, W, C), ``index``, ``pts_seconds``, ``path`` and
    ``label`` where given. An exact, sampled and resized replacement for ``ray.data.read_videos``.

    Args:
        sources: as for :func:`read_clips`.
        labels: as for :func:`read_clips`.
        fps: the frame on screen every ``1/fps`` seconds (by timestamp: right on variable frame rate).
        every: every ``every``-th frame.
        times: the frames on screen at these times (seconds), in every video.
        frame_format: output options, or give them as keywords (``size``, ``dtype``, ...).
        stream: as for :func:`read_clips`.
        on_error: as for :func:`read_clips`.
        storage_options: as for :func:`read_clips`.
        num_cpus: as for :func:`read_clips`.
        concurrency: as for :func:`read_clips`.
        override_num_blocks: as for :func:`read_clips`.
        ray_remote_args: as for :func:`read_clips`.
        rows_per_block: as for :func:`read_clips`.
        **format_options: the output options as keywords.

    Give at most one of ``fps``, ``every`` and ``times``; none reads every frame.

    Returns:
        A lazy ``ray.data.Dataset``.

    Raises:
        ValueError: more than one of ``fps``, ``every``, ``times``, or a bad value.
    """
    if sum(v is not None for v in (fps, every, times)) > 1:
        raise ValueError("give at most one of fps, every and times")
    if times is not None:
        times = tuple(float(check_number("times", t, positive=False)) for t in times)
    plan = Plan("frames", fps=check_number("fps", fps, allow_none=True),
                 every=1 if fps is None and times is None and every is None else check_int("every", every, minimum=1, allow_none=True),
                 times=times)
    return _read(sources, labels, plan, frame_format=frame_format, stream=stream, on_error=on_error,
                 storage_options=storage_options, num_cpus=num_cpus, concurrency=concurrency,
                 override_num_blocks=override_num_blocks, ray_remote_args=ray_remote_args,
                 rows_per_block=rows_per_block, format_options=format_options, caller="read_frames")
