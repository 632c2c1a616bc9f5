"""Videos behind a URL, through fsspec (extra ``[remote]``): ranged reads with a read-ahead sized for video,
timeouts, retries, and errors that name the URL with its credentials masked.

FFmpeg reads a video through a Python file object (:class:`RemoteFile`). Opening costs one metadata
request (``fs.info``: size, ETag) and the reads of the container's header; an MP4 is then indexed from
its sample tables without reading the media data (see :func:`~framepipe._index.build.build_table_index`),
and each later seek fetches only the bytes from there on, in blocks of :data:`BLOCK_SIZE`.

fsspec is imported here only, when a URL is opened: reading local files never imports it.

>>> is_live_url("rtsp://cam/1"), is_live_url("https://host/a/index.m3u8"), is_live_url("s3://b/v.mp4")
(True, True, False)
"""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO

from .._util.extras import require
from .._util.masking import mask_credentials
from .._util.warn import warn
from ..errors import (
    AccessDeniedError,
    InvalidVideoError,
    RemoteError,
    RemoteReadError,
    SourceUnreachableError,
    VideoError,
    VideoNotFoundError,
)

__all__ = [
    "PositionedFile",
    "RemoteFile",
    "RemoteInfo",
    "BLOCK_SIZE",
    "is_url",
    "is_live_url",
    "stat_remote",
    "spool",
    "streamed_copy",
]

# Bytes per ranged request, and blocks kept per open file. FFmpeg reads 32 KB at a time and jumps between
# the header and the media data; fsspec's read-ahead cache keeps one block, so every jump would fetch
# again. An LRU of 1 MB blocks keeps the header, the current GOP's start and the read position cached:
# a seek wastes at most one block, and memory is BLOCK_SIZE * BLOCKS_KEPT (4 MB) per open reader.
BLOCK_SIZE = 1 << 20
BLOCKS_KEPT = 4
CONNECT_TIMEOUT = 10.0  # seconds to connect
READ_TIMEOUT = 30.0  # seconds without data before a read gives up (then it is retried)
RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)  # backoff before each retry of a failed read (with +-25% jitter)

_URL = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
_LIVE_SCHEMES = {"rtsp", "rtsps", "rtmp", "rtmps", "rtp", "srt", "udp", "tcp", "mms", "mmsh"}


def is_url(source: str) -> bool:
    """Whether ``source`` is a URL (``scheme://...``) rather than a local path."""
    return bool(_URL.match(source))


def is_live_url(source: str) -> bool:
    """URLs that are live streams (RTSP, UDP, ..., HLS playlists): for ``open_stream``, not ``open``."""
    m = _URL.match(source)
    if not m:
        return False
    scheme = m.group("scheme").lower()
    return scheme in _LIVE_SCHEMES or (
        scheme in ("http", "https") and ".m3u8" in source.split("?")[0].lower()
    )


def _fsspec():
    return require(
        "fsspec",
        extra="remote",
        what="reading videos from URLs",
        hints={"fsspec": " (and the filesystem's own package for s3://, gs://, az://: s3fs, gcsfs, adlfs)"},
    )


def _with_timeouts(protocol: str, options: Mapping) -> dict:
    """``storage_options`` with connect and read timeouts added where the user set none: a silent server
    must never hang a DataLoader worker."""
    opts = dict(options)
    if protocol in ("http", "https"):
        aiohttp = require("aiohttp", extra="remote", what="reading videos over HTTP")
        client = dict(opts.get("client_kwargs") or {})
        client.setdefault(
            "timeout", aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
        )
        opts["client_kwargs"] = client
    elif protocol in ("s3", "s3a"):
        config = dict(opts.get("config_kwargs") or {})
        config.setdefault("connect_timeout", CONNECT_TIMEOUT)
        config.setdefault("read_timeout", READ_TIMEOUT)
        config.setdefault("retries", {"max_attempts": 3, "mode": "standard"})
        opts["config_kwargs"] = config
    return opts


def filesystem(url: str, storage_options: Mapping):
    """(fsspec filesystem, path in it) for ``url``; fsspec keeps one filesystem per process and options."""
    fsspec = _fsspec()
    match = _URL.match(url)
    protocol = match.group("scheme").lower() if match else ""
    return fsspec.core.url_to_fs(url, **_with_timeouts(protocol, storage_options))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    return status if isinstance(status, int) else None


def _transient(exc: BaseException) -> bool:
    """A failure worth retrying: a dropped connection, a timeout, a 5xx; not a 404, 403 or bad request."""
    if isinstance(
        exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, ValueError)
    ):
        return False
    status = _status(exc)
    if status is not None:
        return status >= 500 or status in (408, 429)
    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, (OSError, TimeoutError, asyncio.TimeoutError, EOFError)) or bool(
        names
        & {
            "ClientError",
            "ClientPayloadError",
            "ServerDisconnectedError",
            "FSTimeoutError",
            "ReadTimeoutError",
            "ConnectTimeoutError",
            "EndpointConnectionError",
        }
    )


