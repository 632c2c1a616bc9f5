"""Which videos, with which labels: a folder of class sub-folders, a manifest, a list of paths or URLs, or
a glob. Plain data, no decoding; :class:`~framepipe.dataset.VideoDataset`, the PyTorch adapter and the
Ray reader all start here.

>>> [s.label for s in sources_from_paths(["a.mp4", "b.mp4"], ["walk", "run"])]
['walk', 'run']
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import os
from collections.abc import Sequence

import numpy as np

from .._sampling.request import VideoSource, frame_range
from .._source.remote import is_url
from .._util.constants import VIDEO_EXTENSIONS

__all__ = [
    "VideoSource",
    "sources_from_folder",
    "sources_from_manifest",
    "sources_from_paths",
    "resolve_sources",
    "frame_range",
    "with_keys",
    "LabelMap",
    "MANIFEST_SUFFIXES",
]

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".json", ".ndjson")
_GLOB = set("*?[")


def sources_from_folder(
    root: str | os.PathLike[str], *, extensions: Sequence[str] = VIDEO_EXTENSIONS
) -> list[VideoSource]:
    """Every video in ``root`` and below it, sorted by path: ``root/<class>/.../<video>`` is labelled
    ``<class>`` (the first sub-folder), a video directly in ``root`` is unlabelled. Keys are the paths
    relative to ``root``. The one listing of a folder, for the datasets, ``framepipe.ray`` and the CLI."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise NotADirectoryError(f"{root}: not a folder of videos")
    found = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            if name.lower().endswith(tuple(extensions)):
                rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
                found.append(rel)
    if not found:
        raise ValueError(f"{root}: no videos ({', '.join(extensions)}) in this folder or below it")
    sources = []
    for rel in sorted(found):
        parts = rel.split("/")
        sources.append(VideoSource(os.path.join(root, *parts), parts[0] if len(parts) > 1 else None, key=rel))
    return sources


def sources_from_manifest(manifest: str | os.PathLike[str]) -> list[VideoSource]:
    """A CSV (``path,label[,start,end]``, header optional) or JSON-lines file (``{"path": ..., "label":
    ..., "start": ..., "end": ..., "key": ...}``); relative paths are relative to the manifest's folder,
    and URLs (``s3://...``, ``https://...``) are read as they are. A video's key is its ``key`` if given
    (``framepipe clips`` writes it), else its path as written."""
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
        written = str(r["path"])
        path = written if is_url(written) else os.path.join(base, written)
        key = str(r["key"]) if r.get("key") else written.replace(os.sep, "/")  # e.g. framepipe clips'
        sources.append(VideoSource(path, r.get("label"), start, end, key=key))
    return sources


def sources_from_paths(
    paths: Sequence[str | os.PathLike[str]], labels: Sequence | None = None
) -> list[VideoSource]:
    """A list of videos (paths or URLs), with optional labels (class names or ints); keys relative to
    the folder they share (:func:`with_keys`)."""
    return with_keys(_plain(paths, labels))


def _plain(paths: Sequence[str | os.PathLike[str]], labels: Sequence | None) -> list[VideoSource]:
    if labels is not None and len(labels) != len(paths):
        raise ValueError(f"labels must have one entry per path ({len(paths)}), got {len(labels)}")
    return [VideoSource(os.fspath(p), None if labels is None else labels[i]) for i, p in enumerate(paths)]


def _split(path: str) -> tuple[str, list[str]]:
    """(the scheme and host of a URL, or "" for a local path; the folders and file name)."""
    if is_url(path):
        scheme, rest = path.split("://", 1)
        host, _, tail = rest.partition("/")
        return f"{scheme}://{host}", [p for p in tail.split("/") if p]
    return "", [p for p in os.path.abspath(path).replace(os.sep, "/").split("/") if p]


