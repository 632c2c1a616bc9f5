"""The core benchmark's reports: the Markdown tables and the chart of :mod:`framepipe.tools.benchmark`'s
results (rows of dicts, as ``--json`` writes them)."""

from __future__ import annotations

import os
import platform

import numpy as np

__all__ = ["TASKS", "LIBS", "chart_title", "plot", "table", "keyframe_table"]

TASKS = ["clips_per_call", "clips_one_call", "windows", "frames_per_call", "frames_one_call"]
LIBS = ["framepipe", "decord", "torchcodec", "opencv"]


def chart_title(libs: list[str]) -> str:
    """What the chart compares: only the libraries that have results in it."""
    peers = [lib for lib in libs if lib != "framepipe"]
    compared = f"framepipe vs {', '.join(peers)}" if peers else "framepipe (no peers installed)"
    return f"{compared}: 1080p30 H.264, 224x224 RGB output"


def plot(rows: list[dict], out: str, *, title: str | None = None) -> str:
    """A grouped bar chart of seconds per task and library (lower is better), written to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    libs = [
        lib
        for lib in LIBS
        if any(r["lib"] == lib and r.get("status") == "ok" and r["task"] in TASKS for r in rows)
    ]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    width = 0.8 / max(len(libs), 1)
    for k, lib in enumerate(libs):
        values = [
            next(
                (
                    r["seconds"]
                    for r in rows
                    if r["lib"] == lib and r["task"] == t and r.get("status") == "ok"
                ),
                np.nan,
            )
            for t in TASKS
        ]
        bars = ax.bar(np.arange(len(TASKS)) + (k - (len(libs) - 1) / 2) * width, values, width, label=lib)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    floor = next((r["seconds"] for r in rows if r["task"] == "floor" and r.get("status") == "ok"), None)
    if floor:
        ax.axhline(
            floor, color="grey", linestyle="--", linewidth=1, label=f"decode-everything floor ({floor:.1f} s)"
        )
    ax.set_xticks(np.arange(len(TASKS)), [t.replace("_", " ") for t in TASKS])
    ax.set_ylabel("seconds (lower is better)")
    ax.set_title(title or chart_title(libs))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def keyframe_table(rows: list[dict]) -> str:
    """The Markdown table of :func:`keyframe_rows`."""
    exact, keys = rows
    return "\n".join(
        [
            f"Video: {exact['video']} (600 s, 1920x1080, 30 fps, H.264, a keyframe every 5 s); a frame every "
            "2 s at 224x224.",
            "",
            "| sampling | frames | seconds | peak RSS |",
            "| --- | --- | --- | --- |",
            *(
                f"| {r['task']} | {r['frames']} | {r['seconds']:.1f} s | {r['peak_rss_mb']:.0f} MB |"
                for r in rows
            ),
            "",
            f"Keyframe sampling is {exact['seconds'] / keys['seconds']:.1f}x faster than exact sampling "
            "here.",
        ]
    )


def table(rows: list[dict], libs: list[str]) -> str:
    """The Markdown comparison table of :func:`run`'s rows."""
    cpu = platform.processor() or platform.machine()
    info = next(r for r in rows if r["task"] == "reopen_cached_index")
    lines = [
        f"Video: {info['video']} ({info['video_seconds']} s, 1920x1080, 30 fps, H.264 with "
        "B-frames, keyframe "
        f"every 5 s); output 224x224 RGB uint8. Machine: {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}.",
        "",
        "| task | " + " | ".join(libs) + " |",
        "| --- | " + " | ".join("---" for _ in libs) + " |",
    ]
    get = {(r["lib"], r["task"]): r for r in rows}
    for task in TASKS:
        fp = get.get(("framepipe", task))
        cells = []
        for lib in libs:
            r = get.get((lib, task))
            if r is None or r.get("status") != "ok":
                cells.append(r.get("status", "failed") if r else "not run")
            elif lib == "framepipe" or fp is None or fp.get("status") != "ok":
                cells.append(f"{r['seconds']:.2f} s, {r['peak_rss_mb']:.0f} MB")
            else:
                cells.append(
                    f"{r['seconds']:.2f} s ({r['seconds'] / fp['seconds']:.1f}x), {r['peak_rss_mb']:.0f} MB"
                )
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    floor = get.get(("floor", "floor"))
    if floor and floor.get("status") == "ok":
        lines.append(
            f"| floor: sequential decode + resize of all frames (PyAV) | {floor['seconds']:.2f} s, "
            f"{floor['peak_rss_mb']:.0f} MB |" + " |" * (len(libs) - 1)
        )
    lines += [
        "",
        "(Nx) = seconds relative to framepipe (higher: framepipe is faster). MB = peak RSS of that "
        "task's process.",
        f"Reopening with a cached index: {1000 * info['seconds']:.1f} ms (median of 20).",
    ]
    return "\n".join(lines)
