"""The index store: the exact indexes of many videos in one folder, built once (``framepipe index``) and
read by every process that trains on them, memory-mapped.

Layout of a store folder (written into a temporary folder beside it, then renamed into place: a reader
never sees half a store)::

    toc.json         format, versions, the stream choice, counts, the videos that failed
    table.npz        one row per video: path, version digest, frame and packet counts, offsets, metadata
    <field>.npy      every video's packet and frame arrays, one after the other (memory-mapped on load)

A video's entry holds a digest of its version (size and mtime of a local file, the ETag or size and date
of a remote one): :meth:`IndexArchive.index_of` gives the index only while the file is unchanged. Paths
and digests hold no credentials (URLs are stored as messages name them). The store is safe to share
between machines that see the videos at the same paths.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .cache import version_digest
from .index import INDEX_VERSION, VideoIndex

__all__ = ["IndexArchive", "StoredIndex", "write_archive", "STORE_FORMAT", "STORE_VERSION"]

STORE_FORMAT = "framepipe-index-store"
STORE_VERSION = 1
_PACKETS = ("pkt_pts", "pkt_dts", "pkt_key", "pkt_size")
_FRAMES = ("frame_pts", "frame_pkt", "frame_key")
_DTYPES = dict(
    pkt_pts=np.int64,
    pkt_dts=np.int64,
    pkt_key=np.bool_,
    pkt_size=np.int64,
    frame_pts=np.int64,
    frame_pkt=np.int64,
    frame_key=np.int64,
)
_MODES = ("packets", "decode")
_BUILT = ("demux", "sample_table", "decode")


@dataclass(frozen=True)
class Entry:
    """One indexed video, as a store lists it."""

    path: str
    version: str  # the digest of the file's version when it was indexed
    num_frames: int


def write_archive(
    folder: str,
    items: list[tuple[str, tuple, VideoIndex]],
    *,
    stream: int | None,
    failed: list[tuple[str, str]] | None = None,
) -> str:
    """Write ``items`` (path as messages name it, the file's version, its index) as a store at ``folder``,
    atomically: into a temporary folder beside it, then renamed over it.

    Args:
        folder: the store's folder (replaced if it exists).
        items: the videos, in the order to keep.
        stream: the stream choice the indexes were built for (None: each video's best).
        failed: videos that could not be indexed, ``(path, message)``, recorded in the table of contents.

    Returns:
        The folder's absolute path.
    """
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".store-", dir=parent)
    try:
        n = len(items)
        frames = np.array([ix.num_frames for _, _, ix in items], dtype=np.int64)
        packets = np.array([len(ix.pkt_pts) for _, _, ix in items], dtype=np.int64)
        sizes_known = np.array([len(ix.pkt_size) > 0 for _, _, ix in items], dtype=bool)
        for name in _PACKETS + _FRAMES:
            arrays = [
                np.asarray(getattr(ix, name), dtype=_DTYPES[name])
                if name != "pkt_size" or len(ix.pkt_size)
                else np.zeros(len(ix.pkt_pts), np.int64)
                for _, _, ix in items
            ]
            joined = np.concatenate(arrays) if arrays else np.zeros(0, _DTYPES[name])
            np.save(os.path.join(tmp, f"{name}.npy"), joined)
        codecs = sorted({ix.codec for _, _, ix in items})
        formats = sorted({ix.pixel_format for _, _, ix in items})
        paths = [p.encode("utf-8") for p, _, _ in items]
        table: dict[str, np.ndarray] = dict(
            path_bytes=np.frombuffer(b"".join(paths), dtype=np.uint8),
            path_ends=np.cumsum([len(p) for p in paths]).astype(np.int64),
            version=np.array(
                [bytes.fromhex(version_digest(v))[:16] for _, v, _ in items], dtype="S16"
            ).reshape(n),
            frames=frames,
            packets=packets,
            sizes_known=sizes_known,
            stream_index=np.array([ix.stream_index for _, _, ix in items], dtype=np.int64),
            tb_num=np.array([Fraction(ix.time_base).numerator for _, _, ix in items], dtype=np.int64),
            tb_den=np.array([Fraction(ix.time_base).denominator for _, _, ix in items], dtype=np.int64),
            codec=np.array([codecs.index(ix.codec) for _, _, ix in items], dtype=np.int32),
            width=np.array([ix.width for _, _, ix in items], dtype=np.int64),
            height=np.array([ix.height for _, _, ix in items], dtype=np.int64),
            pixel_format=np.array([formats.index(ix.pixel_format) for _, _, ix in items], dtype=np.int32),
            header_num_frames=np.array([ix.header_num_frames for _, _, ix in items], dtype=np.int64),
            nominal_fps=np.array(
                [np.nan if ix.nominal_fps is None else ix.nominal_fps for _, _, ix in items], dtype=np.float64
            ),
            mode=np.array([_MODES.index(ix.mode) for _, _, ix in items], dtype=np.int8),
            built_from=np.array([_BUILT.index(ix.built_from) for _, _, ix in items], dtype=np.int8),
            end_pts=np.array([ix.end_pts for _, _, ix in items], dtype=np.int64),
            truncated=np.array([ix.truncated for _, _, ix in items], dtype=bool),
            display=np.array(
                [list(ix.display_matrix) if ix.display_matrix is not None else [0] * 9 for _, _, ix in items],
                dtype=np.int64,
            ).reshape(n, 9),
            has_display=np.array([ix.display_matrix is not None for _, _, ix in items], dtype=bool),
        )
        np.savez(os.path.join(tmp, "table.npz"), **table)  # type: ignore[arg-type]
        toc = dict(
            format=STORE_FORMAT,
            version=STORE_VERSION,
            index_version=INDEX_VERSION,
            stream=stream,
            videos=n,
            frames=int(frames.sum()),
            codecs=codecs,
            pixel_formats=formats,
            failed=[dict(path=p, error=e) for p, e in (failed or [])],
        )
        with open(os.path.join(tmp, "toc.json"), "w") as fh:
            json.dump(toc, fh, indent=1)
        if os.path.exists(folder):  # swap: the old store goes only once the new one is whole
            old = tempfile.mkdtemp(prefix=".store-old-", dir=parent)
            os.rename(folder, os.path.join(old, "store"))
            os.rename(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


class IndexArchive:
    """A store written by :func:`write_archive`, opened for reading: the table in memory (a few numbers a
    video), the packet and frame arrays memory-mapped, so that opening a store of many videos costs
    milliseconds and the memory of the table alone.

    Picklable: a copy (in a DataLoader worker, a Ray task) opens the same folder again, lazily.

    Thread safety: reads only; safe to share between threads.

    Raises:
        ValueError: the folder is not a store, or one of another format or index version (rebuild it).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = os.path.abspath(os.fspath(folder))
        toc_path = os.path.join(self.folder, "toc.json")
        try:
            with open(toc_path) as fh:
                toc = json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{self.folder}: not a framepipe index store ({exc})") from None
        if toc.get("format") != STORE_FORMAT:
            raise ValueError(
                f"{self.folder}: not a framepipe index store (no {STORE_FORMAT} table of contents)"
            )
        if toc.get("version") != STORE_VERSION or toc.get("index_version") != INDEX_VERSION:
            raise ValueError(
                f"{self.folder}: an index store of another version ({toc.get('version')}, index "
                f"{toc.get('index_version')}; this framepipe writes {STORE_VERSION}, index {INDEX_VERSION}): "
                "build it again with framepipe index"
            )
        self.toc = toc
        self.stream: int | None = toc.get("stream")
        with np.load(os.path.join(self.folder, "table.npz"), allow_pickle=False) as z:
            self._table = {name: z[name] for name in z.files}
        if len(self._table["frames"]) != toc["videos"]:
            raise ValueError(f"{self.folder}: the table of contents and the table disagree: build it again")
        ends = self._table["path_ends"]
        blob = self._table.pop("path_bytes").tobytes()
        starts = np.r_[0, ends[:-1]]
        self.paths: list[str] = [blob[a:b].decode("utf-8") for a, b in zip(starts.tolist(), ends.tolist())]
        self._row = {p: i for i, p in enumerate(self.paths)}
        self._frame_off = np.r_[0, np.cumsum(self._table["frames"])]
        self._pkt_off = np.r_[0, np.cumsum(self._table["packets"])]
        self._arrays: dict[str, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        return {"folder": self.folder}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["folder"])  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def failed(self) -> list[dict]:
        """The videos that could not be indexed when the store was built: ``{"path", "error"}``."""
        return list(self.toc.get("failed", []))

    def row(self, path: str) -> int | None:
        """The row of ``path`` (as messages name it), or None where the store does not list it."""
        return self._row.get(path)

    def num_frames(self, row: int) -> int:
        return int(self._table["frames"][row])

    def matches(self, row: int, version: tuple | None) -> bool:
        """Whether the file's current ``version`` is the one indexed (None: unknown, never a match)."""
        if version is None:
            return False
        return bytes(self._table["version"][row]) == bytes.fromhex(version_digest(version))[:16]

    def _mapped(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {
                name: np.load(os.path.join(self.folder, f"{name}.npy"), mmap_mode="r", allow_pickle=False)
                for name in _PACKETS + _FRAMES
            }
        return self._arrays

    def pts_seconds(self, row: int) -> np.ndarray:
        """The frame times of one video in seconds (from a memory-mapped slice: nothing else is read)."""
        a, b = self._frame_off[row], self._frame_off[row + 1]
        num, den = int(self._table["tb_num"][row]), int(self._table["tb_den"][row])
        return (np.asarray(self._mapped()["frame_pts"][a:b], dtype=np.float64) * num) / den

    def frame_size(self, row: int) -> tuple[int, int]:
        """(height, width) of one video as stored."""
        return int(self._table["height"][row]), int(self._table["width"][row])

    def ref(self, row: int) -> StoredIndex:
        """A small, picklable handle on one video's index, loaded where it is used."""
        return StoredIndex(self, row)

    def index(self, row: int, name: str) -> VideoIndex:
        """The index of the video at ``row``, named ``name`` in messages (its arrays read into memory)."""
        t, arrays = self._table, self._mapped()
        fa, fb = self._frame_off[row], self._frame_off[row + 1]
        pa, pb = self._pkt_off[row], self._pkt_off[row + 1]
        packets = {n: np.array(arrays[n][pa:pb]) for n in _PACKETS}
        if not t["sizes_known"][row]:
            packets["pkt_size"] = np.zeros(0, dtype=np.int64)
        fps = float(t["nominal_fps"][row])
        return VideoIndex(
            path=name,
            stream_index=int(t["stream_index"][row]),
            time_base=Fraction(int(t["tb_num"][row]), int(t["tb_den"][row])),
            codec=self.toc["codecs"][int(t["codec"][row])],
            width=int(t["width"][row]),
            height=int(t["height"][row]),
            pixel_format=self.toc["pixel_formats"][int(t["pixel_format"][row])],
            header_num_frames=int(t["header_num_frames"][row]),
            nominal_fps=None if np.isnan(fps) else fps,
            mode=_MODES[int(t["mode"][row])],
            end_pts=int(t["end_pts"][row]),
            built_from=_BUILT[int(t["built_from"][row])],
            display_matrix=tuple(int(v) for v in t["display"][row]) if t["has_display"][row] else None,
            truncated=bool(t["truncated"][row]),
            frame_pts=np.array(arrays["frame_pts"][fa:fb]),
            frame_pkt=np.array(arrays["frame_pkt"][fa:fb]),
            frame_key=np.array(arrays["frame_key"][fa:fb]),
            **packets,
        )


@dataclass(frozen=True)
class StoredIndex:
    """One video's index in a store, loaded where a reader needs it (a worker): what travels to the workers
    instead of the index itself."""

    archive: IndexArchive
    row: int

    @property
    def path(self) -> str:
        return self.archive.paths[self.row]

    def load(self) -> VideoIndex:
        return self.archive.index(self.row, self.path)
