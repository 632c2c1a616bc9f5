"""A long fuzz run of the file reader: thousands of mutated videos, each read in a child process.

Seeds cover MP4 (B-frames, faststart, edit list), Matroska, MPEG-TS, AVI/MJPEG, WebM/VP9, HEVC and AV1;
mutations are those of :mod:`framepipe.tools.fuzz`. Any crash, hang or exception other than a
``framepipe.VideoError`` is printed with the file kept for replay, and the exit status is 1.

    python benchmarks/fuzz.py [--count 300] [--seed 1] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter

from framepipe.tools.synthetic import cut_with_edit_list

# the tests' helpers (tests/support), importable here as pytest's pythonpath makes them there
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from support.fuzz import fuzz_files, make_seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=300, help="mutants per seed video")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="folder to keep the mutants in (default: a temporary one, removed)")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="framepipe-fuzz-")
    os.makedirs(work, exist_ok=True)
    seeds = make_seeds(work, num_frames=48, width=96, height=64)
    edit = cut_with_edit_list(
        os.path.join(work, "seed_bframes.mp4"), os.path.join(work, "seed_edit.mp4"), start_seconds=0.5
    )
    seeds["edit.mp4"] = open(edit, "rb").read()
    mutants = os.path.join(work, "mutants")
    os.makedirs(mutants, exist_ok=True)
    t = time.perf_counter()
    findings, outcomes = fuzz_files(seeds, mutants, count=args.count, seed=args.seed, batch=40, timeout=180)
    took = time.perf_counter() - t
    kinds = Counter(outcomes.values())
    print(
        f"{len(outcomes)} mutants of {len(seeds)} seed videos in {took:.0f} s "
        f"({1e3 * took / max(1, len(outcomes)):.0f} ms each): {len(findings)} findings"
    )
    for outcome, n in kinds.most_common():
        print(f"  {n:6d}  {outcome}")
    for f in findings:
        print(f"\n{f.what}: {f.path}\n{f.detail}")
    if not args.keep and not findings:
        shutil.rmtree(work, ignore_errors=True)
    elif findings:
        print(f"\nmutants kept in {work}", file=sys.stderr)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
