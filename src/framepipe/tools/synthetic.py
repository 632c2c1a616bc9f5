"""Synthetic videos whose every frame shows its own index, for tests, demos and benchmarks.

The index is drawn as a 4x4 grid of black/white blocks (16 bits, so up to 65 535 frames) filling the
central square of the frame. Blocks are a quarter of the shorter side, so the pattern survives lossy
codecs, downscaling, and a centre crop to a square. Left and right margins (landscape frames) carry a red
and a blue bar so a test can tell RGB from BGR, and a moving gradient gives the codec real motion.

>>> from framepipe.tools.synthetic import draw_frame, read_index
>>> read_index(draw_frame(1234, height=96, width=160))
1234
"""

from __future__ import annotations

import fractions
import functools
import os
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["draw_frame", "read_index", "pattern_box", "make_video", "cut_with_edit_list", "loop_video"]

_BITS = 16
_GRID = 4


def pattern_box(height: int, width: int) -> tuple[float, float, float, float]:
    """Where the grid lies in a ``height`` x ``width`` frame: (top, left, bottom, right) as fractions."""
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    side = (side // _GRID) * _GRID
    return top / height, left / width, (top + side) / height, (left + side) / width


@functools.lru_cache(maxsize=4)
def _gradient(height: int, width: int) -> np.ndarray:
    y = np.arange(height + 160, dtype=np.int32)[:, None]
    x = np.arange(width, dtype=np.int32)[None, :]
    return ((x * 2 + y) % 160 + 48).astype(np.uint8)


def draw_frame(index: int, *, height: int, width: int) -> np.ndarray:
    """An RGB uint8 frame showing ``index`` (0 <= index < 65536) as a 4x4 block pattern."""
    if not 0 <= index < 2**_BITS:
        raise ValueError(f"index must be in [0, {2**_BITS}), got {index}")
    # moving diagonal gradient in the mid-grey range: rows of one precomputed, taller gradient, shifted
    # by 3 rows a frame, so large frames cost a copy rather than per-pixel arithmetic
    shift = (index * 3) % 160
    img = np.repeat(_gradient(height, width)[shift : shift + height, :, None], 3, axis=2)
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    cell = side // _GRID
    for bit in range(_BITS):
        row, col = divmod(bit, _GRID)
        img[top + row * cell : top + (row + 1) * cell, left + col * cell : left + (col + 1) * cell] = (
            255 if (index >> bit) & 1 else 0
        )
    if left > 0:  # colour bars tell RGB from BGR
        img[:, : left // 2] = (220, 30, 30)
        img[:, width - left // 2 :] = (30, 30, 220)
    return img


def read_index(frame: np.ndarray, *, box: Sequence[float] | None = None, layout: str = "HWC") -> int:
    """Decode the index drawn by :func:`draw_frame` from a frame (uint8 or float in [0, 1]).

    ``box`` is (top, left, bottom, right), the fractions of ``frame`` the grid occupies; by default the
    central square, as :func:`draw_frame` places it on an unresized frame.
    """
    img = np.asarray(frame)
    if layout == "CHW":
        img = np.moveaxis(img, 0, -1)
    if img.ndim == 3:
        img = img.mean(axis=2)
    img = img.astype(np.float32)
    if img.max() <= 1.0 + 1e-6:
        img = img * 255.0
    h, w = img.shape
    top, left, bottom, right = pattern_box(h, w) if box is None else box
    ch = (bottom - top) * h / _GRID
    cw = (right - left) * w / _GRID
    value = 0
    for bit in range(_BITS):
        row, col = divmod(bit, _GRID)
        # sample the middle half of each block: edges blur under compression and resizing
        y0 = int(round(top * h + (row + 0.25) * ch))
        y1 = max(int(round(top * h + (row + 0.75) * ch)), y0 + 1)
        x0 = int(round(left * w + (col + 0.25) * cw))
        x1 = max(int(round(left * w + (col + 0.75) * cw)), x0 + 1)
        if img[y0:y1, x0:x1].mean() > 128:
            value |= 1 << bit
    return value


def make_video(
    path: str | os.PathLike[str],
    *,
    num_frames: int,
    codec: str = "libx264",
    width: int = 160,
    height: int = 96,
    fps: int = 25,
    pix_fmt: str = "yuv420p",
    gop: int | None = 12,
    bframes: int | None = None,
    options: Mapping[str, str] | None = None,
    container_format: str | None = None,
    container_options: Mapping[str, str] | None = None,
    timestamps_ms: Sequence[int] | None = None,
    threads: int = 0,
    on_frame=None,
    noise: int = 0,
    index_offset: int = 0,
) -> str:
    """Encode ``num_frames`` frames showing their index with PyAV's bundled encoders; returns ``path``.

    ``options`` go to the encoder, ``container_options`` to the muxer (e.g. ``{"movflags": "faststart"}``).
    ``timestamps_ms`` gives each frame's presentation time in milliseconds (for variable frame rate);
    otherwise frames are ``1/fps`` apart. ``on_frame(done, total)`` is called after each frame (progress).
    ``noise`` adds seeded uniform noise of that amplitude to every pixel, so that files have the bitrate of
    real footage (the index pattern still reads back: noise averages out over a block).
    ``index_offset``: frame i shows ``index_offset + i`` (videos told apart by their pixels, e.g. 1000 *
    video + frame).

    >>> import tempfile, os
    >>> p = make_video(os.path.join(tempfile.mkdtemp(), "demo.mp4"), num_frames=10)
    """
    import av  # core dependency; imported here so `read_index` works without touching FFmpeg

    path = os.fspath(path)
    opts = dict(options or {})
    if gop is not None and codec not in ("mjpeg",):
        opts.setdefault("g", str(gop))
    if codec == "libx265":
        params = "log-level=error"
        if gop is not None:
            params += f":keyint={gop}"
        if bframes is not None:
            params += f":bframes={bframes}"
        opts["x265-params"] = params + (":" + opts["x265-params"] if "x265-params" in opts else "")
    elif bframes is not None and codec == "libx264":
        opts.setdefault("bf", str(bframes))
    if codec == "libsvtav1":
        opts.setdefault("svtav1-params", "lp=2")
    with av.open(path, "w", format=container_format, options=dict(container_options or {})) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = opts
        stream.codec_context.thread_count = threads
        if bframes is not None and codec not in ("libx264", "libx265"):
            stream.codec_context.max_b_frames = bframes
        if timestamps_ms is not None:
            if len(timestamps_ms) != num_frames:
                raise ValueError("timestamps_ms must have num_frames entries")
            tb = fractions.Fraction(1, 1000)
            stream.codec_context.time_base = tb
            stream.time_base = tb
        rng = np.random.default_rng(0)
        for i in range(num_frames):
            img = draw_frame(index_offset + i, height=height, width=width)
            if noise:
                grain = rng.integers(-noise, noise + 1, size=img.shape[:2], dtype=np.int16)[:, :, None]
                img = np.clip(img.astype(np.int16) + grain, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if timestamps_ms is not None:
                frame.pts = int(timestamps_ms[i])
                frame.time_base = fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
            if on_frame is not None:
                on_frame(i + 1, num_frames)
        for packet in stream.encode():
            out.mux(packet)
    return path


def cut_with_edit_list(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    start_seconds: float,
    duration_seconds: float | None = None,
) -> str:
    """Copy ``src`` from ``start_seconds`` on without re-encoding, as ``ffmpeg -ss S [-t D] -i src -c copy
    dst``
    (with ``duration_seconds``: until decode time reaches D seconds after the cut).

    Packets from the keyframe before the cut are kept (they are needed to decode) but shifted to negative
    time, so the MP4 muxer writes an edit list that hides them: a reader must decode them, not show them.
    """
    import av

    with av.open(os.fspath(src)) as inp, av.open(os.fspath(dst), "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        offset = int(round(start_seconds / ist.time_base))
        stop = None if duration_seconds is None else offset + int(round(duration_seconds / ist.time_base))
        inp.seek(offset, stream=ist, backward=True)
        for packet in inp.demux(ist):
            if packet.dts is None:
                continue
            if stop is not None and packet.dts >= stop:
                break
            packet.pts -= offset
            packet.dts -= offset
            packet.stream = ost
            out.mux(packet)
    return os.fspath(dst)


def loop_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, times: int) -> str:
    """``src`` played ``times`` times in a row, without re-encoding (frame ``i`` shows ``i % len(src)``).

    Long test videos at a real bitrate take long to encode; looping a short one takes seconds. ``src`` must
    start on a keyframe and end with its GOP (as :func:`make_video` writes them).
    """
    import av

    with av.open(os.fspath(src)) as inp:
        ist = inp.streams.video[0]
        packets = [(p.pts, p.dts, p.is_keyframe, bytes(p), p.duration) for p in inp.demux(ist) if p.size]
        last = max(pts for pts, *_ in packets)
        step = max(d for *_, d in packets) or 1
        period = last + step - min(pts for pts, *_ in packets)
        with av.open(os.fspath(dst), "w") as out:
            ost = out.add_stream_from_template(ist)
            for k in range(times):
                for pts, dts, key, data, duration in packets:
                    packet = av.Packet(data)
                    packet.pts, packet.dts = pts + k * period, dts + k * period
                    packet.is_keyframe, packet.duration = key, duration
                    packet.time_base, packet.stream = ist.time_base, ost
                    out.mux(packet)
    return os.fspath(dst)
