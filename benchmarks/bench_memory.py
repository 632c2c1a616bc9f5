"""Peak memory of one call for N consecutive full-size frames: framepipe against its peers and the floor.

    python benchmarks/bench_memory.py [--frames 40,80] [--libs framepipe,decord,torchcodec,opencv] [--json]

The video is the core benchmark's 1080p30 H.264 (B-frames, a keyframe every 5 s); each call asks for frames
0..N-1 at 1920x1080 RGB uint8, each (library, N) in a fresh process. Measured there: resident memory after
the imports and the open (the baseline), the peak during the call (the kernel's high-water mark, reset just
before the call), and the output's own bytes. "over output" is peak - baseline - output: what the call holds
beyond what it returns. The floor is PyAV decoding straight into a preallocated output, one converted frame
at a time. Peers as their users call them: decord ``VideoReader(path).get_batch(range(N)).asnumpy()``,
torchcodec ``VideoDecoder(path, seek_mode="exact").get_frames_in_range(0, N)``, OpenCV reading N frames
with ``cap.read()``, ``cvtColor`` to RGB and ``np.stack``. A peer that is not installed, or does not load, is
reported with the reason and left out of the table.

``--json`` writes ``benchmarks/results/memory_<date>.json`` (``benchmarks/tables.py`` puts it on the page).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIBS = ("framepipe", "decord", "torchcodec", "opencv")
MB = 1 << 20


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM starts again from what is resident now


def _open(lib: str, path: str):
    """Import ``lib`` and open ``path``; returns a function of N that returns the (N, H, W, 3) output."""
    import numpy as np

    if lib == "floor":
        import av

        container = av.open(path)
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"

        def call(n: int):
            out = np.empty((n, stream.height, stream.width, 3), np.uint8)
            for i, frame in enumerate(container.decode(stream)):
                if i == n:
                    break
                out[i] = frame.to_ndarray(format="rgb24")
            return out

        return call
    if lib == "framepipe":
        import framepipe

        video = framepipe.open(path)
        return lambda n: video.get_frames(range(n)).data
    if lib == "decord":
        import decord

        reader = decord.VideoReader(path)
        return lambda n: reader.get_batch(list(range(n))).asnumpy()
    if lib == "torchcodec":
        from torchcodec.decoders import VideoDecoder

        decoder = VideoDecoder(path, seek_mode="exact")
        return lambda n: decoder.get_frames_in_range(0, n).data.permute(0, 2, 3, 1).numpy()
    if lib == "opencv":
        import cv2

        cap = cv2.VideoCapture(path)

        def call(n: int):
            frames = []
            for _ in range(n):
                ok, bgr = cap.read()
                if not ok:
                    break
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            return np.stack(frames)

        return call
    raise ValueError(f"unknown library {lib!r}")


def measure(lib: str, path: str, n: int) -> dict:
    """In this process: the baseline, the call's peak and its output, in bytes."""
    call = _open(lib, path)
    _reset_peak()
    before = _status("VmRSS")
    start = time.perf_counter()
    out = call(n)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    assert out.shape[0] == n, f"{lib} returned {out.shape[0]} frames for {n}"
    return dict(
        lib=lib,
        frames=n,
        seconds=seconds,
        baseline_mb=before / MB,
        peak_mb=peak / MB,
        output_mb=out.nbytes / MB,
        over_output_mb=(peak - before - out.nbytes) / MB,
        status="ok",
    )


def in_subprocess(lib: str, path: str, n: int) -> dict:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--one", lib, path, str(n)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return dict(lib=lib, frames=n, status=f"failed: {last[:200]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", default="40,80", help="comma-separated frame counts (default 40,80)")
    ap.add_argument("--libs", default=",".join(LIBS))
    ap.add_argument("--seconds", type=int, default=10, help="length of the generated video (default 10)")
    ap.add_argument("--json", action="store_true", help="write benchmarks/results/memory_<date>.json")
    ap.add_argument("--one", nargs=3, metavar=("LIB", "PATH", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        lib, path, n = args.one
        try:
            print(json.dumps(measure(lib, path, int(n))))
        except Exception as exc:  # one line for the table: what failed, and why (a load error's cause)
            root = exc.__cause__ or exc  # torchcodec's "Could not load this library" hides why in its cause
            sys.exit(f"{type(root).__name__}: {root}")
        return
    from framepipe.tools.benchmark import ensure_video

    path = ensure_video(args.seconds, data_dir=os.path.join(HERE, "data"))
    rows = []
    for n in (int(v) for v in args.frames.split(",")):
        for lib in ["floor", *args.libs.split(",")]:
            row = in_subprocess(lib, path, n)
            rows.append(row)
            if row["status"] == "ok":
                print(
                    f"{lib:>10} N={n:<3} output {row['output_mb']:6.0f} MB"
                    f"  baseline {row['baseline_mb']:5.0f} MB"
                    f"  peak {row['peak_mb']:6.0f} MB  over output {row['over_output_mb']:6.0f} MB"
                    f"  {row['seconds']:.2f} s"
                )
            else:
                print(f"{lib:>10} N={n:<3} {row['status']}")
    if args.json:
        out = os.path.join(HERE, "results", f"memory_{datetime.date.today().isoformat()}.json")
        with open(out, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(), "rows": rows}, f, indent=1)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
