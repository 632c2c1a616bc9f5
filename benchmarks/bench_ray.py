"""Ray Data benchmark: framepipe.ray against ray.data.read_videos (decord) on the same files and cluster.

Four 10-second 1080p30 H.264 clips with B-frames, each cut from a longer video the way
``ffmpeg -ss T -t 10 -c copy`` cuts it (an MP4 edit list hides the packets before the cut). Three jobs,
each run in a fresh local Ray (``ray.init(num_cpus=N)``) in its own process, the libraries taking turns
(``--repeats`` such Rays each, since this machine's speed drifts over minutes):

  (a) every frame at full size, with two floors: the same rows made at no cost through the same Ray
      pipeline (Ray's transport), and a plain PyAV decode-and-convert pass over the files using every CPU
      (the decoder's);
  (b) one frame per second at 224x224: read_videos(fps=1, resize=(224, 224)), as a Ray user writes it,
      against framepipe's exact read_frames(fps=1, size=224) and its keyframe sampling (snap="keyframe");
  (c) 16-frame clips at 112x112 (sliding, stride 16) for training: read_videos(resize=(112, 112)) has no
      clips, so a user groups its frames into clips per video;
  (d) one 10-minute 1080p video read with read_frames(fps=2, size=224) against read_videos(fps=2, resize):
      the spans of the read tasks on the workers show whether one long video spreads over the CPUs.

Reported: rows and frames per
second, and the peak memory of the driver plus every Ray process (PSS, sampled every 0.2 s by a process
of its own). Each job runs ``--rounds`` times in one Ray: the first is cold (workers start and import),
the median of the others is the steady state of a cluster that is up; times are then the median over
the repeats. Memory is sampled in one more round, untimed (sampling takes CPU), the highest over the
repeats.
The frame counts are compared with a full decode of each file (what a player shows).

    pip install decord psutil   # read_videos decodes with decord; psutil samples memory
    python benchmarks/bench_ray.py [--cpus 2] [--repeats 2] [--jobs a,b,c,d] [--json out.json]
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
JOBS = ("a_all_frames_full_size", "b_1fps_224", "c_clips16_112", "d_long_video_spread")
# who runs each job: the libraries, and the floors of (a)
LIBS = {
    "a_all_frames_full_size": ("framepipe", "read_videos", "floor_transport", "floor_decode"),
    "b_1fps_224": (
        "framepipe",
        "framepipe_keyframes",
        "read_videos",
        "floor_transport",
        "floor_decode",
        "floor_decode_keyframes",
    ),
    "c_clips16_112": ("framepipe", "read_videos"),
    "d_long_video_spread": ("framepipe", "read_videos"),
}


def _made_once(path: str, num_frames: int) -> str:
    """A 1080p30 H.264 video (a keyframe every 2 s, B-frames) at ``path``, made once."""
    from framepipe.tools.synthetic import make_video

    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        make_video(
            path + ".tmp.mp4",
            num_frames=num_frames,
            width=1920,
            height=1080,
            fps=30,
            gop=60,
            bframes=3,
            options={"preset": "ultrafast"},
            noise=4,
        )
        os.replace(path + ".tmp.mp4", path)
    return path


def videos() -> list[str]:
    from framepipe.tools.synthetic import cut_with_edit_list

    src = _made_once(os.path.join(DATA, "src_1080p30_50s.mp4"), 1500)
    paths = []
    for k, start in enumerate((3.3, 13.7, 24.1, 34.5)):
        path = os.path.join(DATA, f"cut{k}.mp4")
        if not os.path.exists(path):
            cut_with_edit_list(src, path + ".tmp.mp4", start_seconds=start, duration_seconds=10.0)
            os.replace(path + ".tmp.mp4", path)
        paths.append(path)
    return paths


def long_video() -> str:
    """One 10-minute 1080p30 H.264 video (a keyframe every 2 s), made once."""
    return _made_once(os.path.join(DATA, "long_1080p30_600s.mp4"), 18000)


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
    if lib.startswith("floor_decode"):
        return _floor_decode(lib, job, paths, cpus, rounds)
    import ray

    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    seconds, busy, rows, frames, counts = [], [], 0, 0, {}
    spans: list[dict] = []
    for _ in range(rounds):
        t, since, cpu = time.perf_counter(), time.time(), _busy_cpu_seconds()
        rows, frames, counts = _consume(_dataset(lib, job, paths))
        seconds.append(time.perf_counter() - t)
        busy.append(_busy_cpu_seconds() - cpu)
    if job == "d_long_video_spread":
        spans = _task_spans(since)  # the last round's
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
    return _result(lib, job, seconds, rows, frames, peak, counts, spans, busy)


def _busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy so far (every process: the driver, Ray's workers, its
    object store), from /proc/stat; what a round adds is the CPU its job took, whoever did the work."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def _result(lib, job, seconds, rows, frames, peak=(0, 0), counts=None, spans=None, busy=None) -> dict:
    """One reader's runs of one job: the first round cold, the median of the others steady."""
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    cpu = statistics.median(busy[1:]) if busy and len(busy) > 1 else (busy or [0.0])[0]
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
        rows_per_file=counts or {},
        task_spans=spans or [],
        cpu_seconds=cpu,
    )


