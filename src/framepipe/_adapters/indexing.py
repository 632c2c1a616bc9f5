"""What a door needs of every video before the first batch, got once: its exact frame count, its size, and
where a reader gets its index. From an index store (``framepipe index``: nothing is opened, a local file's
version is checked with one ``stat``), else by indexing each video (the index cache first) with I/O-bound
concurrency for URLs. The result travels to the workers, which never index a video again.

>>> import os, tempfile
>>> from framepipe.tools.synthetic import make_video
>>> from framepipe._adapters.listing import sources_from_paths
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=12)
>>> kept, skipped = index_sources(sources_from_paths([path]), on_bad_video="raise")
>>> kept[0][1].num_frames, skipped
(12, [])
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .._file.reader import load_index
from .._index.archive import IndexArchive, StoredIndex, write_archive
from .._index.index import VideoIndex
from .._index.store import IndexStore
from .._source.remote import is_url
from .._source.source import Source
from .._util.masking import mask_credentials
from .._util.warn import warn
from ..errors import VideoError
from .listing import VideoSource

__all__ = [
    "Indexed",
    "index_sources",
    "open_store",
    "build_store",
    "build_index_store",
    "URL_REQUESTS",
    "LOCAL_THREADS",
]

# Requests in flight while indexing URLs: each open waits on the network (a HEAD, then the header's
# ranges), not on a core, so dozens overlap where a handful would leave the link idle.
URL_REQUESTS = 32
# Threads indexing local files: demuxing an MP4's tables releases the GIL, one or two per core keep the
# disk and the cores busy.
LOCAL_THREADS = os.cpu_count() or 1


@dataclass(frozen=True)
class Indexed:
    """One readable video: its frame count and size, and its index (made here, or in a store)."""

    num_frames: int
    height: int
    width: int
    index: VideoIndex | StoredIndex

    def pts_seconds(self) -> np.ndarray:
        """Every frame's time in seconds (from the store: one memory-mapped slice)."""
        if isinstance(self.index, StoredIndex):
            return self.index.archive.pts_seconds(self.index.row)
        return self.index.pts_seconds


def open_store(index) -> IndexArchive | None:
    """``index=`` as the doors take it: None, a store's folder, or an open :class:`IndexArchive`.

    Raises:
        ValueError: the folder is not a store of this version.
    """
    if index is None or isinstance(index, IndexArchive):
        return index
    if isinstance(index, (str, os.PathLike)):
        return IndexArchive(index)
    raise TypeError(
        f"index must be the folder of an index store (framepipe index), got {type(index).__name__}"
    )


def _store_name(src: VideoSource) -> str | None:
    """The name a store lists a video under (as messages name it), without touching it; None in memory."""
    if src.data is not None:
        return None
    if is_url(src.path):
        return mask_credentials(src.path)
    return os.path.abspath(src.path)


def _local_version(name: str) -> tuple | None:
    try:
        st = os.stat(name)
    except OSError:
        return None
    return ("local", st.st_size, st.st_mtime_ns)


def index_sources(
    sources: list[VideoSource],
    *,
    on_bad_video: str,
    stream: int | None = None,
    storage_options: Mapping | None = None,
    store: IndexArchive | None = None,
) -> tuple[list[tuple[VideoSource, Indexed]], list[tuple[str, str]]]:
    """Every readable video of ``sources`` with what a dataset needs of it, in order; and the skipped
    ones ``(path, message)`` (``on_bad_video="skip"``; one warning names the first few and counts them).

    A video the store lists, unchanged since (a local file's size and mtime; a URL's version from the
    request that opening it makes anyway), comes from the store; any other is indexed here.

    Raises:
        VideoError: a video cannot be read and ``on_bad_video="raise"``.
        ValueError: none of the videos can be read.
    """
    if store is not None and store.stream != stream:
        raise ValueError(
            f"index: the store at {store.folder} was built for stream={store.stream}, not stream={stream}"
        )
    found: list[Indexed | VideoError | None] = [None] * len(sources)
    todo: list[int] = []
    for i, src in enumerate(sources):
        name = _store_name(src) if store is not None else None
        row = store.row(name) if store is not None and name is not None else None
        local = name is not None and not is_url(src.path)
        if store is not None and row is not None and local and store.matches(row, _local_version(str(name))):
            found[i] = _stored(store, row)  # unchanged since the store was built: one stat, no open
            continue
        todo.append(i)

    def probe(i: int) -> None:
        src = sources[i]
        try:
            source = Source.create(src.target, storage_options)
            row = store.row(source.name) if store is not None and src.data is None else None
            if store is not None and row is not None and store.matches(row, source.version):
                found[i] = _stored(store, row)  # a URL unchanged since the store was built
                return
            index = load_index(source, stream=stream)
            found[i] = Indexed(index.num_frames, index.height, index.width, index)
        except VideoError as exc:  # the video's own fault; anything else is a bug and raises
            found[i] = exc

    urls = sum(is_url(sources[i].path) for i in todo)
    threads = URL_REQUESTS if urls > len(todo) // 2 else LOCAL_THREADS
    if len(todo) == 1:
        probe(todo[0])
    elif todo:
        with ThreadPoolExecutor(max_workers=min(threads, len(todo))) as pool:
            list(pool.map(probe, todo))
    kept, skipped = [], []
    for src, got in zip(sources, found):
        if isinstance(got, VideoError):
            if on_bad_video == "raise":
                raise got
            skipped.append((src.path, str(got)))
        elif got is not None:
            kept.append((src, got))
    if skipped:  # collected, and said once (the dataset's ``skipped`` lists them all)
        shown = "; ".join(message for _path, message in skipped[:3])
        more = f"; and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        count = f"{len(skipped)} of {len(sources)} videos"
        warn(f"framepipe: skipped {count} that could not be read: {shown}{more}")
    if not kept:
        raise ValueError("none of the videos could be read")
    return kept, skipped


