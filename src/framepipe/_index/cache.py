"""Index cache: the packet index of a file saved on disk, so reopening a large video takes milliseconds.

Entries are keyed by the absolute path (or the URL) and the stream choice, and hold the file's version:
size and mtime for a local file, the ETag (or size and last-modified time) for a remote one. An entry
whose version differs, whose format version is old, or that fails to load in any way is rebuilt, never
trusted. Entries name the file as messages do (credentials masked): no secret is written to disk. Location:
``$FRAMEPIPE_CACHE_DIR``, else the user cache directory (``$XDG_CACHE_HOME/framepipe``,
``~/Library/Caches/framepipe`` or ``%LOCALAPPDATA%\\framepipe\\Cache``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import zipfile
from fractions import Fraction

import numpy as np

from .index import INDEX_VERSION, VideoIndex

__all__ = ["cache_dir", "load_index", "save_index", "version_digest"]

_ARRAYS = ("pkt_pts", "pkt_dts", "pkt_key", "pkt_size", "frame_pts", "frame_pkt", "frame_key")
# numpy parses .npy headers with ast.literal_eval, which is not thread-safe on Python 3.11 (one crash
# seen: "SystemError: AST constructor recursion depth mismatch" while datasets loaded entries in
# threads). Entries are small: reading them one at a time costs nothing measurable.
_LOAD_LOCK = threading.Lock()


def cache_dir() -> str:
    """Where index files go (created on first save)."""
    env = os.environ.get("FRAMEPIPE_CACHE_DIR")
    if env:
        return env
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Caches")
        return os.path.join(base, "framepipe")
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return os.path.join(base, "framepipe", "Cache")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "framepipe")


def _entry(key: str, stream: int | None) -> str:
    digest = hashlib.sha256(f"{key}\0{stream}".encode()).hexdigest()[:32]
    return os.path.join(cache_dir(), f"index-{digest}.npz")


def version_digest(version: tuple) -> str:
    # the version of a URL starts with the URL itself, which may hold credentials: store a digest
    return hashlib.sha256(json.dumps([str(v) for v in version]).encode()).hexdigest()


def load_index(key: str, name: str, stream: int | None, version: tuple) -> VideoIndex | None:
    """The cached index of the file at ``key`` (a path or URL) if an entry exists and still matches
    ``version``; else None. ``name`` is what the index calls the file in messages."""
    entry = _entry(key, stream)
    try:
        with _LOAD_LOCK, np.load(entry, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("version") != INDEX_VERSION or meta.get("file_version") != version_digest(version):
                return None
            arrays = {name: np.array(data[name]) for name in _ARRAYS}
        index = VideoIndex(
            path=name,
            stream_index=int(meta["stream_index"]),
            time_base=Fraction(int(meta["tb_num"]), int(meta["tb_den"])),
            codec=str(meta["codec"]),
            width=int(meta["width"]),
            height=int(meta["height"]),
            pixel_format=str(meta["pixel_format"]),
            header_num_frames=int(meta["header_num_frames"]),
            nominal_fps=None if meta["nominal_fps"] is None else float(meta["nominal_fps"]),
            mode=str(meta["mode"]),
            end_pts=int(meta["end_pts"]),
            built_from=str(meta["built_from"]),
            display_matrix=None
            if meta["display_matrix"] is None
            else tuple(int(v) for v in meta["display_matrix"]),
            truncated=bool(meta["truncated"]),
            **arrays,
        )
        _check_consistent(index)
        return index
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError, json.JSONDecodeError):
        return None  # missing, stale or damaged: the caller rebuilds and overwrites it


def _check_consistent(index: VideoIndex) -> None:
    """Raise ValueError unless the arrays could have come from :func:`build_index`."""
    n = index.num_frames
    if n == 0 or len(index.frame_pkt) != n or len(index.frame_key) != n:
        raise ValueError("frame arrays disagree")
    if index.mode not in ("packets", "decode") or (np.diff(index.frame_pts) <= 0).any():
        raise ValueError("bad mode or unsorted frames")
    if index.mode == "packets":
        m = len(index.pkt_pts)
        if len(index.pkt_dts) != m or len(index.pkt_key) != m or len(index.pkt_size) not in (0, m):
            raise ValueError("packet arrays disagree")
        if (
            index.frame_pkt.min() < 0
            or index.frame_pkt.max() >= m
            or index.frame_key.min() < 0
            or index.frame_key.max() >= m
        ):
            raise ValueError("frame-to-packet map out of range")
        if not np.array_equal(index.pkt_pts[index.frame_pkt], index.frame_pts):
            raise ValueError("frame pts disagree with packets")


def save_index(index: VideoIndex, key: str, stream: int | None, version: tuple) -> None:
    """Write the entry atomically (temp file + rename) so a crash never leaves a half-written index."""
    entry = _entry(key, stream)
    meta = dict(
        version=INDEX_VERSION,
        name=index.path,
        file_version=version_digest(version),
        stream_index=index.stream_index,
        tb_num=index.time_base.numerator,
        tb_den=index.time_base.denominator,
        codec=index.codec,
        width=index.width,
        height=index.height,
        pixel_format=index.pixel_format,
        header_num_frames=index.header_num_frames,
        nominal_fps=index.nominal_fps,
        mode=index.mode,
        end_pts=index.end_pts,
        built_from=index.built_from,
        display_matrix=None if index.display_matrix is None else list(index.display_matrix),
        truncated=index.truncated,
    )
    tmp = None
    try:
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        # a name no other process or thread writes (the pid and the thread), made at once: mkstemp's
        # search for a free random name costs as much as the entry itself when many videos are indexed
        tmp = f"{entry}.{os.getpid()}-{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh,
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                **{name: getattr(index, name) for name in _ARRAYS},
            )
        os.replace(tmp, entry)
    except OSError:
        # a read-only or full cache directory must not stop anyone reading videos; next open re-indexes
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
