"""Which videos, with which labels: a folder of class sub-folders, a manifest, a list of paths or URLs, or
a glob. Plain data, no decoding; :class:`~framepipe.dataset.VideoDataset`, the PyTorch adapter and the
Ray reader all start here.

>>> [s.label for s in sources_from_paths(["a.mp4", "b.mp4"], ["walk", "run"])]
['walk', 'run']
"""

from __future__ import annotations

import csv
import glob
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._source.remote import is_url
from .._util.constants import TIME_TOLERANCE, VIDEO_EXTENSIONS

__all__ = [
    "VideoSource",
    "sources_from_folder",
    "sources_from_manifest",
    "sources_from_paths",
    "resolve_sources",
    "frame_range",
    "MANIFEST_SUFFIXES",
]

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")
_GLOB = set("*?[")


@dataclass(frozen=True)
class VideoSource:
    """One video and its label; ``start``/``end`` (seconds) restrict clips to a part of it.

    Attributes:
        path: a local path or a URL.
        label: a class name or number; None: unlabelled.
        start: the first second clips may use; None: the start.
        end: the second clips end before; None: the end.
    """

    path: str
    label: str | int | None = None
    start: float | None = None
    end: float | None = None


def sources_from_folder(
    root: str | os.PathLike[str], *, extensions: Sequence[str] = VIDEO_EXTENSIONS
) -> list[VideoSource]:
    """``root/<class>/<video>``: one class per sub-folder, classes sorted by name."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{root}: not a folder of class sub-folders")
    sources = []
    for cls_name in sorted(os.listdir(root)):
        folder = os.path.join(root, cls_name)
        if not os.path.isdir(folder):
            continue
        for dirpath, _, files in sorted(os.walk(folder)):
            for name in sorted(files):
                if name.lower().endswith(tuple(extensions)):
                    sources.append(VideoSource(os.path.join(dirpath, name), cls_name))
    if not sources:
        raise ValueError(f"{root}: no videos ({', '.join(extensions)}) in any class sub-folder")
    return sources


def sources_from_manifest(manifest: str | os.PathLike[str]) -> list[VideoSource]:
    """A CSV (``path,label[,start,end]``, header optional) or JSON-lines file (``{"path": ..., "label":
    ..., "start": ..., "end": ...}``); relative paths are relative to the manifest's folder, and URLs
    (``s3://...``, ``https://...``) are read as they are."""
    manifest = os.fspath(manifest)
    base = os.path.dirname(os.path.abspath(manifest))
    rows: list[dict] = []
    with open(manifest, newline="", encoding="utf-8") as fh:
        if manifest.endswith((".jsonl", ".json", ".ndjson")):
            for n, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise ValueError(f"{manifest}:{n}: not valid JSON ({exc.msg})") from exc
        else:
            for n, rec in enumerate(csv.reader(fh), 1):
                if not rec or (n == 1 and rec[0].strip().lower() == "path"):
                    continue
                if len(rec) not in (2, 4):
                    raise ValueError(
                        f"{manifest}:{n}: expected path,label[,start,end], got {len(rec)} fields"
                    )
                rows.append(dict(zip(("path", "label", "start", "end"), rec)))
    sources = []
    for n, r in enumerate(rows, 1):
        if "path" not in r:
            raise ValueError(f"{manifest}: entry {n} has no 'path'")
        start = None if r.get("start") in (None, "") else float(r["start"])
        end = None if r.get("end") in (None, "") else float(r["end"])
        path = r["path"] if is_url(r["path"]) else os.path.join(base, r["path"])
        sources.append(VideoSource(path, r.get("label"), start, end))
    return sources


def sources_from_paths(
    paths: Sequence[str | os.PathLike[str]], labels: Sequence | None = None
) -> list[VideoSource]:
    """A list of videos (paths or URLs), with optional labels (class names or ints)."""
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"labels must have one entry per path ({len(paths)}), got {len(labels)}")
    return [VideoSource(os.fspath(p), None if labels is None else labels[i]) for i, p in enumerate(paths)]


def _expand_glob(pattern: str, storage_options: dict | None) -> list[str]:
    if is_url(pattern):
        from .._source.remote import filesystem

        fs, path = filesystem(pattern, storage_options or {})
        protocol = pattern.split("://", 1)[0]
        return sorted(f"{protocol}://{p}" if "://" not in p else p for p in fs.glob(path))
    return sorted(glob.glob(pattern, recursive=True))


def resolve_sources(
    videos, labels: Sequence | None = None, *, storage_options: dict | None = None
) -> list[VideoSource]:
    """What the datasets and readers take as ``videos``: a folder of class sub-folders, a manifest
    (``.csv``/``.jsonl``), a glob (``"clips/*.mp4"``, ``"s3://bucket/*.mp4"``), one path or URL, a list of
    paths or URLs (with ``labels``), or a list of :class:`VideoSource`.

    Raises:
        ValueError: nothing matches, or the labels do not fit the paths.
    """
    if isinstance(videos, (str, os.PathLike)):
        text = os.fspath(videos)
        if labels is not None and not isinstance(labels, (list, tuple)):
            raise ValueError("labels go with a list of paths")
        if not is_url(text) and os.path.isdir(text):
            if labels is not None:
                raise ValueError("labels come from the class sub-folders; do not pass labels with a folder")
            return sources_from_folder(text)
        if text.lower().endswith(MANIFEST_SUFFIXES):
            return sources_from_manifest(text)
        if _GLOB & set(text.split("://", 1)[-1]):
            found = _expand_glob(text, storage_options)
            if not found:
                raise ValueError(f"{text}: the pattern matches no files")
            return sources_from_paths(found, labels)
        return sources_from_paths([text], labels)
    videos = list(videos)
    if videos and all(isinstance(v, VideoSource) for v in videos):
        return videos
    return sources_from_paths(videos, labels)


def frame_range(src: VideoSource, pts: np.ndarray) -> tuple[int, int]:
    """The frames ``[lo, hi)`` of a video that its ``start``/``end`` (seconds) allow."""
    lo, hi = 0, len(pts)
    if src.start is not None:
        lo = int(np.searchsorted(pts, src.start - TIME_TOLERANCE))
    if src.end is not None:
        hi = int(np.searchsorted(pts, src.end - TIME_TOLERANCE))
    return lo, max(lo, hi)
