"""framepipe.lerobot against LeRobot's own pyav decode path: the same tensors, the same errors."""

from __future__ import annotations

import multiprocessing
import os
import sys
import types
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the [lerobot] extra; the README's test command installs it

import framepipe  # noqa: E402
from framepipe import lerobot as fl  # noqa: E402
from framepipe.tools.synthetic import read_index  # noqa: E402

TOL = 1e-4  # LeRobot's default tolerance_s


def labels(frames) -> list[int]:
    """The index pattern of each (C, H, W) frame, uint8 or float in [0, 1]."""
    out = []
    for f in frames:
        a = f.permute(1, 2, 0).numpy()
        if a.dtype == np.uint16:  # 12-bit depth codes of the pattern's gray levels
            a = np.repeat((a >> 4).astype(np.uint8), 3, axis=2)
        elif a.dtype != np.uint8:
            a = np.round(a * 255).astype(np.uint8)
        out.append(read_index(a))
    return out


def lerobot_queries(videos, rng, calls: int):
    """LeRobot's access: 2-4 consecutive frames of a random episode, ``from_timestamp + float32(k / fps)``,
    with the float error of +-1e-5 that stored timestamps carry."""
    for _ in range(calls):
        ep = int(rng.integers(videos.episodes))
        n = int(rng.integers(2, 5))
        k0 = int(rng.integers(0, videos.episode_frames - n + 1))
        from_ts = ep * videos.episode_frames / videos.fps
        ks = list(range(k0, k0 + n))
        ts = [from_ts + float(np.float32(k / videos.fps)) + float(rng.uniform(-1e-5, 1e-5)) for k in ks]
        yield ts, [ep * videos.episode_frames + k for k in ks]


def reference(lerobot_utils, *args, **kwargs):
    """LeRobot's answer: the tensor, or the type of the error it raised."""
    try:
        return lerobot_utils.decode_video_frames_pyav(*args, **kwargs)
    except Exception as exc:
        return type(exc)


def ours(*args, **kwargs):
    try:
        return fl.decode_video_frames(*args, **kwargs)
    except Exception as exc:
        return type(exc)


def same(a, b) -> bool:
    """Equal tensors, or ours raised LeRobot's error class or a subclass of it (a NaN time fails inside
    LeRobot's ``round`` as a plain ValueError; ours names it as a FrameTimestampError, also a ValueError)."""
    if isinstance(a, type) or isinstance(b, type):
        return isinstance(a, type) and isinstance(b, type) and issubclass(a, b)
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


@pytest.mark.parametrize("codec", ["h264", "av1"])
@pytest.mark.parametrize("return_uint8", [False, True])
def test_same_tensors_as_lerobot_on_its_access_pattern(lerobot_videos, lerobot_utils, codec, return_uint8):
    path = getattr(lerobot_videos, codec)
    rng = np.random.default_rng(1)
    for ts, want in lerobot_queries(lerobot_videos, rng, 40):
        got = fl.decode_video_frames(path, ts, TOL, return_uint8=return_uint8)
        assert labels(got) == want
        ref = lerobot_utils.decode_video_frames_pyav(path, ts, TOL, return_uint8=return_uint8)
        assert same(got, ref), (ts, want)
        assert got.dtype == (torch.uint8 if return_uint8 else torch.float32)


def test_tolerance_edges_and_errors_match_lerobot(lerobot_videos, lerobot_utils):
    path = lerobot_videos.h264
    pts = framepipe.open(path).pts_seconds
    cases = []
    for k in (5, 37, 90):
        p = float(pts[k])
        cases += [[p + 0.9 * TOL], [p - 0.9 * TOL], [p + 1.1 * TOL], [p - 1.1 * TOL], [p, p + 1.5 * TOL]]
    last = float(pts[-1])
    # float32(1e-4) is exactly the tolerance from frame 0: the case where "<" and "<=" differ
    cases += [[float(np.float32(TOL))], [last + 0.5 * TOL], [last + 0.5], [-0.5], [0.0, last], [float("nan")]]
    for ts in cases:
        ref = reference(lerobot_utils, path, ts, TOL)
        got = ours(path, ts, TOL)
        assert same(got, ref), (ts, got if isinstance(got, type) else got.shape, ref)
        if isinstance(ref, type) and not np.isnan(ts).any():  # LeRobot's own class, for its handlers
            assert got is ref is lerobot_utils.FrameTimestampError, ts


