"""The Ray Data datasource behind :mod:`framepipe.ray`: planning tasks index each video and draw its rows,
the driver packs runs of rows into read tasks of equal decode work, and each read task decodes its rows in
blocks of Ray's target size."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping

import numpy as np
import ray
from ray.data.block import BlockAccessor, BlockMetadata
from ray.data.context import DataContext
from ray.data.datasource import Datasource, ReadTask

from .._file.reader import VideoFile, open_with_index
from .._index.archive import IndexArchive, StoredIndex
from .._pixels.format import FrameFormat
from .._util.choices import OnError
from .._util.warn import warn
from ..errors import VideoError
from .indexing import index_sources
from .listing import LabelMap, VideoSource
from .ray_plan import Plan, Shard, num_tasks, pack_shards, video_summary

__all__ = ["VideoDatasource"]

log = logging.getLogger("framepipe.ray")


@ray.remote(num_returns=3)
def _plan_video(src: VideoSource, plan: Plan, storage_options: dict | None, store: IndexArchive | None):
    """Index one video (or take its index from the store) and draw its rows: (index, rows, summary). The
    first two stay in the object store."""
    try:
        kept, _ = index_sources(
            [src],
            on_bad_video="raise",
            stream=plan.request.stream,
            storage_options=storage_options,
            store=store,
        )
    except VideoError as exc:
        if plan.request.on_bad_video == "raise":
            raise
        return None, None, dict(error=f"{type(exc).__name__}: {exc}")
    found = kept[0][1].index
    index = found.load() if isinstance(found, StoredIndex) else found
    rows, asked = plan.draw(src, index.pts_seconds, index.end_seconds, index.keyframe_indices)
    return index, (rows, asked), video_summary(index, rows)


@dataclasses.dataclass(frozen=True)
class ReadSpec:
    """What every read task of one dataset shares (it travels with each task)."""

    fmt: FrameFormat
    kind: str  # "clips" or "frames"
    stream: int | None
    keep_recent: bool  # rows may ask for a frame again: keep the tail of each block
    storage_options: Mapping | None
    on_error: OnError  # a frame that fails to decode
    rows_per_block: int
    labels: LabelMap


class VideoDatasource(Datasource):
    """A Ray Data :class:`~ray.data.Datasource` of clips or frames (made by :func:`read_clips` and
    :func:`read_frames`; see the module's text for how the work is split). Immutable once made: Ray
    pickles it into the tasks it plans, and each read task opens its own readers."""

    def __init__(
        self,
        sources: list[VideoSource],
        plan: Plan,
        *,
        storage_options: dict | None,
        rows_per_block: int | None,
        store: IndexArchive | None = None,
    ) -> None:
        super().__init__()
        request = plan.request
        self._sources, self._plan = sources, plan
        self._fmt = request.format.replace(array="numpy")
        labels = LabelMap([s.label for s in sources])  # checked before any task starts
        # three object refs a video (num_returns=3): its index, its rows, and a summary for the driver
        planned: list[list[ray.ObjectRef]] = [
            _plan_video.remote(s, plan, storage_options, store)  # type: ignore[misc]
            for s in sources
        ]
        summaries = ray.get([p[2] for p in planned])  # only the small part comes to the driver
        self._indexes = [p[0] for p in planned]
        self._rows = [p[1] for p in planned]
        self._summaries = summaries
        self.skipped = [(s.path, m["error"]) for s, m in zip(sources, summaries) if m["error"]]
        if self.skipped:
            warn(
                f"framepipe: skipped {len(self.skipped)} of {len(sources)} videos that could not be read "
                f"(first: {self.skipped[0][0]}: {self.skipped[0][1]})"
            )
        if len(self.skipped) == len(sources):
            raise ValueError("none of the videos could be read")
        self._row_bytes = self._bytes_per_row()
        self._runs = self._plan_runs()
        target = DataContext.get_current().target_max_block_size or self._row_bytes
        self._rows_per_block = rows_per_block or max(1, target // self._row_bytes)
        self._spec = ReadSpec(
            fmt=self._fmt,
            kind=plan.kind,
            stream=request.stream,
            keep_recent=plan.rows_share_frames,
            storage_options=storage_options,
            on_error=request.on_error,
            rows_per_block=self._rows_per_block,
            labels=labels,
        )

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
        """How many read tasks to plan (see :func:`framepipe._adapters.ray_plan.num_tasks`) on this Ray
        cluster."""
        cpus = int(ray.cluster_resources().get("CPU", 1)) if ray.is_initialized() else 1
        return num_tasks(sum(r[3] for r in self._runs), cpus, parallelism)

    def shards(self, num_tasks: int) -> list[list[Shard]]:
        """The read tasks: shards of equal work (see :func:`framepipe._adapters.ray_plan.pack_shards`)."""
        return pack_shards(self._runs, num_tasks)

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit: int | None = None, data_context: DataContext | None = None
    ) -> list[ReadTask]:
        tasks = []
        for shards in self.shards(self.num_tasks(parallelism)):
            rows = sum(s.last - s.first for s in shards)
            refs = {s.position: (self._indexes[s.position], self._rows[s.position]) for s in shards}
            read = _Reader(self._spec, shards, {s.position: self._sources[s.position] for s in shards}, refs)
            paths = tuple(dict.fromkeys(self._sources[s.position].path for s in shards))
            meta = BlockMetadata(
                num_rows=rows, size_bytes=rows * self._row_bytes, exec_stats=None, input_files=paths
            )
            tasks.append(ReadTask(read, meta, per_task_row_limit=per_task_row_limit))
        return tasks

    def get_name(self) -> str:
        return "FramepipeClips" if self._plan.kind == "clips" else "FramepipeFrames"


class _Reader:
    """The body of one read task: its shards' rows, decoded in blocks (picklable; runs on a worker)."""

    def __init__(
        self, spec: ReadSpec, shards: list[Shard], sources: dict[int, VideoSource], refs: dict
    ) -> None:
        self.spec, self.shards, self.sources, self.refs = spec, shards, sources, refs

    def __call__(self) -> Iterator:
        for shard in self.shards:
            index, (rows, asked) = (ray.get(r) for r in self.refs[shard.position])
            src = self.sources[shard.position]
            spec = self.spec
            with open_with_index(
                src.target,
                index,
                frame_format=spec.fmt,
                stream=spec.stream,
                threads=1,
                on_error=spec.on_error,
                storage_options=spec.storage_options,
                keep_recent=spec.keep_recent,
            ) as video:
                for a in range(shard.first, shard.last, spec.rows_per_block):
                    b = min(a + spec.rows_per_block, shard.last)
                    yield self._block(video, src, rows[a:b], None if asked is None else asked[a:b])

    def _block(self, video: VideoFile, src: VideoSource, rows: np.ndarray, asked: np.ndarray | None):
        # clips in the clip layout; frames (clips of one) with T first, so that [:, 0] is the frame
        spec = self.spec
        cols: dict[str, np.ndarray] = {}
        if asked is not None:  # snap="keyframe": each keyframe decoded on its own
            frames = video.get_keyframes(rows[:, 0])
            if len(frames) < len(rows):
                log.warning("%s: %d frames left out (failed to decode)", video.path, len(rows) - len(frames))
            kept = np.isin(rows[:, 0], frames.indices)
            n = len(frames)
            cols.update(frame=frames.data, index=frames.indices, pts_seconds=frames.pts_seconds)
            cols["requested_seconds"] = asked[kept]
            return self._finish(cols, src, n)
        layout = spec.fmt.clip_layout()
        batch = video.get_clips(
            rows, layout="NTCHW" if spec.kind == "frames" and layout == "NCTHW" else layout
        )
        if batch.dropped_clips:
            log.warning(
                "%s: %d clips left out (frames that failed to decode)", video.path, len(batch.dropped_clips)
            )
        n = len(batch)
        if spec.kind == "clips":
            cols.update(clip=batch.data, indices=batch.indices, pts_seconds=batch.pts_seconds)
        else:
            cols.update(
                frame=batch.data[:, 0], index=batch.indices[:, 0], pts_seconds=batch.pts_seconds[:, 0]
            )
        return self._finish(cols, src, n)

    def _finish(self, cols: dict[str, np.ndarray], src: VideoSource, n: int):
        """The block: the decoded columns, plus the path and the label of every row."""
        spec = self.spec
        cols["path"] = np.array([src.path] * n, dtype=object)
        labels = spec.labels
        if src.label is not None or labels.classes:
            if labels.numeric:
                cols["label"] = np.full(n, labels.id(src.label), dtype=np.int64)
            else:
                cols["label"] = np.array([None if src.label is None else str(src.label)] * n, dtype=object)
                cols["label_id"] = np.full(n, labels.id(src.label), dtype=np.int64)
        return BlockAccessor.batch_to_block(cols)
