"""Live-stream failures: timeouts, end versus disconnect, reconnects, damaged packets, close, leaks,
masking."""

from __future__ import annotations

import gc
import logging
import os
import threading
import time

import pytest

import framepipe
from framepipe._live.abort import Sockets
from framepipe._live.source import describe_source, mask_credentials
from framepipe.tools.synthetic import make_video, read_index

FAST_RETRY = framepipe.Reconnect(initial_delay=0.1, max_delay=0.4, max_attempts=60)


@pytest.mark.parametrize("scheme", ["tcp", "http", "rtsp"])
def test_server_that_accepts_and_never_sends_times_out_promptly(servers, scheme):
    with servers.silent() as port:
        start = time.monotonic()
        with pytest.raises(
            framepipe.StreamTimeoutError, match=f"{scheme}://127.0.0.1:{port}.*open_timeout=1"
        ):
            framepipe.open_stream(f"{scheme}://127.0.0.1:{port}/live", open_timeout=1)
        assert (
            time.monotonic() - start < 3.0
        )  # open_timeout=1 plus a loaded machine's slack; the default is 5 s


def test_stalled_server_gives_read_timeout(servers):
    url, _, _ = servers.sender("tcp", stall_after=10)
    with framepipe.open_stream(url, mode="all", read_timeout=1, reconnect=False) as stream:
        frames = []
        start = None
        with pytest.raises(framepipe.StreamTimeoutError, match="no data within read_timeout=1 s"):
            while True:
                frames.append(stream.read(timeout=10))
                start = time.monotonic()
        assert time.monotonic() - start < 3.5  # the last frame, then 1 s of silence, then the error
        assert stream.state == "disconnected"
    assert [f.index for f in frames] == list(range(10))


def test_end_of_stream_and_disconnect_are_told_apart(servers, tmp_path):
    # a server that finishes its stream and closes, with reconnect off: the stream ended
    url, _, _ = servers.sender("http-ts", frames=20)
    with framepipe.open_stream(url, mode="all", reconnect=False) as stream:
        frames = list(stream)  # iteration ends quietly at the end
        assert stream.state == "ended"
        with pytest.raises(framepipe.StreamEndedError, match="ended after frame 19"):
            stream.read(timeout=1)
    assert [read_index(f.data) for f in frames] == list(range(20))
    # a file played as live ends too
    path = make_video(tmp_path / "v.mp4", num_frames=12, fps=60)
    with framepipe.open_stream(path, mode="all") as stream:
        assert len(list(stream)) == 12 and stream.state == "ended"
    # a server that goes away and stays away, with reconnect on: disconnected after the attempts
    url, _, _ = servers.sender("tcp")
    policy = framepipe.Reconnect(initial_delay=0.05, max_delay=0.1, max_attempts=3)
    with framepipe.open_stream(url, mode="all", reconnect=policy) as stream:
        stream.read(timeout=5)
        servers.kill()
        with pytest.raises(framepipe.StreamDisconnectedError, match="3 reconnect attempts failed") as info:
            while True:
                stream.read(timeout=10)
        assert info.value.attempts == 3 and stream.state == "disconnected"


def test_reconnects_after_server_restart_and_keeps_numbering(servers):
    url, port, _ = servers.sender("tcp")
    frames = []
    with framepipe.open_stream(url, mode="all", reconnect=FAST_RETRY) as stream:
        frames = [stream.read(timeout=5) for _ in range(20)]
        servers.kill()
        time.sleep(0.5)
        servers.sender("tcp", port=port)  # the same port
        while stream.stats.reconnects == 0 or len(frames) < 60:
            frames.append(stream.read(timeout=10))
        stats = stream.stats
    shown = [read_index(f.data) for f in frames]
    restart = next(k for k in range(1, len(shown)) if shown[k] < shown[k - 1])  # the new server's frame 0
    assert shown[:restart] == list(range(restart)) and shown[restart:] == list(range(len(shown) - restart))
    # the numbering goes on through the reconnect, and the timeline only increases
    assert [f.index for f in frames] == list(range(len(frames)))
    pts = [f.pts_seconds for f in frames]
    assert all(b > a for a, b in zip(pts, pts[1:]))
    assert pts[restart] - pts[restart - 1] >= 0.4  # the outage shows on the timeline
    assert stats.reconnects == 1 and stats.state == "running"


def test_rtsp_reconnects_after_server_restart(servers):
    url, port = servers.rtsp()
    with framepipe.open_stream(url, mode="all", reconnect=FAST_RETRY) as stream:
        first = [stream.read(timeout=5) for _ in range(10)]
        servers.kill()
        time.sleep(0.3)
        servers.rtsp(port=port)
        later = []
        while len(later) < 10:
            later.append(stream.read(timeout=15))
        stats = stream.stats
    assert stats.reconnects == 1
    indices = [f.index for f in first + later]
    assert indices == sorted(set(indices))


