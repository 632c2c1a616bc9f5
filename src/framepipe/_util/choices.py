"""Every closed set of option values, once: a ``Literal`` type for signatures and type checkers, and the
tuple of its values that :func:`~framepipe._util.checks.check_choice` checks at run time.

>>> ON_ERROR
('raise', 'skip', 'previous')
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "OnError",
    "ON_ERROR",
    "OnBadVideo",
    "ON_BAD_VIDEO",
    "Resize",
    "RESIZE",
    "Color",
    "COLORS",
    "FrameLayout",
    "FRAME_LAYOUTS",
    "ClipLayout",
    "CLIP_LAYOUTS",
    "TensorClipLayout",
    "TENSOR_CLIP_LAYOUTS",
    "Interpolation",
    "INTERPOLATIONS",
    "ArrayKind",
    "ARRAYS",
    "Rotation",
    "ROTATIONS",
    "OnEnd",
    "END_POLICIES",
    "Sampler",
    "SAMPLERS",
    "StreamMode",
    "MODES",
    "Overflow",
    "OVERFLOW",
    "ToleranceRule",
    "TOLERANCE_RULES",
    "Precision",
    "PRECISIONS",
    "Snap",
    "SNAPS",
]

#: what a reader does with a frame that fails to decode
OnError = Literal["raise", "skip", "previous"]
ON_ERROR: tuple[str, ...] = get_args(OnError)
#: what a dataset, a Ray read or the CLI does with a video that cannot be read (``on_bad_video``)
OnBadVideo = Literal["raise", "skip"]
ON_BAD_VIDEO: tuple[str, ...] = get_args(OnBadVideo)

Resize = Literal["stretch", "shorter_side", "letterbox"]
RESIZE: tuple[str, ...] = get_args(Resize)
Color = Literal["rgb", "bgr", "gray", "gray10", "gray12", "gray16"]
COLORS: tuple[str, ...] = get_args(Color)
FrameLayout = Literal["NHWC", "NCHW"]
FRAME_LAYOUTS: tuple[str, ...] = get_args(FrameLayout)
ClipLayout = Literal["NTHWC", "NTCHW", "NCTHW"]
CLIP_LAYOUTS: tuple[str, ...] = get_args(ClipLayout)
#: one clip's tensor layout in the PyTorch datasets
TensorClipLayout = Literal["TCHW", "CTHW", "THWC"]
TENSOR_CLIP_LAYOUTS: tuple[str, ...] = get_args(TensorClipLayout)
Interpolation = Literal["area", "bilinear", "bicubic", "fast_bilinear", "point", "lanczos"]
INTERPOLATIONS: tuple[str, ...] = get_args(Interpolation)
ArrayKind = Literal["numpy", "torch"]
ARRAYS: tuple[str, ...] = get_args(ArrayKind)
Rotation = Literal["auto", "ignore"]
ROTATIONS: tuple[str, ...] = get_args(Rotation)

OnEnd = Literal["drop", "repeat_last", "wrap"]
END_POLICIES: tuple[str, ...] = get_args(OnEnd)
Sampler = Literal["windows", "random", "uniform", "segments"]
SAMPLERS: tuple[str, ...] = get_args(Sampler)
#: how sampling by time picks frames: the exact frame at each time, or the nearest keyframe
Snap = Literal["exact", "keyframe"]
SNAPS: tuple[str, ...] = get_args(Snap)

StreamMode = Literal["latest", "all"]
MODES: tuple[str, ...] = get_args(StreamMode)
Overflow = Literal["block", "drop_oldest"]
OVERFLOW: tuple[str, ...] = get_args(Overflow)

ToleranceRule = Literal["<=", "<"]
TOLERANCE_RULES: tuple[str, ...] = get_args(ToleranceRule)
Precision = Literal["float32", "float64"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