def with_keys(sources: Sequence[VideoSource], root: str | None = None) -> list[VideoSource]:
    """``sources`` with a key each (those that have one keep it): the path relative to ``root``, or to
    the folder all the paths share. So a list of the videos of a folder gets the keys that the folder's
    own listing gives them, and the seeding rule draws the same clips for either.

    >>> [s.key for s in with_keys([VideoSource("/d/walk/a.mp4"), VideoSource("/d/run/b.mp4")])]
    ['walk/a.mp4', 'run/b.mp4']
    """
    split = [_split(s.path) for s in sources]
    if root is not None:
        common = _split(root.rstrip("/") + "/x")
        prefix, base = common[0], common[1][:-1]
    else:
        prefix = split[0][0] if split else ""
        base = [] if not split else split[0][1][:-1]
        for where, parts in split:
            if where != prefix:
                prefix, base = "", []
                break
            n = 0
            while n < len(base) and n < len(parts) - 1 and parts[n] == base[n]:
                n += 1
            base = base[:n]
    out = []
    for src, (where, parts) in zip(sources, split):
        if src.key is None:
            if where == prefix and parts[: len(base)] == base:
                key = "/".join(parts[len(base) :])
            else:  # outside the root: its whole name
                key = "/".join(parts)
            src = dataclasses.replace(src, key=key)
        out.append(src)
    return out


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
    paths or URLs (with ``labels``), a list of :class:`VideoSource`, or videos held in memory (bytes,
    ``BytesIO``, Hugging Face ``Video(decode=False)`` values such as ``ds["video"]``), alone or in a list.

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
            return with_keys(_plain(found, labels), _glob_root(text))
        return sources_from_paths([text], labels)
    if _in_memory(videos):  # one video held in memory
        videos = [videos]
    videos = list(videos)
    if videos and all(isinstance(v, VideoSource) for v in videos):
        return with_keys(videos)
    if any(_in_memory(v) for v in videos):
        if labels is not None and len(labels) != len(videos):
            raise ValueError(f"labels must have one entry per video ({len(videos)}), got {len(labels)}")
        listed = [_source_of(v, n, None if labels is None else labels[n]) for n, v in enumerate(videos)]
        return with_keys(listed)
    return sources_from_paths(videos, labels)


def _in_memory(video) -> bool:
    """A video held in memory: bytes, a binary file object, or a Hugging Face ``Video(decode=False)``
    value (``{"bytes": ..., "path": ...}``)."""
    return (
        isinstance(video, (bytes, bytearray, memoryview))
        or hasattr(video, "read")
        or (isinstance(video, dict) and ("bytes" in video or "path" in video))
    )


def _source_of(video, n: int, label) -> VideoSource:
    """The listing entry of one item of a list: a path, or a video held in memory (its bytes kept)."""
    if isinstance(video, (str, os.PathLike)):
        return VideoSource(os.fspath(video), label)
    if isinstance(video, dict):
        data, path = video.get("bytes"), video.get("path")
        if data is None:
            if not path:
                raise ValueError(f"video {n} has neither bytes nor a path: {sorted(video)}")
            return VideoSource(str(path), label)
        return VideoSource(str(path) if path else f"<bytes #{n}>", label, data=bytes(data))
    if hasattr(video, "read"):
        if hasattr(video, "seek"):
            video.seek(0)
        name = getattr(video, "name", None)
        return VideoSource(str(name) if isinstance(name, str) else f"<file #{n}>", label, data=video.read())
    if isinstance(video, (bytes, bytearray, memoryview)):
        return VideoSource(f"<bytes #{n}>", label, data=bytes(video))
    raise TypeError(
        f"videos[{n}] must be a path, a URL, bytes, a binary file object or a Hugging Face video value, "
        f"got {type(video).__name__}"
    )


def _glob_root(pattern: str) -> str:
    """The folder of a glob before its first wildcard: ``"data/*/x*.mp4"`` -> ``"data"``."""
    head, rest = (pattern.split("://", 1) + [""])[:2] if "://" in pattern else ("", pattern)
    parts = rest.split("/")
    fixed = []
    for p in parts[:-1]:
        if _GLOB & set(p):
            break
        fixed.append(p)
    folder = "/".join(fixed)
    return f"{head}://{folder}" if head else (folder or ".")


class LabelMap:
    """The one mapping of labels to ids, for every door: all ints are their own ids (no class names);
    otherwise every label is a class name (``classes``, sorted unless given), and its id is its position.

    Args:
        labels: every video's label (None: unlabelled, id -1).
        classes: the class names in id order; None: the names found, sorted.

    Raises:
        ValueError: ints mixed with names, or a label not among ``classes``.

    Example:
        >>> m = LabelMap(["run", "walk", None, "run"])
        >>> m.classes, [m.id(x) for x in ("walk", None)]
        (['run', 'walk'], [1, -1])
    """

    def __init__(self, labels: Sequence, classes: Sequence[str] | None = None) -> None:
        given = [x for x in labels if x is not None]
        numbers = [isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in given]
        if any(numbers) and not all(numbers):
            example = next(x for x, n in zip(given, numbers) if not n)
            raise ValueError(
                f"labels mix ints and class names (e.g. {example!r}): give all ints, or all names"
            )
        self.numeric = bool(given) and all(numbers)
        if classes is not None:
            self.classes: list[str] = list(classes)
        else:
            self.classes = [] if self.numeric else sorted({str(x) for x in given})
        self._ids = {c: i for i, c in enumerate(self.classes)}
        for x in given:
            self.id(x)  # every label checked here, once

    def id(self, label) -> int:
        """The id of ``label`` (-1 for None)."""
        if label is None:
            return -1
        if self.numeric:
            return int(label)
        if str(label) not in self._ids:
            raise ValueError(f"label {label!r} is not one of classes {self.classes}")
        return self._ids[str(label)]
