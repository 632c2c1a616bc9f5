"""Synthetic live sources on 127.0.0.1, for tests, benchmarks and demos: every frame shows its index.

Run as ``python -m framepipe.tools.sender KIND --port P [--fps 30] [--size 160x96] [--frames N]`` where KIND
is

- ``udp``: MPEG-TS (H.264) sent to ``udp://127.0.0.1:P`` (read it with ``open_stream("udp://127.0.0.1:P")``);
- ``tcp``: MPEG-TS served on ``tcp://127.0.0.1:P``, a fresh stream per client;
- ``http-ts``: MPEG-TS over HTTP at ``http://127.0.0.1:P/live.ts``, a fresh stream per client;
- ``mjpeg``: JPEGs as ``multipart/x-mixed-replace`` at ``http://127.0.0.1:P/video.mjpg``, as IP cameras serve
it.

Frames go out at real-time pace from frame 0 for every client. ``--log FILE`` appends one line per frame,
``index scheduled_time sent_time`` (``time.time()``), so a benchmark can measure latency end to end.
``--stall-after N`` stops sending after N frames but keeps the connection open (a hung server);
``--pause-after N --pause S`` goes silent for S seconds after N frames, then sends on (a network hiccup);
``--corrupt N,M`` sends those frames damaged (MJPEG only).
"""

from __future__ import annotations

import argparse
import fractions
import http.server
import io
import socketserver
import threading
import time

import av

from .synthetic import draw_frame

__all__ = ["FrameClock", "encode_stream", "main"]


