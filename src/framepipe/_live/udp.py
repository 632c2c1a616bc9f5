"""UDP input received by framepipe and read by FFmpeg as a file, so that ``close()`` can end a blocked read.

A stream sent over UDP (MPEG-TS, as encoders and drones send it) has no connection to shut down: a read
blocked inside FFmpeg's own UDP input waits until ``read_timeout``, whatever happens to its socket. So
framepipe receives the datagrams itself, on a socket it owns (a thread queues them, as FFmpeg's input does),
and hands them to FFmpeg's demuxer as the bytes of a file. :meth:`UdpInput.abort` ends a read at once, and
``read_timeout`` of silence ends one with :class:`TimeoutError`.

It binds as FFmpeg does for reading: the URL's port on every interface (the URL's host is the sender, or a
multicast group to join). URLs with options of FFmpeg's UDP input that this does not implement (for
example ``localaddr`` or ``sources``) are opened by FFmpeg itself, and their ``close()`` waits for the read
to time out.
"""

from __future__ import annotations

import collections
import ipaddress
import socket
import struct
import threading
import time
from urllib.parse import parse_qsl, urlsplit

__all__ = ["UdpInput", "handles"]

_STEP = 0.05  # seconds a read waits before it looks whether it was aborted
_DATAGRAM = 65536  # larger than any UDP datagram: none is ever cut short
# FFmpeg's UDP options this input implements (or that only matter to FFmpeg's own receive thread)
_HANDLED = {"fifo_size", "overrun_nonfatal", "buffer_size", "pkt_size"}


def handles(url: str, options: dict[str, str]) -> bool:
    """Whether :class:`UdpInput` can receive ``url`` with ``options`` (FFmpeg's UDP option names)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "udp" or parts.port is None:
        return False
    asked = {k for k, _ in parse_qsl(parts.query)} | set(options)
    udp_options = asked - {"probesize", "analyzeduration", "flags", "fflags"}
    return udp_options <= _HANDLED


class UdpInput:
    """The datagrams arriving at a UDP port, as a readable file object (what PyAV's ``av.open`` takes).

    Thread-safe for its use: one thread reads (FFmpeg's demuxer, in the receiver) and closes it when its
    container is closed; any thread may :meth:`abort` it.
    """

    def __init__(self, url: str, options: dict[str, str], *, timeout: float) -> None:
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        host, port = parts.hostname or "", parts.port
        assert port is not None  # handles() checked it
        group = _multicast(host)
        family = (
            socket.AF_INET6 if group is not None and group.version == 6 or ":" in host else socket.AF_INET
        )
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            size = int(options.get("buffer_size") or query.get("buffer_size") or 0)
            if size > 0:  # room for the datagrams that arrive while a frame decodes
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            self._sock.bind(("::" if family == socket.AF_INET6 else "", port))
            if group is not None and group.version == 4:
                request = struct.pack("4s4s", group.packed, socket.inet_aton("0.0.0.0"))
                self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
            elif group is not None:
                request = struct.pack("16sI", group.packed, 0)
                self._sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, request)
            self._sock.settimeout(_STEP)
        except BaseException:
            self._sock.close()
            raise
        self.timeout = timeout  # seconds of silence before a read raises TimeoutError
        self.dropped = 0  # datagrams lost because the queue was full (overrun_nonfatal)
        # as FFmpeg's own input: a thread empties the socket into a queue of fifo_size 188-byte units, so
        # that a slow decode does not make the kernel drop datagrams
        fifo = int(options.get("fifo_size") or query.get("fifo_size") or 7 * 4096)
        self._max_bytes = max(fifo, 1) * 188
        self._nonfatal = (options.get("overrun_nonfatal") or query.get("overrun_nonfatal") or "0") != "0"
        self._queue: collections.deque[bytes] = collections.deque()
        self._queued = 0
        self._failure: OSError | None = None
        self._ready = threading.Condition()
        self._pending = b""
        self._aborted = threading.Event()
        self._thread = threading.Thread(target=self._receive, name=f"framepipe-udp :{port}", daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._aborted.is_set():
            try:
                data = self._sock.recv(_DATAGRAM)
            except TimeoutError:  # one step without data: look whether the input was aborted
                continue
            except OSError as exc:
                with self._ready:
                    self._failure = exc
                    self._ready.notify_all()
                return
            with self._ready:
                if self._queued + len(data) > self._max_bytes:
                    if not self._nonfatal:
                        self._failure = OSError(
                            f"UDP input overrun: more than fifo_size={self._max_bytes // 188}"
                        )
                        self._ready.notify_all()
                        return
                    self.dropped += 1
                    continue
                self._queue.append(data)
                self._queued += len(data)
                self._ready.notify()

    def read(self, size: int = -1) -> bytes:
        """The next bytes received (at most ``size``); b"" once aborted.

        Raises:
            TimeoutError: nothing arrived within ``timeout`` seconds.
            OSError: the socket failed, or the queue overran without ``overrun_nonfatal``.
        """
        if not self._pending:
            self._pending = self._next()
        if size is None or size < 0:
            size = len(self._pending)
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def _next(self) -> bytes:
        deadline = time.monotonic() + self.timeout
        with self._ready:
            while not self._queue and not self._aborted.is_set() and self._failure is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no data within {self.timeout:g} s")
                self._ready.wait(left)
            if self._aborted.is_set():
                return b""
            if self._queue:
                data = self._queue.popleft()
                self._queued -= len(data)
                return data
            assert self._failure is not None
            raise self._failure

    def seekable(self) -> bool:
        return False

    def abort(self) -> None:
        """End the read under way and every later one at once: the input has ended."""
        self._aborted.set()
        with self._ready:
            self._ready.notify_all()

    def close(self) -> None:
        """Abort, stop the receiving thread (within one step) and close the socket."""
        self.abort()
        self._thread.join()
        self._sock.close()


def _multicast(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:  # a name: resolved by the sender's side, we only listen
        return None
    return address if address.is_multicast else None
