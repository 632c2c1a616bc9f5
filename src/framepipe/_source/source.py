"""Source stage: what a video source is (a local path, a URL, bytes, a file object), how to open it with
PyAV, and which video stream to read.

Every FFmpeg failure at open time becomes a specific :class:`~framepipe.errors.VideoError` naming the
source (a URL with its credentials masked). A :class:`Source` pickles as a description (path, URL and
options, or the bytes), never as an open file, so each process opens its own.

>>> Source.create(b"not a video").name
'<bytes: 11 bytes>'
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import threading
import weakref
from collections.abc import Mapping
from typing import IO, Any

import av

from .._util.fork import track
from .._util.masking import mask_credentials
from ..errors import (
    InvalidVideoError,
    TruncatedVideoError,
    VideoError,
    VideoNotFoundError,
)
from . import remote

__all__ = ["Source", "Opened", "check_path"]


def check_path(path: str | os.PathLike[str]) -> str:
    """Return ``path`` as an absolute string, or raise the error that says what is wrong with it."""
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise VideoNotFoundError(path, "no such file")
    if os.path.isdir(path):
        raise InvalidVideoError(path, "is a directory, not a video file")
    if os.path.getsize(path) == 0:
        raise InvalidVideoError(path, "is an empty (zero-byte) file")
    return path


class Opened:
    """An open container and the file it reads through; ``close()`` closes both (a context manager)."""

    def __init__(self, container: av.container.InputContainer, file=None, path: str | None = None) -> None:
        self.container = container
        self.file = file
        self._path = path

    def raise_if_failed(self) -> None:
        """Raise the failure of a read FFmpeg made through our file (a URL's), which FFmpeg only saw as
        the end of the data: call it before taking an early end of stream for the truth."""
        error = getattr(self.file, "error", None)
        if error is not None:
            raise error

    def checked(self, build, *args):
        """``build(*args)``, with a read failure raised in place of whatever an early end made of it."""
        try:
            result = build(*args)
        except VideoError:
            self.raise_if_failed()
            raise
        self.raise_if_failed()
        return result

    def tables(self):
        """A seekable binary file of the video for reading the container's own tables (a context manager).

        It is the file FFmpeg reads through, where there is one (a URL's ranged reads are cached, so the
        header FFmpeg has just read costs nothing more); readers restore its position.
        """
        return contextlib.nullcontext(self.file) if self.file is not None else open(self._path, "rb")

    def close(self) -> None:
        try:
            self.container.close()
        finally:
            if self.file is not None:
                self.file.close()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# What demuxing a damaged file can raise: FFmpeg's errors, and IndexError from PyAV 18 when an MPEG-TS
# gains a stream mid-file (PyAV's stream list is fixed at open; the new stream's packet indexes past it)
DEMUX_ERRORS = (av.error.FFmpegError, IndexError)


class Source:
    """Where a video's bytes are. Made by :meth:`create`; ``kind`` is ``"path"``, ``"url"``, ``"bytes"`` or
    ``"file"`` (a file object; one that cannot seek is first copied to a temporary file).

    ``name`` is what messages show (a URL's credentials masked); ``size`` is in bytes; ``version`` is
    what the index cache compares (size and mtime, an ETag, ...; None: do not cache).
    """

    def __init__(
        self,
        kind: str,
        name: str,
        *,
        location=None,
        storage_options: Mapping | None = None,
        size: int,
        version: tuple | None,
        streamed: bool = False,
    ) -> None:
        self.kind, self.name, self.size, self.version, self.streamed = kind, name, size, version, streamed
        self._location = location  # path, URL, bytes, or file object (may hold credentials: never printed)
        self._options = dict(storage_options or {})
        # a temporary copy: of a pipe, or of a URL whose server ignores byte ranges
        self._tmp: IO[bytes] | None = None
        # the readers of one file object (clones, in threads) share its position: they take turns
        self._file_lock = threading.Lock()
        if kind == "file":
            track(self)

    def after_fork(self) -> None:
        self._file_lock = threading.Lock()  # a thread of the parent may have held it at the fork

    # --- making one ---------------------------------------------------------------------------------------
    @classmethod
    def create(cls, source, storage_options: Mapping | None = None) -> Source:
        """A :class:`Source` for what the user passed to :func:`framepipe.open`.

        Raises:
            TypeError: ``source`` is none of a path, URL, bytes, binary file object or Hugging Face video
                value (``{"bytes": ..., "path": ...}``).
            ValueError: a live-stream URL (use ``open_stream``), or ``storage_options`` for a local file.
            VideoNotFoundError, InvalidVideoError, RemoteError: the source cannot be read.
        """
        if storage_options is not None and not isinstance(storage_options, Mapping):
            raise TypeError(
                f"storage_options must be a dict of fsspec options, got {type(storage_options).__name__}"
            )
        if isinstance(source, Mapping) and ("bytes" in source or "path" in source):
            return cls._from_video_value(source, storage_options)
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            if not data:
                raise InvalidVideoError("<bytes: 0 bytes>", "is empty")
            return cls("bytes", f"<bytes: {len(data)} bytes>", location=data, size=len(data), version=None)
        if isinstance(source, (str, os.PathLike)):
            text = os.fspath(source)
            if isinstance(text, bytes):
                text = os.fsdecode(text)
            if remote.is_url(text) and not text.lower().startswith("file://"):
                return cls._from_url(text, storage_options or {})
            if text.lower().startswith("file://"):
                text = text[len("file://") :]
            if storage_options:
                raise ValueError(
                    "storage_options are for URLs (s3://, https://, ...); a local path takes none"
                )
            path = check_path(text)
            st = os.stat(path)
            return cls(
                "path", path, location=path, size=st.st_size, version=("local", st.st_size, st.st_mtime_ns)
            )
        if hasattr(source, "read"):
            return cls._from_file(source)
        raise TypeError(
            "source must be a path, a URL, bytes, a binary file object or a Hugging Face "
            f'{{"bytes": ..., "path": ...}} video value, got {type(source).__name__}'
        )

    @classmethod
    def _from_video_value(cls, value: Mapping, storage_options: Mapping | None) -> Source:
        """A Hugging Face ``datasets`` ``Video(decode=False)`` value, ``{"bytes": ..., "path": ...}``: its
        bytes where it has them (``path`` is then only a name, often a bare file name), else its path."""
        data, path = value.get("bytes"), value.get("path")
        if data is not None:
            src = cls.create(data)
            if path:
                src.name = f"<bytes of {path}: {src.size} bytes>"
            return src
        if path:
            return cls.create(path, storage_options)
        raise InvalidVideoError("<video value>", "has neither bytes nor a path")

    @classmethod
    def _from_url(cls, url: str, storage_options: Mapping) -> Source:
        name = mask_credentials(url)
        if remote.is_live_url(url):
            raise ValueError(
                f"{name} is a live stream; open it with framepipe.open_stream(...), which receives "
                f"it in the background (framepipe.open reads files)"
            )
        info = remote.stat_remote(url, name, storage_options)
        src = cls(
            "url",
            name,
            location=url,
            storage_options=storage_options,
            size=info.size,
            version=None if info.version is None else (url,) + info.version,
        )
        if not info.ranges:  # the server says so up front: download now rather than on the first seek
            src._local_copy().close()
        return src

    @classmethod
    def _from_file(cls, fileobj) -> Source:
        name = f"<file {getattr(fileobj, 'name', type(fileobj).__name__)!s}>"
        seekable = getattr(fileobj, "seekable", lambda: False)
        try:
            can_seek = bool(seekable())
        except (OSError, ValueError):
            can_seek = False
        if can_seek:
            start = fileobj.tell()
            size = fileobj.seek(0, 2) - start
            fileobj.seek(start)
            if size <= 0:
                raise InvalidVideoError(name, "is empty (nothing left to read)")
            return cls("file", name, location=(fileobj, start), size=size, version=None)
        tmp = remote.spool(fileobj, name)  # a pipe: copy it to disk, memory stays at one chunk
        src = cls(
            "file", name, location=tmp.name, size=os.path.getsize(tmp.name), version=None, streamed=True
        )
        src._tmp = tmp
        weakref.finalize(src, tmp.close)  # the copy goes when the last reader of it does
        return src

    def _local_copy(self):
        """This URL's bytes in a temporary file (made once, kept while the source lives), opened for reading:
        for a server that ignores byte ranges, found out at open or on the first seek."""
        if self._tmp is None:
            self._tmp = remote.streamed_copy(self._location, self.name, self._options)
            self.streamed = True
            weakref.finalize(self, self._tmp.close)
        return open(self._tmp.name, "rb")

    # --- using one ----------------------------------------------------------------------------------------
    @property
    def cache_key(self) -> str | None:
        """What the index cache is keyed on (the path or the URL), or None where nothing is cached."""
        if self.version is None:
            return None
        return self._location if self.kind == "path" else self.version[0]

    def open(self) -> Opened:
        """Open the container (the caller closes it).

        Raises:
            VideoNotFoundError, InvalidVideoError, RemoteError: FFmpeg cannot read it.
        """
        if self.kind == "url" and self._tmp is not None:
            file: Any = open(self._tmp.name, "rb")  # noqa: SIM115 (closed by the Opened that holds it)
        elif self.kind == "url":
            file = remote.RemoteFile(
                self._location, self.name, self._options, size=self.size, local_copy=self._local_copy
            )
        elif self.kind == "bytes":
            file = io.BytesIO(self._location)
        elif self.kind == "file" and not self.streamed:
            fileobj, start = self._location
            file = _WindowView(fileobj, start, self.size, self._file_lock)
        else:
            file = None  # a local path (or a temporary copy): FFmpeg opens it itself
        try:
            return Opened(self._open_container(file), file, None if file is not None else self._location)
        except BaseException:
            if file is not None:
                file.close()
            raise

    def _open_container(self, file) -> av.container.InputContainer:
        target = self._location if file is None else file
        error: VideoError | None = None
        try:
            # tags in a damaged or foreign file may not be UTF-8: never a reason to refuse the video
            return av.open(target, mode="r", metadata_errors="replace")
        except FileNotFoundError:
            error = VideoNotFoundError(self.name, "no such file")
        except PermissionError:
            error = InvalidVideoError(self.name, "permission denied")
        except av.error.FFmpegError as exc:
            # a failed read of a URL reaches FFmpeg as the end of the data: report that failure instead
            error = getattr(file, "error", None)
            if error is None and self.kind in ("path", "bytes") and _mp4_without_moov(self._location):
                error = TruncatedVideoError(
                    self.name,
                    "is an MP4 without its index (no moov box; ffprobe: 'moov atom not found'): the file "
                    "was cut off before its end, where the index is written, and no frame can be found "
                    "without it",
                )
            if error is None:
                error = InvalidVideoError(
                    self.name, f"not a readable video ({mask_credentials(exc.strerror or str(exc))})"
                )
        assert error is not None  # every except clause above sets it
        raise error

    def __getstate__(self) -> dict:
        if self.kind == "file":
            raise TypeError(
                f"{self.name}: a reader of a file object cannot be pickled (it cannot be reopened in "
                f"another process); pass a path, a URL or bytes instead"
            )
        # a URL travels as the URL: another process fetches (or copies) it itself
        state = {**self.__dict__, "_tmp": None, "streamed": False}
        state.pop("_file_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._file_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Source({self.kind}, {self.name!r}, {self.size} bytes)"


class _WindowView(remote.PositionedFile):
    """A caller's seekable file object from where it stood when opened, with a position of its own, so the
    index pass and the decoder never move each other's position. Closing it leaves the caller's file open:
    it is theirs to close."""

    def __init__(self, fileobj, start: int, size: int, lock) -> None:
        self.fileobj, self.start, self.size, self.lock = fileobj, start, size, lock
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        n = self._clamp(n)
        if n <= 0:
            return b""
        with self.lock:  # every view of one file object (clones of a reader, in threads) takes turns
            self.fileobj.seek(self.start + self._pos)
            data = self.fileobj.read(n)
        self._pos += len(data)
        return data


def _mp4_without_moov(location) -> bool:
    """Whether ``location`` (a path or bytes) is an MP4 whose top-level boxes hold no ``moov``: the mark of
    a recording or download cut off before its end, where most muxers write the index."""
    try:
        data = location if isinstance(location, (bytes, bytearray, memoryview)) else None
        with contextlib.ExitStack() as stack:
            f = io.BytesIO(data) if data is not None else stack.enter_context(open(location, "rb"))
            kinds: list[bytes] = []
            while len(kinds) < 64:
                head = f.read(8)
                if len(head) < 8:
                    break
                size, kind = struct.unpack(">I4s", head)
                if size == 1:
                    large = f.read(8)
                    if len(large) < 8:
                        break
                    size = struct.unpack(">Q", large)[0] - 8
                kinds.append(kind)
                if size < 8:
                    break
                f.seek(size - 8, 1)
    except OSError:
        return False
    return bool(kinds) and kinds[0] == b"ftyp" and b"moov" not in kinds and b"moof" not in kinds
