"""The live path's pure parts, without servers: the ring, the timeline, fps sampling, the reconnect policy
and what ends a blocked read on close (the sockets a stream opened, framepipe's own UDP input)."""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest

import framepipe
from framepipe._live.abort import Sockets, open_tracked
from framepipe._live.reconnect import Reconnect
from framepipe._live.ring import FrameRing, Item
from framepipe._live.timeline import FpsSampler, Timeline
from framepipe._live.udp import UdpInput, handles


def _item(seq: int, *, pts: float | None = None) -> Item:
    return Item(
        seq,
        index=seq,
        pts=seq / 30 if pts is None else pts,
        arrival=time.time(),
        mono=time.monotonic(),
        frame=None,
    )


def _ring(mode="all", overflow="block", capacity=4) -> FrameRing:
    return FrameRing(capacity, mode, overflow, name="test://cam")


# --- ring ---------------------------------------------------------------------------------------------
def test_take_next_is_in_order_and_counts_delivered():
    ring = _ring()
    for s in range(3):
        ring.publish(_item(s))
    assert [ring.take_next(timeout=1).index for _ in range(3)] == [0, 1, 2]
    stats = ring.stats(open_seconds=0, receiver_alive=False)
    assert (stats.received, stats.delivered, stats.dropped) == (3, 3, 0)


def test_take_latest_skips_and_counts_dropped():
    ring = _ring(mode="latest", capacity=8)
    for s in range(5):
        ring.publish(_item(s))
    assert ring.take_latest(timeout=1).index == 4
    assert ring.stats(open_seconds=0, receiver_alive=False).dropped == 4
    with pytest.raises(framepipe.StreamTimeoutError, match="test://cam: a new frame did not arrive within"):
        ring.take_latest(timeout=0.05)


def test_full_ring_blocks_the_receiver_until_a_reader_takes():
    ring = _ring(capacity=2)
    ring.publish(_item(0))
    ring.publish(_item(1))
    published = threading.Event()
    t = threading.Thread(target=lambda: (ring.publish(_item(2)), published.set()))
    t.start()
    assert not published.wait(0.3)  # blocked: two unread frames, overflow="block"
    assert ring.take_next(timeout=1).index == 0
    assert published.wait(2)
    t.join()


def test_drop_oldest_evicts_unread_and_counts_it():
    ring = _ring(overflow="drop_oldest", capacity=2)
    for s in range(5):
        ring.publish(_item(s))
    assert ring.take_next(timeout=1).index == 3
    assert ring.stats(open_seconds=0, receiver_alive=False).dropped == 3


def test_take_index_and_time_and_gone():
    ring = _ring(capacity=3)
    for s in range(6):
        if s >= 3:
            ring.take_next(timeout=1)  # make room
        ring.publish(_item(s))
    assert ring.take_index(4, timeout=1).index == 4
    assert ring.take_time(5 / 30 - 0.01, timeout=1).index == 4  # the frame on screen then
    with pytest.raises(framepipe.FrameGoneError, match="frame 0 has already left"):
        ring.take_index(0, timeout=1)


def test_waiting_readers_see_end_failure_and_close():
    ring = _ring()
    ring.set_state("ended")
    with pytest.raises(framepipe.StreamEndedError, match="the stream ended"):
        ring.take_next(timeout=1)
    ring = _ring()
    failure = framepipe.StreamDisconnectedError("test://cam", "gave up", attempts=3)
    ring.set_state("disconnected", failure=failure)
    with pytest.raises(framepipe.StreamDisconnectedError) as info:
        ring.take_next(timeout=1)
    assert info.value is failure
    ring = _ring()
    threading.Timer(0.1, ring.close).start()
    with pytest.raises(framepipe.VideoClosedError, match="closed"):
        ring.take_next(timeout=5)
    assert not ring.publish(_item(0))  # a closed ring takes nothing more
    assert ring.state == "closed" and not ring.close()


def test_take_window_moves_on_when_frames_were_pushed_out():
    ring = _ring(mode="all", overflow="drop_oldest", capacity=4)
    for s in range(8):
        ring.publish(_item(s))
    end, new = ring.take_window(3, 2, lambda seq: False, timeout=1)  # frames 0..2 are gone: start at 4
    assert end == 6 and [it.seq for it in new] == [4, 5, 6]
    end, new = ring.take_window(3, 7, lambda seq: seq in (5, 6), timeout=1)  # only the new frame
    assert end == 7 and [it.seq for it in new] == [7]


# --- timeline and sampling ----------------------------------------------------------------------------
def test_timeline_starts_at_zero_and_keeps_increasing_across_reconnects():
    tl = Timeline(interval=0.1)
    tl.new_connection()
    assert [round(tl.place(raw, mono=100.0 + i * 0.1), 6) for i, raw in enumerate((5.0, 5.1, 5.2))] == [
        0,
        0.1,
        0.2,
    ]
    tl.new_connection()  # reconnected after an outage of 2 s; the server's clock starts over
    assert round(tl.place(0.0, mono=102.5), 6) == 2.5  # the outage shows as a gap
    assert round(tl.place(0.1, mono=102.6), 6) == 2.6


