"""Core reader benchmark: framepipe against decord, torchcodec and OpenCV, side by side, one run.

A generated 1080p30 H.264 video (B-frames, a keyframe every 5 s), output 224x224 RGB uint8. Each
(library, task) runs in a fresh subprocess so its peak RSS is its own. Tasks:

  clips_per_call   32 random 16-frame clips, one call per clip
  clips_one_call   the same 32 clips in one call
  windows          every 16-frame window at stride 8, in calls of 32 windows
  frames_per_call  64 random frames, one call per frame
  frames_one_call  the same 64 frames in one call
  floor            one plain sequential decode + resize of the whole file (PyAV), the lower bound

Peers are used the way their documentation (or, for OpenCV, the common recipe) shows: decord's
VideoReader(width, height).get_batch; torchcodec's VideoDecoder(seek_mode="exact",
transforms=[Resize]).get_frames_at; OpenCV re-opening the file per sample and seeking with
CAP_PROP_POS_FRAMES. Every library gets all cores for decoding.

    framepipe bench                               # 60 s video; peers that are not installed are left out
    framepipe bench --seconds 10 --plot chart.png # a quicker look, and the comparison chart
    python benchmarks/bench_core.py --memory      # peak RSS on a 1- and a 10-minute video

The generated videos are kept in ``data_dir`` (default ``~/.cache/framepipe/bench``; the repository's
``benchmarks/bench_core.py`` uses ``benchmarks/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from .benchmark_report import LIBS, TASKS, chart_title, keyframe_table, plot, table

__all__ = [
    "main",
    "run",
    "run_task",
    "ensure_video",
    "memory_table",
    "keyframe_rows",
    "chart_title",
    "plot",
    "table",
]

DATA_DIR = os.path.join(os.path.expanduser("~"), ".cache", "framepipe", "bench")
_MODULES = {"framepipe": "framepipe", "decord": "decord", "torchcodec": "torchcodec", "opencv": "cv2"}
SIZE = 224


def make_inputs(num_frames: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, num_frames - 16, 32)
    clips = [list(range(int(s), int(s) + 16)) for s in starts]
    windows = [list(range(s, s + 16)) for s in range(0, num_frames - 15, 8)]
    frames = rng.integers(0, num_frames, 64).tolist()
    return dict(clips=clips, windows=windows, frames=frames)


# --- one task in one process --------------------------------------------------------------------------
def _framepipe(path):
    import framepipe

    v = framepipe.open(path, size=(SIZE, SIZE))
    return dict(frames=lambda idx: v.get_frames(idx).data, clips=lambda cl: v.get_clips(cl).data)


def _decord(path):
    import decord

    v = decord.VideoReader(path, width=SIZE, height=SIZE, ctx=decord.cpu(0), num_threads=0)

    def clips(cl):
        flat = [i for c in cl for i in c]
        return v.get_batch(flat).asnumpy().reshape(len(cl), len(cl[0]), SIZE, SIZE, 3)

    return dict(frames=lambda idx: v.get_batch(list(idx)).asnumpy(), clips=clips)


def _torchcodec(path):
    from torchcodec.decoders import VideoDecoder
    from torchcodec.transforms import Resize

    d = VideoDecoder(
        path,
        seek_mode="exact",
        dimension_order="NHWC",
        num_ffmpeg_threads=0,
        transforms=[Resize(size=(SIZE, SIZE))],
    )

    def clips(cl):
        flat = [i for c in cl for i in c]
        return d.get_frames_at(flat).data.numpy().reshape(len(cl), len(cl[0]), SIZE, SIZE, 3)

    return dict(frames=lambda idx: d.get_frames_at(list(idx)).data.numpy(), clips=clips)


def _opencv(path):
    import cv2

    def read(start, count):
        # the common recipe: a fresh capture per sample, seek by frame number, read forward
        cap = cv2.VideoCapture(path)
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        out = []
        for _ in range(count):
            ok, bgr = cap.read()
            if not ok:
                raise RuntimeError(f"OpenCV could not read frame {start + len(out)}")
            out.append(
                cv2.cvtColor(cv2.resize(bgr, (SIZE, SIZE), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            )
        cap.release()
        return np.stack(out)

    def frames(idx):
        return np.stack([read(i, 1)[0] for i in idx])

    def clips(cl):  # clips are consecutive frames: one seek each
        return np.stack([read(c[0], len(c)) for c in cl])

    return dict(frames=frames, clips=clips)


def _floor(path):
    import av
    from av.video.reformatter import VideoReformatter

    reformatter = VideoReformatter()  # one cached swscale context, as framepipe uses
    with av.open(path) as c:
        s = c.streams.video[0]
        s.codec_context.thread_type = "AUTO"
        n = 0
        for f in c.decode(s):
            reformatter.reformat(
                f, width=SIZE, height=SIZE, format="rgb24", interpolation="AREA"
            ).to_ndarray()
            n += 1
    return n


def peak_rss_mb() -> float:
    """This process's peak resident memory. Not ru_maxrss: Linux carries that across exec from the
    parent, so every child would report at least the driver's own peak."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best available


