"""Every failure typed: mutated videos, each opened and read in a child process with a
time limit; any crash, hang or exception other than a framepipe.VideoError fails. A longer run:
``python benchmarks/fuzz.py --count 2000``."""

from __future__ import annotations

import os
from collections import Counter

from support.fuzz import MUTATIONS, fuzz_files, make_seeds

NAMES = ["bframes.mp4", "faststart.mp4", "plain.mkv", "stream.ts", "mjpeg.avi", "vp9.webm"]  # quick to make


def test_mutated_videos_fail_only_with_typed_errors(tmp_path):
    seeds = make_seeds(str(tmp_path), NAMES)
    out = tmp_path / "mutants"
    os.makedirs(out)
    findings, outcomes = fuzz_files(
        seeds, str(out), count=3 * len(MUTATIONS), seed=20261121, batch=30, timeout=120
    )
    assert not findings, "\n\n".join(f"{f.what}: {f.path}\n{f.detail}" for f in findings)
    assert len(outcomes) == 3 * len(MUTATIONS) * len(NAMES)
    kinds = Counter(v.split()[0] for v in outcomes.values())
    assert kinds["ok"] and kinds["typed"]  # mutants that still read, and mutants that fail, typed
