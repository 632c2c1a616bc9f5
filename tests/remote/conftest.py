"""Servers for the remote-video tests, all on 127.0.0.1 on free ports, started and stopped here:

- nginx (Debian's nginx-light), serving files with byte ranges as CDNs do, plus a folder where ranges are
  switched off (``max_ranges 0``) and one that answers 403; its access log says what was fetched;
- moto's S3 server (``python -m moto.server``), the way s3fs tests itself;
- a small HTTP server that drops connections mid-body or never answers, for the failure tests.

The videos show their frame index (framepipe.tools.synthetic), so a test checks which frame came back.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading

import pytest

from framepipe.tools.synthetic import make_video
from support import nginx as nginx_server


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> dict[str, str]:
    """Local copies of the videos the servers serve: name -> path."""
    root = tmp_path_factory.mktemp("media")
    return {
        # 20 s of 640x360 at 30 fps, keyframe every second, B-frames, grain for a real bitrate (about 11 MB):
        # a GOP is a twentieth of the file, so what a clip fetches can be told from the whole
        "long.mp4": make_video(
            root / "long.mp4",
            num_frames=600,
            width=640,
            height=360,
            fps=30,
            gop=30,
            bframes=2,
            options={"preset": "ultrafast"},
            noise=12,
        ),
        "faststart.mp4": make_video(
            root / "faststart.mp4",
            num_frames=90,
            fps=30,
            gop=15,
            bframes=2,
            container_options={"movflags": "faststart"},
        ),
        "clip.mkv": make_video(root / "clip.mkv", num_frames=60, fps=30, gop=15, bframes=2),
    }


@pytest.fixture(scope="session")
def nginx(tmp_path_factory, media, missing_system_package):
    if nginx_server.find_nginx() is None:
        missing_system_package("the HTTP tests need nginx (Debian's nginx-light)")
    folder = tmp_path_factory.mktemp("served")
    for name, path in media.items():
        os.link(path, folder / name)
    with nginx_server.serve(str(folder)) as server:
        yield server


@pytest.fixture(scope="session")
def s3(media, net):
    """moto's S3 server with a bucket "videos" holding the media; yields the storage_options for s3fs."""
    boto3 = pytest.importorskip("boto3")
    port = net.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    net.wait_listening(port, proc, timeout=60)
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="videos")
    for name, path in media.items():
        client.upload_file(path, "videos", name)
    yield {"endpoint_url": endpoint, "key": "testing", "secret": "testing"}
    proc.terminate()
    proc.wait(timeout=10)


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Serves one file with byte ranges; the first ``drops`` GETs are cut off after half their body."""

    protocol_version = "HTTP/1.1"
    data = b""
    drops = 0
    lock = threading.Lock()

    def log_message(self, *args) -> None:  # quiet
        pass

    def _range(self) -> tuple[int, int]:
        spec = self.headers.get("Range", "")
        if spec.startswith("bytes="):
            a, _, b = spec[6:].partition("-")
            return int(a), min(int(b) if b else len(self.data) - 1, len(self.data) - 1)
        return 0, len(self.data) - 1

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.data)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"flaky-1"')
        self.end_headers()

    def do_GET(self) -> None:
        start, end = self._range()
        body = self.data[start : end + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(self.data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with self.lock:
            drop = type(self).drops > 0
            if drop:
                type(self).drops -= 1
        if drop:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-body
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def flaky_server(media):
    """``start(drops)`` -> URL of long.mp4 on a server that cuts the first ``drops`` GETs off mid-body."""
    servers = []

    def start(drops: int) -> str:
        handler = type(
            "Flaky",
            (_Flaky,),
            {"data": open(media["long.mp4"], "rb").read(), "drops": drops, "lock": threading.Lock()},
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/long.mp4"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server(net):
    """The URL of a video on a server that accepts connections and never answers."""
    with net.silent_server() as port:
        yield f"http://127.0.0.1:{port}/v.mp4"
