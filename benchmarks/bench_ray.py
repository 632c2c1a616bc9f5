"""Ray Data benchmark: framepipe.ray against ray.data.read_videos (decord) on the same files and cluster.

Four 10-second 1080p30 H.264 clips with B-frames, each cut from a longer video the way
``ffmpeg -ss T -t 10 -c copy`` cuts it (an MP4 edit list hides the packets before the cut). Three jobs,
each run in a fresh local Ray (``ray.init(num_cpus=N)``) in its own process, the libraries taking turns
(``--repeats`` such Rays each, since this machine's speed drifts over minutes):

  (a) every frame at full size;
  (b) one frame per second at 224x224;
  (c) 16-frame clips at 112x112 (sliding, stride 16) for training.

For (b) and (c), read_videos is followed by what a user would otherwise write: ``map_batches`` that keeps
one frame a second (or groups frames into clips per video) and resizes. Reported: rows and frames per
second, and the peak memory of the driver plus every Ray process (PSS, sampled every 0.2 s by a process
of its own). Each job runs ``--rounds`` times in one Ray: the first is cold (workers start and import),
the median of the others is the steady state of a cluster that is up; times are then the median over
the repeats. Memory is sampled in one more round, untimed (sampling takes CPU), the highest over the
repeats.
The frame counts are compared with a full decode of each file (what a player shows).

    pip install decord   # for ray.data.read_videos
    python benchmarks/bench_ray.py [--cpus 2] [--repeats 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local Ray on 127.0.0.1 (read at import)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "ray")
JOBS = ("a_all_frames_full_size", "b_1fps_224", "c_clips16_112")


def videos() -> list[str]:
    from framepipe.tools.synthetic import cut_with_edit_list, make_video

    os.makedirs(DATA, exist_ok=True)
    src = os.path.join(DATA, "src_1080p30_50s.mp4")
    if not os.path.exists(src):
        make_video(
            src + ".tmp.mp4",
            num_frames=1500,
            width=1920,
            height=1080,
            fps=30,
            gop=60,
            bframes=3,
            options={"preset": "ultrafast"},
            noise=4,
        )
        os.replace(src + ".tmp.mp4", src)
    paths = []
    for k, start in enumerate((3.3, 13.7, 24.1, 34.5)):
        path = os.path.join(DATA, f"cut{k}.mp4")
        if not os.path.exists(path):
            cut_with_edit_list(src, path + ".tmp.mp4", start_seconds=start, duration_seconds=10.0)
            os.replace(path + ".tmp.mp4", path)
        paths.append(path)
    return paths


def truth(path: str) -> int:
    import av

    with av.open(path) as c:
        return sum(1 for _ in c.decode(video=0))


def _memory_tree(pid: int, exclude: int | None = None) -> tuple[int, int]:
    """(PSS, RSS) summed over ``pid`` and its descendants (Ray's raylet, object store and workers).

    PSS is the memory the processes use together: a page shared by k of them counts 1/k in each, so the
    object store's shared memory, mapped into the driver and every worker, counts once. Summed RSS counts
    it once per process that maps it, and each idle worker's libraries again."""
    import psutil

    pss = rss = 0
    try:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            if p.pid == exclude:  # the sampler itself
                continue
            try:
                info = p.memory_full_info()
                pss += info.pss
                rss += info.rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return pss, rss


def _sample(pid: int) -> None:
    """Print the peak (PSS, RSS) of ``pid``'s process tree, sampled every 0.2 s until a line on stdin."""
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    peak = list(_memory_tree(pid, exclude=os.getpid()))
    print("ready", flush=True)  # the first sample is in: the measured round may start
    while not stop.wait(0.2):
        peak = [max(a, b) for a, b in zip(peak, _memory_tree(pid, exclude=os.getpid()))]
    print(*peak)


def one(lib: str, job: str, paths: list[str], cpus: int, rounds: int) -> dict:
    """Run one job ``rounds`` times in one local Ray in this process (the caller gives it a fresh one).

    The first round is cold: Ray starts its workers, and they import the library and touch the object
    store's memory for the first time. Later rounds run as on a cluster that is already up and has run
    such a job (its steady state)."""
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    seconds, rows, frames, counts = [], 0, 0, {}
    for _ in range(rounds):
        t = time.perf_counter()
        rows, frames, counts = _consume(_dataset(lib, job, paths))
        seconds.append(time.perf_counter() - t)
    # Memory comes from one more round, sampled by a process of its own. Sampling is not free: reading the
    # page tables of every process that maps GBs of object store took a third of a core here, which in the
    # timed rounds slowed framepipe's job (a) from 7.9 to 9.9 s.
    sampler = subprocess.Popen(
        [sys.executable, __file__, "--sample", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    sampler.stdout.readline()
    _consume(_dataset(lib, job, paths))
    peak = [int(v) for v in sampler.communicate("stop\n", timeout=60)[0].split()[-2:]]
    ray.shutdown()
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return dict(
        lib=lib,
        job=job,
        cold_seconds=seconds[0],
        seconds=steady,
        all_seconds=seconds,
        rows=rows,
        frames=frames,
        frames_per_s=frames / steady,
        cold_frames_per_s=frames / seconds[0],
        peak_pss_mb=peak[0] / 2**20,
        peak_rss_sum_mb=peak[1] / 2**20,
        rows_per_file=counts,
    )


def _dataset(lib: str, job: str, paths: list[str]):
    import numpy as np
    import ray

    if lib == "framepipe":
        from framepipe.ray import read_clips, read_frames

        if job == JOBS[0]:
            return read_frames(paths)
        if job == JOBS[1]:
            return read_frames(paths, fps=1, size=(224, 224))
        return read_clips(paths, length=16, stride=16, size=(112, 112))
    ds = ray.data.read_videos(paths, include_paths=True)
    if job == JOBS[1]:

        def one_per_second(batch):
            keep = batch["frame_index"] % 30 == 0
            out = (
                np.stack([_resize(f, 224, 224) for f in batch["frame"][keep]])
                if keep.any()
                else np.zeros((0, 224, 224, 3), np.uint8)
            )
            return {"frame": out, "path": batch["path"][keep], "frame_index": batch["frame_index"][keep]}

        ds = ds.map_batches(one_per_second)
    elif job == JOBS[2]:

        def small(batch):  # resize first, so that the shuffle below moves 112x112 frames, not 1080p
            return {
                "frame": np.stack([_resize(f, 112, 112) for f in batch["frame"]]),
                "path": batch["path"],
                "frame_index": batch["frame_index"],
            }

        def clips(group):
            order = np.argsort(group["frame_index"])
            frames = group["frame"][order]
            n = len(frames) // 16
            return {"clip": frames[: n * 16].reshape(n, 16, 112, 112, 3), "path": group["path"][:n]}

        # Ray's default hash shuffle waited forever for its aggregators on 2 CPUs: sort-based instead
        ctx = ray.data.DataContext.get_current()
        ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        ds = ds.map_batches(small).groupby("path").map_groups(clips, batch_format="numpy")
    return ds


def _consume(ds) -> tuple[int, int, dict]:
    rows = frames = 0
    counts: dict[str, int] = {}
    for batch in ds.iter_batches(batch_size=64, batch_format="numpy"):
        key = "clip" if "clip" in batch else "frame"
        rows += len(batch[key])
        frames += len(batch[key]) * (16 if key == "clip" else 1)
        for p in batch["path"]:
            counts[os.path.basename(str(p))] = counts.get(os.path.basename(str(p)), 0) + 1
    return rows, frames, counts


def _combine(runs: list[dict]) -> dict:
    """One library's repeats of one job: median times, the highest memory."""
    out = dict(
        runs[0],
        repeats=[
            dict(seconds=r["seconds"], cold_seconds=r["cold_seconds"], peak_pss_mb=r["peak_pss_mb"])
            for r in runs
        ],
    )
    for key in ("seconds", "cold_seconds"):
        out[key] = statistics.median(r[key] for r in runs)
    for key in ("peak_pss_mb", "peak_rss_sum_mb"):
        out[key] = max(r[key] for r in runs)
    out["frames_per_s"] = out["frames"] / out["seconds"]
    out["cold_frames_per_s"] = out["frames"] / out["cold_seconds"]
    return out


def _resize(frame, h, w):
    import av

    vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
    return vf.reformat(width=w, height=h, format="rgb24", interpolation="AREA").to_ndarray()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of each job in one Ray: the first cold, the median of the others steady",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="fresh clusters per library and job, taking turns; "
        "times are the median over them, memory the highest",
    )
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sample:
        _sample(args.sample)
        return
    paths = videos()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], paths, args.cpus, args.rounds)))
        return
    expected = {os.path.basename(p): truth(p) for p in paths}
    runs = []
    for job in JOBS:
        for _ in range(args.repeats):  # the libraries take turns: the machine's speed drifts over minutes
            for lib in ("framepipe", "read_videos"):
                try:
                    proc = subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--cpus",
                            str(args.cpus),
                            "--rounds",
                            str(args.rounds),
                            "--one",
                            lib,
                            job,
                        ],
                        capture_output=True,
                        text=True,
                        timeout=1800,
                    )
                except subprocess.TimeoutExpired:
                    print(f"{lib}/{job} did not finish within 1800 s", file=sys.stderr)
                    subprocess.run(["ray", "stop", "--force"], capture_output=True)
                    continue
                if proc.returncode != 0:
                    print(f"{lib}/{job} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
                    continue
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                print(f"  {lib} {job}: {runs[-1]['seconds']:.1f} s", file=sys.stderr)
    results = [
        _combine([r for r in runs if (r["lib"], r["job"]) == key])
        for key in dict.fromkeys((r["lib"], r["job"]) for r in runs)
    ]
    by = {(r["lib"], r["job"]): r for r in results}
    print(
        f"Four 10 s 1080p30 H.264 clips cut with an edit list ({sum(expected.values())} frames shown); "
        f"Ray {__import__('ray').__version__}, {args.cpus} CPUs, {platform.python_version()}.\n"
    )
    print(
        "| job | framepipe.ray | read_videos (+ map_batches) | frames/s ratio | time ratio | cold: "
        "time ratio "
        "| memory (PSS) ratio |\n| --- | --- | --- | --- | --- | --- | --- |"
    )
    for job in JOBS:
        f, r = by.get(("framepipe", job)), by.get(("read_videos", job))
        if not f or not r:
            continue
        print(
            f"| {job} | {f['frames_per_s']:.0f} frames/s, {f['seconds']:.1f} s (cold "
            f"{f['cold_seconds']:.1f} s), "
            f"{f['peak_pss_mb']:.0f} MB | {r['frames_per_s']:.0f} frames/s, {r['seconds']:.1f} s (cold "
            f"{r['cold_seconds']:.1f} s), {r['peak_pss_mb']:.0f} MB | "
            f"{f['frames_per_s'] / r['frames_per_s']:.1f}x | "
            f"{r['seconds'] / f['seconds']:.1f}x | {r['cold_seconds'] / f['cold_seconds']:.1f}x | "
            f"{f['peak_pss_mb'] / r['peak_pss_mb']:.2f}x |"
        )
    print(
        f"\nEach job runs {args.rounds} times in one fresh local Ray per library, {args.repeats} "
        "such Rays per "
        "library taking turns: the first round (cold) starts Ray's workers, which import the library; the "
        "times shown are the median of the others (a cluster that is up), then over the Rays. Memory, in one "
        "more round that is not timed: the highest peak PSS of the driver and every Ray process together "
        "(summed RSS, which counts the shared object store once per process, is in the JSON)."
    )
    a_f, a_r = by.get(("framepipe", JOBS[0])), by.get(("read_videos", JOBS[0]))
    if a_f and a_r:
        print(
            f"\nFrames in job (a): a full decode shows {sum(expected.values())}; framepipe returned "
            f"{a_f['rows']}, "
            f"read_videos {a_r['rows']} (per file: {a_r['rows_per_file']} against {expected})."
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                dict(
                    expected=expected,
                    results=results,
                    cpus=args.cpus,
                    rounds=args.rounds,
                    repeats=args.repeats,
                ),
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