def test_damaged_packets_are_counted_not_fatal(servers):
    url, _, _ = servers.sender("mjpeg", corrupt="5,6,30")
    with framepipe.open_stream(url, mode="all") as stream:
        frames = [stream.read(timeout=5) for _ in range(37)]
        stats = stream.stats
    shown = [read_index(f.data) for f in frames]
    assert shown == [k for k in range(40) if k not in (5, 6, 30)]
    assert [f.index for f in frames] == list(range(37))  # numbering counts the frames received
    assert stats.decode_errors == 3 and stats.state == "running"


def test_close_returns_within_a_second_while_a_read_is_blocked(servers):
    url, _, _ = servers.sender("tcp", stall_after=5)
    stream = framepipe.open_stream(url, mode="all", read_timeout=30)
    for _ in range(5):
        stream.read(timeout=5)
    time.sleep(0.3)  # the receiver is now blocked inside FFmpeg waiting for data
    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < 1.0
    assert not stream._receiver.is_alive()
    with pytest.raises(framepipe.VideoClosedError, match="closed"):
        stream.read()


@pytest.mark.parametrize("kind", ["tcp", "http-ts", "mjpeg", "udp", "rtsp"])
def test_close_of_a_silent_stream_returns_at_once_and_leaves_no_thread(servers, kind):
    """The server hangs with its connection open (read_timeout=30 s): close() ends the blocked read within
    0.5 s, and the receiver is gone, on every PyAV (the test command runs this on the oldest one too)."""
    url = servers.rtsp()[0] if kind == "rtsp" else servers.sender(kind)[0]
    before = set(threading.enumerate())
    stream = framepipe.open_stream(url, mode="all", read_timeout=30, reconnect=False)
    for _ in range(10):
        stream.read(timeout=10)
    servers.freeze()
    time.sleep(1.0)  # the receiver is now blocked inside FFmpeg (or framepipe's UDP input) waiting for data
    assert stream.state == "running" and stream._receiver.is_alive()
    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < 0.5
    assert not stream._receiver.is_alive() and not stream.stats.receiver_alive
    assert [t.name for t in set(threading.enumerate()) - before] == []  # its UDP input's thread too


def test_opening_and_closing_streams_changes_nothing_of_pyav(servers):
    import av.container.core

    before = dict(vars(av.container.core))
    url, _, _ = servers.sender("tcp")
    with framepipe.open_stream(url) as stream:
        stream.read(timeout=10)
    after = vars(av.container.core)
    assert after.keys() == before.keys() and all(after[k] is before[k] for k in before)


def test_close_reports_a_thread_it_could_not_stop(servers, monkeypatch, caplog):
    """Where the blocked read cannot be ended (its socket unknown: no /proc/self/fd, or a connection FFmpeg
    made by itself), close() says so instead of hiding it."""
    url, _, _ = servers.sender("tcp", stall_after=30)
    stream = framepipe.open_stream(url, mode="all", read_timeout=8, reconnect=False)
    for _ in range(25):  # (MPEG-TS holds the last frames back until a next one that never comes)
        stream.read(timeout=5)
    time.sleep(0.5)  # the receiver is now blocked inside FFmpeg waiting for data
    monkeypatch.setattr(Sockets, "shut_down", lambda self: None)  # as if its socket were not known
    with caplog.at_level(logging.WARNING, logger="framepipe.live"):
        start = time.monotonic()
        stream.close()
        assert time.monotonic() - start < 2.0  # joins for 1 s, then returns
    assert stream.stats.receiver_alive
    assert "did not stop within 1 s of close()" in caplog.text and "read_timeout=8" in caplog.text
    stream._receiver.join(timeout=15)  # it ends by itself when its read times out
    assert not stream._receiver.is_alive() and not stream.stats.receiver_alive


def test_a_stream_dropped_without_close_stops_its_thread(servers):
    url, _, _ = servers.sender("tcp")
    stream = framepipe.open_stream(url)
    stream.read(timeout=5)
    receiver = stream._receiver
    del stream
    gc.collect()  # weakref.finalize runs the same shutdown as close()
    receiver.join(timeout=2)
    assert not receiver.is_alive()


def test_no_thread_or_fd_leak_after_100_open_close_cycles(servers):
    url, _, _ = servers.sender("mjpeg")

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with framepipe.open_stream(url) as stream:  # warm up: first-use allocations are not leaks
        stream.read(timeout=5)
    threads, files = threading.active_count(), fds()
    for _ in range(100):
        with framepipe.open_stream(url) as stream:
            stream.read(timeout=5)
    time.sleep(0.2)
    assert threading.active_count() == threads
    assert fds() <= files + 2  # the sender's log file handle etc. may differ by a descriptor or two


