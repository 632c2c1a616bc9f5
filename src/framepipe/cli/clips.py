"""``framepipe clips``: export training clips of videos as .npz shards + manifest.

The clips are the request's (:class:`framepipe._sampling.request.Request`): the same as ``ClipDataset``
and ``framepipe.ray.read_clips`` give for the same options and seed, video by video (the seeding rule:
each video's clips come from ``(seed, epoch 0, its key)``, its key the path relative to SOURCE). Videos
are found as the datasets find them (a folder, a glob, a manifest or one file).

Resumable: a video whose shards are all listed in the manifest is skipped on the next run. Parallel over
videos (--jobs). A video that cannot be read is reported and skipped (``--on-bad-video raise`` stops).
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

from framepipe._adapters.listing import VideoSource, resolve_sources
from framepipe._pixels.format import FrameFormat
from framepipe._sampling.request import Request
from framepipe._sampling.samplers import ClipSampling
from framepipe._source.remote import is_url
from framepipe.errors import VideoError

from .common import (
    common_options,
    echo_json,
    out_file,
    plural,
    progress,
    resolve_step,
    size_options,
    step_options,
    writable_dir,
)

MANIFEST = "manifest.jsonl"
SETTINGS = "clips.json"


def find_videos(source: str) -> list[VideoSource]:
    """The videos of SOURCE, as every door lists them (:func:`resolve_sources`): a folder (every video
    below it; a class sub-folder is its label), a glob, a manifest, or one video."""
    if not is_url(source) and not os.path.exists(source) and not set("*?[") & set(source):
        raise click.ClickException(f"{os.path.abspath(source)}: no such file or folder")
    try:
        return resolve_sources(source)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def shard_stem(key: str) -> str:
    """A file name for a video's shards: a readable part of its name plus a hash of its key."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.splitext(os.path.basename(key))[0]).strip("._")[:48]
    return f"{readable or 'video'}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def request_of(settings: dict) -> Request:
    """The request the flags make: the one a dataset or Ray read builds from the same options."""
    sampling = ClipSampling(
        sampler="random" if settings["random"] else "windows",
        length=settings["length"],
        step=settings["step"],
        stride=settings["stride"],
        clips_per_video=settings["random"] or 1,
        seed=settings["seed"],
    )
    size = tuple(settings["size"]) if settings["size"] else None
    fmt = FrameFormat(size=size, resize=settings["resize"], color=settings["color"])
    return Request(sampling, fmt, on_bad_video=settings["on_bad_video"])


def _version(path: str) -> tuple[int | None, int | None]:
    if is_url(path):
        return None, None
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _reader(src: VideoSource, request: Request, store_folder: str | None):
    """A reader of one video over its index: from the store where it lists the video unchanged."""
    from framepipe._adapters.indexing import index_sources, open_store
    from framepipe._file.reader import open_with_index
    from framepipe._index.archive import StoredIndex

    kept, _ = index_sources([src], on_bad_video="raise", store=open_store(store_folder))
    found = kept[0][1].index
    index = found.load() if isinstance(found, StoredIndex) else found
    return open_with_index(src.target, index, frame_format=request.format, threads=1)


