"""Colour conversion (and scaling) of decoded pictures, equal to the ffmpeg CLI's for every pixel format.

Two routes, one result. ``VideoReformatter`` (one libswscale call) is the fast route, and it equals the
CLI's output for progressive 8-bit video (4:2:0, 4:2:2, 4:4:4, full range, MJPEG) and 4:4:4 at more bits.
Elsewhere (10 and 12-bit 4:2:0 and 4:2:2, interlaced pictures) it interpolates chroma differently
from the CLI (by up to 131 levels at chroma edges); there the picture goes through an FFmpeg filter graph
(``buffer -> [scale ->] format -> buffersink``), which is what the CLI itself runs, and the output is the
CLI's bit for bit. Pictures of 1280x720 and more at their own size take the graph as well, for its pooled
output frames (``_POOLED_PIXELS``). One :class:`Converter` per reader or stream holds both, re-made after
a fork.

>>> import av, numpy as np
>>> c = Converter()
>>> rgb = av.VideoFrame.from_ndarray(np.zeros((4, 6, 3), np.uint8), format="rgb24")
>>> frame = rgb.reformat(format="yuv420p10le")
>>> c.to_array(frame, format="rgb24").shape, c.route(frame)
((4, 6, 3), 'graph')
"""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .._util.fork import keep_forever, track

__all__ = ["Converter", "PlanarImage", "FAST_FORMATS", "PLANAR_FORMATS", "POOLED_FORMATS"]

# pixel formats whose libswscale conversion equals the CLI's (progressive pictures): checked against the
# ffmpeg CLI by tests/file/test_colour.py; anything else takes the filter graph
FAST_FORMATS = frozenset(
    {
        "yuv420p",
        "yuvj420p",
        "yuv422p",
        "yuvj422p",
        "yuv444p",
        "yuvj444p",
        "nv12",
        "gray",
        "yuv444p10le",
        "yuv444p12le",
        "rgb24",
        "bgr24",
        "rgba",
        "bgra",
        "gbrp",
    }
)

# pixel formats whose planar GBR output from libswscale equals its packed RGB output value for value, at
# even sizes (tests/file/test_colour.py checks): channel-first outputs take the planes and skip a
# transposing copy. Not nv12: its packed route interpolates chroma differently.
PLANAR_FORMATS = FAST_FORMATS - {"nv12"}
_PLANE_ORDER = {"rgb24": (2, 0, 1), "bgr24": (1, 0, 2)}  # gbrp's planes are G, B, R

# From this many pixels, a picture converted at its own size takes the filter graph even where one
# libswscale call equals it. That call allocates a new output frame every time (6 MB at 1080p), and when
# large frames come and go in a process with other large arrays (a reader filling 130 MB blocks), the
# allocator hands out fresh pages whose first-touch faults cost more than the conversion itself. The
# graph's output frames come from a pool it reuses (benchmarks/bench_ray.py's every-frame job shows the
# difference). Where the allocator happens to reuse its pages the two routes take the same time. Not nv12:
# the graph's chroma differs there.
_POOLED_PIXELS = 1280 * 720
POOLED_FORMATS = FAST_FORMATS - {"nv12"}  # tests/file/test_colour.py checks both routes give the same values


# PyAV 17 lets a caller set libswscale's threads per call (17.0.1 a filter graph's) and reads the
# picture's colour matrix and range itself. Older PyAV, such as the 15.x that LeRobot pins, runs both on
# one thread (what Ray tasks and LeRobot calls ask anyway) and must be told the matrix and range, or it
# takes full-range video for limited range (16 levels off; tests/file/test_colour.py).
_PYAV = tuple(int(p) for p in av.__version__.split(".")[:3] if p.isdigit())
_MODERN_REFORMAT = _PYAV >= (17, 0, 0)
_GRAPH_THREADS = _PYAV >= (17, 0, 1)


def _swscale_options(frame, threads: int) -> dict:
    if _MODERN_REFORMAT:
        return {"threads": threads}
    return {"src_colorspace": frame.colorspace, "src_color_range": frame.color_range}


# libswscale's interpolation names (as VideoReformatter takes them) -> the scale filter's flags
_SCALE_FLAGS = {
    "AREA": "area",
    "BILINEAR": "bilinear",
    "BICUBIC": "bicubic",
    "FAST_BILINEAR": "fast_bilinear",
    "POINT": "neighbor",
    "LANCZOS": "lanczos",
}


