"""The ``framepipe`` command group, error handling, and the probe and bench commands."""

from __future__ import annotations

import json
import os
import sys

import click
import numpy as np

from .capture import capture
from .clips import clips
from .common import common_options, echo_json, image_path, progress
from .extract import extract
from .index import index
from .preview import preview


class _Group(click.Group):
    """Turns every failure into a one-line message naming the file, exit status 1 (``--debug``: traceback)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            # the reader of our output went away (`framepipe probe f | head`): not a failure to report.
            # Point stdout at /dev/null so that the interpreter's final flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(141) from None  # as a shell reports a process that SIGPIPE ended
        except Exception as exc:  # the one place every other failure is reported
            if (ctx.obj or {}).get("debug"):
                raise
            from framepipe.errors import VideoError

            lines = str(exc).strip().splitlines()
            message = lines[0] if lines else ""
            # framepipe's own errors already name the file or argument; anything else gets its type too
            if not isinstance(exc, (VideoError, OSError, ValueError, LookupError)) or not message:
                message = f"{type(exc).__name__}: {message} (run with --debug for the traceback)"
            raise click.ClickException(message) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="framepipe")
@click.option("--debug", is_flag=True, help="Show tracebacks of failures.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Exact frames and clips from videos and live streams."""
    ctx.obj = ctx.obj or {}
    ctx.obj["debug"] = ctx.obj.get("debug", False) or debug


def _probe_one(path: str) -> dict:
    import framepipe
    from framepipe._source.source import Source
    from framepipe._source.streams import stream_kind

    source = Source.create(path)  # a path or a URL: one metadata request, shared by both opens below
    with framepipe.VideoFile(source) as video:
        m = video.metadata
        keys = np.asarray(m.keyframe_indices)
        gaps = np.diff(keys) if len(keys) > 1 else np.array([m.num_frames])
        with source.open() as opened:
            streams: list[dict] = [
                dict(
                    index=s.index,
                    type=stream_kind(s),
                    codec=s.codec_context.name if s.codec_context else None,
                    **(
                        {"width": s.codec_context.width, "height": s.codec_context.height}  # type: ignore[attr-defined]
                        if stream_kind(s) == "video"
                        else {}
                    ),
                )
                for s in opened.container.streams
            ]
        return dict(
            path=m.path,
            codec=m.codec,
            width=m.width,
            height=m.height,
            coded_width=m.coded_width,
            coded_height=m.coded_height,
            rotation=m.rotation,
            display_transform=m.display_transform,
            pixel_format=m.pixel_format,
            num_frames=m.num_frames,
            header_num_frames=m.header_num_frames,
            average_fps=round(m.average_fps, 4),
            nominal_fps=None if m.nominal_fps is None else round(m.nominal_fps, 4),
            duration_seconds=round(m.duration_seconds, 4),
            start_seconds=round(m.start_seconds, 4),
            keyframes=len(keys),
            keyframe_spacing_frames=dict(
                mean=round(float(gaps.mean()), 2), min=int(gaps.min()), max=int(gaps.max())
            ),
            variable_frame_rate=bool(m.is_variable_frame_rate),
            truncated=bool(m.truncated),
            video_stream=m.stream_index,
            index_mode=m.index_mode,
            streams=streams,
        )


