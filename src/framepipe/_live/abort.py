"""Ending a read that blocks inside FFmpeg, so that ``LiveStream.close()`` returns at once.

FFmpeg gives up a blocked read only when its interrupt callback says so, and PyAV's callback answers a
deadline fixed when the read starts (``read_timeout``), which nothing outside PyAV can move. What every
blocked socket read does answer to is its connection being shut down: the read returns at once with the
end of the input. So each live stream remembers the sockets that FFmpeg opened for it, and ``close()`` shuts
them down; the receiver sees the end of its input and ends. The sockets stay FFmpeg's: it closes them when
the container closes, as always. Nothing of PyAV or FFmpeg is changed, so this works the same on every
PyAV framepipe accepts.

Which sockets are the stream's: those that appeared in this process while its container opened and are
connected to the stream's port. Opens of one host and port by framepipe take turns, so two streams of one
camera never take each other's. A socket is found again by its identity (device and inode), never by a
file descriptor number, which FFmpeg may have closed and the process reused meanwhile.

A UDP stream has no connection to shut down: framepipe receives it itself (:mod:`.udp`), and a close
aborts that input. Where the process's open files cannot be listed (no ``/proc/self/fd`` or ``/dev/fd``:
Windows), or for a connection FFmpeg opens later by itself (an HLS segment, an HTTP redirect to another
port), nothing is tracked: a ``close()`` then waits for the read to time out, and says so
(``stats.receiver_alive``).
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

from .._util.fork import track
from .udp import UdpInput

__all__ = ["Sockets", "open_tracked"]

T = TypeVar("T")

_DEFAULT_PORTS = {"http": 80, "https": 443, "rtsp": 554, "rtsps": 322, "rtmp": 1935, "rtmps": 443}
_FD_DIRS = ("/proc/self/fd", "/dev/fd")


class _Turns:
    """One lock per (host, port): framepipe's opens of one endpoint take turns, so that each sees only the
    sockets its own open made. Re-made in a forked child (a parent thread may have held one at the fork)."""

    def __init__(self) -> None:
        self.after_fork()
        track(self)

    def after_fork(self) -> None:
        self._locks: collections.defaultdict[tuple[str, int], threading.Lock] = collections.defaultdict(
            threading.Lock
        )
        self._lock = threading.Lock()

    def of(self, endpoint: tuple[str, int]) -> threading.Lock:
        with self._lock:
            return self._locks[endpoint]


_TURNS = _Turns()


def _open_sockets() -> dict[tuple[int, int], int] | None:
    """(device, inode) -> a file descriptor, for every socket of this process; None where that cannot be
    listed."""
    for folder in _FD_DIRS:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found: dict[tuple[int, int], int] = {}
        for name in names:
            try:
                info = os.fstat(int(name))
            except (OSError, ValueError):  # closed since the listing (the listing's own descriptor too)
                continue
            if stat.S_ISSOCK(info.st_mode):
                found[(info.st_dev, info.st_ino)] = int(name)
        return found
    return None


def _peer_port(fd: int) -> int | None:
    """The remote port of the connected socket ``fd`` (None if it is not a connected stream socket)."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            if sock.type != socket.SOCK_STREAM:
                return None
            return sock.getpeername()[1]
    except (OSError, IndexError, TypeError):  # not connected, or not an internet socket
        return None


def _endpoint(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: FFmpeg will refuse the URL itself
        return None
    port = port or _DEFAULT_PORTS.get(parts.scheme.lower())
    if not parts.hostname or not port:
        return None
    return parts.hostname.lower(), port


class Sockets:
    """The sockets one connection of a stream uses; :meth:`shut_down` ends a read blocked on any of them.

    Thread-safe: the receiver records a new connection's sockets while ``close()`` may shut them down.
    """

    def __init__(self, url: str | None) -> None:
        # (host, port) of a network source; None: nothing to track (files, devices)
        self.endpoint = _endpoint(url) if url is not None else None
        self._lock = threading.Lock()
        self._known: set[tuple[int, int]] = set()
        self._opening: set[tuple[int, int]] | None = None  # the sockets before an open now under way
        self._shut = False
        self._inputs: list[UdpInput] = []  # inputs framepipe receives itself (UDP): aborted, not shut down

    def attach(self, source: UdpInput) -> None:
        """``source`` feeds the connection now opening: :meth:`shut_down` aborts it, :meth:`release` closes
        it."""
        with self._lock:
            self._inputs.append(source)
            if self._shut:
                source.abort()

    def release(self) -> None:
        """The connection's container is closed: close the inputs that fed it (from the reading thread)."""
        with self._lock:
            inputs, self._inputs = self._inputs, []
        for source in inputs:
            source.close()

    @property
    def port(self) -> int | None:
        return self.endpoint[1] if self.endpoint is not None else None

    def _mine(self, now: dict[tuple[int, int], int], before: set[tuple[int, int]]) -> set[tuple[int, int]]:
        return {ident for ident, fd in now.items() if ident not in before and _peer_port(fd) == self.port}

    def opening(self, before: set[tuple[int, int]] | None) -> None:
        with self._lock:
            self._opening = before

    def opened(self) -> None:
        """The open is over: record the sockets it made (shut down at once if the stream closed meanwhile)."""
        with self._lock:
            before, self._opening = self._opening, None
            if before is None:
                return
            now = _open_sockets() or {}
            self._known = self._mine(now, before)
            if self._shut:
                for ident in self._known:
                    if ident in now:
                        _shut(now[ident], ident)

    @property
    def tracked(self) -> int:
        """How many sockets are known (0: a close must wait for the read to time out)."""
        with self._lock:
            return len(self._known)

    def shut_down(self) -> None:
        """Shut down every socket of the stream, and any that an open under way has made so far."""
        with self._lock:
            self._shut = True
            for source in self._inputs:
                source.abort()
            if self.port is None:
                return
            now = _open_sockets()
            if not now:
                return
            targets = set(self._known)
            if self._opening is not None:
                targets |= self._mine(now, self._opening)
            for ident in targets:
                fd = now.get(ident)
                if fd is not None:
                    _shut(fd, ident)


def _shut(fd: int, ident: tuple[int, int]) -> None:
    try:
        copy = os.dup(fd)
    except OSError:  # closed by FFmpeg since the listing: nothing blocks on it any more
        return
    try:
        info = os.fstat(copy)
        if (info.st_dev, info.st_ino) != ident:  # the number was reused for another file: not ours
            return
        with socket.socket(fileno=os.dup(copy)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already shut down or reset by the server: the read has ended anyway
        pass
    finally:
        os.close(copy)


@contextlib.contextmanager
def _turn(endpoint: tuple[str, int] | None) -> Iterator[None]:
    if endpoint is None:
        yield
        return
    with _TURNS.of(endpoint):
        yield


def open_tracked(sockets: Sockets, opener: Callable[[], T]) -> T:
    """``opener()`` (which opens the stream in FFmpeg), recording in ``sockets`` the connection it makes.

    Raises:
        whatever ``opener`` raises.
    """
    with _turn(sockets.endpoint):
        current = _open_sockets() if sockets.endpoint is not None else None
        sockets.opening(set(current) if current is not None else None)
        try:
            return opener()
        finally:
            sockets.opened()
