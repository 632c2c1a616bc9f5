"""What the commands share: option parsing, frame selection, progress bars, safe output paths, images."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

import click
import numpy as np

from framepipe._util.choices import Snap
from framepipe._util.constants import TIME_TOLERANCE

__all__ = [
    "common_options",
    "parse_size",
    "size_options",
    "selection_options",
    "step_options",
    "resolve_step",
    "Selection",
    "progress",
    "out_file",
    "writable_dir",
    "output_target",
    "save_image",
    "frame_name",
    "echo_json",
    "plural",
    "image_path",
    "IMAGE_SUFFIXES",
]

IMAGE_SUFFIXES = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png"}

_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def _flag(name: str):
    def store(ctx: click.Context, _param, value: bool) -> bool:
        root = ctx.find_root()
        root.obj = root.obj or {}
        root.obj[name] = root.obj.get(name, False) or value
        return value

    return store


def common_options(*, json: bool = True):
    """--quiet, --debug (and --json where the output is data) on a command."""

    def wrap(f):
        f = click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            is_eager=True,
            callback=_flag("debug"),
            help="Show the traceback of a failure.",
        )(f)
        f = click.option("--quiet", "-q", is_flag=True, help="No progress bars or summaries.")(f)
        if json:
            f = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(f)
        return f

    return wrap


def parse_size(_ctx, param, value: str | None) -> tuple[int, int] | None:
    """'224x160' (WIDTHxHEIGHT) -> (height, width); '224' -> a square, as the API's ``size=224``."""
    if value is None:
        return None
    if value.strip().isdigit():
        w = h = int(value)
    else:
        m = _SIZE.match(value)
        if not m:
            raise click.BadParameter(
                f"{value!r} is not WIDTHxHEIGHT or one number, e.g. 224x160 or 224", param=param
            )
        w, h = int(m.group(1)), int(m.group(2))
    if w <= 0 or h <= 0:
        raise click.BadParameter(f"{value!r}: width and height must be positive", param=param)
    return h, w


def size_options(f):
    """--size WIDTHxHEIGHT and --resize, as framepipe.open takes them."""
    f = click.option(
        "--resize",
        type=click.Choice(["stretch", "shorter_side", "letterbox"]),
        default="stretch",
        show_default=True,
        help="How --size is reached: stretch; shorter_side (cover, cut the "
        "centre); letterbox (fit, pad black).",
    )(f)
    f = click.option(
        "--size",
        callback=parse_size,
        help="Output WIDTHxHEIGHT (ffmpeg's order: width first; the API's size= is (height, width)), "
        "e.g. 224x160, or one number for a square (default: as stored).",
    )(f)
    return f


def image_path(_ctx, param, value: str | None) -> str | None:
    """An image file to write (a chart, a sheet): ``.png``, ``.jpg`` or ``.jpeg``, as its name says."""
    if value is not None and os.path.splitext(value)[1].lower() not in IMAGE_SUFFIXES:
        raise click.BadParameter(
            f"{value!r}: name the image .png, .jpg or .jpeg (its type follows the name)", param=param
        )
    return value


