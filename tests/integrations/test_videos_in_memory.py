"""Datasets where they live: Hugging Face ``datasets`` video columns (``Video(decode=False)``: bytes with a
bare file name), ``BytesIO`` and webdataset tar shards, through ``framepipe.open`` and the datasets, exact
frames checked by the index each frame shows."""

from __future__ import annotations

import io

import pytest
import torch
from torch.utils.data import DataLoader

import framepipe
from framepipe.tools.synthetic import make_video, read_index
from framepipe.torch import ClipDataset

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("in-memory")
    return [
        make_video(
            root / f"clip{v}.mp4",
            num_frames=20 + 5 * v,
            width=64,
            height=64,
            gop=6,
            bframes=2,
            index_offset=1000 * v,
        )
        for v in range(3)
    ]


def shown(clip: torch.Tensor) -> list[int]:
    return [read_index(f.numpy(), layout="CHW") for f in clip]


def test_a_hugging_face_video_column_saved_and_loaded(clips, tmp_path):
    table = datasets.Dataset.from_dict({"video": clips, "label": ["a", "b", "a"]})
    table.cast_column("video", datasets.Video(decode=False)).save_to_disk(str(tmp_path / "hf"))
    loaded = datasets.load_from_disk(str(tmp_path / "hf"))
    row = loaded[1]["video"]
    assert isinstance(row["bytes"], bytes) and row["path"] == "clip1.mp4"  # a bare name: bytes are read
    with framepipe.open(row, size=32) as video:
        assert len(video) == 25 and "clip1.mp4" in video.path
        assert [read_index(f) for f in video.get_frames([0, 24]).data] == [1000, 1024]
    ds = ClipDataset(loaded["video"], labels=loaded["label"], length=4, step=2, size=32)
    assert ds.classes == ["a", "b"]
    seen = [(shown(c), int(label)) for c, label in DataLoader(ds, batch_size=None, num_workers=2)]
    assert seen[0] == ([0, 2, 4, 6], 0) and ([1008, 1010, 1012, 1014], 1) in seen
    assert len(seen) == 20 // 8 + 25 // 8 + 30 // 8
    # a row whose bytes are None is read from its path
    with framepipe.open({"bytes": None, "path": clips[2]}) as video:
        assert len(video) == 30
    with pytest.raises(framepipe.InvalidVideoError, match="neither bytes nor a path"):
        framepipe.open({"bytes": None, "path": None})


def test_bytes_and_file_objects_in_every_dataset(clips):
    data = [open(p, "rb").read() for p in clips]
    for videos in ([io.BytesIO(d) for d in data], data):
        ds = ClipDataset(videos, length=5, size=32, sampler="uniform", clips_per_video=2)
        firsts = sorted(shown(clip)[0] for clip, _ in DataLoader(ds, batch_size=None, num_workers=2))
        assert [f // 1000 for f in firsts] == [0, 0, 1, 1, 2, 2]
    with framepipe.open(io.BytesIO(data[0])) as video:
        assert len(video) == 20


def test_webdataset_shards_of_videos(clips, tmp_path):
    wds = pytest.importorskip("webdataset")
    shard = str(tmp_path / "shard-000000.tar")
    with wds.TarWriter(shard) as sink:
        for v, path in enumerate(clips):
            with open(path, "rb") as f:
                sink.write({"__key__": f"clip{v}", "mp4": f.read(), "cls": v})

    def to_clip(sample):
        with framepipe.open(sample["mp4"], size=32) as video:
            return [read_index(f) for f in video.get_clips([[0, 3, 6]]).data[0]], int(sample["cls"])

    got = list(wds.WebDataset(shard, shardshuffle=False).map(to_clip))
    assert got == [([1000 * v, 1000 * v + 3, 1000 * v + 6], v) for v in range(3)]
