"""Live-stream benchmark: end-to-end latency and CPU per frame, framepipe against OpenCV, one run.

A local sender (``python -m framepipe.tools.sender tcp``: H.264 ultrafast/zerolatency in MPEG-TS over TCP, a
keyframe a second, 30 fps, real-time pace) draws each frame's index into it and logs when frame k was
due (its "capture" time) and when its packet went to the socket. The *source's own delay* is
sent - due (drawing and encoding). A reader's latency for frame k is the time its read returned minus
the time k was due; we also report what the reader adds on top of the source (latency - source delay).

Readers, each in its own process (so its CPU time is its own), full-size RGB/BGR frames:

  pyav_floor        bare PyAV: demux, decode, to_ndarray("rgb24") in one loop, with framepipe's demuxer
                    options: the least any FFmpeg-based reader can add, i.e. the stream's own delay
                    (MPEG-TS ends a video packet only when the next one starts, and FFmpeg's H.264
                    parser waits for the next frame's start: about 2 frame intervals on top of encoding)
  framepipe_all     open_stream(mode="all"): every frame in order
  framepipe_latest  open_stream(mode="latest")
  opencv            cv2.VideoCapture(url); cap.read() in a loop, the common recipe
  opencv_threaded   a thread calling cap.read() forever, keeping the newest frame; the reader takes it

CPU is the reader process's CPU time (all its threads) per frame of the stream.

Two consumers: "fast" (takes each frame as soon as it can) and "slow model" (100 ms of work per frame,
3x slower than the stream), where stale buffered frames show as growing latency.

    python benchmarks/bench_live.py                  # 720p30 and 1080p30, 8 s per run
    python benchmarks/bench_live.py --seconds 4 --sizes 1280x720
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
READERS = ["pyav_floor", "framepipe_all", "framepipe_latest", "opencv", "opencv_threaded"]
FPS = 30


def _shown(img: np.ndarray) -> int:
    from framepipe.tools.synthetic import read_index

    return read_index(img[::4, ::4, 1])  # the pattern is grey: one channel of a subsampled view is enough


# --- one reader in one process ------------------------------------------------------------------------
def _framepipe(url: str, mode: str):
    import framepipe

    stream = framepipe.open_stream(url, mode=mode, queue_size=64)
    return (lambda: stream.read(timeout=10).data), stream


def _pyav(url: str):
    import av

    from framepipe._live.source import describe_source

    container = av.open(url, options=describe_source(url).options, timeout=10)
    frames = container.decode(video=0)
    return (lambda: next(frames).to_ndarray(format="rgb24")), container


def _opencv(url: str):
    import cv2

    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {url}")

    def read():
        ok, img = cap.read()
        if not ok:
            raise RuntimeError("OpenCV read failed")
        return img

    return read, cap


def _opencv_threaded(url: str):
    """The usual "threaded grabber": a thread reads continuously and keeps only the newest frame."""
    import cv2

    cap = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        raise RuntimeError(f"OpenCV cannot open {url}")
    state = {"frame": None, "seq": 0, "stop": False}
    cond = threading.Condition()

    def grab():
        while not state["stop"]:
            ok, img = cap.read()
            if not ok:
                break
            with cond:
                state["frame"], state["seq"] = img, state["seq"] + 1
                cond.notify_all()

    thread = threading.Thread(target=grab, daemon=True)
    thread.start()
    last = [0]

    class Closer:  # stop the grabber before releasing: cap.release() under a running cap.read() crashes
        @staticmethod
        def release():
            state["stop"] = True
            thread.join(timeout=5)
            cap.release()

    def read():
        with cond:
            cond.wait_for(lambda: state["seq"] > last[0], timeout=10)
            last[0] = state["seq"]
            return state["frame"]

    return read, Closer


def run_reader(reader: str, url: str, seconds: float, work: float) -> dict:
    if reader.startswith("framepipe"):
        read, handle = _framepipe(url, reader.split("_")[1])
    elif reader == "opencv":
        read, handle = _opencv(url)
    elif reader == "pyav_floor":
        read, handle = _pyav(url)
    else:
        read, handle = _opencv_threaded(url)
    got = []  # (time the read returned, image)
    cpu0 = time.process_time()
    end = time.time() + seconds
    while time.time() < end:
        img = read()
        got.append((time.time(), img))
        if work:
            time.sleep(work)  # the model
        else:
            got[-1] = (got[-1][0], _shown(img))  # decode the index now so frames do not pile up in memory
    cpu = time.process_time() - cpu0
    shown = [(t, x if isinstance(x, int) else _shown(x)) for t, x in got]
    extra = {}
    if reader.startswith("framepipe"):
        s = handle.stats
        extra = dict(dropped=s.dropped, received=s.received)
        handle.close()
    elif reader == "pyav_floor":
        handle.close()
    else:
        handle.release()
    return dict(
        reader=reader,
        returned=[t for t, _ in shown],
        shown=[k for _, k in shown],
        cpu_seconds=cpu,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    )


# --- driver -------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(reader: str, size: str, seconds: float, work: float, tmp: str) -> dict:
    port = _free_port()
    log = os.path.join(tmp, f"sent-{reader}-{size}-{work}.log")
    sender = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "framepipe.tools.sender",
            "tcp",
            "--port",
            str(port),
            "--size",
            size,
            "--fps",
            str(FPS),
            "--log",
            log,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        out = subprocess.run(
            [sys.executable, __file__, "--child", reader, f"tcp://127.0.0.1:{port}", str(seconds), str(work)],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        sender.kill()
        sender.wait()
    res = json.loads(out.stdout.strip().splitlines()[-1])
    sent = {}
    with open(log) as f:
        for line in f:
            k, due, at = line.split()
            sent[int(k)] = (float(due), float(at))
    skip = 1.0  # the first second includes connecting and the probe burst
    t0 = res["returned"][0]
    lat, src = [], []
    for t, k in zip(res["returned"], res["shown"]):
        if t - t0 < skip or k not in sent:
            continue
        lat.append(t - sent[k][0])
        src.append(sent[k][1] - sent[k][0])
    shown = res["shown"]
    frames = len(shown)
    gaps = sum(max(0, b - a - 1) for a, b in zip(shown, shown[1:]))
    return dict(
        reader=reader,
        size=size,
        work=work,
        frames=frames,
        latency_median_ms=1000 * float(np.median(lat)),
        latency_p95_ms=1000 * float(np.percentile(lat, 95)),
        source_delay_median_ms=1000 * float(np.median(src)),
        added_median_ms=1000 * float(np.median(np.array(lat) - np.array(src))),
        # per frame of the stream (seconds x 30), not per frame delivered: "latest" decodes them all
        cpu_ms_per_frame=1000 * res["cpu_seconds"] / (seconds * FPS),
        gaps=gaps,
        dropped=res.get("dropped"),
        peak_rss_mb=res["peak_rss_mb"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--sizes", default="1280x720,1920x1080")
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument(
        "--child", nargs=4, metavar=("READER", "URL", "SECONDS", "WORK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        reader, url, seconds, work = args.child
        print(json.dumps(run_reader(reader, url, float(seconds), float(work))))
        return
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            for work in (0.0, 0.1):
                for reader in args.readers.split(","):
                    row = measure(reader, size, args.seconds, work, tmp)
                    rows.append(row)
                    print(
                        f"{size:>9} {'slow model' if work else 'fast':>10} {reader:>17}: latency median "
                        f"{row['latency_median_ms']:6.1f} ms p95 {row['latency_p95_ms']:6.1f} ms (source "
                        f"{row['source_delay_median_ms']:5.1f} ms, reader adds "
                        f"{row['added_median_ms']:6.1f} ms), "
                        f"CPU {row['cpu_ms_per_frame']:5.1f} ms/frame, {row['frames']} frames, gaps "
                        f"{row['gaps']}, "
                        f"dropped {row['dropped']}",
                        flush=True,
                    )
    out = os.path.join(HERE, "results", f"live_{time.strftime('%Y-%m-%d')}.json")
    with open(out, "w") as f:
        json.dump(
            dict(
                machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                f"{platform.system()}",
                fps=FPS,
                seconds=args.seconds,
                rows=rows,
            ),
            f,
            indent=1,
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