def export_video(src: VideoSource, out: str, settings: dict) -> dict:
    """Write the clips of one video; runs in a worker process. Returns its manifest record."""
    request = request_of(settings)
    with _reader(src, request, settings.get("index")) as video:
        rows = request.rows(src, video.pts_seconds, end_seconds=video.metadata.end_seconds)
        stem, shards = shard_stem(src.seed_key), []
        for k in range(0, len(rows), settings["shard_size"]):
            batch = video.get_clips(rows[k : k + settings["shard_size"]])
            name = f"{stem}-{k // settings['shard_size']:04d}.npz"
            target = out_file(out, name, overwrite=True)  # a shard of an unfinished earlier run is redone
            tmp = target + ".part.npz"
            np.savez(
                tmp,
                clips=batch.data,
                indices=batch.indices,
                pts_seconds=batch.pts_seconds,
                video=src.seed_key,
            )
            os.replace(tmp, target)
            shards.append(dict(file=name, clips=len(batch)))
        n = len(video)
    size, mtime_ns = _version(src.path)
    return dict(
        # "path" as a manifest of videos reads it (relative to this manifest's folder), "key" the seeding
        # key, so that ClipDataset(out/manifest.jsonl) draws the same clips; "video" is the older name
        # of "key", kept for one release
        path=src.path if is_url(src.path) else os.path.relpath(os.path.abspath(src.path), out),
        key=src.seed_key,
        video=src.seed_key,
        label=src.label,
        size=size,
        mtime_ns=mtime_ns,
        num_frames=n,
        clips=len(rows),
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
                    records[r.get("key", r.get("video"))] = r
    return records


def _is_done(record: dict | None, path: str, out: str) -> bool:
    if record is None or is_url(path):
        return False
    return (record["size"], record["mtime_ns"]) == _version(path) and all(
        os.path.exists(os.path.join(out, s["file"])) for s in record["shards"]
    )


@click.command(short_help="Training clips of videos as .npz shards with a manifest.")
@click.argument("source", type=click.Path())
@click.option("--length", type=click.IntRange(min=1), required=True, help="Frames per clip.")
@step_options
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    help="Frames between clip starts (default: --length x --step, clips side by side).",
)
@click.option(
    "--random", "random_n", type=click.IntRange(min=1), help="Instead of sliding: N random clips per video."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of --random (with each video's path under SOURCE: the clips ClipDataset and read_clips draw).",
)
@size_options
@click.option(
    "--color",
    type=click.Choice(["rgb", "bgr", "gray"]),
    default="rgb",
    show_default=True,
    help="Channels of the clips.",
)
@click.option(
    "--out", required=True, type=click.Path(file_okay=False), help="Folder for the shards and manifest."
)
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Videos in parallel."
)
@click.option(
    "--shard-size", type=click.IntRange(min=1), default=256, show_default=True, help="Clips per .npz."
)
@click.option(
    "--index",
    "store",
    type=click.Path(file_okay=False, exists=True),
    help="An index store (framepipe index): its videos are not indexed again.",
)
@click.option(
    "--on-bad-video",
    type=click.Choice(["skip", "raise"]),
    default="skip",
    show_default=True,
    help="A video that cannot be read: report it and go on, or stop.",
)
@common_options()
def clips(
    source,
    length,
    step,
    sampling_rate,
    stride,
    random_n,
    seed,
    size,
    resize,
    color,
    out,
    jobs,
    shard_size,
    store,
    on_bad_video,
    quiet,
    as_json,
) -> None:
    """Export clips of SOURCE (a video, a folder of videos, a glob or a manifest) as .npz shards with a
    manifest.jsonl.

    The clips are those ClipDataset and framepipe.ray.read_clips give for the same options and --seed.
    Each shard holds clips (B, T, H, W, C), indices (B, T) and pts_seconds (B, T). The manifest has a
    line per video with its path, its key, its shards and, for SOURCE/<class>/<video>, its class label;
    it is also a manifest of videos for ClipDataset. Running again skips the videos already done. Exit
    status 1 if SOURCE has no videos or every video failed.
    """
    if stride is not None and random_n:
        raise click.UsageError("--stride is for sliding clips; --random draws clip starts itself")
    step = resolve_step(step, sampling_rate)
    videos = find_videos(source)
    out = writable_dir(out)
    settings = dict(
        length=length,
        step=step,
        stride=stride,
        random=random_n,
        seed=seed,
        size=list(size) if size else None,
        resize=resize,
        color=color,
        shard_size=shard_size,
        on_bad_video=on_bad_video,
    )
    request_of(settings)  # checks the options once, before any video
    if store is not None:
        from framepipe._adapters.indexing import open_store

        try:
            open_store(store)  # checked here, once: a store of another version is an error
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    extra = {} if store is None else {"index": os.path.abspath(store)}
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
    skipped = [s.seed_key for s in videos if _is_done(done.get(s.seed_key), s.path, out)]
    todo = [s for s in videos if s.seed_key not in skipped]
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
                results = ((s.seed_key, _run(export_video, s, out, {**settings, **extra})) for s in todo)
            else:
                futures = {pool.submit(export_video, s, out, {**settings, **extra}): s.seed_key for s in todo}
                results = ((futures[f], _result(f)) for f in concurrent.futures.as_completed(futures))
            for rel, result in results:
                bar.update(1)
                if isinstance(result, VideoError) and on_bad_video == "raise":
                    raise click.ClickException(f"{rel}: {result}")
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
        span = (settings["length"] - 1) * settings["step"] + 1
        names = ", ".join(f"{r['key']} ({r['num_frames']} frames)" for r in short[:5])
        more = f" and {len(short) - 5} more" if len(short) > 5 else ""
        click.echo(
            f"{plural(len(short), 'video')} too short for clips spanning {span} frames "
            f"(--length {settings['length']}, --step {settings['step']}): {names}{more}",
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
