"""LeRobot's access pattern: framepipe.lerobot against LeRobot's own torchcodec and pyav backends, one run.

Videos are made as LeRobot's encoder makes them (keyframe every 2 frames, crf 30, yuv420p; episodes
appended in one file per camera), in H.264 and AV1 (SVT-AV1), at 96x128 and 480x640. Each call asks, as
``LeRobotDataset.__getitem__`` does, for 2 to 4 consecutive timestamps
(``from_timestamp + float32(k / fps)``) of a random episode from **two cameras decoded in two threads**
(LeRobot's ``_query_videos``). The table's medians come from one process per video that calls the
backends in turn, call by call (so that the machine's drift slows all alike). Each backend also runs
alone in a process of its own, for its median and p90 there, its peak RSS, and how many calls returned
tensors equal to LeRobot's pyav backend (checked in a second pass over the same calls, untimed).

The floor is a bare PyAV loop for the same requests (:class:`BarePyAV`: the file opened once, a seek to
the keyframe, a decode up to the frames, libswscale's conversion into the output tensor): what decoding
costs without any library around it. framepipe's median is given as a ratio of it.

LeRobot's backends are LeRobot's own code (``lerobot.datasets.video_utils``: its decoder cache, its
tolerance check), loaded with :mod:`framepipe.tools.lerobot_compat`; its torchcodec backend needs
torchcodec, which on a CPU-only machine has to be built from source (PyPI's wheels need CUDA): with
FFmpeg's development packages installed (``libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
libavdevice-dev libavfilter-dev libswresample-dev pybind11-dev``), in a torchcodec checkout,
``I_CONFIRM_THIS_IS_NOT_A_LICENSE_VIOLATION=1 ENABLE_CUDA=0 pip install --no-build-isolation .``.

    python benchmarks/bench_lerobot.py [--calls 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# the tests' helpers (tests/support), importable here as pytest's pythonpath makes them there
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
FPS, EPISODES, EPISODE_FRAMES = 30, 20, 150
TOL = 1e-4
SIZES = {"96x128": (96, 128), "480x640": (480, 640)}
CODECS = {
    "h264": dict(codec="libx264", options={"crf": "30", "preset": "medium"}),
    "av1": dict(codec="libsvtav1", options={"crf": "30", "preset": "8"}),
}
BACKENDS = ("framepipe", "torchcodec", "pyav", "floor")


def videos(codec: str, size: str) -> list[str]:
    """Two cameras (different content offsets) for one codec and size, made once into benchmarks/data."""
    from framepipe.tools.synthetic import make_video

    os.makedirs(DATA, exist_ok=True)
    h, w = SIZES[size]
    paths = []
    for cam in ("top", "wrist"):
        path = os.path.join(DATA, f"lerobot_{codec}_{size}_{cam}.mp4")
        if not os.path.exists(path):
            t = time.perf_counter()
            make_video(
                path + ".tmp.mp4",
                num_frames=EPISODES * EPISODE_FRAMES,
                fps=FPS,
                width=w,
                height=h,
                gop=2,
                noise=4 if cam == "top" else 8,
                **CODECS[codec],
            )
            os.replace(path + ".tmp.mp4", path)
            print(f"made {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        paths.append(path)
    return paths


def queries(calls: int, seed: int = 0) -> list[list[float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(calls):
        ep, n = int(rng.integers(EPISODES)), int(rng.integers(2, 5))
        k0 = int(rng.integers(0, EPISODE_FRAMES - n + 1))
        from_ts = ep * EPISODE_FRAMES / FPS
        out.append([from_ts + float(np.float32((k0 + j) / FPS)) for j in range(n)])
    return out


class BarePyAV:
    """The decoder's floor for one file: PyAV alone, opened once; per call a seek to the keyframe before
    the first frame, a decode up to the last one, and each frame converted once (libswscale's planar RGB,
    written into the output tensor). The nearest frame to each time is found as LeRobot finds it (float32),
    so the tensors equal LeRobot's pyav backend's (the benchmark checks)."""

    def __init__(self, path: str) -> None:
        import av
        from av.video.reformatter import VideoReformatter

        self.container = av.open(path)
        self.stream = self.container.streams.video[0]
        self.stream.codec_context.thread_count = 1  # as every backend here: one thread a camera
        packets = [(p.pts, p.is_keyframe) for p in self.container.demux(self.stream) if p.size]
        self.pts = np.sort([p for p, _ in packets])
        self.keys = np.sort([p for p, key in packets if key])
        self.seconds = (self.pts * float(self.stream.time_base)).astype(np.float32)
        self.reformatter = VideoReformatter()
        # one swscale thread, as every backend here (PyAV 17 takes the option; 15, LeRobot's, has one)
        modern = tuple(int(p) for p in av.__version__.split(".")[:2]) >= (17, 0)
        self.threads = {"threads": 1} if modern else {}

    def __call__(self, timestamps):
        import torch

        t = np.asarray(timestamps, dtype=np.float32)
        j = np.clip(np.searchsorted(self.seconds, t), 1, len(self.seconds) - 1)
        j -= (t - self.seconds[j - 1]) <= (self.seconds[j] - t)  # the earlier frame on a tie
        want = self.pts[j].tolist()
        self.container.seek(
            int(self.keys[np.searchsorted(self.keys, want[0], side="right") - 1]),
            stream=self.stream,
            backward=True,
        )
        codec = self.stream.codec_context
        codec.flush_buffers()
        out = torch.empty((len(want), 3, self.stream.height, self.stream.width), dtype=torch.uint8)
        arr, left = out.numpy(), set(want)
        for packet in self.container.demux(self.stream):
            for frame in codec.decode(packet):
                if frame.pts not in left:
                    continue
                left.discard(frame.pts)
                planes = self.reformatter.reformat(frame, format="gbrp", **self.threads).planes
                h, w = frame.height, frame.width
                for row in (r for r, p in enumerate(want) if p == frame.pts):
                    for c, k in enumerate((2, 0, 1)):  # gbrp's planes are G, B, R
                        arr[row, c] = np.frombuffer(planes[k], np.uint8).reshape(h, planes[k].line_size)[
                            :, :w
                        ]
            if not left:
                break
        return out


def decoder(backend: str):
    """The backend's ``f(path, timestamps) -> uint8 tensor`` as LeRobot calls it (return_uint8=True)."""
    if backend == "floor":
        floors: dict[str, BarePyAV] = {}  # one per camera; a camera is decoded by one thread at a time
        return lambda path, ts: (floors.get(path) or floors.setdefault(path, BarePyAV(path)))(ts)
    if backend == "framepipe":
        from framepipe.lerobot import decode_video_frames

        return lambda path, ts: decode_video_frames(path, ts, TOL, return_uint8=True)
    from support.lerobot_compat import load_lerobot_video_utils

    vu = load_lerobot_video_utils()
    if vu is None:
        raise RuntimeError(
            "LeRobot is not installed: pip install --no-deps --ignore-requires-python "
            "lerobot==0.6.1 datasets draccus"
        )
    if backend == "torchcodec":
        return lambda path, ts: vu.decode_video_frames_torchcodec(path, ts, TOL, return_uint8=True)
    return lambda path, ts: vu.decode_video_frames_pyav(path, ts, TOL, return_uint8=True)


