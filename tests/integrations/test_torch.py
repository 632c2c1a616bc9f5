"""framepipe.torch: ClipDataset and WindowStream with DataLoader workers, ranks, manifests, bad videos."""

from __future__ import annotations

import collections
import json
import os
import types

import pytest
import torch
from torch.utils.data import DataLoader

import framepipe.torch as fpt
from framepipe._adapters import torch_datasets
from framepipe.dataset import VideoDataset
from framepipe.tools.synthetic import make_video, read_index


def first_index(clip: torch.Tensor) -> list[int]:
    """Indices shown by each frame of a (T, C, H, W) clip made with resize='shorter_side'."""
    return [read_index(f.numpy(), layout="CHW") for f in clip]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """root/<class>/<video>: two classes, three good videos, and one corrupt file that must be skipped."""
    root = tmp_path_factory.mktemp("tree")
    lengths = {"jump/a.mp4": 40, "jump/b.mkv": 24, "run/c.mp4": 32}
    for rel, n in lengths.items():
        os.makedirs(root / os.path.dirname(rel), exist_ok=True)
        make_video(str(root / rel), num_frames=n)
    (root / "run" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(3000))
    return root, lengths


def test_folder_dataset_skips_corrupt_video_with_warning(tree):
    root, lengths = tree
    with pytest.warns(UserWarning, match=r"broken.mp4") as record:
        ds = fpt.ClipDataset(
            str(root), length=8, stride=8, size=(32, 32), resize="shorter_side", on_bad_video="skip"
        )
    assert any("skipped 1 of 4" in str(w.message) for w in record)
    assert ds.classes == ["jump", "run"]
    assert [p for p, _ in ds.videos.skipped] == [str(root / "run" / "broken.mp4")]
    assert len(ds) == 40 // 8 + 24 // 8 + 32 // 8
    clip, label = ds[6]  # first clip of b.mkv
    assert tuple(clip.shape) == (8, 3, 32, 32) and label == 0
    assert first_index(clip) == list(range(8, 16))
    with pytest.raises(Exception, match="broken.mp4"):
        fpt.ClipDataset(str(root), length=8, on_error="raise")


def test_manifests_csv_and_jsonl(tree, tmp_path):
    root, _ = tree
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(f"path,label,start,end\n{root}/jump/a.mp4,jump,0.4,1.2\n{root}/run/c.mp4,run,,\n")
    ds = VideoDataset.from_manifest(csv_path, length=4, stride=4)
    # a.mp4 at 25 fps: frames 10..29 -> 5 windows; c.mp4: 32 frames -> 8 windows
    assert len(ds) == 5 + 8 and ds.clip(0).frames == [10, 11, 12, 13] and ds.clip(5).label == 1
    jl = tmp_path / "m.jsonl"
    jl.write_text(
        "\n".join(
            json.dumps({"path": f"{root}/{p}", "label": lab})
            for p, lab in [("run/c.mp4", "run"), ("jump/b.mkv", "jump")]
        )
    )
    ds = VideoDataset.from_manifest(jl, length=8, stride=8)
    assert ds.classes == ["jump", "run"] and [ds.clip(i).label for i in (0, 4)] == [1, 0]
    bad = tmp_path / "bad.csv"
    bad.write_text("only_one_field\n")
    with pytest.raises(ValueError, match=r"bad.csv:1: expected path,label"):
        VideoDataset.from_manifest(bad, length=4)


def test_dataloader_workers_and_pin_memory(tree):
    root, _ = tree
    ds = fpt.ClipDataset(
        [str(root / "jump/a.mp4"), str(root / "run/c.mp4")],
        labels=[0, 1],
        length=8,
        stride=8,
        size=(32, 32),
        resize="shorter_side",
    )
    ds[0]  # opens a reader in the parent: workers must not use it after the fork
    loader = DataLoader(ds, batch_size=3, num_workers=2, pin_memory=True, shuffle=False)
    seen = []
    for clips, labels in loader:
        assert clips.shape[1:] == (8, 3, 32, 32) and clips.dtype == torch.float32
        for clip, label in zip(clips, labels):
            seen.append((int(label), first_index(clip)[0]))
    assert seen == [(0, s) for s in range(0, 40, 8)] + [(1, s) for s in range(0, 32, 8)]


def test_random_clips_reproducible_and_redrawn(tree):
    root, _ = tree
    make = lambda: VideoDataset.from_folder(
        root, length=4, sampler="random", clips_per_video=3, seed=11, on_bad_video="skip"
    )
    with pytest.warns(UserWarning):
        a, b = make(), make()
    assert [a.clip(i).frames for i in range(len(a))] == [b.clip(i).frames for i in range(len(b))]
    before = [a.clip(i).frames for i in range(len(a))]
    a.set_epoch(1)
    assert [a.clip(i).frames for i in range(len(a))] != before


