"""``framepipe clips``: export training clips of one video or a folder of videos as .npz shards + manifest.

Resumable: a video whose shards are all listed in the manifest is skipped on the next run. Parallel over
videos (--jobs). A video that cannot be read is reported and skipped; the others go on.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import multiprocessing
import os
import re

import click
import numpy as np

from framepipe._util.constants import VIDEO_EXTENSIONS

from .common import common_options, echo_json, out_file, plural, progress, size_options, writable_dir

MANIFEST = "manifest.jsonl"
SETTINGS = "clips.json"


def find_videos(root: str) -> tuple[str, list[str]]:
    """(the folder paths are relative to, the videos), sorted so shards and seeds do not depend on listing
    order."""
    root = os.path.abspath(root)
    if os.path.isfile(root):
        return os.path.dirname(root), [root]
    if not os.path.isdir(root):
        raise click.ClickException(f"{root}: no such file or folder")
    found = [
        os.path.join(d, f)
        for d, _, files in os.walk(root)
        for f in files
        if f.lower().endswith(VIDEO_EXTENSIONS)
    ]
    if not found:
        raise click.ClickException(
            f"{root}: no videos in this folder or below it ({', '.join(VIDEO_EXTENSIONS)})"
        )
    return root, sorted(found)


def class_label(rel: str) -> str | None:
    """The class of a video at ``<class>/.../<video>`` under the root, as dataset folders are laid out;
    None for a video directly in the root."""
    parts = rel.replace(os.sep, "/").split("/")
    return parts[0] if len(parts) > 1 else None


def shard_stem(rel: str) -> str:
    """A file name for a video's shards: a readable part of its name plus a hash of its relative path."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.splitext(os.path.basename(rel))[0]).strip("._")[:48]
    return f"{readable or 'video'}-{hashlib.sha1(rel.encode()).hexdigest()[:10]}"


def export_video(path: str, rel: str, out: str, settings: dict) -> dict:
    """Write the clips of one video; runs in a worker process. Returns its manifest record."""
    import framepipe
    from framepipe import sampling

    size = tuple(settings["size"]) if settings["size"] else None
    with framepipe.open(
        path, size=size, resize=settings["resize"], color=settings["color"], threads=1
    ) as video:
        n = video.metadata.num_frames
        if settings["random"]:
            seed = int(hashlib.sha1(f"{settings['seed']}:{rel}".encode()).hexdigest()[:8], 16)
            starts = sampling.random_clips(
                n,
                num_clips=settings["random"],
                length=settings["length"],
                step=settings["sampling_rate"],
                seed=seed,
            )
        else:
            starts = sampling.windows(
                n, length=settings["length"], stride=settings["stride"], step=settings["sampling_rate"]
            )
        stem, shards = shard_stem(rel), []
        for k in range(0, len(starts), settings["shard_size"]):
            batch = video.get_clips(starts[k : k + settings["shard_size"]])
            name = f"{stem}-{k // settings['shard_size']:04d}.npz"
            target = out_file(out, name, overwrite=True)  # a shard of an unfinished earlier run is redone
            tmp = target + ".part.npz"
            np.savez(tmp, clips=batch.data, indices=batch.indices, pts_seconds=batch.pts_seconds, video=rel)
            os.replace(tmp, target)
            shards.append(dict(file=name, clips=len(batch)))
    st = os.stat(path)
    return dict(
        video=rel,
        label=class_label(rel),
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        num_frames=n,
        clips=len(starts),
        shards=shards,
    )


def _done(out: str) -> dict[str, dict]:
    records = {}
    manifest = os.path.join(out, MANIFEST)
    if os.path.exists(manifest):
        with open(manifest) as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    records[r["video"]] = r
    return records


def _is_done(record: dict | None, path: str, out: str) -> bool:
    if record is None:
        return False
    st = os.stat(path)
    return (record["size"], record["mtime_ns"]) == (st.st_size, st.st_mtime_ns) and all(
        os.path.exists(os.path.join(out, s["file"])) for s in record["shards"]
    )


