"""framepipe.ray against a real Ray cluster: a head and one more node on this machine (127.0.0.1), shared by
the module. Rows carry the frames' index patterns, so each check reads back which frames came out."""

from __future__ import annotations

import collections
import os
import threading

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from framepipe.tools.synthetic import make_video, pattern_box, read_index  # noqa: E402

BOX = pattern_box(96, 160)  # stretched outputs keep the pattern at the source's fractions


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    for cls, n in (("jump", 48), ("run", 40)):
        (root / "tree" / cls).mkdir(parents=True)
        make_video(root / "tree" / cls / "a.mp4", num_frames=n, gop=12, bframes=2)
    long = make_video(root / "long.mp4", num_frames=600, gop=30, bframes=2, fps=30)
    raw = make_video(root / "raw.h264", num_frames=60, gop=12, bframes=2, container_format="h264")
    broken = root / "broken.mp4"
    broken.write_bytes(os.urandom(5000))
    return dict(tree=str(root / "tree"), long=long, raw=raw, broken=str(broken))


def _check_exact(rows) -> None:
    for r in rows:
        assert [read_index(f, box=BOX) for f in r["clip"]] == list(r["indices"]), r["path"]


def test_clips_from_class_folders_are_exact_and_labelled(cluster, videos):
    from framepipe.ray import read_clips

    rows = read_clips(videos["tree"], length=8, stride=8, size=(48, 80)).take_all()
    assert len(rows) == 48 // 8 + 40 // 8
    _check_exact(rows)
    assert {(r["label"], r["label_id"]) for r in rows} == {("jump", 0), ("run", 1)}
    assert rows[0]["clip"].shape == (8, 48, 80, 3) and rows[0]["pts_seconds"].shape == (8,)


def test_a_long_video_spreads_over_tasks_on_both_nodes(cluster, videos):
    from framepipe.ray import read_clips

    node = lambda batch: {
        **batch,
        "node": np.array([ray.get_runtime_context().get_node_id()] * len(batch["path"])),
    }
    ds = read_clips(
        videos["long"], length=8, stride=8, size=(48, 80), override_num_blocks=8, rows_per_block=5
    )
    rows = ds.map_batches(node, batch_size=None).take_all()  # fused with the read: runs in the read tasks
    assert sorted(int(r["indices"][0]) for r in rows) == list(range(0, 600 - 7, 8))
    _check_exact(rows)
    assert len({r["node"] for r in rows}) == 2  # both nodes decoded


def test_shards_start_at_gops_and_pack_short_videos(cluster, videos):
    from framepipe._adapters.listing import resolve_sources
    from framepipe._adapters.ray_plan import Plan
    from framepipe.format import FrameFormat
    from framepipe.ray import VideoDatasource

    sources = resolve_sources(
        [videos["long"]] + [os.path.join(videos["tree"], c, "a.mp4") for c in ("jump", "run")]
    )
    ds = VideoDatasource(
        sources,
        Plan.build("clips", length=8, stride=8, frame_format=FrameFormat(size=32)),
        storage_options=None,
        rows_per_block=None,
    )
    tasks = ds.shards(6)
    assert len(tasks) <= 6
    long_tasks = [t for t in tasks if any(s.position == 0 for s in t)]
    assert len(long_tasks) >= 4  # 74 windows of the long video over several tasks
    gop_rows = set(ds._summaries[0]["gop_starts"])
    assert all(s.first in gop_rows for t in long_tasks for s in t if s.position == 0)  # keyframe-aligned
    assert any({1, 2} <= {s.position for s in t} for t in tasks)  # the two short videos share a task
    covered = collections.Counter((s.position, r) for t in tasks for s in t for r in range(s.first, s.last))
    assert set(covered.values()) == {1} and len(covered) == ds.num_rows  # every row exactly once


def test_read_tasks_follow_the_decode_work_and_the_cluster(cluster, videos):
    import framepipe.ray as fray
    from framepipe._adapters.listing import resolve_sources
    from framepipe._adapters.ray_plan import Plan
    from framepipe.format import FrameFormat

    ds = fray.VideoDatasource(
        resolve_sources([videos["long"]]),
        Plan.build("frames", every=1, frame_format=FrameFormat(size=32)),
        storage_options=None,
        rows_per_block=None,
    )
    summary = ds._summaries[0]
    # every frame: each GOP run decodes its own frames, from its keyframe to its last frame
    assert sum(summary["gop_decodes"]) == 600 and len(summary["gop_decodes"]) == len(summary["gop_starts"])
    assert ds.num_tasks(200) == 2  # little work: one per CPU of the two-node cluster (1 CPU each)
    assert ds.num_tasks(1) == 1  # never more than Ray asks for
    tasks = ds.shards(10)
    assert len(tasks) == 10 and all(s.first in summary["gop_starts"] for t in tasks for s in t)
    assert sorted(r for t in tasks for s in t for r in range(s.first, s.last)) == list(range(600))