def _task_spans(since: float) -> list[dict]:
    """The read tasks that started after ``since`` (time.time()): worker, start and end in seconds from
    the first of them, from Ray's own timeline."""
    import ray

    events = [
        e
        for e in ray.timeline()
        if e.get("ph") == "X" and str(e.get("cat", "")).startswith("task::Read") and e["ts"] / 1e6 >= since
    ]
    if not events:
        return []
    t0 = min(e["ts"] for e in events)
    return [
        dict(
            worker=f"{e.get('pid')}:{e.get('tid')}",
            start=(e["ts"] - t0) / 1e6,
            end=(e["ts"] + e["dur"] - t0) / 1e6,
        )
        for e in sorted(events, key=lambda e: e["ts"])
    ]


def _floor_decode(lib: str, job: str, paths: list[str], cpus: int, rounds: int) -> dict:
    """PyAV alone, one process per CPU, the decoding a job needs: (a) every frame to RGB; (b) the frame at
    each second, decoded from the keyframe before it (``floor_decode``), or the keyframe at or before each
    second, decoded alone (``floor_decode_keyframes``), each resized to 224x224."""
    import concurrent.futures

    work = (
        _decode_all
        if job == JOBS[0]
        else (_decode_keyframes if lib.endswith("keyframes") else _decode_seconds)
    )
    seconds, busy, frames = [], [], 0
    for _ in range(rounds):
        t, cpu = time.perf_counter(), _busy_cpu_seconds()
        with concurrent.futures.ProcessPoolExecutor(max_workers=cpus) as pool:
            frames = sum(pool.map(work, paths))
        seconds.append(time.perf_counter() - t)
        busy.append(_busy_cpu_seconds() - cpu)
    return _result(lib, job, seconds, frames, frames, busy=busy)  # no Ray: no Ray memory to sample


def _sample_times(stream) -> list[int]:
    """The pts of every whole second of the stream, from its first frame on."""
    start = stream.start_time or 0
    return [
        start + round(k / stream.time_base) for k in range(int(float(stream.duration * stream.time_base)))
    ]


def _decode_seconds(path: str) -> int:
    """The frame at each second: seek to the keyframe before it and decode forward to it."""
    import av

    n = 0
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_count = 1
        for pts in _sample_times(s):
            c.seek(pts, stream=s, backward=True)
            for frame in c.decode(s):
                if frame.pts is not None and frame.pts >= pts:
                    frame.reformat(width=224, height=224, format="rgb24").to_ndarray()
                    n += 1
                    break
    return n


def _decode_keyframes(path: str) -> int:
    """The keyframe at or before each second, decoded alone (its packet, then the decoder drained)."""
    import av

    n, seen = 0, set()
    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_count = 1
        for pts in _sample_times(s):
            c.seek(pts, stream=s, backward=True)
            packet = next(p for p in c.demux(s) if p.size)
            if packet.pts in seen:
                continue
            seen.add(packet.pts)
            frames = [*s.codec_context.decode(packet), *s.codec_context.decode(None)]
            s.codec_context.flush_buffers()
            if frames:
                frames[0].reformat(width=224, height=224, format="rgb24").to_ndarray()
                n += 1
    return n


def _decode_all(path: str) -> int:
    import av

    n = 0
    with av.open(path) as c:
        c.streams.video[0].thread_count = 1
        for frame in c.decode(video=0):
            frame.to_ndarray(format="rgb24")
            n += 1
    return n