def run_backend(backend: str, codec: str, size: str, calls: int) -> dict:
    """In this process: every call asks both cameras in two threads, as LeRobot's _query_videos does."""
    import torch

    torch.set_num_threads(1)  # as in a DataLoader worker
    cams = videos(codec, size)
    decode = decoder(backend)
    qs = queries(calls)
    pool = ThreadPoolExecutor(2)
    reference = decoder("pyav") if backend != "pyav" else None
    for ts in qs[:3]:  # warm: open files, caches, imports
        list(pool.map(lambda p, ts=ts: decode(p, ts), cams))
    times = []
    for ts in qs:
        t0 = time.perf_counter()
        list(pool.map(lambda p, ts=ts: decode(p, ts), cams))
        times.append(time.perf_counter() - t0)
    # checked in a pass of its own: a reference decode between timed calls would time its cache traces too
    equal = 0
    for ts in qs if reference is not None else ():
        frames = list(pool.map(lambda p, ts=ts: decode(p, ts), cams))
        equal += all(torch.equal(f, reference(p, ts)) for f, p in zip(frames, cams))
    return dict(
        backend=backend,
        codec=codec,
        size=size,
        calls=calls,
        median_ms=1e3 * statistics.median(times),
        p90_ms=1e3 * float(np.percentile(times, 90)),
        equal_to_pyav=None if reference is None else equal,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def run_interleaved(codec: str, size: str, calls: int) -> dict:
    """Every backend in this one process, call by call in turn (the order rotating): the machine's drift
    over a run then slows all of them alike, which separate processes one after another do not promise."""
    import torch

    torch.set_num_threads(1)
    cams = videos(codec, size)
    decoders = {b: decoder(b) for b in BACKENDS}
    pool = ThreadPoolExecutor(2)
    qs = queries(calls)
    for ts in qs[:3]:
        for decode in decoders.values():
            list(pool.map(lambda p, ts=ts, decode=decode: decode(p, ts), cams))
    times: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for k, ts in enumerate(qs):
        for b in BACKENDS[k % len(BACKENDS) :] + BACKENDS[: k % len(BACKENDS)]:
            decode = decoders[b]
            t0 = time.perf_counter()
            list(pool.map(lambda p, ts=ts, decode=decode: decode(p, ts), cams))
            times[b].append(time.perf_counter() - t0)
    return {b: 1e3 * statistics.median(t) for b, t in times.items()}


def in_subprocess(backend: str, codec: str, size: str, calls: int) -> dict | None:
    out = subprocess.run(
        [sys.executable, __file__, "--one", backend, codec, size, "--calls", str(calls)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        print(f"{backend} {codec} {size}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--json")
    ap.add_argument("--one", nargs=3, metavar=("BACKEND", "CODEC", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--interleaved", nargs=2, metavar=("CODEC", "SIZE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_backend(*args.one, args.calls)))
        return
    if args.interleaved:
        print(json.dumps(run_interleaved(*args.interleaved, args.calls)))
        return
    rows = []
    for codec in CODECS:
        for size in SIZES:
            videos(codec, size)
            out = subprocess.run(
                [sys.executable, __file__, "--interleaved", codec, size, "--calls", str(args.calls)],
                capture_output=True,
                text=True,
            )
            together = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else {}
            if out.returncode != 0:
                print(f"{codec} {size} interleaved: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            for backend in BACKENDS:
                row = in_subprocess(backend, codec, size, args.calls)
                if row:
                    row["interleaved_median_ms"] = together.get(backend)
                    rows.append(row)
                    print(
                        f"{codec:5s} {size:8s} {backend:10s} median {row['median_ms']:7.2f} ms  p90 "
                        f"{row['p90_ms']:7.2f} ms  interleaved median "
                        f"{row['interleaved_median_ms'] or 0:7.2f} ms  "
                        f"RSS {row['peak_rss_mb']:5.0f} MB  equal to pyav {row['equal_to_pyav']}",
                        file=sys.stderr,
                    )
    print(table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    machine=f"{platform.machine()}, {os.cpu_count()} cores, "
                    f"Python {platform.python_version()}",
                    rows=rows,
                ),
                f,
                indent=1,
            )


def table(rows: list[dict]) -> str:
    by = {(r["codec"], r["size"], r["backend"]): r for r in rows}
    lines = [
        "| video | framepipe | LeRobot torchcodec | LeRobot pyav | PyAV floor | vs torchcodec | vs pyav "
        "| framepipe / floor | equal to pyav |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    key = "interleaved_median_ms" if all(r.get("interleaved_median_ms") for r in rows) else "median_ms"
    for codec in CODECS:
        for size in SIZES:
            fp, tc, pa, fl = (by.get((codec, size, b)) for b in BACKENDS)
            if fp is None:
                continue
            cell = lambda r: "n/a" if r is None else f"{r[key]:.2f} ms"
            ratio = lambda r: "n/a" if r is None else f"{r[key] / fp[key]:.2f}x"
            to_floor = "n/a" if fl is None else f"{fp[key] / fl[key]:.2f}x"
            lines.append(
                f"| {codec} {size}, 2 cameras | {cell(fp)} | {cell(tc)} | {cell(pa)} | {cell(fl)} | "
                f"{ratio(tc)} | {ratio(pa)} | {to_floor} | {fp['equal_to_pyav']}/{fp['calls']} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
