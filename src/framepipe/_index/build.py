"""Building a :class:`~framepipe._index.index.VideoIndex`: from an MP4's own sample tables (no pass over the
media data: what makes remote files cheap to open), from one demuxing pass over every packet, or, where
timestamps cannot name frames, from one full decode."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from .._source.display import display_of
from .._source.source import DEMUX_ERRORS
from .._util.constants import NOPTS
from ..errors import InvalidVideoError, TruncatedVideoError
from .index import VideoIndex, seek_keys

__all__ = ["build_index", "build_table_index", "build_decode_index"]

# packets demuxed at open to check an index read from the sample tables (past the first B-frame
# reordering, and within the first megabyte or two even at 1080p)
_VERIFY_PACKETS = 16


def _stream_facts(stream: av.video.stream.VideoStream) -> dict:
    cc = stream.codec_context
    rate = stream.guessed_rate or stream.average_rate
    return dict(
        stream_index=stream.index,
        time_base=stream.time_base or Fraction(1, 90000),
        codec=cc.name,
        width=cc.width,
        height=cc.height,
        pixel_format=cc.format.name if cc.format is not None else "unknown",
        header_num_frames=int(stream.frames or 0),
        nominal_fps=float(rate) if rate else None,
    )


class _FirstPicture:
    """Decodes packets as an index pass goes by them until the first picture comes out, for its display
    matrix: FFmpeg attaches the stream's matrix to every decoded frame, and PyAV shows it only there."""

    _LIMIT = 64  # packets: past any B-frame reordering; a stream that shows nothing by then has no matrix

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        self.stream = stream
        self.matrix: tuple[int, ...] | None = None
        self.fed = 0
        self.done = False

    def feed(self, packet) -> None:
        if self.done:
            return
        self.fed += 1
        try:
            frames = self.stream.codec_context.decode(packet)
        except av.error.FFmpegError:
            frames = []  # damage in the first packets: the decoders report it when frames are asked for
        if frames or self.fed >= self._LIMIT:
            self.done = True
            if frames:
                self.matrix = display_of(frames[0]).matrix

    def facts(self) -> dict:
        return {"display_matrix": self.matrix}


def build_index(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: str, file_size: int
) -> VideoIndex | None:
    """Demux every packet of ``stream`` once (no decoding) and derive presentation order.

    Returns None when packets cannot name frames (missing or duplicate pts); see :func:`build_decode_index`.
    """
    pts, dts, key, discard, ends, sizes = [], [], [], [], [], []
    last_corrupt = False
    first = _FirstPicture(stream)
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet PyAV yields at the end
                continue
            first.feed(packet)
            pts.append(NOPTS if packet.pts is None else packet.pts)
            dts.append(NOPTS if packet.dts is None else packet.dts)
            key.append(packet.is_keyframe)
            discard.append(packet.is_discard)
            last_corrupt = packet.is_corrupt
            ends.append(packet.pos + packet.size if packet.pos is not None and packet.pos >= 0 else -1)
            sizes.append(packet.size)
    except DEMUX_ERRORS as exc:
        if not pts:
            raise InvalidVideoError(path, f"demuxing stream {stream.index} failed at once: {exc}") from exc
        unreadable = True  # damaged past this point: the packets before it are the readable video
    else:
        unreadable = False
    facts = {**_stream_facts(stream), **first.facts()}
    if not pts:
        raise InvalidVideoError(path, f"video stream {stream.index} has no packets")
    # a file cut off (an interrupted download or recording): keep the packets that are there in full
    keep = np.asarray(ends, dtype=np.int64) <= file_size
    keep[-1] &= not last_corrupt  # a short read on the final packet: the file ends mid-packet
    truncated = (
        unreadable
        or not keep.all()
        or bool(
            facts["header_num_frames"]
            and container.format.name.startswith("mov")
            and len(pts) < facts["header_num_frames"]
        )
    )
    if not keep.any():
        raise TruncatedVideoError(
            path, f"the file ends at byte {file_size}, before any packet of stream {stream.index} is complete"
        )
    return _from_packets(
        path,
        facts,
        np.asarray(pts, dtype=np.int64)[keep],
        np.asarray(dts, dtype=np.int64)[keep],
        np.asarray(key, dtype=bool)[keep],
        np.asarray(discard, dtype=bool)[keep],
        built_from="demux",
        truncated=truncated,
        pkt_size=np.asarray(sizes, dtype=np.int64)[keep],
    )


