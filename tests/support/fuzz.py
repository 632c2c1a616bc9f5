"""Fuzzing the file reader: mutated videos, opened and read in child processes, where any crash, hang or
exception other than framepipe's documented ones is a finding.

Mutations (seeded, so a finding can be made again): flipped header bytes, flipped packet bytes, zeroed
blocks, truncation, swapped chunks, and absurd MP4 box sizes. Each child reads a batch of files with
``threads=1`` and every ``on_error`` policy, with valid arguments only (so the one acceptable exception is
a :class:`framepipe.VideoError`), printing one line per file; the parent gives each batch a time limit,
so a hang names the file it hung on.

The test suite runs a short round (``tests/file/test_fuzzed_files.py``); ``python benchmarks/fuzz.py
--count 2000`` runs a long one.

>>> data = bytes(range(256)) * 8
>>> mutants = list(mutate(data, "x.mp4", count=3, seed=1))
>>> len(mutants), all(isinstance(m, bytes) and m != data for _, m in mutants)
(3, True)
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["mutate", "Finding", "run_batch", "MUTATIONS", "fuzz_files", "SEEDS", "make_seeds"]

MUTATIONS = ("header_bytes", "packet_bytes", "zeroed_block", "truncate", "swap_chunks", "box_size")
_BOXES = (
    b"moov",
    b"trak",
    b"mdia",
    b"minf",
    b"stbl",
    b"stsz",
    b"stco",
    b"co64",
    b"stts",
    b"ctts",
    b"stss",
    b"mdat",
    b"tkhd",
    b"elst",
)


# seed videos, by file name: make_video keyword arguments (each container and codec the reader supports)
SEEDS = {
    "bframes.mp4": dict(bframes=2, gop=8),
    "faststart.mp4": dict(gop=6, container_options={"movflags": "faststart"}),
    "plain.mkv": dict(bframes=2, gop=8),
    "stream.ts": dict(container_format="mpegts", gop=8),
    "mjpeg.avi": dict(codec="mjpeg", pix_fmt="yuvj420p", gop=None),
    "vp9.webm": dict(codec="libvpx-vp9", gop=8, options={"deadline": "realtime", "cpu-used": "8"}),
    "hevc.mp4": dict(codec="libx265", bframes=2, gop=8),
    "av1.mkv": dict(codec="libsvtav1", gop=8, options={"preset": "12"}),
}


def make_seeds(
    folder: str,
    names: Sequence[str] | None = None,
    *,
    num_frames: int = 24,
    width: int = 64,
    height: int = 48,
) -> dict[str, bytes]:
    """The bytes of the seed videos ``names`` (default: all of :data:`SEEDS`), made in ``folder``."""
    from framepipe.tools.synthetic import make_video

    out = {}
    for name in names or list(SEEDS):
        path = make_video(
            os.path.join(folder, f"seed_{name}"),
            num_frames=num_frames,
            width=width,
            height=height,
            **SEEDS[name],
        )
        with open(path, "rb") as f:
            out[name] = f.read()
    return out


def _flip(buf: bytearray, rng: random.Random, lo: int, hi: int, n: int) -> None:
    hi = max(lo + 1, min(hi, len(buf)))
    for _ in range(n):
        i = rng.randrange(lo, hi)
        buf[i] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)


def mutate(data: bytes, name: str, *, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` mutants of ``data``: (description, bytes); the same seed gives the same mutants."""
    rng = random.Random(seed)
    n = len(data)
    for k in range(count):
        kind = MUTATIONS[k % len(MUTATIONS)]
        buf = bytearray(data)
        if kind == "header_bytes":
            _flip(buf, rng, 0, min(n, 4096), rng.randint(1, 8))
        elif kind == "packet_bytes":
            _flip(buf, rng, n // 10, n, rng.randint(1, 32))
        elif kind == "zeroed_block":
            start, size = rng.randrange(n), rng.choice((16, 512, 4096, 65536))
            buf[start : start + size] = bytes(min(size, n - start))
        elif kind == "truncate":
            buf = buf[: rng.randrange(1, n)]
        elif kind == "swap_chunks":
            size = rng.choice((188, 1024, 8192))
            a, b = rng.randrange(max(1, n - size)), rng.randrange(max(1, n - size))
            buf[a : a + size], buf[b : b + size] = data[b : b + size], data[a : a + size]
        else:  # box_size: an MP4 box (or any 4-byte field before a tag) claims an absurd size
            spots = [i - 4 for box in _BOXES for i in _find_all(data, box) if i >= 4]
            at = rng.choice(spots) if spots else rng.randrange(max(1, n - 4))
            value = rng.choice((0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF, n * 3, rng.randrange(1 << 32)))
            buf[at : at + 4] = struct.pack(">I", value)
        if bytes(buf) == data:  # a flip that changed nothing: change one more byte
            buf[rng.randrange(len(buf))] ^= 0xFF
        yield f"{name}#{k}:{kind}", bytes(buf)


def _find_all(data: bytes, tag: bytes) -> list[int]:
    out, i = [], data.find(tag)
    while i >= 0 and len(out) < 64:
        out.append(i)
        i = data.find(tag, i + 1)
    return out


@dataclass
class Finding:
    """A file that crashed, hung or raised an undocumented exception."""

    path: str
    what: str  # "crash", "hang" or "exception"
    detail: str


_CHILD = r"""
import json, sys
import numpy as np
import framepipe
ALLOWED = (framepipe.VideoError,)  # every call below is valid: an argument error would be a finding too

def exercise(path, on_error):
    with framepipe.open(path, index_cache=False, threads=1, on_error=on_error) as v:
        n = len(v)
        md = v.metadata
        picks = sorted({0, n // 3, n // 2, n - 1, max(0, n - 2)})
        v.get_frames(picks)
        v.get_frames(list(reversed(picks)))
        if n >= 4:
            v.get_clips([[0, 1, 2, 3], [n - 4, n - 3, n - 2, n - 1]])
        for _ in zip(range(12), v.iter_frames()):
            pass
        v.get_frames_at_times([md.start_seconds])
    with framepipe.open(path, index_cache=False, threads=1, size=(32, 48), resize="letterbox") as v:
        v.get_frames([len(v) - 1])

for path in sys.argv[1:]:
    print("START", path, flush=True)
    outcome = "ok"
    for on_error in ("raise", "skip", "previous"):
        try:
            exercise(path, on_error)
        except ALLOWED as exc:
            outcome = "typed " + type(exc).__name__
        except BaseException as exc:
            import traceback
            print("UNTYPED", json.dumps({"path": path, "error": f"{type(exc).__name__}: {exc}",
                                         "traceback": traceback.format_exc()[-1500:]}), flush=True)
            outcome = "untyped"
            break
    print("DONE", path, outcome, flush=True)
"""


def run_batch(paths: Sequence[str], *, timeout: float) -> tuple[list[Finding], dict[str, str]]:
    """Read ``paths`` in one child process; returns (findings, outcome per finished file)."""
    findings: list[Finding] = []
    outcomes: dict[str, str] = {}
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, *paths], capture_output=True, text=True, timeout=timeout, env=env
        )
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr, code = "", None
    started = None
    for line in stdout.splitlines():
        if line.startswith("START "):
            started = line[6:]
        elif line.startswith("DONE "):
            path, outcome = line[5:].rsplit(" ", 1) if " typed " not in line else line[5:].split(" typed ", 1)
            outcomes[path] = outcome if " typed " not in line else "typed " + outcome
            started = None
        elif line.startswith("UNTYPED "):
            info = json.loads(line[8:])
            findings.append(Finding(info["path"], "exception", info["error"] + "\n" + info["traceback"]))
    if code is None:
        findings.append(Finding(started or "?", "hang", f"no answer within {timeout:.0f} s"))
    elif code != 0:
        findings.append(Finding(started or "?", "crash", f"exit status {code}\n{stderr[-2000:]}"))
    return findings, outcomes


def fuzz_files(
    seeds: dict[str, bytes], folder: str, *, count: int, seed: int, batch: int = 20, timeout: float = 60.0
) -> tuple[list[Finding], dict[str, str]]:
    """Write ``count`` mutants of each seed video into ``folder`` and read them in batches.

    Returns (findings, outcome per file). A batch that crashed or hung is re-run file by file after the
    culprit, so one finding does not hide the files after it.
    """
    paths = []
    for name, data in seeds.items():
        for k, (desc, mutant) in enumerate(mutate(data, name, count=count, seed=seed)):
            path = os.path.join(folder, f"{k:05d}_{name}")
            with open(path, "wb") as f:
                f.write(mutant)
            paths.append(path)
    findings: list[Finding] = []
    outcomes: dict[str, str] = {}
    todo = list(paths)
    while todo:
        chunk, todo = todo[:batch], todo[batch:]
        found, done = run_batch(chunk, timeout=timeout)
        findings += found
        outcomes.update(done)
        unfinished = [p for p in chunk if p not in done and p not in {f.path for f in found}]
        todo = unfinished + todo
    return findings, outcomes