def test_augment_and_layouts(tree):
    root, _ = tree
    flip = lambda clip: clip[:, :, ::-1]
    ds = fpt.ClipDataset(
        [str(root / "run/c.mp4")],
        length=4,
        stride=4,
        size=(32, 32),
        resize="shorter_side",
        layout="CTHW",
        augment=flip,
        dtype="uint8",
    )
    clip, label = ds[0]
    assert tuple(clip.shape) == (3, 4, 32, 32) and clip.dtype == torch.uint8 and label == -1
    unflipped = clip.numpy()[:, 0].transpose(1, 2, 0)[:, ::-1]
    assert read_index(unflipped) == 0


def _stream_items(stream, worker_id, num_workers, monkeypatch):
    info = types.SimpleNamespace(id=worker_id, num_workers=num_workers)
    with monkeypatch.context() as patch:
        patch.setattr(torch_datasets, "get_worker_info", lambda: info)
        return [(int(label), read_index(clip[0].numpy(), layout="CHW")) for clip, label in stream]


def test_window_stream_exactly_once_across_workers_and_ranks(tree, monkeypatch):
    root, lengths = tree
    paths = [str(root / "jump/a.mp4"), str(root / "jump/b.mkv"), str(root / "run/c.mp4")]
    stream = fpt.WindowStream(
        paths, labels=[0, 1, 2], length=8, stride=4, size=(32, 32), resize="shorter_side", batch_windows=3
    )
    want = collections.Counter((v, s) for v, n in enumerate([40, 24, 32]) for s in range(0, n - 7, 4))
    # real DataLoader workers
    got = collections.Counter()
    for clips, labels in DataLoader(stream, batch_size=4, num_workers=2):
        for clip, label in zip(clips, labels):
            got[(int(label), read_index(clip[0].numpy(), layout="CHW"))] += 1
    assert got == want
    # two ranks x two workers, as torch.distributed would shard them
    monkeypatch.setattr(torch.distributed, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.distributed, "get_world_size", lambda: 2)
    got = collections.Counter()
    for rank in (0, 1):
        monkeypatch.setattr(torch.distributed, "get_rank", lambda r=rank: r)
        for worker in (0, 1):
            got.update(_stream_items(stream, worker, 2, monkeypatch))
    assert got == want and len(stream) == sum(want.values())


def test_argument_errors(tree):
    root, _ = tree
    with pytest.raises(ValueError, match="layout"):
        fpt.ClipDataset([str(root / "run/c.mp4")], length=4, layout="NCHW")
    with pytest.raises(ValueError, match="sampler"):
        fpt.ClipDataset([str(root / "run/c.mp4")], length=4, sampler="dense")
    with pytest.raises(ValueError, match="labels must have one entry per path"):
        fpt.ClipDataset([str(root / "run/c.mp4")], labels=[1, 2], length=4)
    with pytest.raises(NotADirectoryError):
        VideoDataset.from_folder(root / "nope", length=4)


def test_temporal_jitter_is_seeded_and_keeps_clips_whole(tree):
    root, _ = tree
    make = lambda: fpt.ClipDataset(
        [str(root / "jump/a.mp4")],
        length=6,
        stride=10,
        size=(32, 32),
        resize="shorter_side",
        temporal_jitter=3,
        seed=4,
    )
    a, b = make(), make()
    shown_a = [first_index(a[i][0]) for i in range(len(a))]
    assert shown_a == [first_index(b[i][0]) for i in range(len(b))]
    for i, frames in enumerate(shown_a):
        start = 10 * i
        assert frames == list(range(frames[0], frames[0] + 6)) and abs(frames[0] - start) <= 3
    assert any(frames[0] != 10 * i for i, frames in enumerate(shown_a))  # it did move some clips


def _count_indexing(marker_dir: str):
    """A worker_init_fn: every index the worker builds or loads leaves a file in ``marker_dir``."""

    def init(worker_id: int) -> None:
        from framepipe._index import store

        load = store.IndexStore._load

        def counted(self):
            open(os.path.join(marker_dir, f"{os.getpid()}-{len(os.listdir(marker_dir))}"), "w").close()
            return load(self)

        store.IndexStore._load = counted

    return init


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_never_index_a_video_again(tree, tmp_path, monkeypatch, persistent):
    # no index cache to fall back on: a worker that indexed would demux every file again
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "no-cache"))
    (tmp_path / "no-cache").write_text("a file where the cache folder would be")
    root, _ = tree
    files = [str(root / "jump/a.mp4"), str(root / "jump/b.mkv"), str(root / "run/c.mp4")]
    ds = fpt.ClipDataset(files, length=4, sampler="random", clips_per_video=2, size=32)
    markers = tmp_path / "markers"
    markers.mkdir()
    loader = DataLoader(
        ds,
        batch_size=2,
        num_workers=2,
        worker_init_fn=_count_indexing(str(markers)),
        persistent_workers=persistent,
    )
    for epoch in range(2):
        ds.set_epoch(epoch)
        assert sum(len(clips) for clips, _ in loader) == len(ds) == 6
    assert os.listdir(markers) == []  # every reader opened over the index made in the main process
    stream = fpt.WindowStream(files, length=4, size=32)
    assert sum(1 for _ in DataLoader(stream, num_workers=2, worker_init_fn=_count_indexing(str(markers))))
    assert os.listdir(markers) == []
