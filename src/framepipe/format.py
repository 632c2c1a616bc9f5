"""Format stage: what the frames handed back look like (size, colour, dtype, normalisation, layout).

One :class:`FrameFormat` holds the output options, checked once. Every reader and adapter takes it
whole (``frame_format=``) or its options as keywords (``size=224, dtype="float32"``), and hands it on,
so the options are defined, documented and checked here only. Every layout change (HWC to CHW, clips
to TCHW or CTHW) happens here too.

Resizing and colour conversion happen in one libswscale call per frame (one cached context per reader).
The default interpolation is ``"area"``: on downscaling it averages every source pixel, so it does not
alias, and it is cheaper than bilinear and bicubic there; ``"bilinear"``, ``"bicubic"``,
``"fast_bilinear"``, ``"point"`` and ``"lanczos"`` are there too.

>>> fmt = FrameFormat(size=112, dtype="float32", layout="NCHW")
>>> fmt.size, fmt.frame_shape(360, 640)
((112, 112), (3, 112, 112))
>>> fmt.replace(color="gray").frame_shape(360, 640)
(1, 112, 112)
"""

from __future__ import annotations

from ._pixels.format import CLIP_LAYOUTS, FRAME_LAYOUTS, FormatOptions, FrameFormat

__all__ = ["FrameFormat", "FormatOptions", "FRAME_LAYOUTS", "CLIP_LAYOUTS"]
