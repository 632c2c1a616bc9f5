"""Index stage: which frames a video shows, in presentation order, and where to start decoding each.

The index lists every packet (pts, dts, keyframe and discard flags). Frame ``i`` is the ``i``-th smallest
pts among packets the decoder will show: packets flagged *discard* (hidden by an MP4 edit list) are
decoded as references but never shown. An MP4's packets come from its own sample tables, read at open
(no pass over the media data, which is what makes remote files cheap to open); other containers' come
from demuxing every packet once, without decoding (both in :mod:`~framepipe._index.build`).

When a container gives packets without timestamps, or with duplicate ones, the packet index cannot name
frames; then the index is built by one full decode instead (``mode="decode"``) and every later access
decodes forward from the start, which is slow but never returns a neighbouring frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._source.display import Display
from .._util.checks import check_frame_indices
from ..errors import TruncatedFrameError
from ..types import VideoMetadata

__all__ = ["VideoIndex", "seek_keys", "INDEX_VERSION"]

INDEX_VERSION = 3  # 3: the display matrix


@dataclass
class VideoIndex:
    """Packets in decode order plus the frames they show, in presentation order."""

    path: str
    stream_index: int
    time_base: Fraction
    codec: str
    width: int
    height: int
    pixel_format: str
    header_num_frames: int
    nominal_fps: float | None
    mode: str  # "packets" (packets name frames: seek and decode forward) or "decode" (count decoded frames)
    # per packet, decode order (empty in decode mode)
    pkt_pts: np.ndarray = field(repr=False)
    pkt_dts: np.ndarray = field(repr=False)
    pkt_key: np.ndarray = field(repr=False)
    # per frame, presentation order
    frame_pts: np.ndarray = field(repr=False)
    frame_pkt: np.ndarray = field(repr=False)  # decode-order packet that shows the frame (-1 in decode mode)
    frame_key: np.ndarray = field(
        repr=False
    )  # packet to start decoding at for this frame (-1: from the start)
    end_pts: int = 0  # presentation end of the last frame
    built_from: str = "demux"  # "demux" (a pass over the packets), "sample_table" (an MP4's header), "decode"
    display_matrix: tuple[int, ...] | None = None  # rotation and flips, from the first decoded picture
    truncated: bool = False  # the file ends before its last packets: the index holds the complete ones
    # per packet, its size in bytes: what the demuxer hands over after a seek must be the same packet
    # (a damaged AVI index can label the data of one frame with another's timestamp); empty: unknown
    pkt_size: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    _pts_seconds: np.ndarray | None = field(default=None, repr=False, compare=False)
    _pts_seconds_f32: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def num_frames(self) -> int:
        return len(self.frame_pts)

    @property
    def pts_seconds(self) -> np.ndarray:
        """Frame times in seconds, computed once (read-only: callers index into it)."""
        if self._pts_seconds is None:
            tb = Fraction(self.time_base)
            # pts * numerator is exact, so one division rounds once: float(pts * time_base), as PyAV gives it
            secs = (self.frame_pts.astype(np.float64) * tb.numerator) / tb.denominator
            secs.setflags(write=False)
            self._pts_seconds = secs
        return self._pts_seconds

    def pts_seconds_as(self, precision: str) -> np.ndarray:
        """:attr:`pts_seconds` in ``"float64"`` or ``"float32"`` (rounded once and kept: a lookup per call
        must not convert every frame's time of a long file)."""
        if precision == "float64":
            return self.pts_seconds
        if self._pts_seconds_f32 is None:
            secs = self.pts_seconds.astype(np.float32)
            secs.setflags(write=False)
            self._pts_seconds_f32 = secs
        return self._pts_seconds_f32

    @property
    def keyframe_indices(self) -> np.ndarray:
        if self.mode != "packets":
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.pkt_key[self.frame_pkt])

    @property
    def end_seconds(self) -> float:
        """Where the last frame's display ends, in seconds."""
        return self.end_pts * float(self.time_base)

    def check_frames(self, name: str, values, *, path: str) -> np.ndarray:
        """``values`` as frame indices of this video (negative ones from the end).

        Raises:
            TruncatedFrameError: a truncated file is asked for a frame past where it was cut.
            IndexError, TypeError: an index is out of range, or not an integer.
        """
        try:
            return check_frame_indices(name, values, num_frames=self.num_frames, path=path)
        except IndexError:
            arr = np.asarray(values).reshape(-1)
            past = (
                arr[arr >= self.num_frames]
                if self.truncated and np.issubdtype(arr.dtype, np.integer)
                else arr[:0]
            )
            if len(past):
                n = self.num_frames
                raise TruncatedFrameError(
                    path,
                    f"{name} asks for frame {int(past[0])}, past the end of this truncated file: frames "
                    f"0-{n - 1} are readable (the header lists {self.header_num_frames or 'no count'})",
                    last_readable_frame=n - 1,
                ) from None
            raise

    def display(self, *, where: str = "") -> Display:
        """How frames are shown upright (rotation, flips), as the ffmpeg CLI applies the display matrix."""
        return Display.from_matrix(self.display_matrix, where=where or self.path)

    def describe(self, path: str, index_mode: str, *, rotate: bool = True) -> VideoMetadata:
        """The facts :attr:`VideoFile.metadata <framepipe.VideoFile.metadata>` shows, from this index;
        width and height are those of the frames returned (turned upright when ``rotate``)."""
        start = float(self.pts_seconds[0])
        duration = self.end_seconds - start
        display = self.display()
        height, width = display.shape(self.height, self.width) if rotate else (self.height, self.width)
        return VideoMetadata(
            path=path,
            stream_index=self.stream_index,
            codec=self.codec,
            width=width,
            height=height,
            coded_width=self.width,
            coded_height=self.height,
            rotation=display.rotation,
            display_transform=display.transform if rotate else None,
            truncated=self.truncated,
            pixel_format=self.pixel_format,
            num_frames=self.num_frames,
            header_num_frames=self.header_num_frames,
            average_fps=self.num_frames / duration if duration > 0 else 0.0,
            nominal_fps=self.nominal_fps,
            duration_seconds=duration,
            start_seconds=start,
            end_seconds=self.end_seconds,
            keyframe_indices=self.keyframe_indices,
            is_variable_frame_rate=self.is_variable_frame_rate(),
            index_mode=index_mode,
        )

    def is_variable_frame_rate(self) -> bool:
        pts = self.frame_pts
        keys = self.keyframe_indices
        if self.truncated and len(keys) and keys[-1] >= 3:
            # a cut-off GOP loses the frames whose packets came after the cut (B-frames shown before a
            # later P-frame): that gap is the cut, not the frame rate, so judge by the whole GOPs before it
            pts = pts[: int(keys[-1])]
        if len(pts) < 3:
            return False
        d = np.diff(pts)
        med = float(np.median(d))
        # time bases such as 1/1000 round 30 fps to 33/34 ticks: jitter of one tick is still constant rate
        return bool(d.max() - d.min() > max(2.0, 0.05 * med))


def seek_keys(
    pkt_pts: np.ndarray, pkt_key: np.ndarray, frame_pts: np.ndarray, frame_pkt: np.ndarray
) -> np.ndarray:
    """For each frame, the last keyframe packet at or before it in decode order whose pts is not later.

    The pts condition matters for open GOPs: B-frames decoded after a keyframe but shown before it need the
    previous GOP, so they must start from the keyframe before.
    """
    keys = np.flatnonzero(pkt_key)
    if len(keys) == 0 or keys[0] != 0:
        keys = np.concatenate([[0], keys]).astype(np.int64)  # decoding from packet 0 is always possible
    pos = np.searchsorted(keys, frame_pkt, side="right") - 1
    while True:
        bad = pkt_pts[keys[pos]] > frame_pts
        bad &= pos > 0
        if not bad.any():
            break
        pos[bad] -= 1
    return keys[pos]
