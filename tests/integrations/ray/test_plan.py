"""The Ray reader's planning, as plain functions (no Ray): decode work per GOP run, task counts, packing."""

import numpy as np
import pytest

from framepipe._adapters.ray_plan import (
    MIN_TASK_PIXELS,
    SPLIT_PIXELS,
    Plan,
    Shard,
    num_tasks,
    pack_shards,
    video_summary,
)
from framepipe._index.index import VideoIndex, seek_keys


def _index(gop: int, n: int, mode: str = "packets") -> VideoIndex:
    """An index of n frames without reordering, a keyframe every ``gop``."""
    pts = np.arange(n, dtype=np.int64)
    key = pts % gop == 0
    return VideoIndex(
        path="x.mp4",
        stream_index=0,
        time_base=1,
        codec="h264",
        width=64,
        height=32,
        pixel_format="yuv420p",
        header_num_frames=n,
        nominal_fps=1.0,
        mode=mode,
        pkt_pts=pts,
        pkt_dts=pts,
        pkt_key=key,
        frame_pts=pts,
        frame_pkt=pts if mode == "packets" else pts * 0 - 1,
        frame_key=seek_keys(pts, key, pts, pts) if mode == "packets" else pts * 0 - 1,
        end_pts=n,
    )


def test_decode_work_counts_from_each_gops_keyframe_to_its_last_frame():
    index = _index(gop=10, n=40)
    rows = np.array(
        [[3, 4], [8, 12], [25, 26], [31, 35]]
    )  # GOP runs: rows 0-1 (from 0), row 2 (20), row 3 (30)
    summary = video_summary(index, rows)
    assert summary["gop_starts"] == [0, 2, 3]
    assert summary["gop_decodes"] == [13, 7, 6]  # frames 0..12, 20..26, 30..35
    # a whole-file decode index has no keyframes: one run, everything counts from frame 0
    summary = video_summary(_index(gop=10, n=40, mode="decode"), rows)
    assert summary["gop_starts"] == [0] and summary["gop_decodes"] == [36]
    assert video_summary(index, np.zeros((0, 2), np.int64))["gop_starts"] == []


@pytest.mark.parametrize(
    "work, cpus, parallelism, expected",
    [
        (0, 2, 200, 2),  # little work: one task per CPU
        (SPLIT_PIXELS * 3, 2, 200, 3),  # then one per SPLIT_PIXELS of work ...
        (SPLIT_PIXELS * 8, 2, 200, 8),  # ... up to four per CPU
        (SPLIT_PIXELS * 9, 2, 200, 8),  # then larger tasks, before there are more
        (MIN_TASK_PIXELS * 40, 2, 200, 40),  # much work: one task per MIN_TASK_PIXELS
        (MIN_TASK_PIXELS * 40, 2, 8, 8),  # never more than Ray's parallelism
        (MIN_TASK_PIXELS * 3, 32, 200, 32),  # a big cluster: every CPU gets a task
        (SPLIT_PIXELS * 200, 32, 200, 128),  # ... and four each when the work fills them
        (MIN_TASK_PIXELS * 3, 64, 200, 64),
        (MIN_TASK_PIXELS * 3, 64, 50, 50),  # ... within Ray's parallelism
        (MIN_TASK_PIXELS, 1, 1, 1),
    ],
)
def test_num_tasks(work, cpus, parallelism, expected):
    assert num_tasks(work, cpus, parallelism) == expected


def test_pack_shards_gives_equal_work_keeps_gops_whole_and_covers_every_row_once():
    runs = [(0, 10 * g, 10 * g + 10, 100) for g in range(20)] + [(1, 0, 3, 30), (2, 0, 4, 40)]
    tasks = pack_shards(runs, 4)
    assert len(tasks) == 4
    work = {(p, f): w for p, f, _, w in runs}
    shares = [
        sum(w for (p, f), w in work.items() if any(s.position == p and s.first <= f < s.last for s in t))
        for t in tasks
    ]
    assert all(abs(share - sum(work.values()) / 4) <= 100 for share in shares)  # equal to within one GOP run
    rows = sorted((s.position, r) for t in tasks for s in t for r in range(s.first, s.last))
    assert rows == sorted((p, r) for p, f, last, _ in runs for r in range(f, last))  # each row exactly once
    assert all(s.first % 10 == 0 for t in tasks for s in t if s.position == 0)  # at GOP starts
    assert any({1, 2} <= {s.position for s in t} for t in tasks)  # the short videos share a task
    assert tasks[0] == [Shard(0, 0, 50)]  # a task's consecutive runs of one video are one shard


def test_pack_shards_a_gop_bigger_than_a_share_is_a_task_of_its_own():
    tasks = pack_shards([(0, 0, 5, 1000), (0, 5, 6, 1), (0, 6, 7, 1)], 3)
    assert tasks[0] == [Shard(0, 0, 5)] and sum(len(t) for t in tasks) == 2


@pytest.mark.parametrize(
    "plan, shared",
    [
        (Plan.build("frames", every=1), False),
        (Plan.build("clips", length=16), False),  # windows one after the other
        (Plan.build("clips", length=4, step=3, stride=10), False),  # a window spans 10 frames
        (Plan.build("clips", length=4, step=3, stride=9), True),
        (
            Plan.build("clips", length=16, stride=16, on_end="wrap"),
            True,
        ),  # the last window wraps to the first frames
        (Plan.build("clips", length=16, sampler="random", clips_per_video=4), True),
    ],
)
def test_rows_share_frames(plan, shared):
    assert plan.rows_share_frames is shared
