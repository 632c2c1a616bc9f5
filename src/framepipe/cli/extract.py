"""``framepipe extract``: frames at given indices or times, or on a grid, as images or one .npz."""

from __future__ import annotations

import os

import click
import numpy as np

from .common import (
    IMAGE_SUFFIXES,
    Selection,
    common_options,
    echo_json,
    frame_name,
    out_file,
    output_target,
    plural,
    progress,
    save_image,
    selection_options,
    size_options,
    writable_dir,
)

CHUNK = 64  # frames per read: memory stays at most this many output frames besides an .npz's own array


def read_selection(video, sel: Selection, *, bar=None):
    """Yield FrameBatches of at most CHUNK frames covering ``sel``, in its order."""
    items = sel.items
    for k in range(0, len(items), CHUNK):
        part = items[k : k + CHUNK]
        if sel.keyframes:
            batch = video.get_keyframes(part)
        elif sel.indices is not None:
            batch = video.get_frames(part)
        else:
            batch = video.get_frames_at_times(part)
        if bar is not None:
            bar.update(len(part))
        yield batch


@click.command(short_help="Exact frames by index, time or grid, as images or .npz.")
@click.argument("video")
@selection_options
@size_options
@click.option(
    "--color",
    type=click.Choice(["rgb", "bgr", "gray"]),
    default="rgb",
    show_default=True,
    help="Channels of the frames; bgr only with .npz output (image files are RGB).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    help="A folder for images, FILE.npz for one array, or FILE.jpg / FILE.png for one frame.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jpg", "png"]),
    default="jpg",
    show_default=True,
    help="Image type in a folder.",
)
@click.option(
    "--snap",
    type=click.Choice(["exact", "keyframe"]),
    default="exact",
    show_default=True,
    help="With --times, --every Ns or --fps: the exact frame at each time, or the keyframe nearest it "
    "(faster: one decoded picture a sample; only as close to the time as the keyframe spacing allows).",
)
@click.option("--keyframes", is_flag=True, help="Every keyframe (between --start and --end).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
@click.option("--overwrite", is_flag=True, help="Replace files that already exist.")
@common_options()
def extract(
    video,
    frames,
    times,
    every,
    fps,
    start,
    end,
    size,
    resize,
    color,
    out,
    fmt,
    snap,
    keyframes,
    quality,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Pull exact frames out of VIDEO: --frames 5,20,-1 | --times 1,3.5 | --every 2s | --every 30 | --fps 2
    (--snap keyframe: the keyframes nearest those times) | --keyframes.

    Images are named by frame index and time (frame_000045_000001.800s.jpg), never by anything from the
    input, and written only inside --out. An --out ending in .npz gets one array of every frame; one
    ending in .jpg or .png gets the single frame selected.
    """
    import framepipe

    with framepipe.open(video, size=size, resize=resize, color=color) as v:
        if keyframes:
            if any((frames, times, every, fps)):
                raise click.UsageError(
                    "--keyframes selects every keyframe: give no --frames, --times, --every or --fps"
                )
            sel = Selection.keyframes_between(v, start=start, end=end)
        else:
            sel = Selection.build(
                v, frames=frames, times=times, every=every, fps=fps, start=start, end=end, snap=snap
            )
            if snap == "keyframe":
                sel = sel.snapped(v)
        if len(sel) == 0:
            raise click.ClickException(f"{v.path}: nothing to extract between --start and --end")
        kind, suffix = output_target(out, count=len(sel), files=(".npz", *IMAGE_SUFFIXES))
        if color == "bgr" and suffix != ".npz":
            raise click.UsageError(
                "--color bgr changes only .npz output: image files hold RGB by nature, so JPEG and PNG "
                "frames are written as RGB; use --color rgb, or --out something.npz for BGR arrays"
            )
        written: list[str] = []
        seen: set[str] = set()
        indices, pts = [], []
        to_npz = suffix == ".npz"
        if kind == "file":
            folder = writable_dir(os.path.dirname(os.path.abspath(out)))
            target = out_file(folder, os.path.basename(out), overwrite=overwrite)
        else:
            folder = writable_dir(out)
        arrays = []
        with progress(len(sel), quiet=quiet) as bar:
            for batch in read_selection(v, sel, bar=bar):
                indices += batch.indices.tolist()
                pts += batch.pts_seconds.tolist()
                if to_npz:
                    arrays.append(batch.data)
                    continue
                if kind == "file":  # one image, named as asked
                    save_image(
                        batch.data[0], target, fmt=IMAGE_SUFFIXES[suffix or ""], quality=quality, color=color
                    )
                    written.append(os.path.basename(target))
                    continue
                for img, index, t in zip(batch.data, batch.indices, batch.pts_seconds):
                    name = frame_name(int(index), float(t), fmt)
                    if name in seen:  # two times on the same frame: one file
                        continue
                    seen.add(name)
                    save_image(
                        img,
                        out_file(folder, name, overwrite=overwrite),
                        fmt=fmt,
                        quality=quality,
                        color=color,
                    )
                    written.append(name)
        if to_npz:
            tmp = target + ".part.npz"
            columns = {
                "frames": np.concatenate(arrays),
                "indices": np.array(indices, dtype=np.int64),
                "pts_seconds": np.array(pts),
            }
            if sel.times is not None:
                columns["times"] = np.array(sel.times)
            if sel.requested is not None:  # --snap keyframe: the time each keyframe answers
                columns["requested_seconds"] = np.array(sel.requested)
            np.savez(tmp, **columns)  # type: ignore[arg-type]
            os.replace(tmp, target)
            written = [os.path.basename(target)]
    summary = dict(
        video=os.path.abspath(video),
        out=os.path.abspath(out),
        frames=len(indices),
        indices=indices,
        pts_seconds=[round(t, 6) for t in pts],
        files=written,
    )
    if as_json:
        echo_json(summary)
    elif not quiet:
        if kind == "dir":
            target_text = f"{plural(len(written), 'file')} in {os.path.abspath(out)}"
        else:  # one named file: say which
            target_text = os.path.abspath(out)
        click.echo(f"{plural(len(indices), 'frame')} from {video} -> {target_text}")
