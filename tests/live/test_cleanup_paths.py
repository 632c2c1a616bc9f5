"""Every error path closes what it opened: a stream that fails to start, a receiver that fails mid-stream,
and a file reader dropped without ``close()``."""

from __future__ import annotations

import gc

import pytest

import framepipe
from framepipe._live import opening as opening_module
from framepipe._live import receiver as receiver_module
from framepipe.tools.synthetic import make_video


class Recorded:
    """A container that records its close (everything else is the real one's)."""

    def __init__(self, container) -> None:
        self._container, self.closed = container, 0

    def close(self) -> None:
        self.closed += 1
        self._container.close()

    def __getattr__(self, name):
        return getattr(self._container, name)


@pytest.fixture
def recorded(monkeypatch):
    opened: list[Recorded] = []
    real = opening_module.open_live

    def open_live(*args, **kwargs):
        opened.append(Recorded(real(*args, **kwargs)))
        return opened[-1]

    monkeypatch.setattr(opening_module, "open_live", open_live)
    return opened


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> str:
    return make_video(tmp_path_factory.mktemp("cleanup") / "c.mp4", num_frames=50, gop=10)


def test_a_stream_that_fails_to_start_closes_its_container(clip, recorded, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("could not start")

    monkeypatch.setattr(opening_module, "LiveStream", broken)
    with pytest.raises(RuntimeError, match="could not start"):
        framepipe.open_stream(clip)
    assert [c.closed for c in recorded] == [1]


def test_a_receiver_that_fails_closes_its_container_and_tells_the_readers(clip, recorded, monkeypatch):
    def failing(self, frame, timed):
        raise RuntimeError("a bug in the receiver")

    monkeypatch.setattr(receiver_module.Receiver, "_on_frame", failing)
    with framepipe.open_stream(clip, realtime=False) as stream:
        with pytest.raises(framepipe.StreamError, match="receiver failed"):
            stream.read(timeout=10)
        assert [c.closed for c in recorded] == [1]


def test_a_reader_dropped_without_close_closes_its_file(clip):
    video = framepipe.open(clip, index_cache=False)
    video.get_frames([3])
    decoder = video._decoder
    assert decoder._container is not None  # open: a decode happened
    del video
    gc.collect()
    assert decoder._container is None  # closed by the reader's finalizer