class FrameClock:
    """Paces frame ``k`` at ``start + k / fps`` and logs when each was sent."""

    def __init__(self, fps: float, log_path: str | None) -> None:
        self.fps, self.start = fps, time.time()
        self._log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115 (lives as long as we do)
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Go silent for ``seconds``, then go on at the same pace (later frames are not sent in a burst)."""
        time.sleep(seconds)
        self.start += seconds

    def wait(self, k: int) -> float:
        due = self.start + k / self.fps
        delay = due - time.time()
        if delay > 0:
            time.sleep(delay)
        return due

    def sent(self, k: int, due: float) -> None:
        if self._log is not None:
            with self._lock:
                self._log.write(f"{k} {due:.6f} {time.time():.6f}\n")


# write each packet to the socket as soon as it is muxed, as a camera does (not when 32 KiB have piled up)
_MUX_NOW = {"flush_packets": "1"}


def _h264(out, fps: int, width: int, height: int):
    stream = out.add_stream("libx264", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # what a camera does: no B-frames, no lookahead, a keyframe a second, each frame out at once
    stream.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps), "threads": "1"}
    return stream


def encode_stream(out, args, clock: FrameClock, stop: threading.Event) -> None:
    """Encode frames at real-time pace into the open output container ``out`` until done or stopped."""
    stream = _h264(out, args.fps, args.width, args.height)
    k = 0
    while not stop.is_set() and (args.frames is None or k < args.frames):
        if args.stall_after is not None and k >= args.stall_after:
            stop.wait(3600)
            break
        if k == args.pause_after:
            clock.pause(args.pause)
        due = clock.wait(k)
        frame = av.VideoFrame.from_ndarray(
            draw_frame(k % 65536, height=args.height, width=args.width), format="rgb24"
        )
        frame.pts, frame.time_base = k, fractions.Fraction(1, args.fps)
        for packet in stream.encode(frame):
            out.mux(packet)
        clock.sent(k, due)
        k += 1
    for packet in stream.encode():
        out.mux(packet)


class _Writer(io.RawIOBase):
    """A write-only file over a socket or an HTTP response (``chunked``: HTTP/1.1 chunks), for PyAV's muxer.

    Chunked encoding lets the end of the stream be told from a dropped connection: a finished stream
    ends with the zero-length chunk, a killed server just stops.
    """

    def __init__(self, wfile, *, chunked: bool = False) -> None:
        self._wfile, self._chunked = wfile, chunked

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        if self._chunked:
            self._wfile.write(b"%x\r\n" % len(data) + bytes(data) + b"\r\n")
        else:
            self._wfile.write(data)
        self._wfile.flush()
        return len(data)

    def finish(self) -> None:
        if self._chunked:
            self._wfile.write(b"0\r\n\r\n")
            self._wfile.flush()


def _jpeg_encoder(width: int, height: int):
    enc = av.CodecContext.create("mjpeg", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuvj420p"
    enc.time_base = fractions.Fraction(1, 30)
    enc.options = {"qscale": "3"}
    return enc


def _http_handler(args, clock_factory):
    corrupt = {int(v) for v in args.corrupt.split(",") if v} if args.corrupt else set()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a) -> None:  # keep test output clean
            pass

        def handle(self) -> None:  # raw TCP: no request to read, just the stream
            if args.kind == "tcp":
                self.do_GET()
            else:
                super().handle()

        def do_GET(self) -> None:
            clock = clock_factory()
            stop = threading.Event()
            try:
                if args.kind == "http-ts":
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp2t")
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                if args.kind in ("http-ts", "tcp"):
                    writer = _Writer(self.wfile, chunked=args.kind == "http-ts")
                    with av.open(writer, "w", format="mpegts", options=_MUX_NOW) as out:
                        encode_stream(out, args, clock, stop)
                    writer.finish()
                else:
                    self._mjpeg(clock)
            except (BrokenPipeError, ConnectionResetError, av.error.FFmpegError):
                pass  # the client went away; the next one gets a fresh stream

        def _mjpeg(self, clock: FrameClock) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            enc = _jpeg_encoder(args.width, args.height)
            k = 0
            while args.frames is None or k < args.frames:
                if args.stall_after is not None and k >= args.stall_after:
                    time.sleep(3600)
                if k == args.pause_after:
                    clock.pause(args.pause)
                due = clock.wait(k)
                frame = av.VideoFrame.from_ndarray(
                    draw_frame(k % 65536, height=args.height, width=args.width), format="rgb24"
                ).reformat(format="yuvj420p")
                frame.pts = k
                data = b"".join(bytes(p) for p in enc.encode(frame))
                if k in corrupt:  # a JPEG cut short with its end marker: the decoder must reject it
                    data = data[: len(data) // 3] + b"\xff\xd9"
                self.wfile.write(
                    b"--frame\r\nContent-Type: image/jpeg\r\n"
                    + f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data
                    + b"\r\n"
                )
                self.wfile.flush()
                clock.sent(k, due)
                k += 1

    return Handler


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # a restarted server gets its port back at once
    daemon_threads = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m framepipe.tools.sender", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("kind", choices=["udp", "tcp", "http-ts", "mjpeg"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--size", default="160x96", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=None, help="stop after this many (default: never)")
    parser.add_argument("--log", default=None)
    parser.add_argument("--stall-after", type=int, default=None)
    parser.add_argument("--pause-after", type=int, default=None, help="go silent after this many frames")
    parser.add_argument("--pause", type=float, default=0.0, help="for this many seconds (with --pause-after)")
    parser.add_argument("--corrupt", default="")
    parser.add_argument("--start-delay", type=float, default=0.0, help="udp: seconds before the first frame")
    args = parser.parse_args(argv)
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    if args.kind == "udp":
        url = f"udp://127.0.0.1:{args.port}?pkt_size=1316"
        print(f"sending udp to {url}", flush=True)
        time.sleep(args.start_delay)  # lets the receiver bind first: UDP sent to nobody is lost
        with av.open(url, "w", format="mpegts", options=_MUX_NOW) as out:
            encode_stream(out, args, FrameClock(args.fps, args.log), threading.Event())
        return 0
    server = _Server(("127.0.0.1", args.port), _http_handler(args, lambda: FrameClock(args.fps, args.log)))
    scheme = "tcp" if args.kind == "tcp" else "http"
    print(f"serving {args.kind} on {scheme}://127.0.0.1:{args.port}/", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
