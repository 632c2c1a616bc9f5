"""Training-loader benchmark: clips per second through DataLoader(num_workers=2, batch_size=8).

8 generated 1080p30 H.264 videos (10 s each, B-frames, keyframe every 2 s); random 16-frame clips at
224x224 from one seeded sampler shared by all loaders:

  framepipe   framepipe.torch.ClipDataset (one reader per worker, kept open)
  decord      a Dataset opening decord.VideoReader(path, width, height) per item, get_batch(frames)
  torchcodec  a Dataset opening VideoDecoder(path, transforms=[Resize]) per item, get_frames_at(frames)

(the two peers as their documentation shows them). Then the startup time of a dataset over 1,000 short
videos, cold (no index cache) and cached.

    python benchmarks/bench_dataset.py [--clips 96]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

HERE = os.path.dirname(os.path.abspath(__file__))
SIZE, LENGTH = 224, 16


def videos(n: int = 8, seconds: int = 10) -> list[str]:
    from framepipe.tools.synthetic import make_video

    folder = os.path.join(HERE, "data", "dataset")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(folder, f"v{i}.mp4")
        if not os.path.exists(p):
            make_video(
                p + ".tmp.mp4",
                num_frames=seconds * 30,
                width=1920,
                height=1080,
                fps=30,
                gop=60,
                bframes=3,
                options={"preset": "veryfast"},
            )
            os.replace(p + ".tmp.mp4", p)
        paths.append(p)
    return paths


def plan(paths: list[str], num_clips: int, seed: int = 0) -> list[tuple[int, list[int]]]:
    """The shared sampler: random videos, random 16-frame clips inside them."""
    from framepipe import open as fp_open
    from framepipe.sampling import random_clips

    rng = np.random.default_rng(seed)
    counts = [len(fp_open(p)) for p in paths]
    out = []
    for _ in range(num_clips):
        v = int(rng.integers(len(paths)))
        out.append((v, random_clips(counts[v], num_clips=1, length=LENGTH, seed=rng)[0].tolist()))
    return out


class FramepipeClips(Dataset):
    def __init__(self, paths, items):
        from framepipe.dataset import VideoDataset, VideoSource
        from framepipe.torch import ClipDataset

        self.inner = ClipDataset(
            VideoDataset([VideoSource(p) for p in paths], length=LENGTH, stride=10**9),
            length=LENGTH,
            size=(SIZE, SIZE),
            dtype="uint8",
            layout="THWC",
        )
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        v, frames = self.items[i]
        reader = self.inner._readers.get(self.inner.videos.video_path(v))
        return torch.from_numpy(reader.get_clips([frames]).data[0])


class _PeerClips(Dataset):
    def __init__(self, paths, items):
        self.paths, self.items = paths, items

    def __len__(self):
        return len(self.items)


class DecordClips(_PeerClips):
    def __getitem__(self, i):
        import decord

        v, frames = self.items[i]
        vr = decord.VideoReader(self.paths[v], width=SIZE, height=SIZE, ctx=decord.cpu(0))
        return torch.from_numpy(vr.get_batch(frames).asnumpy())


class TorchcodecClips(_PeerClips):
    def __getitem__(self, i):
        from torchcodec.decoders import VideoDecoder
        from torchcodec.transforms import Resize

        v, frames = self.items[i]
        dec = VideoDecoder(self.paths[v], dimension_order="NHWC", transforms=[Resize(size=(SIZE, SIZE))])
        return dec.get_frames_at(frames).data


def clips_per_second(ds: Dataset) -> tuple[float, float]:
    loader = DataLoader(ds, batch_size=8, num_workers=2, shuffle=False, persistent_workers=False)
    t = time.perf_counter()
    n = 0
    for batch in loader:
        assert batch.shape[1:] == (LENGTH, SIZE, SIZE, 3), batch.shape
        n += batch.shape[0]
    seconds = time.perf_counter() - t
    return n / seconds, seconds


def startup(n: int = 1000) -> tuple[float, float]:
    """Seconds to build a dataset over n short videos: cold (empty index cache), then cached."""
    from framepipe.dataset import VideoDataset
    from framepipe.tools.synthetic import make_video

    folder = os.path.join(HERE, "data", "short")
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        p = os.path.join(folder, f"s{i:04d}.mp4")
        if not os.path.exists(p):
            make_video(p, num_frames=48, width=128, height=96, gop=12)
        paths.append(p)
    cache = tempfile.mkdtemp(prefix="framepipe-cache-")
    os.environ["FRAMEPIPE_CACHE_DIR"] = cache
    try:
        t = time.perf_counter()
        ds = VideoDataset.from_paths(paths, length=16, stride=16)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        ds2 = VideoDataset.from_paths(paths, length=16, stride=16)
        cached = time.perf_counter() - t
        assert len(ds) == len(ds2) == 3 * n
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        os.environ.pop("FRAMEPIPE_CACHE_DIR", None)
    return cold, cached


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=96)
    ap.add_argument("--short-videos", type=int, default=1000)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    paths = videos()
    items = plan(paths, args.clips)
    for p in paths:  # warm the page cache for every loader alike: the first one timed must not pay for disk
        with open(p, "rb") as fh:
            while fh.read(1 << 24):
                pass
    rows = []
    for name, cls in (
        ("framepipe", FramepipeClips),
        ("decord", DecordClips),
        ("torchcodec", TorchcodecClips),
    ):
        cps, seconds = clips_per_second(cls(paths, items))
        rows.append((name, cps, seconds))
        print(f"  {name:10s} {cps:6.1f} clips/s ({seconds:.1f} s)", file=sys.stderr)
    fp = rows[0][1]
    print(
        f"{args.clips} random 16-frame clips at 224x224 from 8 videos of 10 s 1080p30 H.264, "
        f"DataLoader(num_workers=2, batch_size=8); {os.cpu_count()} cores, Python "
        f"{platform.python_version()}.\n"
    )
    print("| loader | clips/s | seconds | framepipe is |")
    print("| --- | --- | --- | --- |")
    for name, cps, seconds in rows:
        print(
            f"| {name} | {cps:.1f} | {seconds:.1f} | "
            f"{'-' if name == 'framepipe' else f'{fp / cps:.1f}x faster'} |"
        )
    cold, cached = startup(args.short_videos)
    print(
        f"\nDataset over {args.short_videos} short videos (48 frames each): startup {cold:.1f} s cold "
        f"(indexing every file), {cached:.2f} s with the index cache."
    )


if __name__ == "__main__":
    main()