def test_timeline_clock_going_back_and_no_timestamps():
    tl = Timeline(interval=0.04)
    tl.new_connection()
    tl.place(1.0, mono=0.0)
    tl.place(1.04, mono=0.04)
    assert round(tl.place(0.5, mono=0.08), 6) == 0.08  # a wrap: one interval after the last
    untimed = Timeline()
    assert [untimed.place(None, mono=m) for m in (10.0, 10.5, 11.25)] == [0.0, 0.5, 1.25]


def test_fps_sampler_keeps_one_frame_per_tick():
    sampler = FpsSampler(2.0)
    kept = [t for t in (i / 30 for i in range(90)) if sampler.keep(t)]
    assert [round(t * 30) for t in kept] == [0, 15, 30, 45, 60, 75]


# --- reconnect policy ---------------------------------------------------------------------------------
def test_reconnect_backoff_caps_and_jitters():
    policy = Reconnect(max_attempts=6, initial_delay=0.5, max_delay=4.0, jitter=0)
    assert list(policy.delays()) == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    jittered = list(Reconnect(max_attempts=50, jitter=0.25).delays(random.Random(0)))
    assert all(0.5 * 0.75 <= d <= 8.0 * 1.25 for d in jittered) and len(set(jittered)) > 40
    assert Reconnect.from_option(False) is None and Reconnect.from_option(3).max_attempts == 3
    with pytest.raises(TypeError, match="reconnect must be"):
        Reconnect.from_option("yes")


# --- ending a blocked read ------------------------------------------------------------------------------
@pytest.fixture
def listening():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server
    server.close()


def _blocked_read(sock: socket.socket) -> tuple[threading.Thread, list]:
    got: list = []

    def read() -> None:
        try:
            got.append(sock.recv(10))
        except OSError as exc:  # the listener reset it at the end of the test
            got.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    time.sleep(0.2)
    assert thread.is_alive()  # blocked: nothing was sent
    return thread, got


def test_a_stream_shuts_down_the_connection_it_opened_and_no_other(listening):
    port = listening.getsockname()[1]
    other = socket.create_connection(("127.0.0.1", port))  # open before: never the stream's
    sockets = Sockets(f"tcp://127.0.0.1:{port}")
    mine = open_tracked(sockets, lambda: socket.create_connection(("127.0.0.1", port)))
    assert sockets.tracked == 1
    thread, got = _blocked_read(mine)
    other_thread, other_got = _blocked_read(other)
    start = time.monotonic()
    sockets.shut_down()
    thread.join(2)
    assert not thread.is_alive() and got == [b""] and time.monotonic() - start < 0.5  # the end of input
    assert other_thread.is_alive()  # the other connection is untouched
    other.close()
    mine.close()  # the socket is still its opener's to close


def test_a_stream_closed_while_it_opens_shuts_down_what_the_open_makes(listening):
    port = listening.getsockname()[1]
    sockets = Sockets(f"http://127.0.0.1:{port}/live")

    def opener():
        sockets.shut_down()  # close() while the open is under way
        return socket.create_connection(("127.0.0.1", port))

    conn = open_tracked(sockets, opener)
    assert conn.recv(10) == b""  # shut down as soon as the open returned
    conn.close()
    assert Sockets("/dev/video0").endpoint is None and Sockets("rtsp://cam/1").endpoint == ("cam", 554)


def test_framepipe_udp_input_reads_whole_datagrams_and_ends_on_abort_or_silence():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    assert handles(f"udp://127.0.0.1:{port}", {"fifo_size": "1", "probesize": "32"})
    assert not handles(f"udp://127.0.0.1:{port}?localaddr=10.0.0.1", {})  # FFmpeg's own input does that
    source = UdpInput(f"udp://127.0.0.1:{port}", {"buffer_size": "65536"}, timeout=0.3)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"x" * 3000, ("127.0.0.1", port))
            sender.sendto(b"y" * 10, ("127.0.0.1", port))
            assert source.read(1000) + source.read(5000) == b"x" * 3000  # the rest of a datagram waits
            assert source.read(5000) == b"y" * 10
        start = time.monotonic()
        with pytest.raises(TimeoutError, match="no data within 0.3 s"):
            source.read(100)
        assert 0.3 <= time.monotonic() - start < 1.0
        source.timeout = 30
        got: list = []
        thread = threading.Thread(target=lambda: got.append(source.read(100)))
        thread.start()
        time.sleep(0.2)
        start = time.monotonic()
        source.abort()
        thread.join(2)
        assert got == [b""] and time.monotonic() - start < 0.5
    finally:
        source.close()


def test_framepipe_udp_input_queues_within_fifo_size_as_ffmpeg_does():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    for nonfatal in ("1", "0"):  # fifo_size counts 188-byte units: 4 of them hold two 300-byte datagrams
        source = UdpInput(
            f"udp://127.0.0.1:{port}", {"fifo_size": "4", "overrun_nonfatal": nonfatal}, timeout=2
        )
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
                for k in range(5):
                    sender.sendto(bytes([k]) * 300, ("127.0.0.1", port))
            time.sleep(0.3)  # nobody reads: the queue fills
            if nonfatal == "1":
                assert source.dropped == 3
                assert source.read(1000) == b"\0" * 300 and source.read(1000) == b"\1" * 300
            else:
                assert source.read(1000) == b"\0" * 300 and source.read(1000) == b"\1" * 300
                with pytest.raises(OSError, match="overrun: more than fifo_size=4"):
                    source.read(1000)
        finally:
            source.close()