def test_credentials_are_masked_in_errors_and_logs(servers, caplog):
    with servers.silent() as port:
        pass  # now nothing listens on the port
    url = f"rtsp://admin:hunter2@127.0.0.1:{port}/live?token=s3cret"
    with pytest.raises(framepipe.StreamOpenError) as info:
        framepipe.open_stream(url, reconnect=False)
    message = str(info.value)
    assert "hunter2" not in message and "s3cret" not in message
    assert "rtsp://admin:***@127.0.0.1" in message and info.value.path.startswith("rtsp://admin:***@")
    assert info.value.__cause__ is None and info.value.__context__ is None  # FFmpeg's error holds the URL
    # while reconnecting, the log names the source masked
    url, port, _ = servers.sender("tcp")
    secret_url = url.replace("tcp://", "tcp://user:pa55w0rd@")
    with (
        caplog.at_level(logging.INFO, logger="framepipe.live"),
        framepipe.open_stream(
            secret_url,
            mode="all",
            reconnect=framepipe.Reconnect(initial_delay=0.05, max_delay=0.05, max_attempts=2),
        ) as stream,
    ):
        stream.read(timeout=5)
        assert "pa55w0rd" not in repr(stream) and "pa55w0rd" not in stream.source
        servers.kill()
        with pytest.raises(framepipe.StreamDisconnectedError) as lost:
            while True:
                stream.read(timeout=10)
    assert "pa55w0rd" not in str(lost.value)
    assert caplog.records and all("pa55w0rd" not in r.getMessage() for r in caplog.records)
    assert any("user:***@" in r.getMessage() for r in caplog.records)


def test_overflow_block_loses_nothing_and_drop_oldest_counts(tmp_path):
    path = make_video(tmp_path / "v.mp4", num_frames=60)
    with framepipe.open_stream(path, mode="all", queue_size=4, realtime=False) as stream:
        time.sleep(0.3)  # the receiver fills the queue and waits
        assert [f.index for f in stream] == list(range(60))
        assert stream.stats.dropped == 0
    with framepipe.open_stream(
        path, mode="all", queue_size=4, overflow="drop_oldest", realtime=False
    ) as stream:
        time.sleep(0.3)
        got = [f.index for f in stream]
        stats = stream.stats
    assert got == sorted(got) and len(got) < 60
    assert stats.dropped == 60 - len(got) and stats.received == 60


@pytest.fixture(scope="module")
def ten_frames(tmp_path_factory) -> str:
    return make_video(tmp_path_factory.mktemp("args") / "v.mp4", num_frames=10)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(mode="newest"), ValueError, "mode must be one of latest, all"),
        (dict(overflow="drop"), ValueError, "overflow must be one of block, drop_oldest"),
        (dict(fps=0), ValueError, "fps must be a positive number"),
        (dict(queue_size=0), ValueError, "queue_size must be an int >= 1"),
        (dict(open_timeout=-1), ValueError, "open_timeout must be a positive number"),
        (dict(read_timeout=float("inf")), ValueError, "read_timeout must be a positive number"),
        (dict(reconnect="yes"), TypeError, "reconnect must be True, False"),
        (dict(layout="NTHWC"), ValueError, "layout must be one of NHWC, NCHW for a stream"),
        (dict(size=(0, 5)), ValueError, "size must be positive"),
        (dict(options=["x"]), TypeError, "options must be a mapping"),
    ],
)
def test_bad_option_names_the_option(ten_frames, kwargs, exc, message):
    with pytest.raises(exc, match=message):
        framepipe.open_stream(ten_frames, **kwargs)


def test_bad_arguments_name_the_argument(ten_frames, tmp_path):
    path = ten_frames
    with pytest.raises(ValueError, match="max_attempts must be a positive int"):
        framepipe.Reconnect(max_attempts=0)
    with pytest.raises(framepipe.VideoNotFoundError, match="nope.mp4"):
        framepipe.open_stream(tmp_path / "nope.mp4")
    with pytest.raises(TypeError, match="source must be a camera index"):
        framepipe.open_stream(1.5)
    with pytest.raises(framepipe.StreamOpenError, match="/dev/video63"):
        framepipe.open_stream(63)  # no such camera here
    with framepipe.open_stream(path, queue_size=4) as stream:
        with pytest.raises(ValueError, match="indices must be >= 0"):
            stream.get_frames([-1])
        with pytest.raises(ValueError, match="seconds must be finite and >= 0"):
            stream.get_frames_at_times([-0.5])
        with pytest.raises(ValueError, match="length=8 is more than queue_size=4"):
            next(stream.clips(8))
        with pytest.raises(ValueError, match="timeout must be a positive number"):
            stream.read(timeout=0)
        with pytest.raises(framepipe.StreamEndedError, match="before frame 500 of indices"):
            stream.get_frames([500])


def test_source_parsing():
    assert describe_source(0).url == "/dev/video0" and describe_source(0).format == "v4l2"
    assert describe_source("/dev/video2").kind == "device"
    rtsp = describe_source("rtsp://cam/x", {"rtsp_transport": "udp"})
    assert rtsp.options["rtsp_transport"] == "udp"  # the user's options win over the defaults
    assert describe_source("http://h/a/index.m3u8?x=1").is_hls
    assert describe_source("udp://127.0.0.1:5000").options["overrun_nonfatal"] == "1"
    assert mask_credentials("http://u:p@h/x and rtsp://a:b@c/") == "http://u:***@h/x and rtsp://a:***@c/"
    assert mask_credentials("http://h/x?password=pw") == "http://h/x?password=***"
