"""Dataset scale: time to a ready dataset and to the first batch, and the parent's peak memory, for 1,000,
10,000 and 100,000 videos, locally and over HTTP (nginx on 127.0.0.1).

The videos are hard links of one small H.264 MP4 (2 s, 160x120, 25 fps) in 10 class folders: the cost is
per video, not per byte. ``ClipDataset(folder, length=8, step=2, sampler="random", clips_per_video=1,
size=(112, 112))`` through ``DataLoader(batch_size=16, num_workers=2)``, each run in a fresh process,
timed from after the imports (torch and framepipe), its memory the parent's peak RSS above what it had
then:

  cold    no index cache: every video indexed in the main process (local threads, or 32 URL requests
          in flight)
  warm    the index cache filled by an earlier run
  store   ``index=STORE`` from ``framepipe index`` (the store's build time is its own row)
  floor   listing the folder and one ``os.stat`` per video: what any dataset that checks its files pays

Cold and warm are measured up to 10,000 local videos (100,000 at the measured rate would take the better
part of an hour on 2 cores); over HTTP 1,000 videos, against the same dataset indexed with 4 threads (the
earlier rule) and the requests nginx served per video.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--json results/scale_<date>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "scale")
LINKS = 50000  # hard links per copy of the video (ext4 allows 65,000 a file)

# one measurement, in a fresh process: prints a JSON line
CHILD = r"""
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
mode, root, store, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import torch
from torch.utils.data import DataLoader
from framepipe.torch import ClipDataset
from framepipe._adapters import indexing
from framepipe._adapters.listing import resolve_sources
base = peak()  # after the imports: what the dataset adds is measured from here
t0 = time.perf_counter()
if mode == "floor":
    for s in resolve_sources(root):
        os.stat(s.path)
    ready = time.perf_counter() - t0
    print(json.dumps(dict(ready=ready, first=ready, rss_mb=peak() - base)))
    sys.exit()
if mode == "threads4":  # the earlier rule: 4 threads, whatever the source
    indexing.URL_REQUESTS = indexing.LOCAL_THREADS = 4
ds = ClipDataset(root, length=8, step=2, sampler="random", clips_per_video=1, size=(112, 112),
                 index=None if store == "-" else store)
ready = time.perf_counter() - t0
loader = DataLoader(ds, batch_size=16, num_workers=workers, shuffle=True)
clips, labels = next(iter(loader))
first = time.perf_counter() - t0
print(json.dumps(dict(ready=ready, first=first, readable=ds.videos.num_videos, rss_mb=peak() - base)))
"""


def make_tree(n: int) -> str:
    """``DATA/<n>/class<k>/v<i>.mp4``: n hard links of one small video (made once)."""
    from framepipe.tools.synthetic import make_video

    os.makedirs(DATA, exist_ok=True)
    base = os.path.join(DATA, "base.mp4")
    if not os.path.exists(base):
        make_video(base, num_frames=50, width=160, height=120, gop=25, bframes=2)
    root = os.path.join(DATA, str(n))
    done = os.path.join(root, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(root, ignore_errors=True)
        for k in range(10):
            os.makedirs(os.path.join(root, f"class{k}"))
        for i in range(n):
            copy = os.path.join(DATA, f"base-{i // LINKS}.mp4")  # a file takes only so many links
            if not os.path.exists(copy):
                shutil.copyfile(base, copy)
            os.link(copy, os.path.join(root, f"class{i % 10}", f"v{i:06d}.mp4"))
        open(done, "w").close()
    return root


def measure(mode: str, root: str, store: str, cache: str, workers: int = 2) -> dict:
    env = dict(os.environ, FRAMEPIPE_CACHE_DIR=cache)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, root, store, str(workers)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def build_store(root: str, out: str) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "framepipe",
            "index",
            root,
            "--out",
            out,
            "--jobs",
            str(os.cpu_count() or 1),
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return time.perf_counter() - t


def local_rows(sizes: list[int], tmp: str) -> list[dict]:
    rows = []
    for n in sizes:
        root = make_tree(n)
        print(f"{n} videos", flush=True)
        rows.append(dict(where="local", videos=n, mode="floor", **measure("floor", root, "-", tmp)))
        if n <= 10000:
            cache = tempfile.mkdtemp(dir=tmp)
            rows.append(dict(where="local", videos=n, mode="cold", **measure("cold", root, "-", cache)))
            rows.append(dict(where="local", videos=n, mode="warm", **measure("warm", root, "-", cache)))
        store = os.path.join(tmp, f"store-{n}")
        built = build_store(root, store)
        rows.append(
            dict(where="local", videos=n, mode="store", build=built, **measure("store", root, store, tmp))
        )
        for r in rows[-4:]:
            print(
                f"  {r['mode']:6s} ready {r['ready']:7.2f} s  first batch {r['first']:7.2f} s  "
                f"parent +{r['rss_mb']:6.0f} MB"
                + (f"  (store built in {r['build']:.1f} s)" if "build" in r else ""),
                flush=True,
            )
    return rows


def http_rows(n: int, tmp: str) -> list[dict]:
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from support import nginx

    make_tree(1)  # the base video
    flat = os.path.join(DATA, f"flat-{n}")  # nginx's test server serves one folder's files
    if not os.path.exists(os.path.join(flat, ".complete")):
        shutil.rmtree(flat, ignore_errors=True)
        os.makedirs(flat)
        for i in range(n):
            os.link(os.path.join(DATA, "base.mp4"), os.path.join(flat, f"v{i:06d}.mp4"))
        open(os.path.join(flat, ".complete"), "w").close()
    rows = []
    with nginx.serve(flat) as server:
        manifest = os.path.join(tmp, "urls.csv")
        with open(manifest, "w") as fh:
            for i in range(n):
                fh.write(f"{server.url(f'v{i:06d}.mp4')},class{i % 10}\n")
        for mode in ("threads4", "cold"):
            server.mark()
            got = measure(mode, manifest, "-", tempfile.mkdtemp(dir=tmp))
            requests = len(server.log()) / n
            rows.append(dict(where="http", videos=n, mode=mode, requests_per_video=round(requests, 2), **got))
            print(
                f"  http {mode:8s} ready {got['ready']:7.2f} s ({1000 * got['ready'] / n:.1f} ms/video), "
                f"{requests:.1f} requests/video",
                flush=True,
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--http", type=int, default=1000, help="videos over HTTP (0: none)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = local_rows([int(s) for s in args.sizes.split(",")], tmp)
        if args.http:
            rows += http_rows(args.http, tmp)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                dict(
                    machine=f"{os.cpu_count()} cores ({platform.machine()}), "
                    f"Python {platform.python_version()}",
                    rows=[
                        {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rows
                    ],
                ),
                fh,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