def build_table_index(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    path: str,
    file_size: int,
    fileobj,
) -> VideoIndex | None:
    """An MP4's packet index from its sample tables, read at open: no pass over the media data.

    The tables are FFmpeg's (``stream.index_entries``) plus the composition offsets from the ``ctts`` box
    (:mod:`~framepipe._index.mp4`). The first packets are demuxed and must match the tables exactly.
    Returns None where this does not apply (not MP4/MOV, fragmented, tables that disagree with the
    packets); the caller then demuxes every packet (:func:`build_index`).

    ``fileobj`` is a seekable binary file of the video (its position is restored).
    """
    from .mp4 import NotPlainMP4, composition_offsets

    entries = getattr(stream, "index_entries", None)  # PyAV 17 and later
    if entries is None or not container.format.name.startswith("mov"):
        return None
    n = len(entries)
    if n == 0 or (stream.frames and n != stream.frames):
        return None  # samples outside the moov (fragments), or a header that disagrees with itself
    dts = np.fromiter((e.timestamp for e in entries), dtype=np.int64, count=n)
    key = np.fromiter((e.is_keyframe for e in entries), dtype=bool, count=n)
    discard = np.fromiter((e.is_discard for e in entries), dtype=bool, count=n)
    ends = np.fromiter((e.pos + e.size for e in entries), dtype=np.int64, count=n)
    sizes = np.fromiter((e.size for e in entries), dtype=np.int64, count=n)
    try:
        offsets = composition_offsets(fileobj, track=stream.index, samples=n)
    except NotPlainMP4:
        return None
    if len(offsets) not in (0, n):
        return None
    pts = dts + offsets if len(offsets) else dts.copy()
    # a file cut off after its header (a faststart MP4 downloaded in part): keep the complete samples
    keep = ends <= file_size
    if not keep.any():
        raise TruncatedVideoError(
            path, f"the file ends at byte {file_size}, before any sample of track {stream.index} is complete"
        )
    truncated = not keep.all()
    if truncated and not keep[: int(keep.sum())].all():
        return None  # samples out of file order: let the demuxing pass decide what is there
    picture = _FirstPicture(stream)
    first: list = []
    try:  # the tables must describe the packets the demuxer gives: check the first ones
        for packet in container.demux(stream):
            if not packet.size:
                continue
            if len(first) < _VERIFY_PACKETS:
                first.append((packet.pts, packet.dts, packet.is_keyframe, packet.size))
            picture.feed(packet)
            if len(first) >= _VERIFY_PACKETS and picture.done:
                break
    except DEMUX_ERRORS:
        return None
    m = len(first)
    if first != list(zip(pts[:m].tolist(), dts[:m].tolist(), key[:m].tolist(), sizes[:m].tolist())):
        return None
    return _from_packets(
        path,
        {**_stream_facts(stream), **picture.facts()},
        pts[keep],
        dts[keep],
        key[keep],
        discard[keep],
        built_from="sample_table",
        truncated=truncated,
        pkt_size=sizes[keep],
    )


def _from_packets(
    path: str,
    facts: dict,
    pkt_pts: np.ndarray,
    pkt_dts: np.ndarray,
    pkt_key: np.ndarray,
    discard: np.ndarray,
    *,
    built_from: str,
    truncated: bool = False,
    pkt_size: np.ndarray | None = None,
) -> VideoIndex | None:
    """The index of packets in decode order; None when their pts cannot name frames (missing, duplicate)."""
    shown = np.flatnonzero(~discard)
    shown_pts = pkt_pts[shown]
    if len(shown) == 0 or (shown_pts == NOPTS).any() or len(np.unique(shown_pts)) != len(shown_pts):
        return None  # caller falls back to a decode index
    order = np.argsort(shown_pts, kind="stable")
    frame_pts = shown_pts[order]
    frame_pkt = shown[order].astype(np.int64)
    frame_key = seek_keys(pkt_pts, pkt_key, frame_pts, frame_pkt)
    return VideoIndex(
        path=path,
        mode="packets",
        pkt_pts=pkt_pts,
        pkt_dts=pkt_dts,
        pkt_key=pkt_key,
        frame_pts=frame_pts,
        frame_pkt=frame_pkt,
        frame_key=frame_key,
        end_pts=int(frame_pts[-1] + _last_duration(frame_pts)),
        built_from=built_from,
        truncated=truncated,
        pkt_size=np.zeros(0, dtype=np.int64) if pkt_size is None else pkt_size,
        **facts,
    )


def _last_duration(frame_pts: np.ndarray) -> int:
    if len(frame_pts) < 2:
        return 1
    return max(int(np.median(np.diff(frame_pts))), 1)


def build_decode_index(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: str
) -> VideoIndex:
    """Index by one full decode: for containers whose packets cannot name frames (no or duplicate pts)."""
    facts = _stream_facts(stream)
    times: list[int | None] = []
    try:
        for frame in container.decode(stream):
            if not times:
                facts["display_matrix"] = display_of(frame).matrix
            times.append(frame.pts)
    except DEMUX_ERRORS as exc:
        raise InvalidVideoError(
            path, f"decoding stream {stream.index} failed after {len(times)} frames: {exc}"
        ) from exc
    if not times:
        raise InvalidVideoError(path, f"video stream {stream.index} decodes to no frames")
    arr = np.asarray([NOPTS if t is None else t for t in times], dtype=np.int64)
    if (arr == NOPTS).any() or (np.diff(arr) <= 0).any():
        # no usable timestamps: frames are 1/fps apart, counted from 0
        fps = facts["nominal_fps"] or 25.0
        tb = Fraction(1, 1_000_000)
        facts["time_base"] = tb
        arr = np.round(np.arange(len(times)) * (1_000_000 / fps)).astype(np.int64)
    n = len(arr)
    empty = np.zeros(0, dtype=np.int64)
    return VideoIndex(
        path=path,
        mode="decode",
        pkt_pts=empty,
        pkt_dts=empty,
        pkt_key=np.zeros(0, dtype=bool),
        frame_pts=arr,
        frame_pkt=np.full(n, -1, dtype=np.int64),
        frame_key=np.full(n, -1, dtype=np.int64),
        end_pts=int(arr[-1] + _last_duration(arr)),
        built_from="decode",
        **facts,
    )
