"""LeRobot's own training loader, end to end: samples per second and peak memory with LeRobot's pyav and
torchcodec backends, with framepipe, and with two bounds (the decoder's floor and no decoding), one run.

A LeRobot v3 dataset is made with LeRobot's own writer (``LeRobotDataset.create``, ``add_frame``,
``save_episode``, ``finalize``; its default encoder), two cameras, in two configurations (96x128 and
480x640), each frame drawn with its own index. It is read as a training script reads it:
``LeRobotDataset(..., delta_timestamps=...)`` (three frames a camera: -2/fps, -1/fps, 0) through
``DataLoader(batch_size=32, num_workers=2, shuffle=True, persistent_workers=True)``. framepipe runs as a
LeRobot user turns it on, ``framepipe.lerobot.install()``, in the parent and in each worker
(``worker_init_fn``). Each backend runs in a fresh process, the backends taking turns round by round;
the table gives each one's median over the rounds. Two more rows bound what any decoder can give in this
loader: ``floor`` puts the bare PyAV loop of ``bench_lerobot.py`` (``BarePyAV``) in LeRobot's place, and
``no decode`` answers every call with a tensor of the right shape made at no cost (LeRobot's own cost
around decoding). Peak memory is the high-water mark (VmHWM) of the parent and of each worker. A
separate pass checks that framepipe's samples equal the pyav backend's on the first batches of the same
shuffled order.

LeRobot needs Python 3.12; run this in the environment ``scripts/lerobot-suite.sh`` makes (``.lerobot-venv``,
with ``pip install 'lerobot[dataset]==0.6.1'`` and ``pip install -e .`` of this project)::

    .lerobot-venv/bin/python benchmarks/bench_lerobot_loader.py [--batches 48] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "lerobot_loader")
FPS, EPISODES, EPISODE_FRAMES = 30, 20, 90
SIZES = {"96x128": (96, 128), "480x640": (480, 640)}
CAMERAS = ("observation.images.top", "observation.images.wrist")
BACKENDS = ("pyav", "torchcodec", "framepipe", "floor", "no decode")
# what the backend stands for in LeRobot's own loader: framepipe through install(); the floor as LeRobot's
# decode_video_frames replaced by the bare PyAV loop (bench_lerobot.BarePyAV); "no decode" by a tensor
# of the right shape made at no cost (what LeRobot's loader costs around decoding)
_REPLACED = ("framepipe", "floor", "no decode")
DELTAS = [-2 / FPS, -1 / FPS, 0.0]
BATCH, WORKERS, WARM = 32, 2, 3


def dataset_root(size: str) -> str:
    """The dataset for ``size``, made once with LeRobot's writer."""
    root = os.path.join(DATA, size)
    if os.path.exists(os.path.join(root, "meta", "info.json")):
        return root
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from framepipe.tools.synthetic import draw_frame

    h, w = SIZES[size]
    features = {
        cam: {"dtype": "video", "shape": (h, w, 3), "names": ["height", "width", "channels"]}
        for cam in CAMERAS
    }
    features["observation.state"] = {"dtype": "float32", "shape": (2,), "names": ["episode", "frame"]}
    features["action"] = {"dtype": "float32", "shape": (2,), "names": ["episode", "frame"]}
    t0 = time.perf_counter()
    ds = LeRobotDataset.create(repo_id=f"framepipe/loader_{size}", fps=FPS, features=features, root=root)
    for ep in range(EPISODES):
        for k in range(EPISODE_FRAMES):
            n = ep * EPISODE_FRAMES + k
            state = np.array([ep, k], dtype=np.float32)
            ds.add_frame(
                {
                    CAMERAS[0]: draw_frame(n, height=h, width=w),
                    CAMERAS[1]: draw_frame(n + 7, height=h, width=w),  # another camera, other content
                    "observation.state": state,
                    "action": state,
                    "task": "draw the frame's index",
                }
            )
        ds.save_episode()
    ds.finalize()
    print(f"made {root} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return root


def open_dataset(size: str, backend: str):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    return LeRobotDataset(
        f"framepipe/loader_{size}",
        root=dataset_root(size),
        delta_timestamps={cam: DELTAS for cam in CAMERAS},
        video_backend="pyav" if backend in _REPLACED else backend,
    )


def _install_framepipe(_worker_id: int) -> None:
    import framepipe.lerobot

    framepipe.lerobot.install()


_FLOORS: dict = {}  # one bare PyAV reader a camera file (a camera is decoded by one thread at a time)
_SIZES: dict[str, tuple[int, int]] = {}  # each camera file's (height, width)


def _floor_decode(video_path, timestamps, tolerance_s, backend=None, return_uint8=False, is_depth=False):
    """LeRobot's ``decode_video_frames`` as the bare PyAV loop, float32 in [0, 1] as LeRobot returns."""
    import torch
    from bench_lerobot import BarePyAV

    path = str(video_path)
    floor = _FLOORS.get(path) or _FLOORS.setdefault(path, BarePyAV(path))
    frames = floor(timestamps)
    return frames if return_uint8 else frames.to(torch.float32) / 255


def _no_decode(video_path, timestamps, tolerance_s, backend=None, return_uint8=False, is_depth=False):
    """LeRobot's ``decode_video_frames`` answered without decoding: zeros of the right shape and dtype."""
    import torch

    path = str(video_path)
    h, w = _SIZES.get(path) or _SIZES.setdefault(path, _video_size(path))
    return torch.zeros((len(timestamps), 3, h, w), dtype=torch.uint8 if return_uint8 else torch.float32)


def _video_size(path: str) -> tuple[int, int]:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        return stream.height, stream.width


def _install(backend: str):
    """The worker_init_fn that puts ``backend`` in LeRobot's place (None for LeRobot's own backends)."""
    if backend == "framepipe":
        return _install_framepipe
    if backend not in _REPLACED:
        return None
    return _install_floor if backend == "floor" else _install_no_decode


def _swap_decode(replacement) -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith("lerobot") and hasattr(module, "decode_video_frames"):
            module.decode_video_frames = replacement


def _install_floor(_worker_id: int) -> None:
    _swap_decode(_floor_decode)


def _install_no_decode(_worker_id: int) -> None:
    _swap_decode(_no_decode)


def _high_water_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _children() -> list[int]:
    pids = []
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as f:
            pids += [int(p) for p in f.read().split()]
    return pids


def run_backend(backend: str, size: str, batches: int) -> dict:
    """In this process: the DataLoader over ``batches`` batches after ``WARM`` (workers starting, files
    opening); samples per second and the peak memory of this process and of each worker."""
    import torch

    install = _install(backend)
    ds = open_dataset(size, backend)
    if install is not None:
        install(-1)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=BATCH,
        num_workers=WORKERS,
        shuffle=True,
        persistent_workers=True,
        generator=torch.Generator().manual_seed(0),
        worker_init_fn=install,
    )
    it = iter(loader)
    for _ in range(WARM):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        batch = next(it)
        assert batch[CAMERAS[0]].shape[:2] == (BATCH, len(DELTAS))
    seconds = time.perf_counter() - t0
    workers = [_high_water_mb(pid) for pid in _children()]
    del it, loader
    return dict(
        backend=backend,
        size=size,
        samples_per_s=batches * BATCH / seconds,
        seconds=seconds,
        parent_peak_mb=_high_water_mb(),
        workers_peak_mb=workers,
    )