def run_task(lib: str, task: str, path: str, inputs: dict) -> dict:
    t0 = time.perf_counter()
    if task in SAMPLING_TASKS:  # one frame every 2 s of the whole file, at 224x224: framepipe's two modes
        import framepipe

        with framepipe.open(path, size=(224, 224), resize="shorter_side") as video:
            if task == "sample_keyframes":
                frames = [f.index for f in video.iter_frames(fps=0.5, snap="keyframe")]
            else:
                frames = [f.index for f in video.iter_frames(fps=0.5)]
        seconds = time.perf_counter() - t0
        return dict(lib=lib, task=task, seconds=seconds, peak_rss_mb=peak_rss_mb(), frames=len(frames))
    if task == "floor":
        _floor(path)
        checksum = 0.0
    else:
        api = {"framepipe": _framepipe, "decord": _decord, "torchcodec": _torchcodec, "opencv": _opencv}[lib](
            path
        )
        out = []
        if task == "clips_per_call":
            out = [api["clips"]([c]) for c in inputs["clips"]]
        elif task == "clips_one_call":
            out = [api["clips"](inputs["clips"])]
        elif task == "windows":
            w = inputs["windows"]
            # touch one value per batch and keep nothing: memory stays one batch, timing stays the reader's
            out = [
                int(np.asarray(api["clips"](w[i : i + 32]))[-1, -1, 0, 0, 0]) for i in range(0, len(w), 32)
            ]
        elif task == "frames_per_call":
            out = [api["frames"]([i]) for i in inputs["frames"]]
        elif task == "frames_one_call":
            out = [api["frames"](inputs["frames"])]
    seconds = time.perf_counter() - t0
    if task != "floor":
        checksum = float(sum(float(np.mean(o)) for o in out))
    rss_mb = peak_rss_mb()
    return dict(lib=lib, task=task, seconds=seconds, peak_rss_mb=rss_mb, checksum=checksum)