def _plain(text: str) -> str:
    """aiohttp's connection errors in plain words: "Cannot connect to host h:p ssl:default [Connect call
    failed ('127.0.0.1', 9)]" names a TLS setting that a plain http:// URL never used.

    >>> _plain("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed ('127.0.0.1', 9)]")
    'cannot connect to 127.0.0.1:9: connection refused'
    """
    m = re.match(r"Cannot connect to host (\S+) ssl:\S+ \[(.*)\]$", text.strip())
    if not m:
        return text
    why = m.group(2)
    if why.startswith("Connect call failed") or "refused" in why.lower():
        why = "connection refused"
    return f"cannot connect to {m.group(1)}: {why}"


def remote_error(name: str, exc: BaseException, doing: str) -> VideoError:
    """The framepipe error for a failure of fsspec or its filesystem; its text is masked, never chained."""
    if isinstance(exc, FileNotFoundError) and exc.__cause__ is not None:
        exc = exc.__cause__  # fsspec's HTTP info() reports every failure as "not found": use the real one
    reason = mask_credentials(_plain(str(exc)) or type(exc).__name__)
    status = _status(exc)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if isinstance(exc, FileNotFoundError) or status == 404 or names & {"NoSuchBucket", "NoSuchKey"}:
        return VideoNotFoundError(name, "no such file (the server or bucket has nothing at that URL)")
    if (
        isinstance(exc, PermissionError)
        or status in (401, 403)
        or names & {"NoCredentialsError", "PartialCredentialsError"}
    ):
        return AccessDeniedError(
            name, f"access denied while {doing} (check credentials and permissions: {reason})"
        )
    if names & {
        "ClientConnectorError",
        "ConnectionRefusedError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ServerTimeoutError",
        "FSTimeoutError",
        "TimeoutError",
        "gaierror",
    }:
        return SourceUnreachableError(name, f"cannot reach the server while {doing} ({reason})")
    if isinstance(exc, IsADirectoryError):
        return InvalidVideoError(name, "is a directory, not a video file")
    return RemoteError(name, f"{doing} failed ({type(exc).__name__}: {reason})")


@dataclass(frozen=True)
class RemoteInfo:
    """What one metadata request says about a remote file: its size and version (for the index cache)."""

    size: int
    version: tuple | None  # ("etag", ...) or ("modified", size, last-modified); None: unknown
    ranges: bool  # False where the server says it serves no byte ranges


def stat_remote(url: str, name: str, storage_options: Mapping) -> RemoteInfo:
    """One metadata request (HTTP HEAD, S3 HeadObject, ...).

    Raises:
        VideoNotFoundError, AccessDeniedError, SourceUnreachableError, RemoteError: as the server answers.
    """
    fs, path = filesystem(url, storage_options)
    error = None
    try:
        info = fs.info(path)
    except Exception as exc:  # fsspec and its filesystems raise many types; each is mapped, none hidden
        error = remote_error(name, exc, "asking for the file's size")
    if error is not None:
        raise error  # outside the except block: the original may hold the URL's credentials
    if info.get("type") == "directory":
        raise InvalidVideoError(name, "is a directory, not a video file")
    size = info.get("size")
    if not isinstance(size, int) or size <= 0:
        raise InvalidVideoError(name, "is empty, or the server does not say how large it is")
    etag = info.get("ETag") or info.get("etag") or info.get("md5") or info.get("generation")
    modified = (
        info.get("Last-Modified") or info.get("LastModified") or info.get("mtime") or info.get("updated")
    )
    version = ("etag", str(etag)) if etag else (("modified", size, str(modified)) if modified else None)
    return RemoteInfo(size, version, ranges=info.get("partial", True) is not False)


