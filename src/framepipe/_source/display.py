"""How a video asks to be shown: its display matrix (rotation and flips), applied as the ffmpeg CLI does.

Phones record landscape pictures and store how to turn them in a display matrix (MP4's ``tkhd``). The
ffmpeg CLI applies it by default (``-autorotate``): a rotation of 90 or 270 degrees becomes a transpose,
180 degrees or a mirror become flips. :func:`display_of` reads the matrix FFmpeg attaches to each
decoded frame; :class:`Display` turns it into the same operation on the converted image, which equals
the CLI's output at the video's own size (transposing and flipping commute with the YUV to RGB
conversion there).

>>> d = Display.from_matrix((0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30))  # `-metadata:s:v rotate=90`
>>> d.rotation, d.transform, d.swaps_axes
(270, 'transpose=cclock', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._util.warn import warn

__all__ = ["Display", "display_of", "NO_DISPLAY"]


@dataclass(frozen=True)
class Display:
    """The operation that shows a decoded picture upright.

    Attributes:
        rotation: degrees the picture is turned clockwise for display: 0, 90, 180 or 270.
        transform: the ffmpeg filter the CLI inserts (``"transpose=clock"``, ``"hflip,vflip"``, ...), or
            None when the picture is shown as decoded.
        matrix: the display matrix (nine 16.16 / 2.30 fixed-point ints), or None without one.
    """

    rotation: int = 0
    transform: str | None = None
    matrix: tuple[int, ...] | None = None

    @property
    def swaps_axes(self) -> bool:
        """Whether width and height trade places (90 and 270 degrees)."""
        return self.transform is not None and self.transform.startswith("transpose")

    def shape(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of the shown picture of a (height, width) decoded one."""
        return (width, height) if self.swaps_axes else (height, width)

    def apply(self, img: np.ndarray) -> np.ndarray:
        """The (H, W, C) or (H, W) image as shown (a view: no copy)."""
        t = self.transform
        if t is None:
            return img
        if t == "transpose=clock":
            return np.rot90(img, -1)
        if t == "transpose=cclock":
            return np.rot90(img, 1)
        if t == "transpose=cclock_flip":  # FFmpeg's transpose dir 0: a plain transpose
            return img.swapaxes(0, 1)
        if t == "transpose=clock_flip":  # dir 3: the anti-transpose
            return img[::-1, ::-1].swapaxes(0, 1)
        rows = slice(None, None, -1) if "vflip" in t else slice(None)
        cols = slice(None, None, -1) if "hflip" in t else slice(None)
        return img[rows, cols]

    @classmethod
    def from_matrix(cls, matrix, *, where: str = "") -> Display:
        """What the ffmpeg CLI (6.0 and later, flips included) does with a display matrix.

        The angle is ``-av_display_rotation_get(matrix)`` brought into [0, 360), as ``get_rotation`` in
        fftools computes it; a matrix that is not a multiple of 90 degrees is shown unturned, with a
        warning (the CLI would rotate by an arbitrary angle and fill the corners black).
        """
        if matrix is None:
            return NO_DISPLAY
        m = tuple(int(v) for v in matrix)
        a, b, c, d = (v / 65536.0 for v in (m[0], m[1], m[3], m[4]))
        scale0, scale1 = math.hypot(a, c), math.hypot(b, d)
        if scale0 == 0 or scale1 == 0:
            return Display(matrix=m)  # degenerate: FFmpeg's angle is NaN and the CLI applies nothing
        theta = -round(-math.degrees(math.atan2(b / scale1, a / scale0)))
        theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
        if abs(theta - 90) < 1:
            return Display(90, "transpose=cclock_flip" if m[3] > 0 else "transpose=clock", m)
        if abs(theta - 180) < 1:
            flips = [name for name, on in (("hflip", m[0] < 0), ("vflip", m[4] < 0)) if on]
            return Display(180, ",".join(flips) or None, m)
        if abs(theta - 270) < 1:
            return Display(270, "transpose=clock_flip" if m[3] < 0 else "transpose=cclock", m)
        if abs(theta) < 1:
            return Display(0, "vflip" if m[4] < 0 else None, m)
        warn(
            f"{where}: the display matrix turns the picture by {theta:.1f} degrees, not a multiple "
            "of 90; frames are returned as decoded",
            RuntimeWarning,
        )
        return Display(0, None, m)


NO_DISPLAY = Display()


def display_of(frame, *, where: str = "") -> Display:
    """The :class:`Display` of a decoded ``av.VideoFrame`` (from its display-matrix side data)."""
    sides = frame.side_data
    for item in sides:
        # PyAV up to 18.1.0 iterates the side data itself; 18.1.1 iterates its types, as a mapping does
        side = item if hasattr(item, "type") else sides[item]
        if side.type.name == "DISPLAYMATRIX":
            return Display.from_matrix(np.frombuffer(bytes(side), dtype="<i4")[:9].tolist(), where=where)
    return NO_DISPLAY