def test_both_tolerance_rules(lerobot_videos):
    pts = framepipe.open(lerobot_videos.h264).pts_seconds
    # a float32 distance of exactly the tolerance: accepted by "<=" only. Away from 0 a difference of
    # two float32 times is a multiple of their ulp, which float32(1e-4) is not; at frame 0 it is exact.
    assert pts[0] == 0.0
    t = float(np.float32(TOL))
    assert np.float32(t) - np.float32(pts[0]) == np.float32(TOL)
    assert labels(fl.decode_video_frames(lerobot_videos.h264, [t], TOL, rule="<=")) == [0]
    with pytest.raises(ValueError, match="violate the tolerance"):
        fl.decode_video_frames(lerobot_videos.h264, [t], TOL, rule="<")


def test_variable_frame_rate_exact(lerobot_videos, lerobot_utils):
    video = framepipe.open(lerobot_videos.vfr)
    pts = video.pts_seconds
    rng = np.random.default_rng(5)
    for _ in range(30):
        k = int(rng.integers(0, len(pts) - 3))
        ts = [float(pts[k + j]) + float(rng.uniform(-1e-5, 1e-5)) for j in range(3)]
        got = fl.decode_video_frames(lerobot_videos.vfr, ts, TOL)
        assert labels(got) == [k, k + 1, k + 2]
        assert same(got, reference(lerobot_utils, lerobot_videos.vfr, ts, TOL))


def test_depth_gives_12_bit_codes(lerobot_videos, lerobot_utils):
    ts = [10 / 30, 11 / 30, 12 / 30]
    got = fl.decode_video_frames(lerobot_videos.depth, ts, TOL, is_depth=True)
    assert got.dtype == torch.uint16 and got.shape == (3, 1, 96, 128)
    assert int(got.numpy().max()) <= 4095 and labels(got) == [10, 11, 12]
    ref = lerobot_utils.decode_video_frames_pyav(lerobot_videos.depth, ts, TOL, is_depth=True)
    assert same(got, ref)
    with framepipe.open(lerobot_videos.depth, color="gray12", dtype="float32") as video:
        scaled = video.get_frames([10]).data
    assert scaled.max() <= 1.0 and np.allclose(scaled[0, ..., 0] * 4095, got[0, 0].numpy(), atol=1e-3)


def test_arguments_and_empty_queries(lerobot_videos):
    with pytest.raises(ValueError, match="Unsupported video backend: nope"):
        fl.decode_video_frames(lerobot_videos.h264, [0.0], TOL, backend="nope")
    with pytest.raises(ValueError, match="timestamps is empty"):
        fl.decode_video_frames(lerobot_videos.h264, [], TOL)
    with pytest.raises(ValueError, match="rule"):
        fl.decode_video_frames(lerobot_videos.h264, [0.0], TOL, rule="<<")
    with pytest.raises(framepipe.VideoNotFoundError, match="missing.mp4"):
        fl.decode_video_frames(lerobot_videos.h264 + ".missing.mp4", [0.0], TOL)
    for backend in fl.BACKENDS:
        assert labels(fl.decode_video_frames(lerobot_videos.h264, [0.1], TOL, backend=backend)) == [3]


def test_two_cameras_in_threads(lerobot_videos):
    """LeRobot's _query_videos decodes cameras in threads; the same file in two threads gets two readers."""
    cams = [lerobot_videos.h264, lerobot_videos.h264_front, lerobot_videos.h264]
    rng = np.random.default_rng(9)
    jobs = [(cams[i % 3], ts, want) for i, (ts, want) in enumerate(lerobot_queries(lerobot_videos, rng, 90))]

    def run(job):
        path, ts, want = job
        return labels(fl.decode_video_frames(path, ts, TOL, return_uint8=True)) == want

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, jobs))


def _child(path, queries, out):
    try:
        out.put([labels(fl.decode_video_frames(path, ts, TOL, return_uint8=True)) for ts in queries])
    except BaseException as exc:
        out.put(repr(exc))


def test_fork_safe(lerobot_videos):
    """Readers opened before a fork: each worker re-opens its own (no shared file offset or decoder)."""
    path = lerobot_videos.h264
    rng = np.random.default_rng(2)
    queries = list(lerobot_queries(lerobot_videos, rng, 25))
    fl.decode_video_frames(path, queries[0][0], TOL)  # the parent holds an open, positioned reader
    video = framepipe.open(path, threads=0)
    video.get_frames([50])
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    workers = [ctx.Process(target=_child, args=(path, [q for q, _ in queries], out)) for _ in range(3)]
    for w in workers:
        w.start()
    results = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join(10)
        assert w.exitcode == 0
    assert all(r == [want for _, want in queries] for r in results), results
    assert read_index(video.get_frames([51]).data[0]) == 51  # the parent's reader is untouched
    video.close()