def _dataset(lib: str, job: str, paths: list[str]):
    import numpy as np
    import ray

    if lib.startswith("framepipe"):
        from framepipe.ray import read_clips, read_frames

        snap = "keyframe" if lib == "framepipe_keyframes" else "exact"
        if job == JOBS[0]:
            return read_frames(paths)
        if job == JOBS[1]:
            return read_frames(paths, fps=1, size=(224, 224), snap=snap)
        if job == JOBS[3]:
            return read_frames(paths, fps=2, size=(224, 224))
        return read_clips(paths, length=16, stride=16, size=(112, 112))
    if lib == "floor_transport":  # the job's rows, made at no cost, through the same Ray pipeline
        # (a): every frame at 1080p; (b): the 20 keyframe rows at 224x224 (the fewest rows of that job)
        total, shape = (
            (sum(truth(p) for p in paths), (1080, 1920, 3)) if job == JOBS[0] else (20, (224, 224, 3))
        )

        def blank(batch):
            n = len(batch["id"])
            return {"frame": np.zeros((n, *shape), np.uint8), "path": np.array(["blank"] * n, dtype=object)}

        return ray.data.range(total, override_num_blocks=4 * len(paths)).map_batches(blank, batch_size=21)
    if job == JOBS[1]:  # read_videos' own sampling and resizing, as a Ray user writes it today
        return ray.data.read_videos(paths, include_paths=True, fps=1, resize=(224, 224))
    if job == JOBS[3]:
        return ray.data.read_videos(paths, include_paths=True, fps=2, resize=(224, 224))
    if job == JOBS[0]:
        return ray.data.read_videos(paths, include_paths=True)
    ds = ray.data.read_videos(paths, include_paths=True, resize=(112, 112))
    if job == JOBS[2]:

        def clips(group):
            order = np.argsort(group["frame_index"])
            frames = group["frame"][order]
            n = len(frames) // 16
            return {"clip": frames[: n * 16].reshape(n, 16, 112, 112, 3), "path": group["path"][:n]}

        # Ray's default hash shuffle waited forever for its aggregators on 2 CPUs: sort-based instead
        ctx = ray.data.DataContext.get_current()
        ctx.shuffle_strategy = ray.data.context.ShuffleStrategy.SORT_SHUFFLE_PULL_BASED
        ds = ds.groupby("path").map_groups(clips, batch_format="numpy")
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
    for key in ("seconds", "cold_seconds", "cpu_seconds"):
        out[key] = statistics.median(r.get(key, 0.0) for r in runs)
    for key in ("peak_pss_mb", "peak_rss_sum_mb"):
        out[key] = max(r[key] for r in runs)
    out["frames_per_s"] = out["frames"] / out["seconds"]
    out["cold_frames_per_s"] = out["frames"] / out["cold_seconds"]
    return out


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
    ap.add_argument("--jobs", help="run only these jobs, by letter: a,b,c,d (default: all)")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--sample", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.sample:
        _sample(args.sample)
        return
    paths = videos()
    jobs = [j for j in JOBS if not args.jobs or j[0] in args.jobs.split(",")]
    if args.one:
        lib, job = args.one
        print(json.dumps(one(lib, job, [long_video()] if job == JOBS[3] else paths, args.cpus, args.rounds)))
        return
    if JOBS[3] in jobs:
        long_video()  # made before any timing
    expected = {os.path.basename(p): truth(p) for p in paths}
    runs = []
    for job in jobs:
        for _ in range(args.repeats):  # the libraries take turns: the machine's speed drifts over minutes
            for lib in LIBS[job]:
                cmd = [sys.executable, __file__, "--cpus", str(args.cpus), "--rounds", str(args.rounds)]
                try:
                    proc = subprocess.run(
                        [*cmd, "--one", lib, job], capture_output=True, text=True, timeout=1800
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
    print(
        f"Four 10 s 1080p30 H.264 clips cut with an edit list ({sum(expected.values())} frames shown); "
        f"Ray {__import__('ray').__version__}, {args.cpus} CPUs, {platform.python_version()}.\n"
    )
    print("| job | reader | time (cold) | rows | memory (PSS) |\n| --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['job']} | {r['lib']} | {r['seconds']:.1f} s ({r['cold_seconds']:.1f} s) | {r['rows']} "
            f"| {r['peak_pss_mb']:.0f} MB |"
        )
    for r in results:
        if r.get("task_spans"):
            workers = sorted({s["worker"] for s in r["task_spans"]})
            print(
                f"\n{r['lib']} on one 10-minute video: {len(r['task_spans'])} read tasks "
                f"on {len(workers)} workers"
            )
            for s in r["task_spans"]:
                print(f"  worker {workers.index(s['worker'])}: {s['start']:6.1f} s .. {s['end']:6.1f} s")
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
