"""``python -m framepipe.tools.demo``: make a sample video, then pull exact frames and clips out of it.

This is the README's first command: it needs nothing but framepipe itself. It writes the sample video
(each frame shows its own index as a block pattern), reads frames by index and by time plus a batch of
overlapping clips, checks that every frame that came back is the one asked for, and saves them to an
``.npz`` file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import framepipe
from framepipe.tools.synthetic import make_video, read_index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m framepipe.tools.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="framepipe-demo", help="folder for the sample video and results")
    parser.add_argument("--frames", type=int, default=300, help="length of the sample video in frames")
    args = parser.parse_args(argv)
    if args.frames < 64:
        parser.error("--frames must be at least 64")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "sample.mp4")
    t = time.perf_counter()
    make_video(path, num_frames=args.frames, width=640, height=360, fps=30, gop=60, bframes=3)
    print(
        f"wrote {path}: {args.frames} frames, 640x360 H.264 with B-frames ({time.perf_counter() - t:.2f} s)"
    )

    with framepipe.open(path, size=(224, 224), resize="shorter_side") as video:
        md = video.metadata
        print(
            f"metadata: {md.num_frames} frames, {md.average_fps:.2f} fps, {md.duration_seconds:.2f} s, "
            f"keyframes at {md.keyframe_indices.tolist()}"
        )
        wanted = [5, 20, 45, args.frames - 1, 20]
        t = time.perf_counter()
        frames = video.get_frames(wanted)
        print(
            f"get_frames({wanted}) -> {frames.data.shape} in {1000 * (time.perf_counter() - t):.1f} ms; "
            f"frames shown: {[read_index(f) for f in frames.data]}"
        )
        times = [0.5, 1.0, 2.25]
        at = video.get_frames_at_times(times)
        print(
            f"get_frames_at_times({times}) -> indices {at.indices.tolist()} at "
            f"{at.pts_seconds.round(3).tolist()} s"
        )
        starts = np.random.default_rng(0).integers(0, args.frames - 32, 8)
        clips = [list(range(s, s + 32, 2)) for s in starts]  # 8 clips of 16 frames, sampling rate 2
        t = time.perf_counter()
        batch = video.get_clips(clips)
        print(
            f"get_clips(8 random 16-frame clips) -> {batch.data.shape} in "
            f"{1000 * (time.perf_counter() - t):.1f} ms"
        )

    ok = [read_index(f) for f in frames.data] == wanted and all(
        [read_index(f) for f in clip] == list(idx) for clip, idx in zip(batch.data, clips)
    )
    result = os.path.join(args.out, "demo_frames.npz")
    np.savez(result, frames=frames.data, indices=frames.indices, clips=batch.data, clip_indices=batch.indices)
    print(f"saved {result}; every frame is the one asked for: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