class PositionedFile:
    """A read-only binary file of ``size`` bytes keeping its own position, for FFmpeg to read through:
    subclasses read ``n`` bytes at ``self._pos`` (``_clamp`` bounds ``n`` by what is left)."""

    size: int
    _pos: int = 0

    def _clamp(self, n: int | None) -> int:
        left = self.size - self._pos
        return left if n is None or n < 0 else min(n, left)

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = max(0, {0: 0, 1: self._pos, 2: self.size}[whence] + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release here; subclasses that hold resources close them."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RemoteFile(PositionedFile):
    """A seekable binary file over a URL for FFmpeg to read through: ranged reads of :data:`BLOCK_SIZE`,
    one connection pool per process, and a read that fails is retried from the same offset with backoff.

    FFmpeg reads through ``read()``, and PyAV drops (prints) an exception raised there, so a failure never
    leaves ``read()``: it is kept in :attr:`error` (a :class:`~framepipe.RemoteReadError` naming the URL,
    masked, or the error for a 403, 404, ...) and FFmpeg sees the end of the file. Whoever sees FFmpeg stop
    checks it first (``Opened.raise_if_failed``), so a failed read is never taken for the end of the video.

    A server that ignores byte ranges shows it on the first read past the start: ``local_copy()`` (given by
    the :class:`~framepipe._source.source.Source`) then downloads the file once, with a warning, and reads go
    on from that copy.
    """

    def __init__(self, url: str, name: str, storage_options: Mapping, *, size: int, local_copy=None) -> None:
        self.url, self.name, self.size = url, name, size
        self._options = storage_options
        self._local_copy = local_copy
        self._pos = 0
        self._f = None
        self._local = None  # the downloaded copy, where the server ignores ranges
        self.error: VideoError | None = None

    def _file(self):
        if self._f is None:
            fs, path = filesystem(self.url, self._options)
            # size given: no second metadata request; blocks: a run of FFmpeg's small reads costs one request
            # per block, and going back to the header or a keyframe just read costs none
            self._f = fs.open(
                path,
                "rb",
                block_size=BLOCK_SIZE,
                cache_type="blockcache",
                size=self.size,
                cache_options={"maxblocks": BLOCKS_KEPT},
            )
        return self._f

    def _drop(self) -> None:
        f, self._f = self._f, None
        if f is not None:
            try:
                f.close()
            except (OSError, ValueError):
                pass  # a broken connection may not close cleanly; the next read opens a new one

    def read(self, n: int = -1) -> bytes:
        n = self._clamp(n)
        if self.error is not None or n <= 0:
            return b""
        try:
            data = self._read(n)
        except VideoError as exc:
            self.error = exc
            return b""
        self._pos += len(data)
        return data

    def _read(self, n: int) -> bytes:
        if self._local is not None:
            self._local.seek(self._pos)
            return self._local.read(n)
        attempts = 0
        while True:
            attempts += 1
            try:
                f = self._file()
                f.seek(self._pos)
                data = f.read(n)
                if n and not data:
                    raise EOFError(f"the server sent nothing at byte {self._pos} of {self.size}")
                return data
            except ValueError as exc:
                if "range" not in str(exc).lower() or self._local_copy is None:
                    raise remote_error(self.name, exc, f"reading byte {self._pos}") from None
                self._drop()
                self._local = self._local_copy()  # the server ignores ranges: read from a full copy
                return self._read(n)
            except Exception as exc:
                if not _transient(exc):
                    raise remote_error(self.name, exc, f"reading byte {self._pos}") from None
                self._drop()
                if attempts > len(RETRY_DELAYS):
                    raise RemoteReadError(
                        self.name,
                        f"reading byte {self._pos} failed {attempts} times; last error: "
                        f"{mask_credentials(str(exc) or type(exc).__name__)}",
                        attempts=attempts,
                    ) from None
                time.sleep(RETRY_DELAYS[attempts - 1] * random.uniform(0.75, 1.25))

    def close(self) -> None:
        self._drop()
        if self._local is not None:
            self._local.close()
            self._local = None


def spool(reader, name: str, *, chunk: int = 4 << 20) -> IO[bytes]:
    """Copy a stream that can only be read forward (a pipe, a server without ranges) into a temporary
    file, which the caller owns. Memory: one chunk."""
    tmp = tempfile.NamedTemporaryFile(prefix="framepipe-", suffix=".video")  # noqa: SIM115 (lives with the source)
    try:
        shutil.copyfileobj(reader, tmp, chunk)
        tmp.flush()
    except Exception as exc:
        tmp.close()
        if isinstance(exc, VideoError):
            raise
        raise remote_error(name, exc, "copying the stream") from None
    if tmp.tell() == 0:
        tmp.close()
        raise InvalidVideoError(name, "is empty (zero bytes)")
    return tmp


def streamed_copy(url: str, name: str, storage_options: Mapping):
    """The whole remote file in a temporary file, read from the start, for a server that ignores ranges."""
    warn(
        f"framepipe: {name}: the server does not serve byte ranges, so the whole file is downloaded "
        f"to a temporary file and read from there (metadata.index_mode is 'streamed')"
    )
    fs, path = filesystem(url, storage_options)
    try:
        stream = fs.open(path, "rb", block_size=0)  # fsspec's streaming file: one GET from the start
    except Exception as exc:
        error = remote_error(name, exc, "opening the stream")
    else:
        with stream:
            return spool(stream, name)
    raise error
