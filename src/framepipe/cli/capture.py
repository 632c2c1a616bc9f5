"""``framepipe capture``: record frames from a live stream (camera, RTSP, HTTP, UDP, a file) to images."""

from __future__ import annotations

import time

import click

from .common import (
    common_options,
    echo_json,
    frame_name,
    out_file,
    plural,
    progress,
    save_image,
    size_options,
    writable_dir,
)


@click.command(short_help="Record frames from a camera, stream or file to images.")
@click.argument("source")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for the images.")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), help="Keep this many frames per second.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after this many seconds.")
@click.option("--frames", "max_frames", type=click.IntRange(min=1), help="Stop after this many frames.")
@size_options
@click.option(
    "--color",
    type=click.Choice(["rgb", "gray"]),
    default="rgb",
    show_default=True,
    help="Channels of the images.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["jpg", "png"]), default="jpg", show_default=True, help="Image type."
)
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality.")
@click.option(
    "--open-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the source to open.",
)
@click.option(
    "--read-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds of silence from the source before it counts as disconnected.",
)
@click.option("--no-reconnect", is_flag=True, help="Stop at the first disconnect instead of reconnecting.")
@click.option("--overwrite", is_flag=True, help="Replace images that already exist.")
@common_options()
def capture(
    source,
    out,
    fps,
    duration,
    max_frames,
    size,
    resize,
    color,
    fmt,
    quality,
    open_timeout,
    read_timeout,
    no_reconnect,
    overwrite,
    quiet,
    as_json,
) -> None:
    """Record frames from SOURCE (camera index, /dev/videoN, rtsp://, http://, udp://, tcp://, or a file).

    Every frame is kept (or --fps of them), named by stream index and time. Ctrl-C stops cleanly and keeps
    every image written so far.
    """
    import framepipe

    if duration is not None and max_frames is not None:
        raise click.UsageError("give --duration or --frames, not both")
    folder = writable_dir(out)
    src = int(source) if source.isdigit() else source
    written: list[str] = []
    interrupted = False
    stream = framepipe.open_stream(
        src,
        mode="all",
        fps=fps,
        size=size,
        resize=resize,
        color=color,
        open_timeout=open_timeout,
        read_timeout=read_timeout,
        reconnect=not no_reconnect,
    )
    started = time.monotonic()
    try:
        with progress(max_frames, quiet=quiet) as bar:
            while max_frames is None or len(written) < max_frames:
                left = None if duration is None else duration - (time.monotonic() - started)
                if left is not None and left <= 0:
                    break
                try:
                    frame = stream.read(timeout=left) if left is not None else stream.read()
                except framepipe.StreamEndedError:
                    break
                except framepipe.StreamTimeoutError:
                    if left is not None and time.monotonic() - started >= duration:
                        break  # --duration ran out while waiting: not a failure
                    raise
                name = frame_name(frame.index, frame.pts_seconds, fmt)
                save_image(
                    frame.data,
                    out_file(folder, name, overwrite=overwrite),
                    fmt=fmt,
                    quality=quality,
                    color=color,
                )
                written.append(name)
                bar.update(1)
    except KeyboardInterrupt:
        interrupted = True  # Ctrl-C: keep what was written, report, exit 0
    finally:
        stats = stream.stats
        stream.close()
    summary = dict(
        source=stream.source,
        out=folder,
        frames=len(written),
        files=written,
        interrupted=interrupted,
        dropped=stats.dropped,
        decode_errors=stats.decode_errors,
        reconnects=stats.reconnects,
        seconds=round(time.monotonic() - started, 3),
    )
    if as_json:
        echo_json(summary)
    elif not quiet:
        click.echo(
            f"{plural(len(written), 'frame')} from {stream.source} -> {folder}"
            + (" (stopped by Ctrl-C)" if interrupted else ""),
            err=interrupted,
        )