# --- driver ---------------------------------------------------------------------------------------------
def ensure_video(seconds: int, preset: str = "veryfast", data_dir: str = DATA_DIR, on_frame=None) -> str:
    """The benchmark's 1080p30 video of ``seconds``, made once (``on_frame(done, total)`` while making it)."""
    from framepipe.tools.synthetic import make_video

    os.makedirs(data_dir, exist_ok=True)
    suffix = "" if preset == "veryfast" else f"_{preset}"
    path = os.path.join(data_dir, f"bench_1080p30_{seconds}s{suffix}.mp4")
    if not os.path.exists(path):
        t = time.perf_counter()
        make_video(
            path + ".tmp.mp4",
            num_frames=seconds * 30,
            width=1920,
            height=1080,
            fps=30,
            gop=150,
            bframes=3,
            options={"preset": preset},
            on_frame=on_frame,
        )
        os.replace(path + ".tmp.mp4", path)
        print(f"generated {path} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


def installed(lib: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(_MODULES[lib]) is not None


def in_subprocess(lib: str, task: str, path: str) -> dict | None:
    cmd = [sys.executable, "-m", "framepipe.tools.benchmark", "--one", lib, task, path]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"{lib}/{task} failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def reopen_ms(path: str) -> float:
    import framepipe

    framepipe.open(path).close()  # make sure the index is cached
    times = []
    for _ in range(20):
        t = time.perf_counter()
        framepipe.open(path).close()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def run(seconds: int, libs: list[str], *, data_dir: str = DATA_DIR, progress=None, making=None) -> list[dict]:
    """Every task for every library in ``libs`` (each in its own process), plus the floor; a list of rows.

    ``progress(done, total, label)`` is called as tasks finish, ``making(done, total)`` as frames of the
    test video are encoded (the first run only). A library that is not installed gets rows with
    ``status="not installed"``; one that fails, ``status="failed"``.
    """
    path = ensure_video(seconds, data_dir=data_dir, on_frame=making)
    jobs = [("framepipe", "floor")] + [(lib, task) for task in TASKS for lib in libs]
    rows: list[dict] = []
    for done, (lib, task) in enumerate(jobs):
        if not installed(lib):
            rows.append(dict(lib=lib, task=task, status="not installed"))
        else:
            r = in_subprocess(lib, task, path)
            rows.append(dict(r, status="ok") if r else dict(lib=lib, task=task, status="failed"))
            if r and task == "floor":
                rows[-1]["lib"] = "floor"
        if progress:
            progress(done + 1, len(jobs), f"{lib} {task}")
    rows.append(
        dict(
            lib="framepipe",
            task="reopen_cached_index",
            status="ok",
            seconds=reopen_ms(path) / 1000,
            video=os.path.basename(path),
            video_seconds=seconds,
        )
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=60, help="length of the generated 1080p30 video")
    ap.add_argument("--libs", default=",".join(LIBS), help="comma-separated subset of " + ",".join(LIBS))
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--data-dir", default=DATA_DIR, help="where the generated videos are kept")
    ap.add_argument(
        "--memory",
        action="store_true",
        help="instead: peak RSS of framepipe's windows pass on a 1- and a 10-minute video",
    )
    ap.add_argument(
        "--keyframes",
        action="store_true",
        help="instead: a frame every 2 s of a 10-minute video, exact against snap='keyframe'",
    )
    ap.add_argument("--one", nargs=3, metavar=("LIB", "TASK", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        lib, task, path = args.one
        import av

        with av.open(path) as c:
            n = sum(1 for p in c.demux(video=0) if p.size)
        print(json.dumps(run_task(lib, task, path, make_inputs(n))))
        return
    if args.memory:
        print(memory_table(args.data_dir))
        return
    if args.keyframes:
        keyframes = keyframe_rows(args.data_dir)
        print(keyframe_table(keyframes))
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(keyframes, fh, indent=1)
        return
    libs = [lib for lib in args.libs.split(",") if lib]
    rows = run(
        args.seconds,
        libs,
        data_dir=args.data_dir,
        progress=lambda d, n, label: print(f"  [{d}/{n}] {label}", file=sys.stderr),
    )
    print(table(rows, libs))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)


SAMPLING_TASKS = ("sample_exact", "sample_keyframes")


def keyframe_rows(data_dir: str = DATA_DIR) -> list[dict]:
    """Data preparation on a 10-minute 1080p video: a frame every 2 s, exact and snapped to keyframes."""
    path = ensure_video(600, preset="ultrafast", data_dir=data_dir)
    rows = []
    for task in SAMPLING_TASKS:
        r = in_subprocess("framepipe", task, path)
        if r is None:
            raise RuntimeError(f"{task} over {path} failed")
        rows.append(dict(r, video=os.path.basename(path)))
    return rows


def memory_table(data_dir: str = DATA_DIR) -> str:
    """Memory must be bounded by the output, not the video: the same pass on a 10x longer video."""
    rows: list[tuple[int, dict]] = []
    for minutes in (1, 10):
        path = ensure_video(60 * minutes, preset="ultrafast", data_dir=data_dir)
        r = in_subprocess("framepipe", "windows", path)
        if r is None:
            raise RuntimeError(f"the windows pass over {path} failed")
        rows.append((minutes, r))
    lines = [
        "| video | windows pass (calls of 32 16-frame windows, stride 8) | peak RSS |",
        "| --- | --- | --- |",
    ]
    for minutes, r in rows:
        lines.append(f"| {minutes} min 1080p30 | {r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB |")
    ratio = rows[1][1]["peak_rss_mb"] / rows[0][1]["peak_rss_mb"]
    lines.append(f"\nPeak RSS, 10-minute / 1-minute video: {ratio:.3f}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