@cli.command(short_help="Codec, size, fps, exact frame count, keyframes, VFR, streams.")
@click.argument("videos", nargs=-1, required=True)
@common_options()
def probe(videos: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """What each VIDEO (a path or URL) really is: codec, size, fps, exact frame count, keyframes, VFR,
    streams."""
    import framepipe

    results, failed = [], 0
    for v in videos:  # one bad file is reported and the others still are
        try:
            results.append(_probe_one(v))
        except (framepipe.VideoError, OSError, ValueError) as exc:
            if (click.get_current_context().obj or {}).get("debug"):
                raise
            failed += 1
            results.append(dict(path=v, error=str(exc).strip().splitlines()[0]))
    if as_json:
        echo_json(results if len(results) > 1 else results[0])
    else:
        _print_probe(results)
    if failed:
        raise SystemExit(1)


def _print_probe(results: list[dict]) -> None:
    for r in results:
        if "error" in r:  # once, on stderr, naming the file (the others still print their facts)
            message = r["error"] if r["path"] in r["error"] else f"{r['path']}: {r['error']}"
            click.echo(f"Error: {message}", err=True)
            continue
        k = r["keyframe_spacing_frames"]
        size = f"{r['width']}x{r['height']}"
        if r["display_transform"]:  # as the ffmpeg CLI shows it; the stored picture is turned
            size += (
                f" (stored {r['coded_width']}x{r['coded_height']}, turned {r['rotation']} degrees "
                f"clockwise for display: {r['display_transform']})"
            )
        rows = [
            ("codec", f"{r['codec']} ({r['pixel_format']})"),
            ("size", size),
            (
                "fps",
                f"{r['average_fps']:g} average, "
                f"{'unknown' if r['nominal_fps'] is None else format(r['nominal_fps'], 'g')} nominal",
            ),
            ("frames", f"{r['num_frames']} (exact; the header says {r['header_num_frames'] or 'nothing'})"),
            *(
                [("truncated", "yes: the file is cut off; the frames counted are those before the cut")]
                if r["truncated"]
                else []
            ),
            ("duration", f"{r['duration_seconds']:g} s from {r['start_seconds']:g} s"),
            ("keyframes", f"{r['keyframes']}, every {k['mean']:g} frames (min {k['min']}, max {k['max']})"),
            ("variable fps", "yes" if r["variable_frame_rate"] else "no"),
            (
                "streams",
                "; ".join(
                    f"#{s['index']} {s['type']} {s['codec'] or '?'}"
                    + (f" {s['width']}x{s['height']}" if s["type"] == "video" else "")
                    + (" (read)" if s["index"] == r["video_stream"] else "")
                    for s in r["streams"]
                ),
            ),
        ]
        click.echo(r["path"])
        for key, value in rows:
            click.echo(f"  {key:<13}{value}")


@cli.command(short_help="Time framepipe against decord, torchcodec and OpenCV.")
@click.option(
    "--seconds",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Length of the generated 1080p30 test video.",
)
@click.option(
    "--libs",
    default="framepipe,decord,torchcodec,opencv",
    show_default=True,
    help="Libraries to compare (those not installed are reported as such).",
)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    callback=image_path,
    help="Also draw the comparison chart (.png, .jpg or .jpeg).",
)
@click.option(
    "--from",
    "from_json",
    type=click.Path(exists=True, dir_okay=False),
    help="Do not run: print and plot the results saved with --save.",
)
@click.option("--save", type=click.Path(dir_okay=False), help="Save the results as JSON.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where the generated video is kept.")
@common_options()
def bench(seconds, libs, plot_path, from_json, save, data_dir, quiet, as_json) -> None:
    """Run the core benchmark (framepipe against decord, torchcodec and OpenCV), print the table and chart."""
    from framepipe.tools import benchmark

    names = [lib for lib in libs.split(",") if lib]
    unknown = [lib for lib in names if lib not in benchmark.LIBS]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(unknown)}; choose from {', '.join(benchmark.LIBS)}", param_hint="--libs"
        )
    if from_json:
        rows = _saved_results(from_json)
    else:
        with (
            progress(None, quiet=quiet, unit="frame", desc="making the test video") as making_bar,
            progress(1 + len(benchmark.TASKS) * len(names), quiet=quiet, unit="task", desc="tasks") as bar,
        ):

            def making(done, total):
                making_bar.total = total
                making_bar.update(done - making_bar.n)

            def step(done, total, label):
                bar.set_postfix_str(label)
                bar.update(1)

            rows = benchmark.run(
                seconds, names, data_dir=data_dir or benchmark.DATA_DIR, progress=step, making=making
            )
    if save:
        with open(save, "w") as fh:
            json.dump(rows, fh, indent=1)
    if plot_path:
        benchmark.plot(rows, plot_path)
    if as_json:
        echo_json(rows)
    else:
        click.echo(benchmark.table(rows, [lib for lib in names if any(r["lib"] == lib for r in rows)]))
        if plot_path and not quiet:
            click.echo(f"chart: {os.path.abspath(plot_path)}", err=True)


def _saved_results(path: str) -> list[dict]:
    """The rows ``bench --save`` wrote, or a one-line error naming the file."""
    try:
        with open(path) as fh:
            rows = json.load(fh)
    except UnicodeDecodeError:
        raise click.ClickException(f"{path}: not a results file saved with --save (not text)") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path}: not a results file saved with --save (not JSON: {exc.msg} at line {exc.lineno})"
        ) from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "lib" in r for r in rows):
        raise click.ClickException(f"{path}: not a results file saved with --save (no rows of results)")
    return rows


cli.add_command(extract)
cli.add_command(clips)
cli.add_command(capture)
cli.add_command(preview)
cli.add_command(index)

if __name__ == "__main__":
    sys.exit(cli())
