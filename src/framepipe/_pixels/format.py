"""The implementation of :mod:`framepipe.format`, whose docstrings are the documentation."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

import av
import numpy as np

from .._source.display import Display
from .._util.checks import check_choice, check_int
from .._util.choices import (
    ARRAYS,
    CLIP_LAYOUTS,
    FRAME_LAYOUTS,
    RESIZE,
    ROTATIONS,
    ArrayKind,
    ClipLayout,
    Color,
    FrameLayout,
    Interpolation,
    Resize,
    Rotation,
)
from .._util.limits import max_frame_pixels, max_output_bytes
from .convert import Converter, PlanarImage

__all__ = ["FrameFormat", "FormatOptions", "FRAME_LAYOUTS", "CLIP_LAYOUTS"]

_COLORS = {
    "rgb": ("rgb24", 3),
    "bgr": ("bgr24", 3),
    "gray": ("gray", 1),
    "gray10": ("gray10le", 1),
    "gray12": ("gray12le", 1),
    "gray16": ("gray16le", 1),
}
# the high-bit-depth grays (depth cameras): values of this many bits, held in uint16
_GRAY_BITS = {"gray10": 10, "gray12": 12, "gray16": 16}
_THREADED_PIXELS = 1280 * 720  # from here on libswscale's own threads pay off (see FrameFormat.convert)
_INTERP = {
    "area": "AREA",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "fast_bilinear": "FAST_BILINEAR",
    "point": "POINT",
    "lanczos": "LANCZOS",
}
# axis order that takes an (H, W, C) frame or a (T, H, W, C) clip to each layout (without the batch axis N)
_FRAME_AXES = {"NHWC": (0, 1, 2), "NCHW": (2, 0, 1)}
_CLIP_AXES = {"NTHWC": (0, 1, 2, 3), "NTCHW": (0, 3, 1, 2), "NCTHW": (3, 0, 1, 2)}


class FormatOptions(TypedDict, total=False):
    """The output options as keywords (what ``**format_options`` takes); see :class:`FrameFormat`."""

    size: tuple[int, int] | int | None
    resize: str
    color: str
    dtype: str
    layout: str
    interpolation: str
    mean: float | Sequence[float] | None
    std: float | Sequence[float] | None
    array: str
    rotation: str
    max_bytes: int | None
    max_frame_pixels: int | None


def _channel_stats(name: str, value, channels: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float32).reshape(-1)
    if arr.size not in (1, channels) or not np.isfinite(arr).all():
        raise ValueError(
            f"{name} must be one number or {channels} finite numbers (one per channel), got {value!r}"
        )
    if name == "std" and (arr == 0).any():
        raise ValueError(f"std must not contain 0, got {value!r}")
    return tuple(float(v) for v in arr)


def _size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
    ):
        raise ValueError(f"size must be (height, width) as two positive ints, got {size!r}")
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"size must be positive (height, width), got {tuple(size)!r}")
    return int(size[0]), int(size[1])


@dataclass(frozen=True)
class FrameFormat:
    """Output options, checked when made; shared by every call of a reader and passed on by the adapters.

    Args:
        size: output ``(height, width)``; an int means a square; None keeps the video's own size.
        resize: ``"stretch"`` to ``size``; ``"shorter_side"`` scales to cover ``size`` and cuts the centre;
            ``"letterbox"`` scales to fit inside ``size`` and pads with black.
        color: ``"rgb"``, ``"bgr"`` or ``"gray"`` (one channel); ``"gray10"``, ``"gray12"`` or ``"gray16"``
            for high-bit-depth video such as depth cameras: one channel of 10, 12 or 16-bit values, as
            FFmpeg's ``gray10le``/``gray12le``/``gray16le`` give them (needs ``dtype="uint16"`` or
            ``"float32"``).
        dtype: ``"uint8"``, ``"uint16"`` (the high-bit grays only), or ``"float32"`` scaled to [0, 1] (by
            ``2**bits - 1``), then ``(x - mean) / std`` per channel if given.
        layout: ``"NHWC"`` or ``"NCHW"`` for frames; clips insert T (``"NTHWC"``, ``"NTCHW"``). A clip
            layout (``"NCTHW"`` too) may be given instead, and frames then use the matching frame layout.
        interpolation: libswscale filter used for resizing: ``"area"`` (default), ``"bilinear"``,
            ``"bicubic"``, ``"lanczos"``, ``"fast_bilinear"`` or ``"point"``.
        mean: per-channel mean subtracted after scaling to [0, 1] (needs ``dtype="float32"``).
        std: per-channel divisor applied after ``mean`` (needs ``dtype="float32"``).
        array: ``"numpy"`` (default) or ``"torch"``: results hold ``torch.Tensor`` s that share the
            output's memory (no copy in any layout; the same as calling ``to_torch()`` on a result).
        rotation: ``"auto"`` (default) turns frames upright by the video's display matrix (rotation and
            flips), as the ffmpeg CLI does, before ``size`` applies; ``"ignore"`` returns them as stored.
        max_bytes: the most bytes one call may allocate for its output; a call for more raises
            :class:`~framepipe.TooLargeError` before decoding. None: ``framepipe.max_output_bytes()``
            (4 GiB unless set process-wide or by ``$FRAMEPIPE_MAX_OUTPUT_BYTES``).
        max_frame_pixels: the most pixels a video's frames may have, checked at open. None:
            ``framepipe.max_frame_pixels()`` (2**28 unless set, or ``$FRAMEPIPE_MAX_FRAME_PIXELS``).

    Raises:
        ValueError: an option is out of range; the message names it.
    """

    size: tuple[int, int] | None = None
    resize: Resize = "stretch"
    color: Color = "rgb"
    dtype: str = "uint8"
    layout: FrameLayout | ClipLayout = "NHWC"
    interpolation: Interpolation = "area"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    array: ArrayKind = "numpy"
    rotation: Rotation = "auto"
    max_bytes: int | None = None
    max_frame_pixels: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "size", _size(self.size))
        check_choice("resize", self.resize, RESIZE)
        check_choice("color", self.color, tuple(_COLORS))
        dtype = np.dtype(self.dtype).name if isinstance(self.dtype, (type, np.dtype)) else self.dtype
        if dtype not in ("uint8", "uint16", "float32"):
            raise ValueError(f"dtype must be 'uint8', 'uint16' or 'float32', got {self.dtype!r}")
        if (dtype == "uint16") != (self.color in _GRAY_BITS) and dtype != "float32":
            raise ValueError(
                f"color={self.color!r} needs dtype={'uint8' if dtype == 'uint16' else 'uint16'!r} "
                f"or 'float32', got dtype={dtype!r}"
            )
        set_(self, "dtype", dtype)
        check_choice("layout", self.layout, FRAME_LAYOUTS + CLIP_LAYOUTS)
        check_choice("interpolation", self.interpolation, tuple(_INTERP))
        if (self.mean is not None or self.std is not None) and dtype != "float32":
            raise ValueError("mean and std need dtype='float32' (uint8 output cannot hold normalised values)")
        set_(self, "mean", _channel_stats("mean", self.mean, self.channels))
        set_(self, "std", _channel_stats("std", self.std, self.channels))
        check_choice("array", self.array, ARRAYS)
        check_choice("rotation", self.rotation, ROTATIONS)
        check_int("max_bytes", self.max_bytes, minimum=1, allow_none=True)
        check_int("max_frame_pixels", self.max_frame_pixels, minimum=1, allow_none=True)

    def output_limit(self) -> int:
        """The bytes one call may allocate (``max_bytes``, else the process-wide limit)."""
        return self.max_bytes if self.max_bytes is not None else max_output_bytes()

    def frame_pixels_limit(self) -> int:
        """The pixels a frame may have (``max_frame_pixels``, else the process-wide limit)."""
        return self.max_frame_pixels if self.max_frame_pixels is not None else max_frame_pixels()

    def finish(self, result):
        """A result (batch or frame) as the caller asked for it: NumPy as made, or tensors sharing memory."""
        return result.to_torch() if self.array == "torch" else result

    @classmethod
    def from_options(
        cls, frame_format: FrameFormat | None, options: Mapping[str, object], *, caller: str, **defaults
    ) -> FrameFormat:
        """The format a reader or adapter was given: ``frame_format`` with ``options`` over it, or the
        options over the caller's ``defaults`` (``dtype="float32"`` for the training adapters).

        Raises:
            TypeError: ``frame_format`` is not a FrameFormat, or an option is not one of its fields.
        """
        unknown = [name for name in options if name not in _FIELDS]
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        if frame_format is None:
            return cls(**{**defaults, **options})
        if not isinstance(frame_format, FrameFormat):
            raise TypeError(
                f"frame_format must be a framepipe.FrameFormat, got {type(frame_format).__name__}"
            )
        return frame_format.replace(**options) if options else frame_format

    @staticmethod
    def split_options(kwargs: Mapping[str, object]) -> tuple[dict, dict]:
        """(the output options among ``kwargs``, the rest): for adapters whose keywords mix both.

        >>> FrameFormat.split_options({"size": 64, "sampler": "random"})
        ({'size': 64}, {'sampler': 'random'})
        """
        fmt = {k: v for k, v in kwargs.items() if k in _FIELDS}
        return fmt, {k: v for k, v in kwargs.items() if k not in _FIELDS}

    def replace(self, **options) -> FrameFormat:
        """The same options with some changed, checked again (``fmt.replace(layout="NTHWC")``)."""
        return dataclasses.replace(self, **options)

    # --- shapes -------------------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        return _COLORS[self.color][1]

    def frame_hw(self, src_height: int, src_width: int) -> tuple[int, int]:
        return self.size if self.size is not None else (src_height, src_width)

    @property
    def frame_layout(self) -> str:
        """NHWC or NCHW: the layout of frame batches (a clip layout given at open is mapped here)."""
        return "NHWC" if self.layout in ("NHWC", "NTHWC") else "NCHW"

    def clip_layout(self, override: ClipLayout | None = None) -> ClipLayout:
        """The layout of clip batches: ``override`` if given (a clip layout), else from ``layout``."""
        if override is not None:
            return check_choice("layout", override, CLIP_LAYOUTS)
        clip: dict[str, ClipLayout] = {"NHWC": "NTHWC", "NCHW": "NTCHW"}
        return clip.get(self.layout) or self.layout  # type: ignore[return-value]  # a clip layout already

    def frame_shape(self, src_height: int, src_width: int) -> tuple[int, int, int]:
        """Shape of one frame in the frame layout (without N)."""
        h, w = self.frame_hw(src_height, src_width)
        return (h, w, self.channels) if self.frame_layout == "NHWC" else (self.channels, h, w)

    # --- conversion ---------------------------------------------------------------------------------
    def convert(
        self,
        frame,
        converter: Converter,
        *,
        threads: int | None = None,
        display: Display | None = None,
        channels_first: bool = False,
    ) -> np.ndarray | PlanarImage:
        """One decoded ``av.VideoFrame`` -> an (H, W, C) array in the output dtype, or its planes.

        ``converter`` does the colour conversion and scaling (as the ffmpeg CLI converts, for every pixel
        format). ``threads`` are libswscale's; None: one below 720p (starting its threads costs more than
        they save there: 8 us against 55-85 us for a 128x96 frame, the same at 640x480), else automatic.
        ``display`` turns the picture upright first (with ``rotation="auto"``): converted at its own size,
        turned, then resized, as the ffmpeg CLI turns before it scales. ``channels_first``: the frame
        goes into a channel-first layout, so a uint8 picture that needs no resizing or turning may come
        back as a :class:`~framepipe._pixels.convert.PlanarImage` (the same values, as libswscale's planes:
        :meth:`place` copies them where they go, the only copy made).
        """
        fmt = _COLORS[self.color][0]
        interp = _INTERP[self.interpolation]
        if threads is None:
            threads = 1 if frame.width * frame.height < _THREADED_PIXELS else 0
        turn = display is not None and display.transform is not None and self.rotation == "auto"
        if channels_first and self.size is None and not turn:
            planar = converter.to_planar(frame, format=fmt, threads=threads)
            if planar is not None:
                return planar if self.dtype == "uint8" else self._scale(planar.to_chw().transpose(1, 2, 0))
        to_array = functools.partial(converter.to_array, format=fmt, threads=threads)
        if turn:
            assert display is not None
            upright = display.apply(to_array(frame))
            if self.size is None:
                return self._scale(upright)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(upright), format=fmt)
        src_w, src_h = frame.width, frame.height
        if self.size is None:
            img = to_array(frame)
        else:
            out_h, out_w = self.size
            if self.resize == "stretch":
                img = to_array(frame, width=out_w, height=out_h, interpolation=interp)
            else:
                scale = (max if self.resize == "shorter_side" else min)(out_h / src_h, out_w / src_w)
                if self.resize == "shorter_side":  # cover the box, then cut the centre
                    sw, sh = max(out_w, round(src_w * scale)), max(out_h, round(src_h * scale))
                else:  # fit inside the box, then pad
                    sw, sh = (
                        min(out_w, max(1, round(src_w * scale))),
                        min(out_h, max(1, round(src_h * scale))),
                    )
                scaled = to_array(frame, width=sw, height=sh, interpolation=interp)
                if self.resize == "shorter_side":
                    top, left = (sh - out_h) // 2, (sw - out_w) // 2
                    img = scaled[top : top + out_h, left : left + out_w]
                else:
                    img = np.zeros((out_h, out_w) + scaled.shape[2:], dtype=scaled.dtype)
                    top, left = (out_h - sh) // 2, (out_w - sw) // 2
                    img[top : top + sh, left : left + sw] = scaled
        return self._scale(img)

    def _scale(self, img: np.ndarray) -> np.ndarray:
        """A converted (H, W[, C]) image -> (H, W, C) in the output dtype, normalised if asked."""
        if img.ndim == 2:
            img = img[:, :, None]
        if self.dtype == "float32":
            img = img.astype(np.float32) * np.float32(1.0 / ((1 << _GRAY_BITS.get(self.color, 8)) - 1))
            if self.mean is not None:
                img -= np.asarray(self.mean, dtype=np.float32)
            if self.std is not None:
                img /= np.asarray(self.std, dtype=np.float32)
        return img

    # --- layouts: the one place arrays change axis order --------------------------------------------
    @staticmethod
    def arrange(data: np.ndarray, layout: str) -> np.ndarray:
        """An (H, W, C) frame or a (T, H, W, C) clip in ``layout`` (a view: no copy)."""
        axes = (_FRAME_AXES if data.ndim == 3 else _CLIP_AXES)[layout]
        return data.transpose(axes)

    def place(self, img: np.ndarray | PlanarImage, out: np.ndarray, where: tuple, layout: str) -> None:
        """Write one (H, W, C) frame (or its planes) into ``out`` at ``where`` (indices of N, or of N and
        T)."""
        if isinstance(img, PlanarImage):
            if layout == "NCTHW":
                img.write_chw(out[where[0], :, where[1]])
            elif layout in ("NCHW", "NTCHW"):
                img.write_chw(out[where])
            else:
                out[where] = img.to_chw().transpose(1, 2, 0)
        elif layout == "NCTHW":  # channel axis before time: the frame's slot is out[b, :, t]
            b, t = where
            out[b, :, t] = img.transpose(2, 0, 1)
        else:
            out[where] = self.arrange(img, "NHWC" if layout in ("NHWC", "NTHWC") else "NCHW")

    def alloc(self, lead: tuple[int, ...], src_height: int, src_width: int, layout: str) -> np.ndarray:
        """An empty output array for ``lead`` = (N,) or (B, T) frames in ``layout``."""
        h, w = self.frame_hw(src_height, src_width)
        hwc = (h, w, self.channels)
        if layout in _FRAME_AXES:
            shape = lead + tuple(hwc[a] for a in _FRAME_AXES[layout])
        else:  # lead is (B, T): arrange (T, H, W, C) and put B in front
            thwc = (lead[1],) + hwc
            shape = (lead[0],) + tuple(thwc[a] for a in _CLIP_AXES[layout])
        return np.empty(shape, dtype=np.dtype(self.dtype))


_FIELDS = frozenset(f.name for f in dataclasses.fields(FrameFormat))