def check_equal(size: str, samples: int) -> dict:
    """framepipe's samples against the pyav backend's, for the first ``samples`` of the loader's order."""
    import torch

    import framepipe.lerobot

    order = list(
        torch.utils.data.RandomSampler(
            range(len(open_dataset(size, "pyav"))), generator=torch.Generator().manual_seed(0)
        )
    )[:samples]
    reference = open_dataset(size, "pyav")
    expected = [[reference[i][cam] for cam in CAMERAS] for i in order]
    framepipe.lerobot.install()
    try:
        ours = open_dataset(size, "framepipe")
        equal = sum(
            all(torch.equal(a, ours[i][cam]) for a, cam in zip(exp, CAMERAS))
            for i, exp in zip(order, expected)
        )
    finally:
        framepipe.lerobot.uninstall()
    return dict(size=size, samples=samples, equal=equal)


def in_subprocess(*args: str) -> dict | None:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"{' '.join(args)}: failed\n{out.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=48)  # one epoch (56 batches) at most, warm ones included
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--check", type=int, default=64, help="samples compared with the pyav backend")
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--json")
    ap.add_argument("--one", nargs=2, metavar=("BACKEND", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--equal", metavar="SIZE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_backend(*args.one, args.batches)))
        return
    if args.equal:
        print(json.dumps(check_equal(args.equal, args.check)))
        return
    rows, checks = [], []
    for size in args.sizes.split(","):
        dataset_root(size)
        runs: dict[str, list[dict]] = {b: [] for b in BACKENDS}
        for r in range(args.rounds):
            for backend in BACKENDS[r % len(BACKENDS) :] + BACKENDS[: r % len(BACKENDS)]:
                row = in_subprocess("--one", backend, size, "--batches", str(args.batches))
                if row:
                    runs[backend].append(row)
                    print(
                        f"{size:8s} {backend:10s} {row['samples_per_s']:7.1f} samples/s  parent "
                        f"{row['parent_peak_mb']:5.0f} MB  workers "
                        f"{[round(m) for m in row['workers_peak_mb']]} MB",
                        file=sys.stderr,
                    )
        for backend, got in runs.items():
            if got:
                rows.append(
                    dict(
                        backend=backend,
                        size=size,
                        rounds=len(got),
                        samples_per_s=statistics.median(g["samples_per_s"] for g in got),
                        parent_peak_mb=max(g["parent_peak_mb"] for g in got),
                        workers_peak_mb=max(sum(g["workers_peak_mb"]) for g in got),
                    )
                )
        check = in_subprocess("--equal", size, "--check", str(args.check))
        if check:
            checks.append(check)
    print(table(rows, checks))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    machine=f"{platform.machine()}, {os.cpu_count()} cores, "
                    f"Python {platform.python_version()}",
                    batch_size=BATCH,
                    num_workers=WORKERS,
                    batches=args.batches,
                    rows=rows,
                    checks=checks,
                ),
                f,
                indent=1,
            )


def table(rows: list[dict], checks: list[dict]) -> str:
    by = {(r["size"], r["backend"]): r for r in rows}
    equal = {c["size"]: f"{c['equal']}/{c['samples']}" for c in checks}
    lines = [
        "| dataset | backend | samples/s | vs torchcodec | parent peak | workers' peak (sum) "
        "| equal to pyav |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for size in dict.fromkeys(r["size"] for r in rows):
        tc = by.get((size, "torchcodec"))
        for backend in BACKENDS:
            r = by.get((size, backend))
            if r is None:
                continue
            vs = f"{r['samples_per_s'] / tc['samples_per_s']:.2f}x" if tc else "n/a"
            same = equal.get(size, "n/a") if backend == "framepipe" else ""
            lines.append(
                f"| {size}, 2 cameras | {backend} | {r['samples_per_s']:.1f} | {vs} "
                f"| {r['parent_peak_mb']:.0f} MB | {r['workers_peak_mb']:.0f} MB | {same} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
