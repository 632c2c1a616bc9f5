"""``framepipe preview``: a contact sheet of the frames a sampler picks, labelled with index and time."""

from __future__ import annotations

import math
import os

import click
import numpy as np

from .clips import find_videos, request_of
from .common import (
    Selection,
    common_options,
    echo_json,
    image_path,
    out_file,
    plural,
    resolve_step,
    selection_options,
    step_options,
    writable_dir,
)
from .extract import read_selection

LABEL_PX = 16  # height of the label strip over each thumbnail
GUTTER_PX = 4  # space around and between thumbnails, so that neighbouring frames do not run together
MAX_THUMBNAILS = 400


def sheet_size(count: int, columns: int, thumb_w: int, thumb_h: int) -> tuple[int, int]:
    """(width, height) in pixels of a sheet of ``count`` thumbnails."""
    rows = math.ceil(count / columns)
    cols = min(count, columns)
    return cols * (thumb_w + GUTTER_PX) + GUTTER_PX, rows * (thumb_h + LABEL_PX + GUTTER_PX) + GUTTER_PX


def thumb_origin(k: int, columns: int, thumb_w: int, thumb_h: int) -> tuple[int, int]:
    """(left, top) in pixels of thumbnail ``k``'s image (below its label strip), counted from the top left."""
    row, col = divmod(k, columns)
    return (
        GUTTER_PX + col * (thumb_w + GUTTER_PX),
        GUTTER_PX + row * (thumb_h + LABEL_PX + GUTTER_PX) + LABEL_PX,
    )


def draw_sheet(images, labels, *, columns: int, out: str) -> tuple[int, int]:
    """Place the (equal-size) thumbnails on a grid, label each, and write a PNG of exactly sheet_size()."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    th, tw = images[0].shape[:2]
    width, height = sheet_size(len(images), columns, tw, th)
    dpi = 100
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="black")
    for k, (img, label) in enumerate(zip(images, labels)):
        left, top = thumb_origin(k, columns, tw, th)
        x, y = left, height - (top + th)  # figure coordinates count from the bottom
        ax = fig.add_axes((x / width, y / height, tw / width, th / height))
        ax.imshow(
            img if img.shape[-1] == 3 else img[..., 0],
            cmap=None if img.shape[-1] == 3 else "gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
        )
        ax.set_axis_off()
        fig.text(
            (x + 3) / width,
            (y + th + LABEL_PX / 2) / height,
            label,
            color="white",
            fontsize=7,
            va="center",
            ha="left",
        )
    fig.savefig(out, dpi=dpi, facecolor="black")
    plt.close(fig)
    return width, height


@click.command(short_help="A contact sheet of the frames a sampler picks.")
@click.argument("video")
@selection_options
@click.option("--length", type=click.IntRange(min=1), help="Show clips of this many frames, one per row.")
@click.option(
    "--stride",
    type=click.IntRange(min=1),
    help="Frames between clip starts (default: --length x --step, clips side by side).",
)
@step_options
@click.option(
    "--random", "random_n", type=click.IntRange(min=1), help="N random clips instead of sliding ones."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of --random: the clips framepipe clips and ClipDataset draw for this video.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    callback=image_path,
    help="The sheet: a .png, .jpg or .jpeg file.",
)
@click.option(
    "--columns", type=click.IntRange(min=1), default=8, show_default=True, help="Thumbnails per row."
)
@click.option(
    "--thumb-width",
    type=click.IntRange(min=16, max=1024),
    default=160,
    show_default=True,
    help="Width of each thumbnail in pixels (the height keeps the aspect ratio).",
)
@click.option("--overwrite", is_flag=True, help="Replace the sheet if it exists.")
@common_options()
def preview(
    video,
    frames,
    times,
    every,
    fps,
    start,
    end,
    length,
    stride,
    step,
    sampling_rate,
    random_n,
    seed,
    out,
    columns,
    thumb_width,
    overwrite,
    quiet,
    as_json,
) -> None:
    """A contact sheet of the frames a sampler picks from VIDEO: what training will get.

    Frame samplers as in extract (default: 16 frames spread over the video), or clip samplers
    (--length with --stride or --random), one clip per row. Each thumbnail shows "#index  time".
    """
    import framepipe

    step = resolve_step(step, sampling_rate)
    target = out_file(
        writable_dir(os.path.dirname(os.path.abspath(out))), os.path.basename(out), overwrite=overwrite
    )
    with framepipe.open(video) as full:
        meta = full.metadata
        thumb_h = max(1, round(thumb_width * meta.height / meta.width))
        v = full.with_format(size=(thumb_h, thumb_width))  # same index, no second open or indexing
    with v:
        if length is None and (stride is not None or random_n):
            raise click.UsageError("--stride and --random choose clips: give --length too")
        if length is not None:
            if any((frames, times, every, fps)):
                raise click.UsageError(
                    "--length (clips) and --frames/--times/--every/--fps (frames) exclude each other"
                )
            if random_n and stride is not None:
                raise click.UsageError("--stride is for sliding clips; --random draws clip starts itself")
            request = request_of(
                dict(
                    length=length,
                    step=step,
                    stride=stride,
                    random=random_n,
                    seed=seed,
                    size=None,
                    resize="stretch",
                    color="rgb",
                    on_bad_video="raise",
                )
            )  # the clips framepipe clips exports for this video: one request, one answer
            clip_idx = request.rows(find_videos(video)[0], v.pts_seconds, end_seconds=meta.end_seconds)
            clip_idx = clip_idx[np.lexsort(clip_idx.T[::-1])]  # rows in time order, however they were drawn
            if len(clip_idx) * length > MAX_THUMBNAILS:
                clip_idx = clip_idx[: MAX_THUMBNAILS // length]
            columns = length
            sel = Selection(indices=np.asarray(clip_idx).reshape(-1).tolist())
        else:
            sel = Selection.build(
                v, frames=frames, times=times, every=every, fps=fps, start=start, end=end, default=16
            )
        if len(sel) == 0:
            if length is not None:
                span = (length - 1) * step + 1
                raise click.ClickException(
                    f"{meta.path}: no clip fits: clips of --length {length} (--step "
                    f"{step}) span {span} frames and the video has {meta.num_frames}"
                )
            raise click.ClickException(f"{meta.path}: the sampler picked no frames between --start and --end")
        if len(sel) > MAX_THUMBNAILS:
            raise click.ClickException(
                f"{meta.path}: the sampler picks {len(sel)} frames; a sheet shows at most "
                f"{MAX_THUMBNAILS} (use --start/--end or a sparser sampler)"
            )
        images, labels, indices = [], [], []
        for batch in read_selection(v, sel):
            for img, index, t in zip(batch.data, batch.indices, batch.pts_seconds):
                images.append(img)
                labels.append(f"#{int(index)}  {float(t):.2f}s")
                indices.append(int(index))
    width, height = draw_sheet(images, labels, columns=columns, out=target)
    summary = dict(
        video=meta.path, out=target, width=width, height=height, thumbnails=len(images), indices=indices
    )
    if as_json:
        echo_json(summary)
    elif not quiet:
        click.echo(f"{plural(len(images), 'frame')} -> {target} ({width}x{height})")