class Converter:
    """Converts (and resizes) ``av.VideoFrame`` s to arrays; one per reader or stream, not thread-safe."""

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        self._graphs: dict[tuple, av.filter.Graph] = {}
        track(self)

    def route(self, frame) -> str:
        """``"swscale"`` (the fast route) or ``"graph"`` for this picture's colours (:meth:`to_array` also
        sends large pictures at their own size through the graph, for its pooled frames)."""
        fast = frame.format.name in FAST_FORMATS and not frame.interlaced_frame
        return "swscale" if fast else "graph"

    def to_array(
        self,
        frame,
        *,
        format: str,
        width: int | None = None,
        height: int | None = None,
        interpolation: str | None = None,
        threads: int = 0,
    ) -> np.ndarray:
        """The picture in ``format`` (an FFmpeg pixel format), at ``width`` x ``height`` if given."""
        resize = width is not None and (width, height) != (frame.width, frame.height)
        if self.route(frame) == "swscale" and (resize or not self._pooled(frame)):
            return self._reformatter.reformat(
                frame,
                width=width,
                height=height,
                format=format,
                interpolation=interpolation if resize else None,
                **_swscale_options(frame, threads),
            ).to_ndarray()
        return self._through_graph(
            frame,
            format,
            width if resize else None,
            height if resize else None,
            interpolation if resize else None,
            threads,
        ).to_ndarray()

    def to_planar(self, frame, *, format: str, threads: int = 0) -> PlanarImage | None:
        """The picture as three channel planes in ``format``'s order ("rgb24" or "bgr24"), the same values
        as :meth:`to_array`; None where that is not known to hold (take :meth:`to_array`)."""
        width, height = frame.width, frame.height
        if (
            frame.format.name not in PLANAR_FORMATS
            or frame.interlaced_frame
            or width % 2
            or height % 2
            or format not in _PLANE_ORDER
        ):
            return None
        if self._pooled(frame):
            planes = self._through_graph(frame, "gbrp", None, None, None, threads).planes
        else:
            planes = self._reformatter.reformat(
                frame, format="gbrp", **_swscale_options(frame, threads)
            ).planes
        views = []
        for k in _PLANE_ORDER[format]:
            plane = planes[k]
            views.append(np.frombuffer(plane, dtype=np.uint8).reshape(height, plane.line_size)[:, :width])
        return PlanarImage(tuple(views))

    @staticmethod
    def _pooled(frame) -> bool:
        """Whether a picture converted at its own size takes the graph for its pooled output frames."""
        return frame.width * frame.height >= _POOLED_PIXELS and frame.format.name in POOLED_FORMATS

    def _through_graph(self, frame, format: str, width, height, interpolation, threads):
        """The picture through this converter's filter graph for these settings (made on first use)."""
        key = (
            frame.width,
            frame.height,
            frame.format.name,
            int(frame.colorspace),
            int(frame.color_range),
            bool(frame.interlaced_frame),
            width,
            height,
            format,
            interpolation,
            threads,
        )
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._graphs[key] = self._graph(frame, format, width, height, interpolation, threads)
        graph.push(frame)
        return graph.pull()

    @staticmethod
    def _graph(frame, format: str, width, height, interpolation, threads) -> av.filter.Graph:
        graph = av.filter.Graph()
        if _GRAPH_THREADS:
            graph.threads = threads
        src = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format.name,
            time_base=frame.time_base or Fraction(1, 90000),
        )
        nodes = [src]
        if width is not None:
            flags = _SCALE_FLAGS.get(interpolation or "BICUBIC", "bicubic")
            nodes.append(graph.add("scale", f"{width}:{height}:flags={flags}"))
        nodes.append(graph.add("format", format))
        nodes.append(graph.add("buffersink"))
        for a, b in zip(nodes, nodes[1:]):
            a.link_to(b)
        graph.configure()
        return graph

    def after_fork(self) -> None:
        """In a forked child: the parent's swscale and filter-graph threads do not exist here, so keep
        those objects unfreed (freeing would wait for them) and start afresh."""
        keep_forever(self._reformatter)
        for graph in self._graphs.values():
            keep_forever(graph)
        self._reformatter = VideoReformatter()
        self._graphs = {}


class DecodedPicture:
    """A decoded frame kept as the decoder gave it, for pictures whose converted form is larger (a full-size
    RGB output is twice a 4:2:0 frame): converted again when it is used.

    Attributes:
        frame: the ``av.VideoFrame``.
        nbytes: the bytes of its planes.
    """

    __slots__ = ("frame", "nbytes")

    def __init__(self, frame, nbytes: int) -> None:
        self.frame, self.nbytes = frame, nbytes

    @staticmethod
    def size_of(frame) -> int:
        """The bytes a decoded frame holds (its planes, with their row padding)."""
        return sum(plane.buffer_size for plane in frame.planes)


class PlanarImage:
    """A converted picture as its (H, W) channel planes, in output channel order.

    The planes are views of libswscale's planar output (no copy is made until the picture is written
    where it goes), so a channel-first output costs one copy per frame, as a packed one does.

    Attributes:
        planes: the (H, W) planes, uint8.
        shape: (H, W, C), as an (H, W, C) array of the same picture would have.
        nbytes: the bytes of the planes' pixels.

    Example:
        >>> import av, numpy as np
        >>> rgb = av.VideoFrame.from_ndarray(np.full((4, 6, 3), 7, np.uint8), format="rgb24")
        >>> frame = rgb.reformat(format="yuv444p")
        >>> img = Converter().to_planar(frame, format="rgb24")
        >>> img.shape, img.to_chw().shape
        ((4, 6, 3), (3, 4, 6))
    """

    __slots__ = ("planes", "shape", "nbytes")

    def __init__(self, planes: tuple[np.ndarray, ...]) -> None:
        self.planes = planes
        h, w = planes[0].shape
        self.shape = (h, w, len(planes))
        self.nbytes = h * w * len(planes) * planes[0].itemsize  # read for every kept frame on every call

    def write_chw(self, dest: np.ndarray) -> None:
        """Copy the picture into ``dest``, a (C, H, W) array (or view)."""
        for c, plane in enumerate(self.planes):
            dest[c] = plane

    def to_chw(self) -> np.ndarray:
        """A new contiguous (C, H, W) array of the picture."""
        out = np.empty((len(self.planes),) + self.planes[0].shape, dtype=self.planes[0].dtype)
        self.write_chw(out)
        return out
