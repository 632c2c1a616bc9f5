"""Live servers on 127.0.0.1 for the stream tests, started and stopped by the tests on free ports.

Every server sends frames that show their index (framepipe.tools.synthetic's pattern), starting at frame 0 for
each client, so a test checks which frame came back, not only that one did.
"""

from __future__ import annotations

import fractions
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading

import av
import pytest

from framepipe.tools.synthetic import draw_frame

SUPPORT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "support")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-gi exists only for the system interpreter


class Servers:
    """Starts servers as subprocesses and kills what is left at the end of the test."""

    def __init__(self, tmp_path, missing, net) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp_path = tmp_path
        self.missing = missing  # skip (or, in CI, fail) when a system package is absent
        self.net = net

    def sender(
        self, kind: str, *, port: int | None = None, wait: bool = True, **options
    ) -> tuple[str, int, str]:
        """``python -m framepipe.tools.sender KIND``; returns (url, port, log file of sent frames)."""
        port = port or self.net.free_port(socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
        log = str(self.tmp_path / f"{kind}-{port}-{len(self.procs)}.log")
        args = [sys.executable, "-m", "framepipe.tools.sender", kind, "--port", str(port), "--log", log]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.procs.append(proc)
        if kind != "udp" and wait:
            self.net.wait_listening(port, proc)
        url = {
            "udp": f"udp://127.0.0.1:{port}",
            "tcp": f"tcp://127.0.0.1:{port}",
            "http-ts": f"http://127.0.0.1:{port}/live.ts",
            "mjpeg": f"http://127.0.0.1:{port}/video.mjpg",
        }[kind]
        return url, port, log

    def rtsp(self, *, port: int | None = None, fps: int = 30) -> tuple[str, int]:
        if (
            not os.path.exists(SYSTEM_PYTHON)
            or subprocess.run(
                [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
                capture_output=True,
            ).returncode
            != 0
        ):
            self.missing(
                "the RTSP tests need Debian's python3-gi, gir1.2-gst-rtsp-server-1.0 and "
                "gstreamer1.0-plugins-{base,good,ugly}"
            )
        port = port or self.net.free_port()
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, os.path.join(SUPPORT, "rtsp_server.py"), str(port), str(fps)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.procs.append(proc)
        self.net.wait_listening(port, proc)
        return f"rtsp://127.0.0.1:{port}/live", port

    @staticmethod
    def sent_times(log: str) -> dict[int, float]:
        """Frame index -> wall-clock time the sender handed it to the socket."""
        with open(log) as f:
            return {int(k): float(sent) for k, _due, sent in (line.split() for line in f if line.strip())}

    def silent(self):
        """A server that accepts and never sends (a context manager yielding its port)."""
        return self.net.silent_server()

    def freeze(self) -> None:
        """Stop the newest server where it is (SIGSTOP): its connections stay open and nothing more is
        sent, as from a hung camera."""
        os.kill(self.procs[-1].pid, signal.SIGSTOP)

    def kill(self, proc: subprocess.Popen | None = None) -> None:
        for p in [proc] if proc else list(self.procs):
            if p.poll() is None:
                p.kill()
            p.wait()

    def close(self) -> None:
        self.kill()
        for p in self.procs:
            if p.stderr:
                p.stderr.close()


@pytest.fixture
def servers(tmp_path, missing_system_package, net):
    s = Servers(tmp_path, missing_system_package, net)
    yield s
    s.close()


@pytest.fixture(scope="session")
def hls_server(tmp_path_factory):
    """A 2-second HLS playlist (1-second segments, 30 fps) written with PyAV and served over HTTP."""
    folder = tmp_path_factory.mktemp("hls")
    with av.open(
        str(folder / "index.m3u8"),
        "w",
        format="hls",
        options={"hls_time": "1", "hls_list_size": "0", "hls_playlist_type": "vod"},
    ) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        stream.options = {"g": "30", "preset": "ultrafast", "tune": "zerolatency"}
        for k in range(60):
            frame = av.VideoFrame.from_ndarray(draw_frame(k, height=96, width=160), format="rgb24")
            frame.pts, frame.time_base = k, fractions.Fraction(1, 30)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(folder), **kw)

        def log_message(self, *a) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.m3u8"
    server.shutdown()
    server.server_close()
    shutil.rmtree(folder, ignore_errors=True)
