"""Shared fixtures. Test videos are made with PyAV's bundled encoders when a test first asks for one (and
kept for the session); every frame shows its own index as a block pattern.

Tests get everything from here through fixtures, never by importing this file or each other.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
import types

import av
import numpy as np
import pytest

from framepipe.tools.synthetic import cut_with_edit_list, make_video, read_index

DATA = os.path.join(os.path.dirname(__file__), "data")

# runs under the system python3, with GStreamer (tests/live starts it)
collect_ignore = ["support/rtsp_server.py"]

# name -> make_video keyword arguments; the exactness tests run over every entry
CASES = {
    "h264_bframes.mp4": dict(codec="libx264", bframes=3, num_frames=60),
    "h264_open_gop.mp4": dict(
        codec="libx264",
        num_frames=60,
        gop=None,
        options={"x264-params": "keyint=12:min-keyint=12:open-gop=1:bframes=3:scenecut=0"},
    ),
    "hevc.mp4": dict(codec="libx265", bframes=3, num_frames=48),
    "vp9.webm": dict(codec="libvpx-vp9", num_frames=48, options={"deadline": "realtime", "cpu-used": "8"}),
    "av1.mkv": dict(codec="libsvtav1", num_frames=48, options={"preset": "12"}),
    "mpeg4_bframes.avi": dict(codec="mpeg4", bframes=2, num_frames=60),
    "mjpeg.avi": dict(codec="mjpeg", pix_fmt="yuvj420p", num_frames=40),
    "h264_10bit.mp4": dict(codec="libx264", pix_fmt="yuv420p10le", bframes=2, num_frames=48),
    "h264_444.mp4": dict(codec="libx264", pix_fmt="yuv444p", bframes=2, num_frames=48),
    "vfr.mkv": dict(
        codec="libx264",
        bframes=2,
        num_frames=60,
        timestamps_ms=np.cumsum(np.r_[0, np.random.default_rng(7).integers(15, 70, 59)]).tolist(),
    ),
}


def _truth(path: str) -> list[int]:
    """The index pattern of every frame of a plain sequential decode: what frame i must be."""
    with av.open(path) as c:
        return [read_index(f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]


def _lying_keyframes(src: str, dst: str) -> str:
    """Copy src to MP4, flagging every 10th packet as a keyframe although it is not (the MP4 sync-sample
    table keeps such lies for MPEG-4 Part 2, whose decoder then shows garbage instead of failing)."""
    with av.open(src) as inp, av.open(dst, "w") as out:
        ist = inp.streams.video[0]
        ost = out.add_stream_from_template(ist)
        for i, packet in enumerate(inp.demux(ist)):
            if packet.dts is None:
                continue
            if i % 10 == 5:
                packet.is_keyframe = True
            packet.stream = ost
            out.mux(packet)
    return dst


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Every test run gets its own index cache, so no test sees another run's entries."""
    old = os.environ.get("FRAMEPIPE_CACHE_DIR")
    os.environ["FRAMEPIPE_CACHE_DIR"] = str(tmp_path_factory.mktemp("index-cache"))
    yield
    if old is None:
        os.environ.pop("FRAMEPIPE_CACHE_DIR", None)
    else:
        os.environ["FRAMEPIPE_CACHE_DIR"] = old


def _edit_list(root) -> str:
    long = make_video(str(root / "src_100.mp4"), codec="libx264", bframes=3, gop=25, num_frames=100)
    return cut_with_edit_list(long, str(root / "h264_edit_list.mp4"), start_seconds=1.3)


def _lying(root) -> str:
    mp4v = make_video(str(root / "src_mpeg4.avi"), codec="mpeg4", bframes=2, gop=25, num_frames=80)
    return _lying_keyframes(mp4v, str(root / "lying_keyframes.mp4"))


def _no_pts(root) -> str:
    return make_video(
        str(root / "raw_no_pts.h264"), codec="libx264", bframes=3, container_format="h264", num_frames=40
    )


# cases made by re-muxing or writing raw streams rather than by make_video's keyword arguments
SPECIAL = {"h264_edit_list.mp4": _edit_list, "lying_keyframes.mp4": _lying, "raw_no_pts.h264": _no_pts}
ALL_CASES = [*CASES, *SPECIAL]


