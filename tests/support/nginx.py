"""nginx on 127.0.0.1 serving a folder, for the remote-video tests and benchmark (Debian's nginx-light).

It serves byte ranges as CDNs do; ``/norange/`` serves the same files with ranges switched off and
``/forbidden/`` answers 403. Its access log records what each request fetched.

    with serve(folder) as server:
        url = server.url("video.mp4"); ...; server.log()  # [(method, uri, range, status, bytes), ...]
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

__all__ = ["Nginx", "serve", "find_nginx"]


def find_nginx() -> str | None:
    """The nginx executable, or None where it is not installed."""
    found = shutil.which("nginx")
    return found or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


class Nginx:
    """A running server: ``url(name)``; ``log()`` lists the requests served since ``mark()``."""

    def __init__(self, port: int, log_path: str) -> None:
        self.port, self.log_path = port, log_path
        self._mark = 0

    def url(self, name: str, folder: str = "v") -> str:
        return f"http://127.0.0.1:{self.port}/{folder}/{name}"

    def mark(self) -> None:
        self._mark = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0

    def log(self) -> list[tuple[str, str, str, int, int]]:
        time.sleep(0.05)  # nginx writes a request's line after the response
        with open(self.log_path) as fh:
            fh.seek(self._mark)
            rows = [line.rstrip("\n").split("|") for line in fh if line.strip()]
        return [(m, u, r, int(s), int(b)) for m, u, r, s, b in rows]

    def fetched(self) -> int:
        """Bytes of response bodies since ``mark()``."""
        return sum(row[4] for row in self.log())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(folder: str, *, nginx: str | None = None) -> Iterator[Nginx]:
    """Serve the files of ``folder`` (linked, not copied) under /v/, /norange/ and /forbidden/."""
    exe = nginx or find_nginx()
    if exe is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light)")
    with tempfile.TemporaryDirectory(prefix="framepipe-nginx-") as prefix:
        www = os.path.join(prefix, "www")
        for sub in ("v", "norange", "forbidden"):
            os.makedirs(os.path.join(www, sub))
            for name in os.listdir(folder):
                src = os.path.join(os.path.abspath(folder), name)
                if os.path.isfile(src):
                    os.symlink(src, os.path.join(www, sub, name))
        port = _free_port()
        log = os.path.join(prefix, "access.log")
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as fh:
            fh.write(f"""
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    types {{ video/mp4 mp4; video/x-matroska mkv; }}
    log_format fetched '$request_method|$uri|$http_range|$status|$body_bytes_sent';
    access_log {log} fetched;
    client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
    uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location /norange/ {{ max_ranges 0; }}
        location /forbidden/ {{ return 403; }}
    }}
}}
""")
        proc = subprocess.Popen(
            [exe, "-c", conf, "-p", prefix], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"nginx exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}"
                    )
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen on {port} within 20 s")
                time.sleep(0.05)
            yield Nginx(port, log)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stderr:
                proc.stderr.close()
