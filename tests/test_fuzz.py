"""Every failure typed (issue 12, item 5): mutated videos, each opened and read in a child process with a
time limit; any crash, hang or exception other than a framepipe.VideoError fails. A longer run:
``python benchmarks/fuzz.py --count 2000``."""

from __future__ import annotations

import os
from collections import Counter

from framepipe.tools.fuzz import MUTATIONS, fuzz_files
from framepipe.tools.synthetic import make_video

SEEDS = {
    "bframes.mp4": dict(bframes=2, gop=8),
    "faststart.mp4": dict(gop=6, container_options={"movflags": "faststart"}),
    "plain.mkv": dict(bframes=2, gop=8),
    "stream.ts": dict(container_format="mpegts", gop=8),
    "mjpeg.avi": dict(codec="mjpeg", pix_fmt="yuvj420p", gop=None),
    "vp9.webm": dict(codec="libvpx-vp9", gop=8, options={"deadline": "realtime", "cpu-used": "8"}),
}


def test_mutated_videos_fail_only_with_typed_errors(tmp_path):
    seeds = {}
    for name, kw in SEEDS.items():
        path = make_video(tmp_path / f"seed_{name}", num_frames=24, width=64, height=48, **kw)
        seeds[name] = open(path, "rb").read()
    out = tmp_path / "mutants"
    os.makedirs(out)
    findings, outcomes = fuzz_files(seeds, str(out), count=3 * len(MUTATIONS), seed=20261121, batch=30,
                                    timeout=120)
    assert not findings, "\n\n".join(f"{f.what}: {f.path}\n{f.detail}" for f in findings)
    assert len(outcomes) == 3 * len(MUTATIONS) * len(SEEDS)
    kinds = Counter(v.split()[0] for v in outcomes.values())
    assert kinds["ok"] and kinds["typed"]  # mutants that still read, and mutants that fail, typed
