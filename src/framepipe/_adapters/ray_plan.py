"""Planning the Ray reader's work, without Ray: what to take from each video (``Plan``), how much decoding
each GOP's rows need, and how those runs of rows are packed into read tasks of equal work. ``framepipe.ray``
runs these in its planning tasks and its datasource; here they are plain functions that tests call directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._index.index import VideoIndex
from .._pixels.format import FrameFormat
from .._sampling.request import FrameSampling, Request, VideoSource
from .._sampling.samplers import ClipSampling

# The work of a read task once a job has TASKS_PER_CPU per CPU, in pixels decoded or written: a couple
# of seconds of one core (H.264 decodes at the order of a nanosecond a pixel). Each task costs a file open,
# a seek and the frames of its first GOP that come before its first row, and Ray Data starts tasks some
# time apart and leaves a worker idle for as long between two tasks: many small tasks cost more than a few
# large ones (benchmarks/bench_ray.py's clip job shows it).
MIN_TASK_PIXELS = 1 << 31

# Below this much work a read task is not split further (about half a second to a second of one core): a
# small job gets one task per CPU, or a few, not TASKS_PER_CPU each. Ray Data starts tasks some time
# apart, so splitting a small job finer only adds starts: benchmarks/bench_ray.py's one-frame-a-second jobs
# (keyframes and exact) and its clip and every-frame jobs each ran fastest with their work in tasks of
# about this size.
SPLIT_PIXELS = 1 << 30

# Read tasks per CPU once a job is large enough to fill them (SPLIT_PIXELS each): enough for Ray to keep
# every CPU busy while tasks start and end; beyond that, tasks grow to MIN_TASK_PIXELS before there are more.
TASKS_PER_CPU = 4


@dataclass(frozen=True)
class Plan:
    """What to take from each video: the request, and which epoch's random draws; travels to the
    planning tasks."""

    request: Request
    epoch: int = 0

    @classmethod
    def build(cls, kind: str, *, frame_format: FrameFormat | None = None, epoch: int = 0, **options) -> Plan:
        """A plan of ``"clips"`` (``options``: :class:`~framepipe.sampling.ClipSampling`'s) or
        ``"frames"`` (:class:`~framepipe.sampling.FrameSampling`'s), in ``frame_format``.

        >>> Plan.build("clips", length=4).request.sampling.length
        4
        """
        sampling = ClipSampling(**options) if kind == "clips" else FrameSampling(**options)
        return cls(Request(sampling, frame_format or FrameFormat()), epoch=epoch)

    @property
    def kind(self) -> str:
        return self.request.kind

    @property
    def length(self) -> int:
        """Frames in one row."""
        return self.request.frames_per_row

    @property
    def rows_share_frames(self) -> bool:
        """Whether two rows may hold the same frame: only clips, and not windows that stride past each
        other (then a reader need not keep the frames it returned for the next block).

        Example:
            >>> windows = Plan.build("clips", length=16)
            >>> overlapping = Plan.build("clips", length=16, stride=8)
            >>> windows.rows_share_frames, overlapping.rows_share_frames
            (False, True)
        """
        clips = self.request.sampling
        if not isinstance(clips, ClipSampling):
            return False
        span = (clips.length - 1) * clips.step + 1
        return clips.sampler != "windows" or clips.window_stride < span or clips.on_end == "wrap"

    def draw(
        self,
        src: VideoSource,
        pts: np.ndarray,
        end_seconds: float,
        keyframes: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(rows, frames per row) frame indices of one video, sorted by time; and with ``snap="keyframe"``
        the time each row answers (else None): the request's rows (:meth:`Request.rows_and_times`)."""
        return self.request.rows_and_times(
            src, pts, end_seconds=end_seconds, keyframes=keyframes, epoch=self.epoch
        )


def video_summary(index: VideoIndex, rows: np.ndarray) -> dict:
    """What the driver needs of one planned video: its row count, the rows where a new GOP begins, each
    such run's decode work (``gop_decodes``) and the frame size."""
    starts = index.frame_key[rows[:, 0]]  # -1 everywhere in a whole-file decode index: one run
    gop_starts = (
        np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]]) if len(rows) else np.zeros(0, np.int64)
    )
    return dict(
        error=None,
        rows=len(rows),
        gop_starts=gop_starts.tolist(),
        gop_decodes=frames_to_decode(index, rows, gop_starts).tolist(),
        height=index.height,
        width=index.width,
    )


