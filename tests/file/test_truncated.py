"""Truncated files (interrupted downloads and recordings): the complete frames are readable."""

from __future__ import annotations

import os

import av
import pytest

import framepipe
from framepipe.tools.synthetic import make_video, read_index

KINDS = {
    "faststart.mp4": dict(container_options={"movflags": "faststart"}),
    "plain.mkv": {},
    "stream.ts": dict(container_format="mpegts"),
}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    root = tmp_path_factory.mktemp("truncated")
    return {
        name: make_video(root / name, num_frames=120, width=160, height=96, gop=24, bframes=2, noise=12, **kw)
        for name, kw in KINDS.items()
    }


def sequential_decode(path: str, *, concealed: bool = False) -> list:
    """The index pattern of every frame a tolerant full decode shows (errors skipped, decoder flushed),
    as ffmpeg and ffprobe count them; with ``concealed``, (pattern, whether FFmpeg flagged it damaged)."""
    out = []
    with av.open(path) as c:
        cc = c.streams.video[0].codec_context
        cc.thread_count = 1
        for packet in c.demux(video=0):
            try:
                out += [
                    (read_index(f.to_ndarray(format="rgb24")), f.is_corrupt)
                    if concealed
                    else read_index(f.to_ndarray(format="rgb24"))
                    for f in cc.decode(packet if packet.size else None)
                ]
            except av.error.FFmpegError:
                pass
    return out


@pytest.mark.parametrize("fraction", [0.35, 0.8])
def test_a_cut_mp4_opens_reads_up_to_the_cut_and_says_so(whole, tmp_path, monkeypatch, fraction):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    path = _cut(whole["faststart.mp4"], tmp_path, fraction)
    truth = sequential_decode(path)
    for attempt in ("built", "cached"):
        with framepipe.open(path) as video:
            md = video.metadata
            assert md.truncated and md.header_num_frames == 120, attempt
            assert md.num_frames == len(truth) == len(video), (attempt, md.num_frames, len(truth))
            got = [read_index(f) for f in video.get_frames(range(len(video))).data]
            assert got == truth
            back = [read_index(f) for f in video.get_frames([len(video) - 1, 3, len(video) // 2]).data]
            assert back == [truth[-1], truth[3], truth[len(video) // 2]]
            with pytest.raises(framepipe.TruncatedFrameError, match="truncated") as err:
                video.get_frames([len(video)])
            assert err.value.last_readable_frame == len(video) - 1
            assert isinstance(err.value, IndexError) and isinstance(err.value, framepipe.InvalidVideoError)


@pytest.mark.parametrize("fraction", [0.35, 0.8])
def test_cut_matroska_and_mpegts_read_their_complete_frames(whole, tmp_path, fraction):
    """Matroska drops the cut-off packet (the frames before it read as in a full decode) and its header
    says how long the file should be; MPEG-TS says nothing and hands the cut-off packet to the decoder,
    whose concealed picture (the last decoded, not always the last shown) is reported through on_error
    like any damaged frame."""
    mkv = _cut(whole["plain.mkv"], tmp_path, fraction)
    with framepipe.open(mkv, index_cache=False) as video:
        assert [read_index(f) for f in video.get_frames(range(len(video))).data] == sequential_decode(mkv)
        assert video.metadata.truncated  # its Segment header declares more bytes than there are
        with pytest.raises(framepipe.TruncatedFrameError):
            video.get_frames([len(video)])
    ts = _cut(whole["stream.ts"], tmp_path, fraction)
    truth = sequential_decode(ts, concealed=True)
    with framepipe.open(ts, index_cache=False, threads=1, on_error="skip") as video:
        assert len(video) == len(truth)
        batch = video.get_frames(range(len(video)))
        assert [read_index(f) for f in batch.data] == [label for label, damaged in truth if not damaged]
        damaged = [i for i, (_, bad) in enumerate(truth) if bad]
        assert [issue.index for issue in batch.issues] == damaged and len(damaged) <= 1


def _cut(src: str, tmp_path, fraction: float) -> str:
    data = open(src, "rb").read()
    path = str(tmp_path / f"cut_{fraction}_{os.path.basename(src)}")
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * fraction)])
    return path


def test_whole_files_are_not_truncated_and_a_cut_header_is_typed(whole, tmp_path):
    for path in whole.values():
        with framepipe.open(path, index_cache=False) as video:
            assert not video.metadata.truncated
            with pytest.raises(IndexError) as err:
                video.get_frames([len(video)])
            assert not isinstance(err.value, framepipe.TruncatedFrameError)
    cut = str(tmp_path / "header_only.mp4")
    with open(whole["faststart.mp4"], "rb") as f:
        head = f.read(600)
    with open(cut, "wb") as f:
        f.write(head)
    with pytest.raises(framepipe.InvalidVideoError):
        framepipe.open(cut, index_cache=False)
    assert os.path.getsize(cut) == 600