def test_ray_keeps_the_read_tasks_blocks_whole(cluster, videos):
    from framepipe.ray import read_frames

    # 600 frames of 192 KiB, little work: a read task per CPU (2), whose blocks Ray, left to itself, would
    # split many ways towards its own estimate of blocks
    assert read_frames(videos["long"], size=256).materialize().num_blocks() == 2
    assert read_frames(videos["long"], size=256, override_num_blocks=16).materialize().num_blocks() == 16


def test_read_tasks_keep_recent_frames_only_where_rows_share_frames(cluster, videos):
    import framepipe
    import framepipe.ray as fray
    from framepipe._adapters.listing import resolve_sources
    from framepipe._adapters.ray_plan import Plan
    from framepipe.format import FrameFormat

    def kept_while_reading(plan):  # run one read task here, and look between its blocks
        ds = fray.VideoDatasource(
            resolve_sources([videos["long"]]),
            plan,
            storage_options=None,
            rows_per_block=3,
        )
        before = framepipe.recent_frames_bytes()
        read = ds.get_read_tasks(1)[0].read_fn
        return max(framepipe.recent_frames_bytes() - before for _ in read())

    small = FrameFormat(size=32)
    assert kept_while_reading(Plan.build("clips", length=8, stride=8, frame_format=small)) == 0
    assert kept_while_reading(Plan.build("frames", every=5, frame_format=small)) == 0
    # the next block asks again
    assert kept_while_reading(Plan.build("clips", length=8, stride=4, frame_format=small)) > 0


def test_random_clips_follow_seed_and_epoch(cluster, videos):
    from framepipe.ray import read_clips

    def draw(epoch):
        ds = read_clips(
            videos["long"], length=4, sampler="random", clips_per_video=12, seed=3, epoch=epoch, size=32
        )
        return sorted(tuple(r["indices"]) for r in ds.take_all())

    assert draw(0) == draw(0) and draw(0) != draw(1)


def test_frames_by_fps_every_and_times(cluster, videos):
    from framepipe.ray import read_frames

    by_fps = read_frames(videos["long"], fps=2, size=(48, 80)).take_all()
    assert sorted(r["index"] for r in by_fps) == list(range(0, 600, 15))
    assert all(read_index(r["frame"], box=BOX) == r["index"] for r in by_fps)
    every = read_frames(videos["tree"], every=10).take_all()
    assert sorted((r["label"], r["index"]) for r in every)[:3] == [("jump", 0), ("jump", 10), ("jump", 20)]
    raw = read_frames(videos["raw"], every=7, size=(48, 80)).take_all()  # no timestamps: one full-decode run
    assert sorted(r["index"] for r in raw) == list(range(0, 60, 7))
    assert all(read_index(r["frame"], box=BOX) == r["index"] for r in raw)
    at = read_frames(videos["long"], times=[1.0, 2.5]).take_all()
    assert sorted(r["index"] for r in at) == [30, 75]
    with pytest.raises(ValueError, match="at most one of fps, every and times"):
        read_frames(videos["long"], fps=1, every=3)


def test_frames_snapped_to_keyframes(cluster, videos):
    """snap="keyframe": the keyframe nearest each time, one row each, with the time it answers."""
    import framepipe
    from framepipe.ray import read_frames
    from framepipe.sampling import keyframes_at_times

    with framepipe.open(videos["long"]) as video:  # 30 fps, a keyframe every 30 frames
        m = video.metadata
        times = np.arange(m.start_seconds, m.end_seconds, 1 / 1.5)
        expected, asked = keyframes_at_times(video.pts_seconds, m.end_seconds, m.keyframe_indices, times)
    rows = sorted(
        read_frames(videos["long"], fps=1.5, size=(48, 80), snap="keyframe").take_all(),
        key=lambda r: r["index"],
    )
    exact = read_frames(videos["long"], fps=1.5, size=(48, 80)).count()
    assert [r["index"] for r in rows] == sorted(expected.tolist()) and len(rows) <= exact
    assert all(read_index(r["frame"], box=BOX) == r["index"] for r in rows)
    by_index = dict(zip(expected.tolist(), asked.tolist()))
    assert all(r["requested_seconds"] == by_index[r["index"]] for r in rows)
    with pytest.raises(ValueError, match="samples by time: give fps or times"):
        read_frames(videos["long"], every=3, snap="keyframe")


def test_on_error(cluster, videos):
    import framepipe
    from framepipe.ray import read_clips

    paths = [videos["long"], videos["broken"]]
    with pytest.warns(UserWarning, match="skipped 1 of 2 videos.*broken.mp4"):
        ds = read_clips(paths, length=8, stride=100, size=32, on_bad_video="skip")
    assert {r["path"] for r in ds.take_all()} == {videos["long"]}
    # the older spelling still skips, for one release, and says what to write instead
    with pytest.warns(DeprecationWarning, match="on_bad_video='skip'"):
        old = read_clips(paths, length=8, stride=100, size=32, on_error="skip")
    assert {r["path"] for r in old.take_all()} == {videos["long"]}
    with pytest.raises(framepipe.InvalidVideoError, match="broken.mp4"):
        read_clips(paths, length=8, size=32)


