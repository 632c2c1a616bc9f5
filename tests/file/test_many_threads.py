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


@pytest.fixture(scope="module")
def bframes(tmp_path_factory) -> str:
    return make_video(tmp_path_factory.mktemp("shared") / "b.mp4", num_frames=120, gop=12, bframes=3)


def _requests(seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [sorted(rng.sample(range(120), rng.randint(1, 6))) for _ in range(25)]


def test_one_reader_shared_by_threads_gives_the_serial_frames(bframes):
    import framepipe

    with framepipe.open(bframes, size=(32, 48)) as serial:
        expected = {k: [serial.get_frames(r).data for r in _requests(k)] for k in range(4)}
    for _run in range(4):  # the crash it replaces came in 3 of 5 runs
        with framepipe.open(bframes, size=(32, 48), threads=1) as shared:

            def work(k: int):
                out = []
                for n, r in enumerate(_requests(k)):
                    out.append(shared.get_frames(r).data if n % 2 else shared.get_clips([r]).data[0])
                return out

            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(work, range(4)))
        for k, got in enumerate(results):
            assert all(np.array_equal(a, b) for a, b in zip(got, expected[k]))
            assert [[read_index(f, box=(0.0, 0.2, 1.0, 0.8)) for f in a] for a in got] == _requests(k)


def test_clones_of_a_file_object_reader_in_threads(bframes):
    import framepipe

    with open(bframes, "rb") as fh, framepipe.open(fh, size=(32, 48)) as base:
        expected = {k: [base.get_frames(r).data for r in _requests(k)] for k in range(4)}
        for _run in range(3):
            clones = [base.clone() for _ in range(4)]
            with ThreadPoolExecutor(4) as pool:
                results = list(
                    pool.map(lambda k: [clones[k].get_frames(r).data for r in _requests(k)], range(4))
                )
            for k, got in enumerate(results):
                assert all(np.array_equal(a, b) for a, b in zip(got, expected[k]))
            for c in clones:
                c.close()


def test_an_iteration_and_calls_from_another_thread_take_turns(bframes):
    import framepipe

    with framepipe.open(bframes, size=(32, 48)) as video:
        with ThreadPoolExecutor(2) as pool:
            walked = pool.submit(lambda: [f.index for f in video.iter_frames(step=3)])
            asked = pool.submit(lambda: [video.get_frames(r).indices.tolist() for r in _requests(9)])
            assert walked.result() == list(range(0, 120, 3))
            assert asked.result() == _requests(9)
