"""Remote-video benchmark: random clips from a 10-minute 1080p MP4 over HTTP (nginx on 127.0.0.1) against
the same file on local disk, in one run.

The video is 1080p30 H.264 with B-frames, a keyframe every 5 s and film grain for a real bitrate (one
minute encoded, looped ten times without re-encoding: about 9 Mbit/s; its moov is at the end, the
harder case). For each
of local and HTTP it reports the open time (index built, and index cached), and for 16 random 16-frame
clips (one ``get_clips`` call each, seeded) the time per clip. Over HTTP it reports the bytes fetched
(from nginx's access log) against the bytes of the GOPs the clips need, and the requests a cached reopen
makes before its first frame request.

    python benchmarks/bench_remote.py [--clips 16] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import av
import numpy as np

import framepipe
from framepipe import sampling
from framepipe.tools.synthetic import loop_video, make_video, pattern_box, read_index

# the tests' helpers (tests/support), importable here as pytest's pythonpath makes them there
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from support import nginx

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def video() -> str:
    os.makedirs(DATA, exist_ok=True)
    one = os.path.join(DATA, "remote_1080p30_60s_grain6.mp4")
    ten = os.path.join(DATA, "remote_1080p30_600s_grain6.mp4")
    if not os.path.exists(one):
        t = time.perf_counter()
        make_video(
            one + ".tmp.mp4",
            num_frames=1800,
            width=1920,
            height=1080,
            fps=30,
            gop=150,
            bframes=3,
            options={"preset": "ultrafast"},
            noise=6,
        )
        os.replace(one + ".tmp.mp4", one)
        print(f"made {one} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    if not os.path.exists(ten):
        loop_video(one, ten + ".tmp.mp4", times=10)
        os.replace(ten + ".tmp.mp4", ten)
    return ten


def gop_bytes(path: str, clips: np.ndarray) -> int:
    """Bytes of the GOPs (keyframe to next keyframe, in decode order) each clip needs, summed over clips."""
    with av.open(path) as c:
        entries = c.streams.video[0].index_entries
        sizes = np.array([e.size for e in entries])
    with framepipe.open(path) as v:
        ix = v._index  # the packet index: which keyframe packet each frame starts from
        keys = np.flatnonzero(ix.pkt_key)
        total = 0
        for clip in clips:
            first = int(ix.frame_key[clip[0]])
            last_pkt = int(ix.frame_pkt[clip].max())
            end = keys[keys > last_pkt][0] if (keys > last_pkt).any() else len(sizes)
            total += int(sizes[first:end].sum())
        return total


def run_clips(source: str, clips: np.ndarray) -> tuple[list[float], bool]:
    times, exact = [], True
    with framepipe.open(source, size=(224, 224)) as v:
        for clip in clips:
            t = time.perf_counter()
            batch = v.get_clips([clip])
            times.append(time.perf_counter() - t)
            # stretched to 224x224: the pattern keeps its place as fractions of the 1080p frame
            shown = [read_index(f, box=pattern_box(1080, 1920)) for f in batch.data[0]]
            exact &= shown == (clip % 1800).tolist()
    return times, exact


def open_time(source: str) -> float:
    t = time.perf_counter()
    framepipe.open(source).close()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    path = video()
    size = os.path.getsize(path)
    with framepipe.open(path) as v:
        n = len(v)
    clips = sampling.random_clips(n, num_clips=args.clips, length=16, seed=0)
    needed = gop_bytes(path, clips)
    rows = {}
    with tempfile.TemporaryDirectory() as cache, nginx.serve(os.path.dirname(path)) as server:
        os.environ["FRAMEPIPE_CACHE_DIR"] = cache
        url = server.url(os.path.basename(path))
        for name, source in (("local", path), ("http", url)):
            server.mark()
            cold = open_time(source)  # indexes the file (an MP4: from its tables) and caches the index
            opened_bytes = server.fetched()
            server.mark()
            warm = open_time(source)  # the index is cached now: metadata only, no media bytes
            times, exact = run_clips(source, clips)  # a cached open again, then the clips
            requests = server.log()
            fetched = sum(r[4] for r in requests)
            rows[name] = dict(
                open_s=cold,
                reopen_cached_s=warm,
                clip_median_s=statistics.median(times),
                clip_mean_s=statistics.mean(times),
                exact=exact,
            )
            if name == "http":
                first_get = next(i for i, r in enumerate(requests) if r[0] == "GET")
                requests = requests[1:]  # the timed reopen's HEAD; what follows is run_clips' open and reads
                first_get -= 1
                rows[name].update(
                    open_fetched=opened_bytes,
                    clips_fetched=fetched,
                    cached_reopen_requests_before_first_get=[r[0] for r in requests[:first_get]],
                )
    result = dict(
        video=os.path.basename(path),
        video_bytes=size,
        frames=n,
        clips=args.clips,
        gop_bytes_needed=needed,
        machine=f"{os.cpu_count()} cores ({platform.machine()}), Python {platform.python_version()}",
        rows=rows,
    )
    http, local = rows["http"], rows["local"]
    print(
        f"Video: {result['video']} ({size / 1e6:.0f} MB, {n} frames, 1080p30 H.264, keyframe every 5 s); "
        f"{args.clips} random 16-frame clips at 224x224, one call each. {result['machine']}.\n"
    )
    print("| | local file | HTTP (nginx, 127.0.0.1) |\n| --- | --- | --- |")
    print(
        f"| open, index built | {local['open_s'] * 1000:.0f} ms | {http['open_s'] * 1000:.0f} ms "
        f"({http['open_fetched'] / 1e6:.1f} MB fetched) |"
    )
    print(
        f"| open, index cached | {local['reopen_cached_s'] * 1000:.1f} ms | "
        f"{http['reopen_cached_s'] * 1000:.1f} ms "
        f"({', '.join(http['cached_reopen_requests_before_first_get']) or 'no'} request before the "
        "first GET) |"
    )
    print(
        f"| time per clip, median | {local['clip_median_s'] * 1000:.0f} ms | "
        f"{http['clip_median_s'] * 1000:.0f} ms |"
    )
    print(f"| frames exact | {local['exact']} | {http['exact']} |")
    print(
        f"\nBytes the clips' GOPs hold: {needed / 1e6:.1f} MB; fetched for the clips: "
        f"{http['clips_fetched'] / 1e6:.1f} MB ({http['clips_fetched'] / needed:.2f}x); with the open: "
        f"{(http['clips_fetched'] + http['open_fetched']) / 1e6:.1f} MB of a {size / 1e6:.0f} MB file "
        f"({(http['clips_fetched'] + http['open_fetched']) / size * 100:.1f}%)."
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)


if __name__ == "__main__":
    main()