CHUNK = 64  # videos a worker process indexes per task: few round trips, and the bar still moves


def index_chunk(targets: list, stream: int | None, storage_options: Mapping | None) -> list:
    """Index some videos (in a worker process): ``(name, version, index)`` or ``(name, None, error)``."""
    out: list[tuple] = []
    for target in targets:
        try:
            source = Source.create(target, storage_options)
            index = IndexStore(source, stream=stream, use_cache=False).index
            out.append((source.name, source.version, index))
        except VideoError as exc:  # the video's own fault: reported with the others, once
            out.append((str(target) if isinstance(target, str) else "<bytes>", None, str(exc)))
    return out


def build_store(
    sources: list,
    out: str,
    *,
    stream: int | None = None,
    jobs: int = 1,
    storage_options: Mapping | None = None,
    use_ray: bool = False,
    bar=None,
) -> tuple[str, int, list[tuple[str, str]]]:
    """Index ``sources`` (VideoSources) into a store at ``out``: (its folder, videos indexed, failures);
    in ``jobs`` processes (spawned), or as Ray tasks with ``use_ray`` (Ray schedules and retries them).
    ``bar``: a progress bar to move (``update(n)``)."""
    targets = [s.target for s in sources]  # (bytes travel as they are: a store names them <bytes>)
    chunks = [targets[k : k + CHUNK] for k in range(0, len(targets), CHUNK)]
    results: list = []
    for got in _indexed_chunks(chunks, stream, storage_options, jobs=jobs, use_ray=use_ray):
        results.extend(got)
        if bar is not None:
            bar.update(len(got))
    items = [(name, version, index) for name, version, index in results if version is not None]
    failed = [(name, error) for name, version, error in results if version is None]
    folder = write_archive(out, items, stream=stream, failed=failed)
    return folder, len(items), failed


def _indexed_chunks(
    chunks: list[list], stream: int | None, storage_options: Mapping | None, *, jobs: int, use_ray: bool
) -> Iterator[list]:
    """Each chunk's :func:`index_chunk` result, in order, as it is done: as Ray tasks, in ``jobs``
    processes, or here."""
    if use_ray:
        import ray

        task = ray.remote(index_chunk)
        refs = [task.remote(c, stream, storage_options) for c in chunks]  # Ray schedules and retries
        for ref in refs:
            yield ray.get(ref)
    elif jobs > 1 and len(chunks) > 1:
        # spawned, not forked: a fork of a process that runs FFmpeg or progress-bar threads is unsafe
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            yield from pool.map(index_chunk, chunks, [stream] * len(chunks), [storage_options] * len(chunks))
    else:
        for c in chunks:
            yield index_chunk(c, stream, storage_options)


def _stored(store: IndexArchive, row: int) -> Indexed:
    height, width = store.frame_size(row)
    return Indexed(store.num_frames(row), height, width, store.ref(row))


def build_index_store(
    videos,
    out: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    stream: int | None = None,
    storage_options: Mapping | None = None,
    use_ray: bool = False,
) -> str:
    """Index every video of ``videos`` once into a store at ``out`` (what ``framepipe index`` does), for
    ``index=`` of the datasets, the Keras sequences and ``framepipe.ray``.

    Args:
        videos: anything the datasets take (a folder, a glob, a manifest, paths, URLs).
        out: the store's folder (replaced, whole, if it exists).
        jobs: processes that index at once (default: one per CPU).
        stream: the video stream; None: each file's best.
        storage_options: fsspec options for URLs.
        use_ray: index as Ray tasks on the cluster ``ray.init`` joined.

    Returns:
        The store's folder. Videos that could not be read are listed in its ``toc.json`` (``failed``).

    Raises:
        ValueError: no video could be indexed.

    Example:
        >>> import os, tempfile
        >>> from framepipe.tools.synthetic import make_video
        >>> root = tempfile.mkdtemp()
        >>> _ = make_video(os.path.join(root, "v.mp4"), num_frames=12)
        >>> store = build_index_store(root, os.path.join(root, "store"), jobs=1)
        >>> os.path.basename(store)
        'store'
    """
    from .listing import resolve_sources

    sources = resolve_sources(videos, storage_options=dict(storage_options) if storage_options else None)
    folder, done, failed = build_store(
        sources,
        os.fspath(out),
        stream=stream,
        jobs=jobs or os.cpu_count() or 1,
        storage_options=storage_options,
        use_ray=use_ray,
    )
    if not done:
        raise ValueError(f"no video could be indexed (first: {failed[0][0]}: {failed[0][1]})")
    return folder