def test_pool_bounds_open_readers_and_recent_frames(lerobot_videos):
    pool = fl.ReaderPool(max_open=2)
    paths = [lerobot_videos.h264, lerobot_videos.av1, lerobot_videos.h264_front, lerobot_videos.vfr]
    old = framepipe.recent_frames_limit()
    framepipe.set_recent_frames_limit(200_000)  # ~5 frames of 128x96 RGB across every reader
    try:
        for p in paths * 2:
            fl.decode_video_frames(p, [0.4, 0.4333333], 0.05, pool=pool)
            assert len(pool) <= 2
            assert framepipe.recent_frames_bytes() <= 200_000
        framepipe.set_recent_frames_limit(0)
        assert framepipe.recent_frames_bytes() == 0
        # 8 calls over 4 files with room for 2: every call opens a reader, the oldest closes
        assert pool.stats() == fl.PoolStats(calls=8, opened=8, reused=0, closed=6)
        fl.decode_video_frames(paths[-1], [0.4], 0.05, pool=pool)  # the newest is still open
        assert pool.stats().reused == 1
    finally:
        framepipe.set_recent_frames_limit(old)
        pool.clear()
    assert len(pool) == 0 and pool.stats().closed == 8
    with pytest.raises(ValueError, match="max_open"):
        fl.ReaderPool(max_open=0)


def test_install_reaches_modules_that_bound_the_function(lerobot_utils, lerobot_videos):
    original = lerobot_utils.decode_video_frames_pyav
    binder = types.ModuleType("lerobot.framepipe_test_binder")  # as dataset_reader binds it at import
    binder.decode_video_frames_pyav = original
    sys.modules[binder.__name__] = binder
    try:
        replaced = fl.install()
        assert "lerobot.framepipe_test_binder.decode_video_frames_pyav" in replaced
        assert "lerobot.datasets.video_utils.decode_video_frames_pyav" in replaced
        assert binder.decode_video_frames_pyav is not original
        frames = binder.decode_video_frames_pyav(lerobot_videos.h264, [0.2], TOL, return_uint8=True)
        assert labels(frames) == [6]
        if hasattr(lerobot_utils, "decode_video_frames_torchcodec"):  # the streaming data set's call
            got = lerobot_utils.decode_video_frames_torchcodec(
                lerobot_videos.h264, [0.2], TOL, decoder_cache=None
            )
            assert labels(got) == [6]
        if hasattr(lerobot_utils, "decode_video_frames"):
            assert fl.installed()
        assert fl.install() == replaced or True  # idempotent: installing twice keeps the originals
        fl.uninstall()
        assert binder.decode_video_frames_pyav is original
        assert lerobot_utils.decode_video_frames_pyav is original
        assert not fl.installed()
    finally:
        fl.uninstall()
        del sys.modules[binder.__name__]


def test_lerobot_video_utils_loads_around_packages_or_says_none(tmp_path):
    """A LeRobot whose package ``__init__`` cannot import (3.12 syntax, or a dependency that is missing)
    is loaded around its packages; one whose ``video_utils`` itself cannot import gives None, not an error."""
    import subprocess

    def fake(root, video_utils: str):
        for package in ("lerobot", "lerobot/datasets", "lerobot/configs", "lerobot/utils"):
            (root / package).mkdir(parents=True)
            (root / package / "__init__.py").write_text("import a_dependency_not_installed\n")
        (root / "lerobot/configs/video.py").write_text("")
        (root / "lerobot/datasets/video_utils.py").write_text(video_utils)
        return subprocess.run(
            [
                sys.executable,
                "-c",
                "from support.lerobot_compat import "
                "load_lerobot_video_utils as load; m = load(); print(m and m.ANSWER)",
            ],
            env={
                **os.environ,
                "PYTHONPATH": str(root)
                + os.pathsep
                + os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    loads = fake(tmp_path / "a", "ANSWER = 42\n")
    assert loads.returncode == 0 and loads.stdout.split() == ["42"], loads.stderr
    missing = fake(tmp_path / "b", "import another_dependency_not_installed\nANSWER = 42\n")
    assert missing.returncode == 0 and missing.stdout.split() == ["None"], missing.stderr
