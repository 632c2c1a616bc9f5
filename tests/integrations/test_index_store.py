"""The index store: ``framepipe index`` builds the exact index of many videos once; the datasets, the Keras
sequences and ``framepipe clips`` read it (``index=STORE``) and open nothing up front; a video changed since
is indexed again, never trusted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from framepipe._adapters.listing import resolve_sources
from framepipe._file.reader import load_index
from framepipe._index import store as store_module
from framepipe._index.archive import IndexArchive
from framepipe.tools.synthetic import make_video, read_index


def framepipe_cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "framepipe", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("store") / "tree"
    spec = {"walk/a.mp4": 30, "walk/b.mkv": 22, "run/c.mp4": 41, "run/d.avi": 18}
    for v, (rel, n) in enumerate(spec.items()):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        codec = "mpeg4" if rel.endswith(".avi") else "libx264"
        make_video(
            root / rel,
            num_frames=n,
            width=64,
            height=64,
            gop=8,
            bframes=2,
            codec=codec,
            index_offset=1000 * v,
        )
    (root / "run" / "broken.mp4").write_bytes(os.urandom(3000))
    store = root.parent / "store"
    proc = framepipe_cli("index", root, "--out", store, "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    assert "4 videos indexed" in proc.stdout and "broken.mp4" in proc.stderr
    return root, store, spec


def test_the_store_holds_each_video_exactly_as_indexing_it_would(tree):
    root, store, spec = tree
    archive = IndexArchive(store)
    assert len(archive) == 4 and [f["path"] for f in archive.failed] == [str(root / "run" / "broken.mp4")]
    for rel, n in spec.items():
        path = str(root / rel)
        row = archive.row(path)
        stored, built = archive.index(row, path), load_index(path, index_cache=False)
        assert archive.num_frames(row) == n == stored.num_frames
        for name in ("pkt_pts", "pkt_dts", "pkt_key", "pkt_size", "frame_pts", "frame_pkt", "frame_key"):
            assert np.array_equal(getattr(stored, name), getattr(built, name)), (rel, name)
        assert (stored.time_base, stored.codec, stored.mode, stored.end_pts, stored.built_from) == (
            built.time_base,
            built.codec,
            built.mode,
            built.end_pts,
            built.built_from,
        )
        assert np.array_equal(archive.pts_seconds(row), built.pts_seconds)
    # written whole, then renamed into place: nothing half-written beside it
    assert not [p for p in os.listdir(store.parent) if p.startswith(".store")]


def test_datasets_read_the_store_and_open_nothing_up_front(tree, monkeypatch):
    from torch.utils.data import DataLoader

    from framepipe.torch import ClipDataset

    root, store, _ = tree
    options = dict(
        length=4,
        step=2,
        sampler="random",
        clips_per_video=2,
        seed=4,
        size=32,
        layout="THWC",
        dtype="uint8",
        on_bad_video="skip",
    )
    with pytest.warns(UserWarning, match="broken.mp4"):
        plain = ClipDataset(str(root), **options)
    expected = sorted(
        tuple(read_index(f) for f in clip.numpy()) for clip, _ in DataLoader(plain, batch_size=None)
    )

    real_load = store_module.IndexStore._load

    def no_indexing(self):  # the one video the store does not list (it failed) is tried again, alone
        if not self.source.name.endswith("broken.mp4"):
            raise AssertionError(f"indexed {self.source.name} though the store has it")
        return real_load(self)

    monkeypatch.setattr(store_module.IndexStore, "_load", no_indexing)
    with pytest.warns(UserWarning, match="broken.mp4"):  # not in the store: tried, and skipped
        stored = ClipDataset(str(root), index=str(store), **options)
    got = sorted(
        tuple(read_index(f) for f in clip.numpy())
        for clip, _ in DataLoader(stored, batch_size=None, num_workers=2)  # workers: from the store too
    )
    assert got == expected and len(got) == 8
    from framepipe.torch import WindowStream  # the iterable dataset reads the store the same way

    windows = WindowStream(str(root / "walk"), length=5, size=32, index=str(store))
    assert sum(1 for _ in DataLoader(windows, batch_size=None, num_workers=2)) == 30 // 5 + 22 // 5


def test_a_video_changed_since_is_indexed_again(tree, tmp_path):
    from framepipe.dataset import VideoDataset

    root, store, _ = tree
    copy = tmp_path / "copy"
    copy.mkdir()
    a = make_video(copy / "a.mp4", num_frames=12, width=64, height=64)
    b = make_video(copy / "b.mp4", num_frames=15, width=64, height=64)
    framepipe_cli("index", copy, "--out", tmp_path / "s")
    make_video(copy / "a.mp4", num_frames=20, width=64, height=64)  # rewritten: size and mtime differ
    ds = VideoDataset(resolve_sources([a, b]), length=4, index=str(tmp_path / "s"))
    assert [ds.num_frames(v) for v in range(2)] == [20, 15]  # the new count, never the stored one


def test_a_store_of_another_version_or_none_at_all_is_refused(tree, tmp_path):
    from framepipe.dataset import VideoDataset

    root, store, _ = tree
    with pytest.raises(ValueError, match="not a framepipe index store"):
        VideoDataset(resolve_sources(str(root / "walk")), length=4, index=str(tmp_path))
    other = tmp_path / "old"
    os.makedirs(other)
    toc = json.loads((store / "toc.json").read_text())
    (other / "toc.json").write_text(json.dumps(dict(toc, version=0)))
    with pytest.raises(ValueError, match="another version.*framepipe index"):
        VideoDataset(resolve_sources(str(root / "walk")), length=4, index=str(other))
    with pytest.raises(ValueError, match="built for stream=None, not stream=1"):
        VideoDataset(resolve_sources(str(root / "walk")), length=4, index=str(store), stream=1)


def test_keras_and_the_cli_read_the_store(tree, tmp_path, monkeypatch):
    from framepipe.keras import TimeseriesGenerator

    root, store, spec = tree
    paths = [str(root / rel) for rel in ("walk/a.mp4", "run/c.mp4")]
    monkeypatch.setattr(store_module.IndexStore, "_load", lambda self: pytest.fail("indexed"))
    gen = TimeseriesGenerator(paths, None, 4, batch_size=64, size=32, index=str(store))
    assert len(gen[0]) == 26 + 37 and gen.windows_of[1].num_frames == 41
    monkeypatch.undo()
    proc = framepipe_cli("clips", root / "walk", "--length", "5", "--index", store, "--out", tmp_path / "c")
    assert proc.returncode == 0, proc.stderr
    assert "10 clips from 2 videos" in proc.stdout  # 30 // 5 + 22 // 5
    refuse = framepipe_cli(
        "clips", root / "walk", "--length", "5", "--index", tmp_path, "--out", tmp_path / "d"
    )
    assert refuse.returncode == 1 and "not a framepipe index store" in refuse.stderr
