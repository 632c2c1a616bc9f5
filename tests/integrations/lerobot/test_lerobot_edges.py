"""The rough edges LeRobot users report, through ``decode_video_frames``: the last frame asked at its
own timestamp, episodes appended with a gap between them, DataLoader workers started by fork and by
spawn, and a pool that stays bounded over thousands of files."""

from __future__ import annotations

import os
import resource

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import framepipe  # noqa: E402
from framepipe import lerobot as fl  # noqa: E402
from framepipe.tools.synthetic import make_video, read_index  # noqa: E402
from support.lerobot_dataset import TimestampQueries  # noqa: E402

FPS = 30
TOL = 1e-4


def labels(frames) -> list[int]:
    return [read_index(f.permute(1, 2, 0).numpy()) for f in frames]


def test_the_last_frame_at_its_own_timestamp(tmp_path):
    """LeRobot's torchcodec path turns the last frame's timestamp into index == frame count (lerobot#3513,
    #3883); here the lookup is by the index's timestamps, so the last frame comes back."""
    n = 150
    path = make_video(tmp_path / "ep.mp4", num_frames=n, fps=FPS, gop=2)
    for episode_start in (0.0, 2.0, 3.3):  # the query is from_timestamp + (n - 1) / fps, in float32
        last = np.float32(episode_start) + np.float32((n - 1) / FPS) - np.float32(episode_start)
        frames = fl.decode_video_frames(path, [float(last)], TOL, return_uint8=True)
        assert labels(frames) == [n - 1]
    with pytest.raises(ValueError, match="violate the tolerance"):
        fl.decode_video_frames(path, [n / FPS], TOL)  # one interval past the last frame is no frame


def test_episodes_appended_with_a_gap_between_them(tmp_path):
    # two 30-frame episodes in one file, the second starting 1.5 s after the first ended
    first = [round(1000 * i / FPS) for i in range(30)]
    second = [first[-1] + 1500 + round(1000 * i / FPS) for i in range(30)]
    path = make_video(tmp_path / "two.mp4", num_frames=60, timestamps_ms=first + second, gop=2)
    with framepipe.open(path) as video:
        pts = video.pts_seconds
    for frame in (0, 29, 30, 45, 59):
        got = fl.decode_video_frames(path, [float(pts[frame])], TOL, return_uint8=True)
        assert labels(got) == [frame]
    with pytest.raises(ValueError, match="violate the tolerance"):
        fl.decode_video_frames(path, [float(pts[29]) + 0.75], TOL)  # inside the gap: no frame near


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_dataloader_workers_started_by_fork_and_by_spawn(tmp_path, start):
    path = make_video(tmp_path / "cam.mp4", num_frames=120, fps=FPS, gop=2)
    rng = np.random.default_rng(4)
    firsts = rng.integers(0, 116, 24)
    queries = [[float(np.float32((f + k) / FPS)) for k in range(4)] for f in firsts]
    fl.decode_video_frames(path, queries[0], TOL)  # the parent holds an open reader before the workers start
    ds = TimestampQueries(str(path), queries, TOL)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2, multiprocessing_context=start)
    got = [labels(clip) for batch in loader for clip in batch]
    assert got == [[int(f) + k for k in range(4)] for f in firsts]


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_pool_stays_bounded_over_8000_files(tmp_path, monkeypatch):
    """LeRobot's unbounded decoder cache reached 35 GB per worker (lerobot#3614): here at most max_open
    readers stay open, and memory after 8,000 files is what it was after 1,000."""
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    src = make_video(tmp_path / "one.mp4", num_frames=4, fps=FPS, width=32, height=32, gop=2)
    pool = fl.ReaderPool(max_open=32)
    rss = {}
    for i in range(8000):
        path = tmp_path / f"episode_{i:05d}.mp4"
        os.link(src, path)  # a file of its own to the pool: 8,000 different readers over time
        fl.decode_video_frames(path, [0.0], TOL, pool=pool)
        assert len(pool) <= 32
        if i + 1 in (1000, 8000):
            rss[i + 1] = _peak_rss_mb()
    assert pool.stats().opened == 8000 and pool.stats().closed == 8000 - 32
    assert rss[8000] - rss[1000] < 40, rss  # bounded: no growth with the number of files
    pool.clear()
