"""Write docs/guides/benchmarks.md from the newest result of each benchmark in benchmarks/results/.

    python benchmarks/tables.py            # rewrite the page
    python benchmarks/tables.py --check    # exit 1 if the page is not what the results give

The tables are never edited by hand: re-run a benchmark (it writes ``results/<name>_<date>.json`` with
``--json``), then this script. tests/docs checks that the page matches the results.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
PAGE = os.path.join(os.path.dirname(HERE), "docs", "guides", "benchmarks.md")
DEFAULT_MACHINE = "the project's CI machine: 2 cores, 24 GiB, no GPU"


def newest(name: str) -> tuple[str, object] | None:
    """(date, data) of the newest ``results/<name>_<date>.json``."""
    found = sorted(glob.glob(os.path.join(RESULTS, f"{name}_[0-9]*.json")))  # not lerobot_loader for lerobot
    if not found:
        return None
    date = re.search(r"_(\d{4}-\d{2}-\d{2})\.json$", found[-1])
    with open(found[-1]) as f:
        return (date.group(1) if date else "undated"), json.load(f)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def core(date: str, rows: list[dict]) -> list[str]:
    libs = [
        lib for lib in ("framepipe", "decord", "torchcodec", "opencv") if any(r["lib"] == lib for r in rows)
    ]
    ok = {(r["lib"], r["task"]): r for r in rows if r.get("status") == "ok"}
    tasks = [t for t in dict.fromkeys(r["task"] for r in rows) if t not in ("floor", "reopen_cached_index")]
    out = [
        f"## Core reader ({date}; {DEFAULT_MACHINE})",
        "",
        "`python benchmarks/bench_core.py` (or `framepipe bench`) runs framepipe, decord, torchcodec and "
        "OpenCV (a fresh `cv2.VideoCapture` per sample, seeking with `CAP_PROP_POS_FRAMES`) on a 60 s "
        "1080p30 H.264 video with B-frames, output 224x224 RGB uint8, each task in its own process. "
        "(Nx): seconds relative to framepipe; MB: peak RSS of the task's process. The floor is one "
        "sequential decode and resize of every frame with PyAV.",
        "",
        "| task | " + " | ".join(libs) + " |",
        "| --- | " + " | ".join("---" for _ in libs) + " |",
    ]
    for task in tasks:
        base = ok.get(("framepipe", task))
        cells = []
        for lib in libs:
            r = ok.get((lib, task))
            if r is None:
                cells.append("-")
            elif lib == "framepipe" or base is None:
                cells.append(f"{r['seconds']:.2f} s, {r['peak_rss_mb']:.0f} MB")
            else:
                times = ratio(r["seconds"], base["seconds"])
                cells.append(f"{r['seconds']:.2f} s ({times}), {r['peak_rss_mb']:.0f} MB")
        out.append(f"| {task} | " + " | ".join(cells) + " |")
    floor = ok.get(("floor", "floor")) or next(
        (r for r in rows if r["task"] == "floor" and r.get("status") == "ok"), None
    )
    if floor:
        cell = f"{floor['seconds']:.2f} s, {floor['peak_rss_mb']:.0f} MB"
        out.append(f"| floor (PyAV: decode and resize every frame) | {cell} |" + " |" * (len(libs) - 1))
    reopen = next((r for r in rows if r["task"] == "reopen_cached_index"), None)
    if reopen:
        out += ["", f"Reopening with a cached index: {1000 * reopen['seconds']:.1f} ms."]
    return out


def ray(date: str, data: dict) -> list[str]:
    results = data["results"]
    by = {(r["lib"], r["job"]): r for r in results}
    jobs = list(dict.fromkeys(r["job"] for r in results))
    out = [
        f"## Ray Data ({date}; {data.get('cpus', 2)} CPUs; {DEFAULT_MACHINE})",
        "",
        "`python benchmarks/bench_ray.py`: framepipe.ray against `ray.data.read_videos` as a Ray user calls "
        "it today (its own `fps=` and `resize=`), on four 10 s 1080p30 H.264 cuts, "
        f"{data.get('rounds', 3)} rounds in a fresh local Ray per reader, {data.get('repeats', 2)} such "
        f"cluster{'s' if data.get('repeats', 2) != 1 else ''} per reader taking turns; times are medians of "
        "the warm rounds (cold: the first). Memory is the peak PSS of the driver and every Ray process. "
        "`read_videos` has no clips: for (c) its frames are grouped into clips per video, as a user would.",
        "",
        "| job | reader | time (cold) | rows | memory | CPU time | read_videos' time / this |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for job in jobs:
        base = by.get(("read_videos", job))
        for lib in (
            "framepipe",
            "framepipe_keyframes",
            "read_videos",
            "floor_transport",
            "floor_decode",
            "floor_decode_keyframes",
        ):
            r = by.get((lib, job))
            if r is None:
                continue
            memory = f"{r['peak_pss_mb']:.0f} MB" if r.get("peak_pss_mb") else "-"
            vs = ratio(base["seconds"], r["seconds"]) if base and lib != "read_videos" else "-"
            cpu = f"{r['cpu_seconds']:.1f} s" if r.get("cpu_seconds") else "-"
            out.append(
                f"| {job} | {lib} | {r['seconds']:.1f} s ({r['cold_seconds']:.1f} s) | {r['rows']} "
                f"| {memory} | {cpu} | {vs} |"
            )
    b_floor, b_keys = by.get(("floor_transport", "b_1fps_224")), by.get(("framepipe_keyframes", "b_1fps_224"))
    if b_floor and b_keys:
        out += [
            "",
            f"One frame a second: Ray alone moves the keyframe job's rows, made at no cost, in "
            f"{b_floor['seconds']:.2f} s; keyframe sampling takes "
            f"{b_keys['seconds'] / b_floor['seconds']:.1f}x that.",
        ]
        decode_keys = by.get(("floor_decode_keyframes", "b_1fps_224"))
        decode_exact = by.get(("floor_decode", "b_1fps_224"))
        if decode_keys and decode_exact:
            out[-1] += (
                f" PyAV alone, on both CPUs, decodes the keyframes in {decode_keys['seconds']:.2f} s and the "
                f"exact frames (each from its keyframe) in {decode_exact['seconds']:.2f} s."
            )
    floors = [by.get((lib, "a_all_frames_full_size")) for lib in ("floor_transport", "floor_decode")]
    fp = by.get(("framepipe", "a_all_frames_full_size"))
    if fp and all(floors):
        larger = max(floors, key=lambda f: f["seconds"])
        out += [
            "",
            f"Every frame at full size: framepipe takes {fp['seconds'] / larger['seconds']:.2f}x the larger "
            f"floor ({larger['lib']}, {larger['seconds']:.1f} s): floor_transport is the same rows made at "
            "no cost through the same Ray pipeline, floor_decode a plain PyAV decode-and-convert of the "
            "files with every CPU.",
        ]
        if fp.get("cpu_seconds") and all(f.get("cpu_seconds") for f in floors):
            both = sum(f["cpu_seconds"] for f in floors)
            cpus = data.get("cpus", 2)
            out[-1] += (
                f" Both floors are CPU work on the same {cpus} CPUs (CPU time: the machine's busy time in a "
                f"warm round, every process together): moving the rows takes {floors[0]['cpu_seconds']:.1f} "
                f"s of it, decoding them {floors[1]['cpu_seconds']:.1f} s, so a job that does both needs at "
                f"least {both / cpus:.1f} s on {cpus} CPUs; framepipe takes "
                f"{fp['seconds'] / (both / cpus):.2f}x that, with {fp['cpu_seconds']:.1f} s of CPU time."
            )
    for r in results:
        spans = r.get("task_spans") or []
        if spans:
            edges = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
            running, most, both = 0, 0, 0.0
            for (at, step), (following, _) in zip(edges, edges[1:] + [(edges[-1][0], 0)]):
                running += step
                most = max(most, running)
                both += (following - at) if running >= 2 else 0.0
            span = max(s["end"] for s in spans)
            out += [
                "",
                f"One 10-minute video, {r['lib']}: {len(spans)} read task{'s' if len(spans) > 1 else ''}, "
                f"up to {most} at once; two or more ran for {both:.1f} s of {span:.1f} s.",
            ]
    if data.get("expected"):
        out += ["", f"A full decode of the four files shows {sum(data['expected'].values())} frames."]
    return out


def keyframes(date: str, rows: list) -> list[str]:
    exact, keys = rows
    return [
        f"## Keyframe sampling ({date}; {DEFAULT_MACHINE})",
        "",
        "`python benchmarks/bench_core.py --keyframes`: a frame every 2 s of a 10-minute 1080p30 H.264 video "
        "(a keyframe every 5 s) at 224x224, exact (`iter_frames(fps=0.5)`) against keyframe sampling "
        '(`snap="keyframe"`), each in its own process.',
        "",
        "| sampling | frames | time | peak RSS |",
        "| --- | --- | --- | --- |",
        *(
            f"| {r['task']} | {r['frames']} | {r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB |"
            for r in rows
        ),
        "",
        f"Keyframe sampling: {ratio(exact['seconds'], keys['seconds'])} faster.",
    ]


def lerobot(date: str, data: dict) -> list[str]:
    rows = data["rows"]
    videos = list(dict.fromkeys((r["codec"], r["size"]) for r in rows))
    get = {(r["codec"], r["size"], r["backend"]): r for r in rows}
    out = [
        f"## LeRobot ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        "`python benchmarks/bench_lerobot.py`: LeRobot's access pattern (2 to 4 consecutive timestamps of a "
        "random episode, two cameras in two threads), median call in ms, the backends taking turns call by "
        "call in one process; ratios are torchcodec's or pyav's time over framepipe's (above 1: framepipe is "
        "faster). The floor is PyAV alone for the same requests (open once, seek to the keyframe, decode to "
        "the frames, convert); framepipe / floor is how far framepipe is from it (1.00x: at the floor).",
        "",
        "| video | framepipe | LeRobot torchcodec | LeRobot pyav | PyAV floor | vs torchcodec | vs pyav "
        "| framepipe / floor | equal to pyav |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for codec, size in videos:
        fp, tc, pa, fl = (get.get((codec, size, b)) for b in ("framepipe", "torchcodec", "pyav", "floor"))
        if not fp:
            continue

        def ms(r):
            return (r.get("interleaved_median_ms") or r["median_ms"]) if r else None

        cells = [f"{ms(r):.2f} ms" if r else "-" for r in (fp, tc, pa, fl)]
        vs_tc = ratio(ms(tc), ms(fp)) if tc else "-"
        vs_pa = ratio(ms(pa), ms(fp)) if pa else "-"
        to_floor = f"{ms(fp) / ms(fl):.2f}x" if fl else "-"
        equal = f"{fp.get('equal_to_pyav', '-')}/{fp.get('calls', '-')}"
        out.append(
            f"| {codec} {size} | " + " | ".join(cells) + f" | {vs_tc} | {vs_pa} | {to_floor} | {equal} |"
        )
    return out


def lerobot_loader(date: str, data: dict) -> list[str]:
    from bench_lerobot_loader import table  # beside this script: the benchmark prints the same table

    return [
        f"## LeRobot's training loader ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        "`benchmarks/bench_lerobot_loader.py` (Python 3.12, LeRobot 0.6.1): a dataset made with "
        "LeRobot's own writer (20 episodes, two cameras), read by "
        "`LeRobotDataset(..., delta_timestamps=...)` (3 frames a camera) through "
        f"`DataLoader(batch_size={data['batch_size']}, num_workers={data['num_workers']}, shuffle=True, "
        "persistent_workers=True)`; each backend in fresh processes taking turns, the median of the "
        "rounds. framepipe runs as `framepipe.lerobot.install()` in the parent and in each worker. "
        "Peaks are each process's high-water mark; equal to pyav counts samples of the same shuffled "
        "order that equal the pyav backend's. Two rows bound what any decoder can give here: `floor` "
        "puts the bare PyAV loop of the per-call benchmark in LeRobot's place (what decoding costs with "
        "no library around it), `no decode` answers every call with a tensor of the right shape made at "
        "no cost (what LeRobot's loader costs without any decoding).",
        "",
        *table(data["rows"], data["checks"]).splitlines(),
    ]


def live(date: str, data: dict) -> list[str]:
    rows = data["rows"]
    out = [
        f"## Live streams ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        "`python benchmarks/bench_live.py`: a local sender (H.264 in MPEG-TS over TCP, real-time pace) logs "
        "when each frame was due; latency is when a reader's read returned minus that. `pyav_floor` is bare "
        "PyAV with framepipe's demuxer options: the stream's own delay, which no FFmpeg-based reader goes "
        "below. A slow model takes 100 ms a frame.",
        "",
        "| reader | size | model | latency median / p95 | CPU per frame |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r['reader']} | {r['size']} | {'slow' if r.get('work') else 'fast'} | "
            f"{r['latency_median_ms']:.0f} / {r['latency_p95_ms']:.0f} ms | {r['cpu_ms_per_frame']:.1f} ms |"
        )
    return out


def remote(date: str, data: dict) -> list[str]:
    loc, http = data["rows"]["local"], data["rows"]["http"]

    def ms(x: dict, key: str, digits: int) -> str:
        return f"{1000 * x[key]:.{digits}f} ms"

    needed = data["gop_bytes_needed"]
    return [
        f"## Remote videos ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        f"`python benchmarks/bench_remote.py`: {data['clips']} random 16-frame clips at 224x224 from "
        f"{data['video']} ({data['video_bytes'] / 1e6:.0f} MB), over HTTP from nginx on 127.0.0.1 and from "
        "local disk, in the same run.",
        "",
        "| | local file | HTTP (nginx, 127.0.0.1) |",
        "| --- | --- | --- |",
        f"| open, index built | {1000 * loc['open_s']:.0f} ms | {1000 * http['open_s']:.0f} ms "
        f"({http['open_fetched'] / 1e6:.1f} MB fetched) |",
        f"| open, index cached | {ms(loc, 'reopen_cached_s', 1)} | {ms(http, 'reopen_cached_s', 1)} |",
        f"| time per clip, median | {ms(loc, 'clip_median_s', 0)} | {ms(http, 'clip_median_s', 0)} |",
        f"| frames exact | {'yes' if loc['exact'] else 'no'} | {'yes' if http['exact'] else 'no'} |",
        "",
        f"Bytes fetched for the clips: {http['clips_fetched'] / 1e6:.0f} MB, "
        f"{http['clips_fetched'] / needed:.2f}x the {needed / 1e6:.0f} MB of the GOPs they need.",
    ]


def keras(date: str, data: dict) -> list[str]:
    med = data["medians"]
    base = med["to_tf_dataset()"]
    out = [
        f"## Keras on TensorFlow ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        "`python benchmarks/bench_keras.py`: `model.fit` (a small Conv3D model, "
        f"{data['epochs']} epochs of {data['batches']} batches of 8 shuffled windows of 16 frames at "
        "112x112) "
        "fed by `TimeseriesGenerator` over two 640x360 videos, as a `PyDataset` and through "
        f"`to_tf_dataset()`; Keras {data['keras']}, TensorFlow {data['tensorflow']}. Medians of "
        f"{len(data['rounds'])} rounds taking turns. The floors: the batches read in a plain loop (decoding "
        "alone, one thread), and `fit` on the same batches held in memory (the model alone).",
        "",
        "| feeding `fit` | seconds | vs `to_tf_dataset()` |",
        "| --- | --- | --- |",
    ]
    for name, seconds in med.items():
        out.append(f"| {name} | {seconds:.2f} s | {seconds / base:.2f}x |")
    return out


def scale(date: str, data: dict) -> list[str]:
    rows = data["rows"]
    out = [
        f"## Many videos: dataset start-up ({date}; {data.get('machine', DEFAULT_MACHINE)})",
        "",
        '`python benchmarks/bench_scale.py`: `ClipDataset(folder, length=8, step=2, sampler="random", '
        "clips_per_video=1, size=(112, 112))` over N hard links of one small MP4 (2 s, 160x120) in 10 class "
        "folders, through `DataLoader(batch_size=16, num_workers=2)`, each run in a fresh process, timed "
        "from after the imports. Parent: the main process's peak memory above what it held after the "
        "imports. cold: no index cache; warm: the cache of an earlier run; store: `index=STORE` (built "
        "with `framepipe index --jobs 2`); floor: listing the folder and one `stat` per video.",
        "",
        "| where | videos | mode | dataset ready | per video | first batch | parent | store built in | "
        "requests per video |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        build = f"{r['build']:.1f} s" if "build" in r else "-"
        requests = f"{r['requests_per_video']:.1f}" if "requests_per_video" in r else "-"
        mode = {"threads4": "cold, 4 threads (before)", "cold": "cold"}.get(r["mode"], r["mode"])
        out.append(
            f"| {r['where']} | {r['videos']:,} | {mode} | {r['ready']:.2f} s | "
            f"{1000 * r['ready'] / r['videos']:.2f} ms | {r['first']:.2f} s | {r['rss_mb']:.0f} MB | "
            f"{build} | {requests} |"
        )
    return out


def memory(date: str, data: dict) -> list[str]:
    rows = data["rows"]
    libs = [
        lib
        for lib in ("floor", "framepipe", "decord", "torchcodec", "opencv")
        if any(r["lib"] == lib for r in rows)
    ]
    shown = [lib for lib in libs if any(r["lib"] == lib and r["status"] == "ok" for r in rows)]
    names = {"floor": "floor (PyAV into a preallocated output)"}
    out = [
        f"## Peak memory of one call ({date}; {DEFAULT_MACHINE})",
        "",
        "`python benchmarks/bench_memory.py`: one call for frames 0..N-1 of the core benchmark's 1080p30 "
        "video at full size (1920x1080 RGB uint8), each library in its own process. Over output: the call's "
        "peak resident memory minus the process's before the call (after the imports and the open) minus "
        "the output's own bytes, that is what a call holds beyond what it returns. framepipe's includes the "
        "recent-frames budget (32 MiB, the frames kept for an overlapping next call).",
        "",
        "| N | output | " + " | ".join(names.get(lib, lib) for lib in shown) + " |",
        "| --- | --- | " + " | ".join("---" for _ in shown) + " |",
    ]
    for n in dict.fromkeys(r["frames"] for r in rows):
        ok = {r["lib"]: r for r in rows if r["frames"] == n and r["status"] == "ok"}
        output = next(iter(ok.values()))["output_mb"] if ok else 0
        cells = [
            f"+{ok[lib]['over_output_mb']:.0f} MB ({ok[lib]['seconds']:.2f} s)" if lib in ok else "-"
            for lib in shown
        ]
        out.append(f"| {n} | {output:.0f} MB | " + " | ".join(cells) + " |")
    missing = sorted({(r["lib"], r["status"]) for r in rows if r["status"] != "ok"})
    if missing:
        out += ["", "Left out: " + "; ".join(f"{lib} ({status})" for lib, status in missing) + "."]
    if any(lib == "torchcodec" for lib, _ in missing):
        out += [
            "",
            "torchcodec's PyPI wheel is built against PyTorch's CUDA build and does not load next to the CPU "
            "build this machine uses. The figure that set framepipe's target (issue 31, another machine, 80 "
            "frames): torchcodec peaked at one output over its baseline, framepipe then at 1.75x the output.",
        ]
    return out


SECTIONS = [
    ("core", core),
    ("memory", memory),
    ("keyframes", keyframes),
    ("ray", ray),
    ("lerobot", lerobot),
    ("lerobot_loader", lerobot_loader),
    ("live", live),
    ("remote", remote),
    ("keras", keras),
    ("scale", scale),
]


def page() -> str:
    lines = [
        "# Benchmarks",
        "",
        "<!-- Written by benchmarks/tables.py from benchmarks/results/*.json: do not edit by hand. -->",
        "",
        "Each benchmark runs framepipe and its peers side by side in one run, as their users call them, and "
        "prints ratios and peak memory, with a floor (what the decoder or the engine alone costs) where one "
        "can be measured. Timings on the 2-core CI machine vary by up to 20% between runs: compare within "
        "one run. Each table below is the newest result in `benchmarks/results/`, with its date.",
        "",
    ]
    for name, render in SECTIONS:
        found = newest(name)
        if found is None:
            continue
        lines += render(*found) + [""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs from the results")
    args = parser.parse_args()
    text = page()
    if args.check:
        with open(PAGE) as f:
            if f.read() != text:
                print(f"{PAGE} is out of date: run python benchmarks/tables.py", file=sys.stderr)
                return 1
        return 0
    with open(PAGE, "w") as f:
        f.write(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