def test_nothing_lost_or_repeated_when_a_worker_dies_mid_task(cluster, videos, tmp_path):
    from framepipe.ray import read_clips

    marker = str(tmp_path / "killed")

    def die_once(batch):  # fused with the read task: the worker dies in the middle of reading
        if batch["indices"][0][0] >= 300 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        return batch

    ds = read_clips(videos["long"], length=8, stride=8, size=32, override_num_blocks=4, rows_per_block=6)
    rows = ds.map_batches(die_once, batch_size=None).take_all()
    assert os.path.exists(marker)  # the worker did die
    starts = collections.Counter(int(r["indices"][0]) for r in rows)
    assert sorted(starts) == list(range(0, 600 - 7, 8)) and set(starts.values()) == {1}


def test_streaming_consumers(cluster, videos, tmp_path):
    torch = pytest.importorskip("torch")
    from framepipe.ray import read_clips

    ds = read_clips(videos["tree"], length=4, stride=4, size=(24, 40), dtype="float32")
    # tensors for the numeric columns; the path and the class name stay out of the tensors
    batches = list(ds.select_columns(["clip", "label_id", "indices"]).iter_torch_batches(batch_size=5))
    assert sum(len(b["clip"]) for b in batches) == 22 and batches[0]["clip"].dtype == torch.float32
    means = ds.map_batches(lambda b: {"mean": b["clip"].reshape(len(b["clip"]), -1).mean(axis=1)}).take_all()
    assert len(means) == 22
    ds.select_columns(["indices", "path"]).write_parquet(str(tmp_path / "pq"))
    assert ray.data.read_parquet(str(tmp_path / "pq")).count() == 22
    ds.write_numpy(str(tmp_path / "np"), column="clip")
    assert ray.data.read_numpy(str(tmp_path / "np")).count() == 22
    # what ray.train's get_dataset_shard hands each training worker; the workers read at the same time
    shards = ds.streaming_split(2, equal=True)
    seen = [[], []]

    def consume(k):
        seen[k] = sorted((r["path"], int(r["indices"][0])) for r in shards[k].iter_rows())

    workers = [threading.Thread(target=consume, args=(k,)) for k in (0, 1)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert len(seen[0]) == len(seen[1]) == 11 and not set(seen[0]) & set(seen[1])


def test_ray_train_reads_its_shard(cluster, videos, tmp_path):
    pytest.importorskip("torch")
    import ray.train
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from framepipe.ray import read_clips

    out = tmp_path / "seen"

    def loop(config):  # a training worker: the clips it is handed, as tensors
        seen = []
        for batch in ray.train.get_dataset_shard("train").iter_torch_batches(batch_size=4):
            seen += [int(i[0]) for i in batch["indices"]]
            assert batch["clip"].shape[1:] == (4, 24, 40, 3)
        (config["out"]).write_text(",".join(map(str, sorted(seen))))

    ds = read_clips(videos["tree"], length=4, stride=4, size=(24, 40)).select_columns(["clip", "indices"])
    TorchTrainer(
        loop,
        train_loop_config={"out": out},
        datasets={"train": ds},
        scaling_config=ScalingConfig(num_workers=1, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(storage_path=str(tmp_path / "runs"), name="framepipe"),
    ).fit()
    starts = list(map(int, out.read_text().split(",")))
    assert len(starts) == 22 and starts == sorted(list(range(0, 48, 4)) + list(range(0, 40, 4)))


def test_an_index_store_built_on_ray_and_read_by_the_planning_tasks(cluster, videos, tmp_path):
    from framepipe._adapters.indexing import build_store
    from framepipe._adapters.listing import resolve_sources
    from framepipe._index.archive import IndexArchive
    from framepipe.ray import read_clips

    sources = resolve_sources([videos["long"], videos["raw"], videos["broken"]])
    folder, done, failed = build_store(sources, str(tmp_path / "store"), use_ray=True)
    assert done == 2 and [p for p, _ in failed] == [videos["broken"]]
    assert IndexArchive(folder).num_frames(IndexArchive(folder).row(videos["long"])) == 600
    options = dict(length=8, sampler="random", clips_per_video=5, seed=3, size=32, on_bad_video="skip")
    with pytest.warns(UserWarning, match="broken.mp4"):
        plain = sorted(
            tuple(r["indices"]) for r in read_clips(list(videos.values())[1:], **options).take_all()
        )
    with pytest.warns(UserWarning, match="broken.mp4"):
        stored = read_clips(list(videos.values())[1:], index=folder, **options).take_all()
    assert sorted(tuple(r["indices"]) for r in stored) == plain
    _check_exact(stored)
