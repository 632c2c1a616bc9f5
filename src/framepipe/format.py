"""Format stage: turn decoded frames into arrays of the size, colour, dtype and layout asked for.

Resizing and colour conversion happen in one libswscale call per frame (one cached context per reader).
The default interpolation is ``"area"``: on downscaling it averages every source pixel, so it does not
alias, and at 1080p -> 224x224 it costs about 0.5 ms a frame (bilinear 0.7 ms, bicubic 1.2 ms, measured
on this project's 2-core CI machine); ``"bilinear"``, ``"bicubic"``, ``"fast_bilinear"``, ``"point"`` and
``"lanczos"`` are there too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["FrameFormat", "FRAME_LAYOUTS", "CLIP_LAYOUTS"]

FRAME_LAYOUTS = ("NHWC", "NCHW")
CLIP_LAYOUTS = ("NTHWC", "NTCHW", "NCTHW")
_RESIZE = ("stretch", "shorter_side", "letterbox")
_COLORS = {"rgb": ("rgb24", 3), "bgr": ("bgr24", 3), "gray": ("gray", 1)}
_INTERP = {"area": "AREA", "bilinear": "BILINEAR", "bicubic": "BICUBIC", "fast_bilinear": "FAST_BILINEAR",
           "point": "POINT", "lanczos": "LANCZOS"}


def _channel_stats(name: str, value: float | Sequence[float] | None, channels: int) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=np.float32).reshape(-1)
    if arr.size not in (1, channels) or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be one number or {channels} finite numbers (one per channel), got {value!r}")
    if name == "std" and (arr == 0).any():
        raise ValueError(f"std must not contain 0, got {value!r}")
    return arr


@dataclass(frozen=True)
class FrameFormat:
    """Validated output options, shared by every call of one reader."""

    size: tuple[int, int] | None = None
    resize: str = "stretch"
    color: str = "rgb"
    dtype: str = "uint8"
    layout: str = "NHWC"
    interpolation: str = "area"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @classmethod
    def create(cls, *, size=None, resize="stretch", color="rgb", dtype="uint8", layout="NHWC",
               interpolation="area", mean=None, std=None) -> FrameFormat:
        """Check every option and raise an error that names the one that is wrong."""
        if size is not None:
            if isinstance(size, int) and not isinstance(size, bool):
                size = (size, size)
            if (not isinstance(size, (tuple, list)) or len(size) != 2
                    or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)):
                raise ValueError(f"size must be (height, width) as two positive ints, got {size!r}")
            if size[0] <= 0 or size[1] <= 0:
                raise ValueError(f"size must be positive (height, width), got {tuple(size)!r}")
            size = (int(size[0]), int(size[1]))
        if resize not in _RESIZE:
            raise ValueError(f"resize must be one of {', '.join(_RESIZE)}; got {resize!r}")
        if color not in _COLORS:
            raise ValueError(f"color must be one of {', '.join(_COLORS)}; got {color!r}")
        dtype = np.dtype(dtype).name if isinstance(dtype, type) or isinstance(dtype, np.dtype) else dtype
        if dtype not in ("uint8", "float32"):
            raise ValueError(f"dtype must be 'uint8' or 'float32', got {dtype!r}")
        if layout not in FRAME_LAYOUTS + CLIP_LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(FRAME_LAYOUTS + CLIP_LAYOUTS)}; got {layout!r}")
        if interpolation not in _INTERP:
            raise ValueError(f"interpolation must be one of {', '.join(_INTERP)}; got {interpolation!r}")
        channels = _COLORS[color][1]
        if (mean is not None or std is not None) and dtype != "float32":
            raise ValueError("mean and std need dtype='float32' (uint8 output cannot hold normalised values)")
        m = _channel_stats("mean", mean, channels)
        s = _channel_stats("std", std, channels)
        return cls(size, resize, color, dtype, layout, interpolation,
                   None if m is None else tuple(float(v) for v in m),
                   None if s is None else tuple(float(v) for v in s))

    def replace(self, **options) -> FrameFormat:
        """The same options with some changed, checked again (``fmt.replace(layout="NTHWC")``)."""
        return FrameFormat.create(**{**dataclasses.asdict(self), **options})

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

    def clip_layout(self, override: str | None = None) -> str:
        layout = override or self.layout
        if override is not None and override not in CLIP_LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(CLIP_LAYOUTS)}; got {override!r}")
        return {"NHWC": "NTHWC", "NCHW": "NTCHW"}.get(layout, layout)

    def frame_shape(self, src_height: int, src_width: int) -> tuple[int, int, int]:
        """Shape of one frame in the frame layout (without N)."""
        h, w = self.frame_hw(src_height, src_width)
        return (h, w, self.channels) if self.frame_layout == "NHWC" else (self.channels, h, w)

    # --- conversion ---------------------------------------------------------------------------------
    def convert(self, frame, reformatter) -> np.ndarray:
        """One decoded ``av.VideoFrame`` -> an (H, W, C) array in the output dtype."""
        fmt = _COLORS[self.color][0]
        interp = _INTERP[self.interpolation]
        src_w, src_h = frame.width, frame.height
        if self.size is None:
            img = reformatter.reformat(frame, format=fmt).to_ndarray()
        else:
            out_h, out_w = self.size
            if self.resize == "stretch":
                img = reformatter.reformat(frame, width=out_w, height=out_h, format=fmt, interpolation=interp).to_ndarray()
            else:
                scale = (max if self.resize == "shorter_side" else min)(out_h / src_h, out_w / src_w)
                if self.resize == "shorter_side":  # cover the box, then cut the centre
                    sw, sh = max(out_w, round(src_w * scale)), max(out_h, round(src_h * scale))
                else:  # fit inside the box, then pad
                    sw, sh = min(out_w, max(1, round(src_w * scale))), min(out_h, max(1, round(src_h * scale)))
                scaled = reformatter.reformat(frame, width=sw, height=sh, format=fmt, interpolation=interp).to_ndarray()
                if self.resize == "shorter_side":
                    top, left = (sh - out_h) // 2, (sw - out_w) // 2
                    img = scaled[top : top + out_h, left : left + out_w]
                else:
                    img = np.zeros((out_h, out_w) + scaled.shape[2:], dtype=scaled.dtype)
                    top, left = (out_h - sh) // 2, (out_w - sw) // 2
                    img[top : top + sh, left : left + sw] = scaled
        if img.ndim == 2:
            img = img[:, :, None]
        if self.dtype == "float32":
            img = img.astype(np.float32) * np.float32(1.0 / 255.0)
            if self.mean is not None:
                img -= np.asarray(self.mean, dtype=np.float32)
            if self.std is not None:
                img /= np.asarray(self.std, dtype=np.float32)
        return img

    def place(self, img: np.ndarray, out: np.ndarray, where: tuple, layout: str) -> None:
        """Write one (H, W, C) frame into ``out`` at ``where`` (indices of N, or of N and T)."""
        if layout in ("NHWC", "NTHWC"):
            out[where] = img
        elif layout in ("NCHW", "NTCHW"):
            out[where] = img.transpose(2, 0, 1)
        else:  # NCTHW: channel axis before time
            b, t = where
            out[b, :, t] = img.transpose(2, 0, 1)

    def alloc(self, lead: tuple[int, ...], src_height: int, src_width: int, layout: str) -> np.ndarray:
        """An empty output array for ``lead`` = (N,) or (B, T) frames in ``layout``."""
        h, w = self.frame_hw(src_height, src_width)
        c = self.channels
        shape = {
            "NHWC": lead + (h, w, c),
            "NCHW": lead + (c, h, w),
            "NTHWC": lead + (h, w, c),
            "NTCHW": lead + (c, h, w),
            "NCTHW": (lead[0], c) + lead[1:] + (h, w),
        }[layout]
        return np.empty(shape, dtype=np.dtype(self.dtype))
