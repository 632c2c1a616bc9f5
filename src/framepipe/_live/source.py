"""Source stage for live streams: what a source string means and how to open it.

A live source is a camera index (``0`` -> ``/dev/video0`` through v4l2 on Linux), a device path, a URL
(``rtsp://``, ``rtmp://``, ``http(s)://`` for MJPEG multipart, MPEG-TS or HLS ``.m3u8``, ``udp://``,
``tcp://``) or a file played as live at real-time pace. Each protocol gets defaults that keep opening
short and latency low; ``options`` given by the user win over them.

>>> describe_source("rtsp://admin:secret@10.0.0.7/stream1").display
'rtsp://admin:***@10.0.0.7/stream1'
>>> describe_source("rtsp://cam/1").options["rtsp_transport"]
'tcp'
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import av

from .._util.masking import mask_credentials
from ..errors import StreamError, StreamOpenError, StreamTimeoutError
from . import udp
from .abort import Sockets, open_tracked

__all__ = ["LiveSource", "describe_source", "mask_credentials", "open_live"]

_URL = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")

# Short probing: a live demuxer would otherwise read up to 5 s of stream before returning from open,
# which on a live source means 5 s of waiting. 0.1 s is enough to see the codec of the video stream; the
# decoder finds the picture size itself at the first keyframe.
_PROBE = {"probesize": "262144", "analyzeduration": "100000"}
# Hand each packet on as soon as it is complete. (Not fflags=nobuffer: it throws away the packets read
# while probing, so the first keyframe is lost and the first frame comes a whole GOP later.)
_LOW_DELAY = {"flags": "low_delay"}
_PROTOCOL_DEFAULTS: dict[str, dict[str, str]] = {
    # TCP interleaving: UDP RTP loses packets under load and is blocked by most NATs
    "rtsp": {**_PROBE, **_LOW_DELAY, "rtsp_transport": "tcp"},
    "rtsps": {**_PROBE, **_LOW_DELAY, "rtsp_transport": "tcp"},
    "rtmp": {**_PROBE, **_LOW_DELAY},
    # a receive FIFO so a busy decoder thread does not make the kernel drop datagrams
    "udp": {**_PROBE, **_LOW_DELAY, "fifo_size": "100000", "overrun_nonfatal": "1", "buffer_size": "4194304"},
    "tcp": {**_PROBE, **_LOW_DELAY},
    "http": {**_PROBE, **_LOW_DELAY},
    "https": {**_PROBE, **_LOW_DELAY},
    "device": {"probesize": "32", "analyzeduration": "0"},
    "file": {},
}


@dataclass(frozen=True)
class LiveSource:
    """A parsed live source: what to hand to FFmpeg and how to name it in messages."""

    url: str  # what av.open gets (may hold credentials: never print it)
    display: str  # the same with credentials masked: the only form used in messages and logs
    kind: str  # "rtsp", "http", "udp", "tcp", "rtmp", "device", "file", ...
    format: str | None  # forced demuxer (v4l2 for cameras), None to let FFmpeg probe
    options: dict[str, str] = field(default_factory=dict)

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def is_hls(self) -> bool:
        return self.kind in ("http", "https") and ".m3u8" in self.url.split("?")[0].lower()

    def __repr__(self) -> str:  # keep credentials out of reprs too
        return f"LiveSource({self.display!r}, kind={self.kind!r})"


def _camera_format() -> str:
    return {"darwin": "avfoundation", "win32": "dshow"}.get(sys.platform, "v4l2")


def describe_source(
    source: int | str | os.PathLike[str], options: Mapping[str, str] | None = None
) -> LiveSource:
    """Turn what the user passed to :func:`framepipe.open_stream` into a :class:`LiveSource`."""
    if isinstance(source, bool) or not isinstance(source, (int, str, os.PathLike)):
        raise TypeError(
            f"source must be a camera index, a device path, a URL or a file path; got {type(source).__name__}"
        )
    if options is not None and not isinstance(options, Mapping):
        raise TypeError(
            f"options must be a mapping of FFmpeg option names to values, got {type(options).__name__}"
        )
    user = {str(k): str(v) for k, v in (options or {}).items()}
    if isinstance(source, int):
        if source < 0:
            raise ValueError(f"source camera index must be >= 0, got {source}")
        fmt = _camera_format()
        url = f"/dev/video{source}" if fmt == "v4l2" else str(source)
        return LiveSource(url, url, "device", fmt, {**_PROTOCOL_DEFAULTS["device"], **user})
    text = os.fspath(source)
    if not text:
        raise ValueError("source must not be empty")
    match = _URL.match(text)
    if match:
        scheme = match.group("scheme").lower()
        if scheme == "file":
            return describe_source(text[len("file://") :], options)
        defaults = _PROTOCOL_DEFAULTS.get(scheme, {**_PROBE, **_LOW_DELAY})
        return LiveSource(text, mask_credentials(text), scheme, None, {**defaults, **user})
    if text.startswith("/dev/"):
        return LiveSource(text, text, "device", _camera_format(), {**_PROTOCOL_DEFAULTS["device"], **user})
    path = os.path.abspath(text)
    return LiveSource(path, path, "file", None, user)


def open_live(
    src: LiveSource, *, open_timeout: float, read_timeout: float, sockets: Sockets
) -> av.container.InputContainer:
    """Open ``src`` within ``open_timeout`` seconds; every later read gives up after ``read_timeout``.

    The connection's sockets are recorded in ``sockets``, so that ``close()`` can end a blocked read.

    Errors are raised outside the ``except`` block on purpose: FFmpeg's exception holds the URL with its
    credentials, and a chained cause or context would print it in every traceback.
    """
    start = time.monotonic()
    if src.kind == "udp" and udp.handles(src.url, src.options):
        return _open_udp(src, open_timeout=open_timeout, read_timeout=read_timeout, sockets=sockets)
    try:
        return open_tracked(
            sockets,
            lambda: av.open(
                src.url,
                mode="r",
                format=src.format,
                options=dict(src.options),
                metadata_errors="replace",
                timeout=(open_timeout, read_timeout),
            ),
        )
    except av.error.ExitError:  # the interrupt callback fired: nothing arrived in time
        error: StreamError = StreamTimeoutError(
            src.display, f"no answer within open_timeout={open_timeout:g} s"
        )
    except FileNotFoundError as exc:
        what = "no such device" if src.kind == "device" else "no such file" if src.is_file else "not found"
        error = StreamOpenError(src.display, f"{what} ({mask_credentials(exc.strerror or 'not found')})")
    except (av.error.FFmpegError, OSError) as exc:
        if time.monotonic() - start >= open_timeout:
            error = StreamTimeoutError(src.display, f"no answer within open_timeout={open_timeout:g} s")
        else:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            error = StreamOpenError(src.display, f"cannot open ({mask_credentials(reason)})")
    raise error


_DEMUXER_OPTIONS = ("probesize", "analyzeduration", "flags", "fflags")


def _open_udp(
    src: LiveSource, *, open_timeout: float, read_timeout: float, sockets: Sockets
) -> av.container.InputContainer:
    """A UDP source that framepipe receives itself (:mod:`.udp`), demuxed by FFmpeg from its bytes."""
    try:
        source = udp.UdpInput(src.url, src.options, timeout=open_timeout)
    except OSError as exc:  # the port is taken, or the group cannot be joined
        raise StreamOpenError(src.display, f"cannot listen ({exc.strerror or exc})") from None
    sockets.attach(source)
    options = {k: v for k, v in src.options.items() if k in _DEMUXER_OPTIONS}
    try:
        container = av.open(source, mode="r", format=src.format, options=options, metadata_errors="replace")
    except TimeoutError:
        error: StreamError = StreamTimeoutError(
            src.display, f"no answer within open_timeout={open_timeout:g} s"
        )
    except (av.error.FFmpegError, OSError) as exc:
        error = StreamOpenError(
            src.display, f"cannot open ({getattr(exc, 'strerror', None) or type(exc).__name__})"
        )
    else:
        source.timeout = read_timeout  # from now on: silence longer than read_timeout ends a read
        return container
    sockets.release()
    raise error
