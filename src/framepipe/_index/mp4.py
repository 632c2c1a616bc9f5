"""The one MP4 sample table PyAV does not expose: a track's composition offsets (``ctts``).

FFmpeg's MP4/MOV demuxer reads the whole ``moov`` box at open, and PyAV exposes the per-sample index it
builds (``stream.index_entries``: decode timestamp, byte position, size, keyframe and discard flags, edit
lists applied). A sample's presentation time is its decode time plus its composition offset, which
FFmpeg keeps to itself. This module reads those offsets from the ``ctts`` box, so that an MP4's packet
index needs no pass over its media data: a remote file is indexed from its header alone.

Only box headers and the ``ctts`` box are read (a few small reads, through any seekable binary file).

>>> import io, struct
>>> def box(kind, payload): return struct.pack(">I4s", 8 + len(payload), kind) + payload
>>> entries = struct.pack(">I", 2) + struct.pack(">II", 2, 512) + struct.pack(">II", 1, 0)
>>> ctts = box(b"ctts", bytes(4) + entries)
>>> moov = box(b"moov", box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", ctts)))))
>>> composition_offsets(io.BytesIO(box(b"ftyp", b"isom") + moov), track=0, samples=3).tolist()
[512, 512, 0]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

__all__ = ["composition_offsets", "NotPlainMP4"]

_MAX_CTTS_BYTES = 512 << 20  # 64 M entries: beyond any real file; a larger claim is a damaged header


class NotPlainMP4(Exception):
    """The file is not an MP4 whose sample tables this module reads (fragmented, or damaged boxes)."""


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head)
        payload = pos + 8
        if size == 1:  # 64-bit size follows
            ext = f.read(8)
            if len(ext) < 8:
                return
            size = struct.unpack(">Q", ext)[0]
            payload = pos + 16
        elif size == 0:  # to the end of the enclosing box
            size = end - pos
        if size < payload - pos or pos + size > end:
            raise NotPlainMP4(f"box {kind!r} at byte {pos} claims {size} bytes")
        yield kind, payload, pos + size
        pos += size


def _child(f: BinaryIO, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    return next(((a, b) for k, a, b in _boxes(f, start, end) if k == kind), None)


def composition_offsets(f: BinaryIO, *, track: int, samples: int) -> np.ndarray:
    """Per-sample composition offsets (in the track's time base) of the ``track``-th ``trak`` of the
    ``moov`` box, in decode order; empty when the track has no ``ctts`` box (presentation = decode order).
    ``samples`` is the track's sample count (from FFmpeg's index); a table that covers another count is
    refused.

    FFmpeg makes one stream per ``trak``, in order, so ``track`` is the stream's index. The file position
    is restored afterwards (the file may be the one a demuxer reads through).

    Raises:
        NotPlainMP4: no ``moov``, a fragmented file (``moov/mvex``: samples live in ``moof`` boxes), or
            boxes that do not add up.
    """
    back = f.tell()
    try:
        end = f.seek(0, 2)
        moov = _child(f, 0, end, b"moov")
        if moov is None:
            raise NotPlainMP4("no moov box")
        if _child(f, *moov, b"mvex") is not None:
            raise NotPlainMP4("fragmented MP4 (moov/mvex)")
        traks = [(a, b) for k, a, b in _boxes(f, *moov) if k == b"trak"]
        if not 0 <= track < len(traks):
            raise NotPlainMP4(f"no trak number {track} (the moov has {len(traks)})")
        box = traks[track]
        for kind in (b"mdia", b"minf", b"stbl"):
            inner = _child(f, *box, kind)
            if inner is None:
                raise NotPlainMP4(f"trak {track} has no {kind.decode()} box")
            box = inner
        ctts = _child(f, *box, b"ctts")
        if ctts is None:
            return np.zeros(0, dtype=np.int64)
        start, stop = ctts
        f.seek(start)
        version_flags, count = struct.unpack(">II", f.read(8))
        if count * 8 > min(stop - start - 8, _MAX_CTTS_BYTES):
            raise NotPlainMP4(f"ctts of trak {track} claims {count} entries")
        table = np.frombuffer(f.read(8 * count), dtype=">u4").reshape(count, 2)
        counts = table[:, 0].astype(np.int64)
        if int(counts.sum()) != samples:  # checked before expanding: a damaged count could ask for GiBs
            raise NotPlainMP4(
                f"ctts of trak {track} covers {int(counts.sum())} samples, the track has {samples}"
            )
        # version 1 (and, in practice, writers that set version 0) may store negative offsets
        offsets = table[:, 1].astype(np.uint32).view(np.int32).astype(np.int64)
        return np.repeat(offsets, counts)
    except (struct.error, ValueError) as exc:
        raise NotPlainMP4(f"unreadable boxes ({exc})") from exc
    finally:
        f.seek(back)
