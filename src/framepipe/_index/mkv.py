"""How long a Matroska/WebM file says it is: the size its Segment element declares.

A muxer that finishes a file writes the Segment's size into the header; a file cut off later (an
interrupted download or copy) is then shorter than that, which is how a truncated Matroska file is told
from a whole one. Live recordings may declare an unknown size; then nothing can be told.

>>> import io
>>> header = bytes.fromhex("1a45dfa3") + bytes([0x80]) + bytes.fromhex("18538067") + bytes([0x80 | 100])
>>> segment_end(io.BytesIO(header))   # 5 bytes of EBML header, 5 of Segment header, 100 of payload
110
"""

from __future__ import annotations

from typing import BinaryIO

__all__ = ["segment_end"]

_EBML, _SEGMENT = 0x1A45DFA3, 0x18538067


def _vint(data: bytes, at: int, *, keep_marker: bool) -> tuple[int, int]:
    """(value, length) of the EBML variable-length integer at ``at``; value -1 for "unknown size"."""
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8 or at + length > len(data):
        raise ValueError("not an EBML variable-length integer")
    value = first if keep_marker else first & (0xFF >> length)
    for b in data[at + 1 : at + length]:
        value = (value << 8) | b
    if not keep_marker and value == (1 << (7 * length)) - 1:
        return -1, length
    return value, length


def segment_end(f: BinaryIO) -> int | None:
    """The byte offset where the file's Segment ends by its own header, or None (unknown size, or not
    Matroska). The file's position is restored."""
    at = f.tell()
    try:
        f.seek(0)
        data = f.read(64)
    finally:
        f.seek(at)
    try:
        ident, n = _vint(data, 0, keep_marker=True)
        if ident != _EBML:
            return None
        size, m = _vint(data, n, keep_marker=False)
        pos = n + m + size
        ident, n = _vint(data, pos, keep_marker=True)
        if ident != _SEGMENT:
            return None
        size, m = _vint(data, pos + n, keep_marker=False)
    except (ValueError, IndexError):
        return None
    return None if size < 0 else pos + n + m + size