class Videos:
    """``videos[name]`` -> (path, truth): the case made on first use, then kept for the session.

    ``truth`` is the index pattern of every frame of a plain sequential decode: what frame i must be.
    """

    def __init__(self, root) -> None:
        self.root = root
        self._made: dict[str, tuple[str, list[int]]] = {}

    def __getitem__(self, name: str) -> tuple[str, list[int]]:
        if name not in self._made:
            path = (
                SPECIAL[name](self.root)
                if name in SPECIAL
                else make_video(str(self.root / name), **CASES[name])
            )
            self._made[name] = (path, _truth(path))
        return self._made[name]

    @staticmethod
    def spec(name: str) -> dict:
        """The make_video arguments of a case (e.g. the timestamps of "vfr.mkv")."""
        return CASES[name]


def pytest_generate_tests(metafunc):
    """A test that takes ``case_name`` runs once for every exactness case."""
    if "case_name" in metafunc.fixturenames:
        metafunc.parametrize("case_name", ALL_CASES)


def _free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
            raise RuntimeError(f"server exited with {proc.returncode}: {err}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout} s")


@contextlib.contextmanager
def _silent_server():
    """A TCP server that accepts connections and never sends a byte. Yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture(scope="session")
def net():
    """``net.free_port(kind)``, ``net.wait_listening(port, proc)`` and ``net.silent_server()`` (a context
    manager: a server on 127.0.0.1 that accepts and never sends; yields its port), for tests of servers."""
    return types.SimpleNamespace(
        free_port=_free_port, wait_listening=_wait_listening, silent_server=_silent_server
    )


@pytest.fixture(scope="session")
def missing_system_package():
    """``missing(reason)``: a test whose system package (GStreamer, nginx) is absent skips with the reason,
    unless ``FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES=1`` (set by .ci/run) makes it a failure."""

    def missing(reason: str):
        if os.environ.get("FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES") == "1":
            pytest.fail(f"{reason} (FRAMEPIPE_REQUIRE_SYSTEM_PACKAGES=1 requires it)")
        pytest.skip(f"{reason}; scripts/system-packages.sh installs it")

    return missing


@pytest.fixture(scope="session")
def mp4_index_mode() -> str:
    """How an MP4 is indexed on the installed PyAV: from its sample table where PyAV exposes FFmpeg's index
    entries (17 and later), otherwise by reading its packets (PyAV 15 and 16, the oldest accepted)."""
    return "sample_table" if hasattr(av.stream.Stream, "index_entries") else "packets"


@pytest.fixture(scope="session")
def videos(tmp_path_factory) -> Videos:
    return Videos(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="session")
def small_video(videos) -> str:
    return videos["h264_bframes.mp4"][0]


@pytest.fixture(scope="session")
def data_dir() -> str:
    """tests/data: small real files committed with the tests."""
    return DATA


@pytest.fixture(scope="session")
def nasa(data_dir) -> str:
    return os.path.join(data_dir, "nasa_13013.mp4")


class KerasOracle:
    """Keras 2.x ``TimeseriesGenerator.__len__``/``__getitem__``, transcribed, on data = frame indices."""

    def __init__(
        self,
        n,
        length,
        sampling_rate=1,
        stride=1,
        start_index=0,
        end_index=None,
        reverse=False,
        batch_size=128,
    ):
        self.data = np.arange(n)
        self.length, self.sampling_rate, self.stride = length, sampling_rate, stride
        self.start_index = start_index + length
        self.end_index = n - 1 if end_index is None else end_index
        self.reverse, self.batch_size = reverse, batch_size

    def __len__(self):
        return (self.end_index - self.start_index + self.batch_size * self.stride) // (
            self.batch_size * self.stride
        )

    def __getitem__(self, index):
        i = self.start_index + self.batch_size * self.stride * index
        rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length : row : self.sampling_rate] for row in rows])
        targets = np.array([self.data[row] for row in rows])
        return (samples[:, ::-1, ...], targets) if self.reverse else (samples, targets)


@pytest.fixture(scope="session")
def keras_oracle() -> type[KerasOracle]:
    """The Keras 2 TimeseriesGenerator logic, transcribed: what framepipe's Keras semantics must equal."""
    return KerasOracle