def frames_to_decode(index: VideoIndex, rows: np.ndarray, gop_starts: np.ndarray) -> np.ndarray:
    """For each run of rows that starts in one GOP: the packets decoded to read it (from the GOP's keyframe
    to the last packet that shows one of its frames). This is the run's decode work, which the task planner
    balances; a whole-file decode index has no keyframes to start at, so it counts from the first frame."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    last = np.maximum.reduceat(rows.max(axis=1), gop_starts)
    if index.mode != "packets":
        return last + 1
    shown_by = np.maximum.reduceat(index.frame_pkt[rows].max(axis=1), gop_starts)
    return shown_by - np.maximum(index.frame_key[rows[gop_starts, 0]], 0) + 1


@dataclass(frozen=True)
class Shard:
    """A run of one video's rows that a read task decodes in one go."""

    position: int  # which video
    first: int  # rows [first, last) of that video
    last: int


def num_tasks(work: int, cpus: int, parallelism: int) -> int:
    """How many read tasks to plan for ``work`` pixels on ``cpus`` CPUs: one per CPU at least, one per
    ``SPLIT_PIXELS`` of work up to ``TASKS_PER_CPU`` per CPU, then one per ``MIN_TASK_PIXELS`` (so that the
    fixed costs of each task stay small), and at most ``parallelism`` (Ray's, or the caller's
    ``override_num_blocks``).

    Example:
        >>> num_tasks(1 << 30, cpus=2, parallelism=200), num_tasks(5 << 30, cpus=2, parallelism=200)
        (2, 5)
        >>> num_tasks(40 << 31, cpus=2, parallelism=200)
        40
    """
    wanted = max(cpus, math.ceil(work / SPLIT_PIXELS))
    if wanted > TASKS_PER_CPU * cpus:
        wanted = max(TASKS_PER_CPU * cpus, math.ceil(work / MIN_TASK_PIXELS))
    return max(1, min(parallelism, wanted))


def pack_shards(runs: list[tuple[int, int, int, int]], num_tasks: int) -> list[list[Shard]]:
    """About ``num_tasks`` tasks of equal work from ``runs`` of rows ``(video, first, last, work)`` in video
    and time order, each the rows whose clips start in one GOP. A GOP is never split: a task that starts
    inside one must decode it from its keyframe anyway, so k tasks over one GOP would decode it about (k + 1)
    / 2 times; a GOP with more work than a task's share is a task of its own (it streams its blocks like any
    other). Short videos pack into one task; a task's runs of one video that follow each other are merged.

    Example:
        >>> pack_shards([(0, 0, 4, 10), (0, 4, 8, 10), (1, 0, 2, 10), (1, 2, 4, 10)], 2)
        [[Shard(position=0, first=0, last=8)], [Shard(position=1, first=0, last=4)]]
    """
    total = sum(r[3] for r in runs)
    tasks: list[list[Shard]] = [[] for _ in range(max(1, num_tasks))]
    done = 0
    for position, first, last, work in runs:
        # the task whose share of the work holds this run's middle: equal shares, in order
        k = min(len(tasks) - 1, int((done + work / 2) * len(tasks) / total)) if total else 0
        tasks[k].append(Shard(position, first, last))
        done += work
    return [_merge(t) for t in tasks if t]


def _merge(shards: list[Shard]) -> list[Shard]:
    out: list[Shard] = []
    for s in shards:
        if out and out[-1].position == s.position and out[-1].last == s.first:
            out[-1] = Shard(s.position, out[-1].first, s.last)
        else:
            out.append(s)
    return out