def plural(n: int, word: str) -> str:
    """``plural(1, "frame")`` -> "1 frame", ``plural(3, "frame")`` -> "3 frames"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _numbers(kind):
    def parse(_ctx, param, value):
        if value is None:
            return None
        try:
            out = [kind(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise click.BadParameter(
                f"{value!r} is not a comma-separated list of {kind.__name__}s", param=param
            ) from None
        if not out:
            raise click.BadParameter(f"{value!r}: give one or more numbers", param=param)
        # frame numbers may be negative (-1 is the last frame, as in the API); times may not
        if kind is float and (any(v < 0 for v in out) or not all(np.isfinite(out))):
            raise click.BadParameter(f"{value!r}: give one or more times >= 0 (seconds)", param=param)
        return out

    return parse


def _every(_ctx, param, value):
    if value is None:
        return None
    text = value.strip().lower()
    try:
        number = float(text[:-1]) if text.endswith("s") else int(text)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither seconds ('2s') nor a frame count ('30')", param=param
        ) from None
    if not np.isfinite(number) or number <= 0:
        raise click.BadParameter(f"{value!r} must be positive", param=param)
    return ("seconds", float(number)) if text.endswith("s") else ("frames", int(number))


def step_options(f):
    """--step (frames between the frames of a clip) and its deprecated older name --sampling-rate."""
    f = click.option(
        "--sampling-rate", type=click.IntRange(min=1), help="Deprecated: the older name of --step."
    )(f)
    f = click.option(
        "--step",
        type=click.IntRange(min=1),
        help="Frames between the frames of a clip (every N-th frame)  [default: 1]",
    )(f)
    return f


def resolve_step(step: int | None, sampling_rate: int | None) -> int:
    """The --step given, or the deprecated --sampling-rate (with a note on stderr that names --step)."""
    if sampling_rate is not None:
        if step is not None:
            raise click.UsageError("--sampling-rate is the older name of --step: give only --step")
        click.echo("framepipe: --sampling-rate is deprecated: use --step", err=True)
        return sampling_rate
    return 1 if step is None else step


def selection_options(f):
    """--frames / --times / --every / --fps with --start / --end."""
    f = click.option("--end", type=click.FloatRange(min=0), help="Stop at this time (seconds).")(f)
    f = click.option("--start", type=click.FloatRange(min=0), help="Start at this time (seconds).")(f)
    f = click.option(
        "--fps", type=click.FloatRange(min=0, min_open=True), help="Frames per second, by timestamp."
    )(f)
    f = click.option(
        "--every", callback=_every, help="'2s': a frame every 2 seconds; '30': every 30th frame."
    )(f)
    f = click.option("--times", callback=_numbers(float), help="Times in seconds: 1,3.5,6.")(f)
    f = click.option(
        "--frames", callback=_numbers(int), help="Frame indices: 5,20,45 (-1 is the last frame)."
    )(f)
    return f


@dataclass
class Selection:
    """Which frames: by index (``indices``) or by time (``times``)."""

    indices: list[int] | None = None
    times: list[float] | None = None
    #: the indices are keyframes, each read alone (snap="keyframe", --keyframes)
    keyframes: bool = False
    #: with snap="keyframe": the time each keyframe answers
    requested: list[float] | None = None
    #: the indices are the frame grid of --fps / --every Ns (each frame once)
    grid: bool = False

    @property
    def items(self) -> list:
        """The indices or the times, whichever selects."""
        return self.indices if self.indices is not None else (self.times or [])

    def __len__(self) -> int:
        return len(self.items)

    def snapped(self, video) -> Selection:
        """This selection by time turned into the keyframes nearest its times (``--snap keyframe``)."""
        from framepipe.sampling import keyframes_at_times

        if self.keyframes:  # the grid, snapped as it was made
            return self
        if self.times is None:
            raise click.UsageError("--snap keyframe samples by time: give --times, --every Ns or --fps")
        ix_keys = video.metadata.keyframe_indices
        frames, asked = keyframes_at_times(video.pts_seconds, video.metadata.end_seconds, ix_keys, self.times)
        return Selection(indices=frames.tolist(), keyframes=True, requested=asked.tolist())

    @classmethod
    def keyframes_between(cls, video, *, start=None, end=None) -> Selection:
        """Every keyframe from --start to --end (``--keyframes``)."""
        meta = video.metadata
        lo = meta.start_seconds if start is None else start
        hi = meta.end_seconds if end is None else end
        keys = np.asarray(meta.keyframe_indices)
        pts = video.pts_seconds[keys] if len(keys) else np.zeros(0)
        chosen = keys[(pts >= lo - TIME_TOLERANCE) & (pts < hi - TIME_TOLERANCE)]
        return cls(indices=chosen.tolist(), keyframes=True)

    @classmethod
    def build(
        cls,
        video,
        *,
        frames=None,
        times=None,
        every=None,
        fps=None,
        start=None,
        end=None,
        default: int | None = None,
        snap: Snap = "exact",
    ) -> Selection:
        """The frames the flags select. ``--every Ns`` and ``--fps`` are the frame grid, each frame once
        (:class:`~framepipe._sampling.request.FrameSampling`, as ``iter_frames(fps=)`` and
        ``read_frames(fps=)``); with ``snap="keyframe"`` the keyframes nearest the grid's ticks."""
        given = [
            n for n, v in (("--frames", frames), ("--times", times), ("--every", every), ("--fps", fps)) if v
        ]
        if len(given) > 1:
            raise click.UsageError(
                f"give only one of --frames, --times, --every, --fps (got {', '.join(given)})"
            )
        if not given and default is None:
            raise click.UsageError("give one of --frames, --times, --every, --fps or --keyframes")
        meta = video.metadata
        lo = meta.start_seconds if start is None else start
        hi = meta.end_seconds if end is None else end
        if hi <= lo:
            raise click.UsageError(f"--end ({hi:g}) must be after --start ({lo:g})")
        n = meta.num_frames
        if frames:
            bad = [i for i in frames if not -n <= i < n]
            if bad:
                raise click.ClickException(
                    f"{meta.path}: frame {bad[0]} is past the end (the video has "
                    f"{plural(n, 'frame')}, 0..{n - 1}, or -{n}..-1 from the end)"
                )
            return cls(indices=[i % n for i in frames])
        if times:
            bad = [t for t in times if not meta.start_seconds - TIME_TOLERANCE <= t < meta.end_seconds]
            if bad:
                raise click.ClickException(
                    f"{meta.path}: time {bad[0]:g} s is past the end (the video's frames "
                    f"cover {meta.start_seconds:g} to {meta.end_seconds:g} s)"
                )
            return cls(times=list(times))
        first, last = np.searchsorted(video.pts_seconds, [lo - TIME_TOLERANCE, hi - TIME_TOLERANCE]).tolist()
        if every and every[0] == "frames" or not given:
            step = every[1] if every else max(1, (last - first) // default)
            indices = list(range(first, last, step))
            return cls(indices=indices[:default] if not given else indices)
        # the frame grid: the one rule of every door (each frame once; see FrameSampling)
        from framepipe._sampling.request import FrameSampling

        grid = FrameSampling(fps=1.0 / every[1] if every else fps, snap=snap)
        picked, asked = grid.frames(
            video.pts_seconds,
            meta.end_seconds,
            start=first,
            stop=last,
            keyframes=np.asarray(meta.keyframe_indices),
        )
        if snap == "keyframe":
            return cls(
                indices=picked.tolist(),
                keyframes=True,
                requested=[] if asked is None else asked.tolist(),
            )
        return cls(indices=picked.tolist(), grid=True)


def progress(total: int | None, *, quiet: bool, unit: str = "frame", desc: str | None = None):
    """A tqdm bar on stderr that only appears if the work lasts over a second, and only on a terminal
    (a log file or a pipe gets no cursor escape codes)."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit=f" {unit}s",  # "3 frames [00:01, 2.99 frames/s]"
        desc=desc,
        disable=True if quiet else None,  # None: tqdm's own check, off where stderr is not a terminal
        delay=1.0,
        file=sys.stderr,
        leave=False,
    )


def writable_dir(path: str) -> str:
    """Create ``path`` if needed and make sure files can be written in it."""
    path = os.path.abspath(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot create the output folder ({exc.strerror})") from None
    if not os.path.isdir(path):
        raise click.ClickException(f"{path}: is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise click.ClickException(f"{path}: the output folder is not writable")
    return path


def output_target(out: str, *, count: int, files: tuple[str, ...]) -> tuple[str, str | None]:
    """What ``--out`` names: ("dir", None) for a folder, or ("file", suffix) for one output file.

    A name ending in one of ``files`` (".npz", ".jpg", ...) is that file; an existing folder, or a name with
    no suffix, is a folder. Anything else is refused rather than made into a folder of that name. An image
    file holds one frame, so it needs ``count == 1``.
    """
    suffix = os.path.splitext(out)[1].lower()
    if suffix in files:
        if suffix in IMAGE_SUFFIXES and count != 1:
            raise click.UsageError(
                f"--out {out} is one image, but {plural(count, 'frame')} are selected; "
                f"give a folder (or FILE.npz) for several"
            )
        return "file", suffix
    if os.path.isdir(out) or not suffix:
        return "dir", None
    raise click.UsageError(
        f"--out {out}: not a folder, and {suffix!r} is not an output type here "
        f"({', '.join(files)}); give a folder name without a suffix, or one of those"
    )


def out_file(folder: str, name: str, *, overwrite: bool) -> str:
    """``folder/name``, refusing names that would land outside ``folder`` or overwrite a file."""
    target = os.path.realpath(os.path.join(folder, name))
    if os.path.commonpath([os.path.realpath(folder), target]) != os.path.realpath(folder) or os.sep in name:
        raise click.ClickException(f"{name!r}: refusing to write outside {folder}")
    if os.path.exists(target) and not overwrite:
        raise click.ClickException(f"{target}: already exists (pass --overwrite to replace it)")
    return target


def save_image(img: np.ndarray, path: str, *, fmt: str, quality: int, color: str) -> None:
    """Write one HWC uint8 frame as JPEG/PNG (BGR frames are stored as RGB: image files are RGB),
    atomically."""
    from PIL import Image

    if color == "bgr":
        img = img[..., ::-1]
    pil = Image.fromarray(np.ascontiguousarray(img[..., 0] if img.shape[-1] == 1 else img))
    tmp = path + ".part"
    try:
        pil.save(
            tmp, format="JPEG" if fmt == "jpg" else "PNG", **({"quality": quality} if fmt == "jpg" else {})
        )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def frame_name(index: int, seconds: float, fmt: str) -> str:
    """Image file name for a frame: its index and time, nothing from the input's name."""
    return f"frame_{index:06d}_{seconds:010.3f}s.{fmt}"


def echo_json(data) -> None:
    import json

    click.echo(json.dumps(data, indent=1))