@click.command(short_help="Training clips of videos as .npz shards with a manifest.")
@click.argument("source", type=click.Path())
@click.option("--length", type=click.IntRange(min=1), required=True, help="Frames per clip.")
@click.option("--stride", type=click.IntRange(min=1), help="Frames between clip starts (default: --length).")
@click.option(
    "--sampling-rate",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Take every N-th frame inside a clip.",
)
@click.option(
    "--random", "random_n", type=click.IntRange(min=1), help="Instead of sliding: N random clips per video."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --random.")
@size_options
@click.option("--color", type=click.Choice(["rgb", "bgr", "gray"]), default="rgb", show_default=True)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Folder for the shards and manifest."
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Videos in parallel."
)
@click.option(
    "--shard-size", type=click.IntRange(min=1), default=256, show_default=True, help="Clips per .npz."
)
@common_options()
def clips(
    source,
    length,
    stride,
    sampling_rate,
    random_n,
    seed,
    size,
    resize,
    color,
    out,
    jobs,
    shard_size,
    quiet,
    as_json,
) -> None:
    """Export clips of SOURCE (a video or a folder of videos) as .npz shards with a manifest.jsonl.

    Each shard holds clips (B, T, H, W, C), indices (B, T) and pts_seconds (B, T). The manifest has a
    line per video with its shards and, for SOURCE/<class>/<video>, its class label. Running again skips
    the videos already done. Exit status 1 if SOURCE has no videos or every video failed.
    """
    if stride is not None and random_n:
        raise click.UsageError("--stride is for sliding clips; --random draws clip starts itself")
    root, videos = find_videos(source)
    out = writable_dir(out)
    settings = dict(
        length=length,
        stride=stride or length,
        sampling_rate=sampling_rate,
        random=random_n,
        seed=seed,
        size=list(size) if size else None,
        resize=resize,
        color=color,
        shard_size=shard_size,
    )
    settings_file = os.path.join(out, SETTINGS)
    if os.path.exists(settings_file):
        with open(settings_file) as fh:
            before = json.load(fh)
        if before != settings:
            raise click.ClickException(
                f"{out}: holds clips made with other options ({before}); use another --out"
            )
    else:
        with open(settings_file, "w") as fh:
            json.dump(settings, fh)
    done = _done(out)
    todo = [(p, os.path.relpath(p, root)) for p in videos]
    skipped = [rel for p, rel in todo if _is_done(done.get(rel), p, out)]
    todo = [(p, rel) for p, rel in todo if rel not in skipped]
    failed, made = [], []
    # spawned, not forked: a fork of a process that already runs FFmpeg or progress-bar threads is unsafe
    pool = (
        concurrent.futures.ProcessPoolExecutor(
            max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
        )
        if jobs > 1 and len(todo) > 1
        else None
    )
    try:
        with (
            progress(len(todo), quiet=quiet, unit="video") as bar,
            open(os.path.join(out, MANIFEST), "a") as manifest,
        ):
            if pool is None:
                results = ((rel, _run(export_video, p, rel, out, settings)) for p, rel in todo)
            else:
                futures = {pool.submit(export_video, p, rel, out, settings): rel for p, rel in todo}
                results = ((futures[f], _result(f)) for f in concurrent.futures.as_completed(futures))
            for rel, result in results:
                bar.update(1)
                if isinstance(result, Exception):
                    failed.append(
                        dict(video=rel, error=str(result).splitlines()[0] if str(result) else repr(result))
                    )
                    click.echo(f"skipped {rel}: {failed[-1]['error']}", err=True)
                    continue
                manifest.write(json.dumps(result) + "\n")
                manifest.flush()  # a later run resumes from here
                made.append(result)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    summary = dict(
        out=out,
        videos=len(videos),
        exported=len(made),
        already_done=len(skipped),
        failed=failed,
        clips=sum(r["clips"] for r in made),
        shards=sum(len(r["shards"]) for r in made),
    )
    if as_json:
        echo_json(summary)
    elif not quiet:
        click.echo(
            f"{plural(summary['clips'], 'clip')} from {plural(len(made), 'video')} in "
            f"{plural(summary['shards'], 'shard')} -> {out}"
            + (f"; {len(skipped)} already done" if skipped else "")
            + (f"; {len(failed)} failed" if failed else "")
        )
    short = [r for r in made if r["clips"] == 0]
    if short:
        span = (settings["length"] - 1) * settings["sampling_rate"] + 1
        names = ", ".join(f"{r['video']} ({r['num_frames']} frames)" for r in short[:5])
        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
        click.echo(
            f"{plural(len(short), 'video')} too short for clips spanning {span} frames "
            f"(--length {settings['length']}, --sampling-rate {settings['sampling_rate']}): {names}{more}",
            err=True,
        )
    if failed and not made and not skipped:
        raise click.ClickException(f"every video failed (first: {failed[0]['video']}: {failed[0]['error']})")
    if summary["clips"] == 0 and not skipped:
        raise click.ClickException("no clips were made")


def _run(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # reported and skipped by the caller: one bad video must not stop the rest
        return exc


def _result(future):
    try:
        return future.result()
    except Exception as exc:  # as in _run, from a worker process
        return exc
