"""Many threads over many files: indexing, the index cache, and clip reads."""

from __future__ import annotations

import os
import random
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from framepipe.dataset import VideoDataset
from framepipe.tools.synthetic import make_video, read_index

torch_mod = pytest.importorskip("torch")

from framepipe.torch import ClipDataset  # noqa: E402


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """48 videos (4 distinct encodings, linked under many names) and 4 files that are not videos."""
    root = tmp_path_factory.mktemp("many")
    bases = [
        make_video(root / f"base{k}.mp4", num_frames=30 + 6 * k, width=96, height=64, gop=8, bframes=k % 3)
        for k in range(4)
    ]
    paths, lengths = [], {}
    for i in range(48):
        p = str(root / f"v{i:02d}.mp4")
        os.link(bases[i % 4], p)
        paths.append(p)
        lengths[p] = 30 + 6 * (i % 4)
    bad = []
    for i, content in enumerate(
        [b"", b"not a video" * 50, b"\x00" * 4096, open(bases[0], "rb").read()[:300]]
    ):
        p = str(root / f"bad{i}.mp4")
        with open(p, "wb") as f:
            f.write(content)
        bad.append(p)
    return paths, bad, lengths


def test_index_in_many_threads_cold_then_cached(many, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    paths, bad, lengths = many
    mixed = paths[:24] + bad + paths[24:]
    for attempt in ("cold", "cached", "cached again"):
        ds = VideoDataset.from_paths(mixed, length=4, sampler="windows", index_workers=16, on_error="skip")
        assert sorted(p for p, _ in ds.skipped) == sorted(bad), attempt
        assert len(ds) == sum(lengths[p] // 4 for p in paths), attempt


def test_clip_reads_from_many_threads_are_exact(many, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    paths, _, _ = many
    clips = ClipDataset(paths, length=4, layout="THWC", sampler="windows", index_workers=8)
    order = list(range(len(clips)))
    random.Random(0).shuffle(order)

    def read(i):
        clip, _ = clips[i]
        ref = clips.videos.clip(i)
        return [read_index(f) for f in clip.numpy()] == list(np.asarray(ref.frames))

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(read, order[:400]))
    assert all(results)
