"""One request, one answer: the same request gives the same clips and frames through every door
(``ClipDataset`` / ``WindowStream`` in a ``DataLoader`` with any number of workers, ``framepipe.ray`` with
any number of read tasks, ``framepipe clips`` / ``extract``), and augmentation draws per item.

Every frame of these videos shows ``1000 * tag + index``, tag naming the video: each check reads both the
video and the frame back from the pixels, trusting no reader's bookkeeping.
"""

from __future__ import annotations

import collections
import fractions
import json
import os
import subprocess
import sys

import av
import numpy as np
import pytest

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

from torch.utils.data import DataLoader  # noqa: E402

from framepipe.tools.synthetic import draw_frame, read_index  # noqa: E402

# tag -> (key under the folder, frames, encoder options)
TREE = {
    1: ("jump/a.mp4", 50, {"g": "12", "bf": "2"}),
    2: ("jump/b.mkv", 37, {"g": "25", "bf": "3"}),
    3: ("run/c.mp4", 61, {"g": "9", "bf": "0"}),
}
KEYS = {tag: key for tag, (key, _, _) in TREE.items()}
SIZE = dict(size=(48, 48), dtype="uint8")  # square output of square frames: the pattern stays readable


def make_tagged(path, tag: int, num_frames: int, options=None, timestamps_ms=None) -> str:
    """An H.264 video whose frame i shows 1000 * tag + i (96x96)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width = stream.height = 96
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options or {})
        if timestamps_ms is not None:
            stream.codec_context.time_base = stream.time_base = fractions.Fraction(1, 1000)
        for i in range(num_frames):
            frame = av.VideoFrame.from_ndarray(
                draw_frame(1000 * tag + i, height=96, width=96), format="rgb24"
            )
            if timestamps_ms is not None:
                frame.pts, frame.time_base = int(timestamps_ms[i]), fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def seen(clip) -> tuple[int, tuple[int, ...]]:
    """(the video's tag, the frames) of a (T, H, W, C) clip, read from its pixels."""
    values = [read_index(np.asarray(f)) for f in clip]
    tags = {v // 1000 for v in values}
    assert len(tags) == 1, values  # a clip never mixes videos
    return tags.pop(), tuple(v % 1000 for v in values)


def by_video(clips) -> dict[str, list[tuple[int, ...]]]:
    out = collections.defaultdict(list)
    for clip in clips:
        tag, frames = seen(clip)
        out[KEYS[tag]].append(frames)
    return {key: sorted(v) for key, v in out.items()}


CLUSTER_CPUS = (2,)  # one node of two CPUs (tests/integrations/ray/conftest.py)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("one-answer") / "tree"
    for tag, (key, n, options) in TREE.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        make_tagged(root / key, tag, n, options)
    (root / "jump" / "broken.mp4").write_bytes(os.urandom(4000))  # skipped: must change nothing else
    return str(root)


def dataset_clips(ds, *, num_workers: int, persistent: bool = False, epochs=(0,)):
    """Every item of a map-style dataset through a DataLoader, per epoch (set_epoch before each)."""
    loader = DataLoader(
        ds, batch_size=None, num_workers=num_workers, persistent_workers=persistent and num_workers > 0
    )
    out = []
    for epoch in epochs:
        ds.set_epoch(epoch)
        out.append(by_video(clip.numpy() for clip, _ in loader))
    return out


def ray_clips(tree, *, blocks: int, **options):
    from framepipe.ray import read_clips

    ds = read_clips(tree, on_bad_video="skip", override_num_blocks=blocks, **SIZE, **options)
    return by_video(row["clip"] for row in ds.take_all())


def cli_clips(tree, out, *flags) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "framepipe", "clips", tree, "--size", "48", "--out", str(out), *flags],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "broken.mp4" in proc.stderr  # reported and skipped
    clips = []
    with open(os.path.join(out, "manifest.jsonl")) as fh:
        for line in fh:
            record = json.loads(line)
            for shard in record["shards"]:
                with np.load(os.path.join(out, shard["file"])) as z:
                    clips.extend(z["clips"])
    return by_video(clips)


RANDOM = dict(sampler="random", clips_per_video=3, length=6, step=2, seed=5)


def test_random_clips_are_the_same_through_every_door(fresh_cluster, tree, tmp_path):
    from framepipe.torch import ClipDataset

    make = lambda **kw: ClipDataset(tree, layout="THWC", on_bad_video="skip", **SIZE, **RANDOM, **kw)
    with pytest.warns(UserWarning, match="broken.mp4"):
        ds = make()
    serial, next_epoch = dataset_clips(ds, num_workers=0, epochs=(0, 1))
    assert set(serial) == set(KEYS.values()) and all(len(v) == 3 for v in serial.values())
    assert serial != next_epoch  # a new epoch draws again
    for workers in (1, 3):
        assert dataset_clips(ds, num_workers=workers, epochs=(0, 1)) == [serial, next_epoch]
    # set_epoch reaches persistent workers
    assert dataset_clips(ds, num_workers=2, persistent=True, epochs=(0, 1)) == [serial, next_epoch]

    for blocks in (1, 4):
        assert ray_clips(tree, blocks=blocks, **RANDOM) == serial
    assert ray_clips(tree, blocks=2, epoch=1, **RANDOM) == next_epoch
    flags = ["--random", "3", "--seed", "5", "--length", "6", "--step", "2"]
    assert cli_clips(tree, tmp_path / "cli", *flags) == serial

    # a video's clips depend on nothing but the seed, the epoch and its key: not on the other videos,
    # on which were skipped, or on how the videos were named (a list of the same files)
    files = [os.path.join(tree, key) for key in KEYS.values()]
    alone = ClipDataset(files[1:], layout="THWC", **SIZE, **RANDOM)
    assert dataset_clips(alone, num_workers=0)[0] == {k: v for k, v in serial.items() if k != KEYS[1]}


def test_windows_have_one_default_stride(fresh_cluster, tree, tmp_path):
    from framepipe.torch import ClipDataset, WindowStream

    options = dict(length=6, step=2)
    with pytest.warns(UserWarning, match="broken.mp4"):
        ds = ClipDataset(tree, layout="THWC", on_bad_video="skip", **SIZE, **options)
    serial = dataset_clips(ds, num_workers=0)[0]
    # side by side: a window every length * step frames
    assert serial[KEYS[1]] == [tuple(range(s, s + 12, 2)) for s in range(0, 50 - 10, 12)]
    assert dataset_clips(ds, num_workers=2)[0] == serial
    with pytest.warns(UserWarning, match="broken.mp4"):
        stream = WindowStream(tree, layout="THWC", on_bad_video="skip", **SIZE, **options)
    assert by_video(clip.numpy() for clip, _ in DataLoader(stream, batch_size=None, num_workers=2)) == serial
    assert ray_clips(tree, blocks=3, **options) == serial
    assert cli_clips(tree, tmp_path / "cli", "--length", "6", "--step", "2") == serial
    # the older CLI name still works for one release, and says which to use
    proc = subprocess.run(
        [sys.executable, "-m", "framepipe", "clips", os.path.join(tree, KEYS[3]), "--length", "6"]
        + ["--sampling-rate", "2", "--size", "48", "--out", str(tmp_path / "old")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0 and "--sampling-rate is deprecated: use --step" in proc.stderr
    with np.load(next((tmp_path / "old").glob("*.npz"))) as z:
        assert by_video(z["clips"]) == {KEYS[3]: serial[KEYS[3]]}


def test_the_frame_grid_is_one_rule_on_a_variable_frame_rate_file_with_gaps(fresh_cluster, tmp_path):
    import framepipe
    from framepipe.ray import read_frames

    # 40 frames: runs of 40 ms frames, then gaps of 3.1 s and 7.05 s with one frame on screen
    steps = [40] * 12 + [3100] + [40] * 15 + [7050] + [40] * 10
    stamps = np.cumsum([0] + steps).tolist()
    path = make_tagged(tmp_path / "gaps.mp4", 7, len(stamps), {"g": "8", "bf": "2"}, stamps)
    with framepipe.open(path, size=48) as video:
        assert video.metadata.is_variable_frame_rate
        by_iteration = [read_index(f.data) - 7000 for f in video.iter_frames(fps=4)]
        expected = [f.index for f in video.iter_frames(fps=4)]
    # each frame once, in order; a frame on screen through a gap is not repeated at every tick
    assert by_iteration == expected == sorted(set(expected))
    assert 12 in by_iteration and 28 in by_iteration and len(by_iteration) < 40
    rows = read_frames(path, fps=4, override_num_blocks=2, **SIZE).take_all()
    assert sorted(read_index(r["frame"]) - 7000 for r in rows) == by_iteration
    for flags in (["--fps", "4"], ["--every", "0.25s"]):
        out = tmp_path / f"grid{flags[0]}.npz"
        proc = subprocess.run(
            [sys.executable, "-m", "framepipe", "extract", path, *flags, "--size", "48", "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        with np.load(out) as z:
            assert [read_index(f) - 7000 for f in z["frames"]] == by_iteration


def _draw_into(clip, rng):
    """An augmentation that shows its draw: the clip's first value becomes one random byte."""
    out = clip.copy()
    out[0, 0, 0, 0] = rng.integers(0, 256)
    out[0, 0, 0, 1] = rng.integers(0, 256)  # two bytes: 65,536 values, so chance collisions are rare
    return out


def _draws(ds, num_workers: int) -> list[int]:
    loader = DataLoader(ds, batch_size=None, num_workers=num_workers)
    return [int(clip[0, 0, 0, 0]) * 256 + int(clip[0, 0, 0, 1]) for clip, _ in loader]


def test_augmentation_is_drawn_per_item_never_replayed_by_workers(tree):
    from framepipe.augment import ColorJitter, Compose
    from framepipe.torch import ClipDataset

    files = [os.path.join(tree, key) for key in KEYS.values()]
    options = dict(layout="THWC", length=4, step=3, **SIZE)
    # no seed: every item draws fresh entropy, so two workers never make the same draws
    fresh = ClipDataset(files, augment=_draw_into, seed=None, **options)
    draws = _draws(fresh, 2)
    assert len(draws) == len(fresh) >= 12 and len(set(draws)) >= len(draws) - 1
    # with a seed: the same draws for an item whichever worker reads it, and a new set each epoch
    seeded = ClipDataset(files, augment=_draw_into, seed=3, **options)
    serial = _draws(seeded, 0)
    assert len(set(serial)) >= len(serial) - 1
    assert _draws(seeded, 1) == _draws(seeded, 3) == serial
    seeded.set_epoch(1)
    assert _draws(seeded, 2) != serial
    # the built-ins through Compose (its own seed plays no part), and a callable of the clip alone
    jitter = ClipDataset(files, augment=Compose([ColorJitter(brightness=0.5)], seed=0), seed=3, **options)
    means = lambda n: [float(c.float().mean()) for c, _ in DataLoader(jitter, batch_size=None, num_workers=n)]
    assert means(0) == means(2) and len(set(np.round(means(0), 3))) > len(jitter) // 2
    plain = ClipDataset(files, augment=lambda clip: clip[:, ::-1], seed=3, **options)
    assert plain[0][0].shape == (4, 48, 48, 3)


def test_on_error_means_frames_and_on_bad_video_means_videos(tree):
    from framepipe.torch import ClipDataset

    with pytest.raises(ValueError, match="on_error='skip' would drop an item.*'previous'"):
        ClipDataset(tree, length=4, on_error="skip", on_bad_video="skip")
    with pytest.warns(DeprecationWarning, match="pass on_bad_video='skip'"):
        old = ClipDataset(tree, length=4, on_error="skip")
    assert old.videos.request.on_bad_video == "skip" and old.videos.request.on_error == "raise"
    with pytest.raises(ValueError, match="on_bad_video must be one of"):
        ClipDataset(tree, length=4, on_bad_video="ignore")


def test_real_footage_gives_the_same_clips_through_every_door(fresh_cluster, tmp_path):
    """The same check on real files (B-frames, several streams), frame for frame by their pixels."""
    from framepipe.ray import read_clips
    from framepipe.torch import ClipDataset

    data = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "data")
    root = tmp_path / "real"
    (root / "street").mkdir(parents=True)
    (root / "space").mkdir()
    os.symlink(os.path.join(data, "bikes.mp4"), root / "street" / "bikes.mp4")
    os.symlink(os.path.join(data, "nasa_13013.mp4"), root / "space" / "nasa.mp4")
    options = dict(sampler="random", clips_per_video=4, length=5, step=3, seed=21)

    def table(pairs):  # {(key, frame indices): clip bytes}
        return {(key, tuple(int(i) for i in idx)): np.asarray(clip).tobytes() for key, idx, clip in pairs}

    ds = ClipDataset(str(root), layout="THWC", size=(40, 64), dtype="uint8", **options)
    by_dataset = table(
        (ds.videos.video_source(ds.videos.clip(i).video).key, ds.videos.clip(i).frames, clip.numpy())
        for i, (clip, _) in enumerate(DataLoader(ds, batch_size=None, num_workers=2))
    )
    rows = read_clips(str(root), size=(40, 64), override_num_blocks=3, **options).take_all()
    by_ray = table((os.path.relpath(r["path"], root), r["indices"], r["clip"]) for r in rows)
    out = tmp_path / "cli"
    flags = ["--random", "4", "--seed", "21", "--length", "5", "--step", "3", "--size", "64x40"]
    proc = subprocess.run(
        [sys.executable, "-m", "framepipe", "clips", str(root), *flags, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    pairs = []
    with open(out / "manifest.jsonl") as fh:
        for record in map(json.loads, fh):
            for shard in record["shards"]:
                with np.load(out / shard["file"]) as z:
                    pairs += [(record["key"], i, c) for i, c in zip(z["indices"], z["clips"])]
    assert len(by_dataset) == 8 and by_dataset == by_ray == table(pairs)
