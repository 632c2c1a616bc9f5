"""What exact colour costs: libswscale alone (the fast route) against the filter graph that equals the
ffmpeg CLI (the route framepipe takes for 10/12-bit 4:2:0 and 4:2:2 and interlaced pictures), per frame,
at full size and resized to 224x224, in one run.

    python benchmarks/bench_colour.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import av
from av.video.reformatter import VideoReformatter

from framepipe._pixels.convert import Converter
from framepipe.tools.synthetic import make_video

SIZES = [(1920, 1080), (640, 480)]
FORMATS = ["yuv420p10le", "yuv422p10le", "yuv420p"]


def per_frame_ms(fn, frames, repeat: int) -> float:
    for f in frames[:2]:
        fn(f)
    t = time.perf_counter()
    for _ in range(repeat):
        for f in frames:
            fn(f)
    return 1e3 * (time.perf_counter() - t) / (repeat * len(frames))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, PyAV {av.__version__}")
    print(
        "| video | to RGB, swscale | to RGB, CLI-exact route | ratio | 224x224, swscale | 224x224, "
        "CLI-exact | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in SIZES:
            for pix in FORMATS:
                path = make_video(
                    os.path.join(tmp, f"{h}_{pix}.mkv"),
                    num_frames=8,
                    width=w,
                    height=h,
                    pix_fmt=pix,
                    options={"preset": "ultrafast"},
                )
                with av.open(path) as c:
                    frames = list(c.decode(video=0))
                sws, conv = VideoReformatter(), Converter()
                cells = []
                for size in (None, 224):
                    kw = {} if size is None else dict(width=size, height=size, interpolation="AREA")
                    a = per_frame_ms(
                        lambda f: sws.reformat(f, format="rgb24", threads=0, **kw).to_ndarray(),
                        frames,
                        args.repeat,
                    )
                    b = per_frame_ms(
                        lambda f: conv.to_array(f, format="rgb24", threads=0, **kw), frames, args.repeat
                    )
                    cells += [f"{a:.2f} ms", f"{b:.2f} ms", f"{b / a:.2f}x"]
                route = Converter().route(frames[0])
                print(f"| {w}x{h} {pix} ({route}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
