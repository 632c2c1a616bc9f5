"""Metadata from the index, the on-disk index cache, pickling, and how much decoding calls cost."""

from __future__ import annotations

import glob
import os
import pickle
import shutil
import time

import av
import numpy as np
import pytest

import framepipe
from framepipe._index import cache, store
from framepipe.tools.synthetic import make_video, read_index


def test_metadata(small_video, mp4_index_mode):
    with framepipe.open(small_video) as v:
        md = v.metadata
    assert (md.width, md.height, md.codec, md.pixel_format) == (160, 96, "h264", "yuv420p")
    assert md.num_frames == 60 == len(v)
    assert md.average_fps == pytest.approx(25.0)
    assert md.duration_seconds == pytest.approx(60 / 25)
    assert md.start_seconds == 0.0
    assert md.keyframe_indices.tolist() == [0, 12, 24, 36, 48]
    assert (
        not md.is_variable_frame_rate and md.index_mode == mp4_index_mode
    )  # an MP4: indexed from its tables (PyAV 17 and later)
    assert "num_frames=60" in repr(md)


@pytest.fixture
def fresh_video(tmp_path):
    return make_video(str(tmp_path / "cached.mp4"), num_frames=30)


def _entries():
    return glob.glob(os.path.join(cache.cache_dir(), "index-*.npz"))


def test_cache_hit_skips_indexing_and_is_exact(fresh_video, monkeypatch):
    before = set(_entries())
    with framepipe.open(fresh_video) as v:
        first = read_index(v[17])
    assert len(set(_entries()) - before) == 1

    def no_indexing(*args, **kwargs):
        raise AssertionError("a cached index must not be rebuilt")

    # what makes a cached open take milliseconds: no demuxing pass over the file (timings on a loaded
    # 2-core machine would be flaky; the benchmark reports the time)
    monkeypatch.setattr(store, "build_index", no_indexing)
    monkeypatch.setattr(store, "build_decode_index", no_indexing)
    with framepipe.open(fresh_video) as v:
        assert read_index(v[17]) == first == 17


def test_no_cache_writes_nothing(fresh_video):
    before = set(_entries())
    with framepipe.open(fresh_video, index_cache=False) as v:
        assert len(v) == 30
    assert set(_entries()) == before


def test_cache_dir_from_environment(fresh_video, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "elsewhere"))
    framepipe.open(fresh_video).close()
    assert len(glob.glob(str(tmp_path / "elsewhere" / "index-*.npz"))) == 1


def test_stale_entry_is_rebuilt(fresh_video, tmp_path):
    framepipe.open(fresh_video).close()
    # replace the file with a longer video: same path, new size and mtime
    longer = make_video(str(tmp_path / "longer.mp4"), num_frames=45)
    shutil.copyfile(longer, fresh_video)
    os.utime(fresh_video, ns=(time.time_ns(), time.time_ns() + 10**9))
    with framepipe.open(fresh_video) as v:
        assert len(v) == 45
        assert read_index(v[44]) == 44


@pytest.mark.parametrize("damage", ["garbage", "empty", "wrong_arrays"])
def test_corrupt_entry_is_rebuilt(fresh_video, damage):
    before = set(_entries())
    framepipe.open(fresh_video).close()
    (entry,) = set(_entries()) - before
    if damage == "garbage":
        with open(entry, "wb") as fh:
            fh.write(b"not an npz at all")
    elif damage == "empty":
        open(entry, "wb").close()
    else:  # a loadable file whose arrays contradict each other
        with np.load(entry) as data:
            arrays = dict(data)
        arrays["frame_pkt"] = arrays["frame_pkt"][:-3]
        np.savez(entry, **arrays)
    with framepipe.open(fresh_video) as v:
        assert len(v) == 30 and read_index(v[29]) == 29
    with np.load(entry) as data:  # rewritten with a good index
        assert len(data["frame_pts"]) == 30


def test_pickle_reopens_lazily(small_video):
    v = framepipe.open(small_video, size=(48, 48))
    v.get_frames([1])  # opened a container, which must not be pickled
    clone = pickle.loads(pickle.dumps(v))
    assert read_index(clone[33], box=(0.0, 0.2, 1.0, 0.8)) == 33
    assert clone.metadata.num_frames == 60
    v.close()
    clone.close()


def test_closed_video_raises(small_video):
    v = framepipe.open(small_video)
    v.close()
    with pytest.raises(framepipe.VideoClosedError, match="closed"):
        v[0]


def test_each_gop_decoded_once_per_call(small_video):
    """60 frames, GOPs of 12: random frames over all GOPs need each packet at most once."""
    with framepipe.open(small_video, index_cache=False) as v:
        v.get_frames([50, 3, 27, 27, 40, 15, 1, 59])
        assert v._decoder.packets_decoded <= 60
        assert v._decoder.seeks <= 1  # consecutive GOPs: decode on, never seek back


def test_overlapping_clips_decode_shared_frames_once(videos):
    path, _ = videos["mjpeg.avi"]  # every frame a keyframe: packets decoded == frames decoded
    with framepipe.open(path, index_cache=False) as v:
        clips = [list(range(s, s + 16)) for s in range(0, 24, 4)]  # 6 clips over frames 0..35
        batch = v.get_clips(clips)
        assert batch.data.shape[:2] == (6, 16)
        # 36 unique frames; frame threads may read a few packets ahead, never decode one twice
        assert v._decoder.packets_decoded <= 36 + 4


def test_sparse_frames_seek_instead_of_decoding_everything(tmp_path):
    path = make_video(str(tmp_path / "long.mp4"), num_frames=300, gop=10, bframes=2)
    with framepipe.open(path, index_cache=False) as v:
        got = v.get_frames([5, 150, 295])
        assert [read_index(f) for f in got.data] == [5, 150, 295]
        assert v._decoder.packets_decoded < 60  # three GOPs and decoder look-ahead, not 300 packets
        assert v._decoder.seeks >= 2


def test_consecutive_window_calls_continue_forward(tmp_path):
    """Sliding windows in several calls: the overlap is not decoded again and nothing seeks back."""
    from framepipe.sampling import windows

    path = make_video(str(tmp_path / "windows.mp4"), num_frames=200, gop=50, bframes=2)
    clips = windows(200, length=16, stride=8)
    with framepipe.open(path, size=(48, 48), resize="shorter_side", index_cache=False) as v:
        for i in range(0, len(clips), 4):
            batch = v.get_clips(clips[i : i + 4])
            assert [[read_index(f) for f in clip] for clip in batch.data] == clips[i : i + 4].tolist()
        assert v._decoder.seeks == 0
        assert v._decoder.packets_decoded <= 200


def test_unrequested_b_frames_are_skipped(tmp_path):
    """H.264 with B-frames: pictures nobody asked for and nothing refers to are not decoded at all."""
    path = make_video(
        str(tmp_path / "bframes.mp4"),
        num_frames=48,
        gop=48,
        bframes=3,
        options={"x264-params": "b-pyramid=none"},
    )  # plain B-frames: none is a reference
    with framepipe.open(path, index_cache=False) as v:
        got = v.get_frames([40, 3])
        assert [read_index(f) for f in got.data] == [40, 3]
        assert v._decoder.packets_decoded >= 40
        assert v._decoder.pictures_decoded < 0.6 * v._decoder.packets_decoded
    with framepipe.open(path, index_cache=False, on_error="previous") as v:  # repeats need every picture
        v.get_frames([40])
        assert v._decoder.pictures_decoded >= 40


def test_many_threads_load_cached_indexes_of_many_files(tmp_path, monkeypatch):
    """Datasets load cached indexes in threads; every one must come back whole (numpy's header parser is not
    thread-safe on Python 3.11, so the cache reads one entry at a time)."""
    from framepipe.dataset import VideoDataset

    monkeypatch.setenv("FRAMEPIPE_CACHE_DIR", str(tmp_path / "cache"))
    paths = [make_video(tmp_path / f"v{k}.mp4", num_frames=12 + k, gop=6) for k in range(8)]
    VideoDataset.from_paths(paths, length=4, index_workers=8)  # fills the cache
    many = paths * 25  # 200 sources, 16 threads, all from the cache
    ds = VideoDataset.from_paths(many, length=4, stride=4, index_workers=16)
    assert ds.num_videos == 200 and not ds.skipped
    assert ds.clips_per_video_count().tolist() == [(12 + k) // 4 for k in range(8)] * 25


def test_skip_skips_bad_videos_and_never_hides_a_bug(tmp_path, monkeypatch):
    from framepipe._adapters import indexing as indexing_module
    from framepipe.dataset import VideoDataset
    from framepipe.errors import InvalidVideoError

    good = make_video(tmp_path / "good.mp4", num_frames=12)
    real_load = indexing_module.load_index
    failure: list[Exception] = []

    def flaky_load(source, **kwargs):
        if source.name.endswith("bad.mp4"):
            raise failure[0]
        return real_load(source, **kwargs)

    monkeypatch.setattr(indexing_module, "load_index", flaky_load)
    (tmp_path / "bad.mp4").write_bytes(b"x")
    paths = [good, str(tmp_path / "bad.mp4")]
    failure[:] = [InvalidVideoError(str(tmp_path / "bad.mp4"), "not a readable video")]
    with pytest.warns(UserWarning, match="skipped 1 of 2"):
        ds = VideoDataset.from_paths(paths, length=4, on_bad_video="skip")
    assert ds.num_videos == 1 and "not a readable video" in ds.skipped[0][1]
    with pytest.raises(InvalidVideoError):
        VideoDataset.from_paths(paths, length=4)
    # a failure no framepipe error describes is a bug, not a bad video: it raises, skip or not
    failure[:] = [SystemError("something broke inside a library")]
    with pytest.raises(SystemError):
        VideoDataset.from_paths(paths, length=4, on_bad_video="skip")


def test_seeks_land_on_their_keyframe(tmp_path):
    """An MP4 whose decode times precede its presentation times (LeRobot's kind): FFmpeg's mov demuxer
    compares a seek target with presentation times, so a seek to a keyframe's decode time lands a GOP
    early. After the first such seek the reader aims by presentation time and reads no packet it skips."""
    path = make_video(str(tmp_path / "g2.mp4"), num_frames=120, gop=2, bframes=1)
    starts = np.random.default_rng(0).choice(np.arange(10, 110), 20, replace=False)
    with framepipe.open(path, index_cache=False, threads=1) as v:
        ix = v._index
        assert (ix.pkt_pts[ix.pkt_key] > ix.pkt_dts[ix.pkt_key]).all()
        v.get_frames([int(starts[0])])  # the first seek learns how this demuxer compares
        dec = v._decoder
        read, decoded, seeks = dec.packets_read, dec.packets_decoded, dec.seeks
        for s in starts[1:]:
            want = [int(s), int(s) + 1, int(s) + 2]
            assert [read_index(f) for f in v.get_frames(want).data] == want
        assert dec.seeks - seeks >= 10
        assert (dec.packets_read - read) - (dec.packets_decoded - decoded) == 0  # no packet read and skipped


def test_reordering_delay_is_drained_before_a_keyframe(tmp_path):
    """A decoder that holds a picture back (B-frame reordering) gives it up when drained: where the next
    packet starts a GOP anyway, a run drains instead of decoding that keyframe for nothing, and a call
    that goes on starts at that packet without a seek."""
    path = make_video(str(tmp_path / "g2.mp4"), num_frames=120, gop=2, bframes=1)
    with framepipe.open(path, index_cache=False, threads=1) as v:
        ix = v._index
        dec = v._decoder
        checked = 0
        for s in np.random.default_rng(1).choice(np.arange(10, 100), 30, replace=False).tolist():
            want = [s, s + 1, s + 2]
            last_fed = int(ix.frame_pkt[want].max())
            if not ix.pkt_key[last_fed + 1]:
                continue
            key = int(ix.frame_key[s])
            v._assembler.recent.clear()  # decode every frame asked for
            before = dec.packets_decoded
            assert [read_index(f) for f in v.get_frames(want).data] == want
            assert dec.packets_decoded - before == last_fed - key + 1  # nothing past the last frame's packet
            # going on from there: no seek, the right frames
            seeks = dec.seeks
            nxt = [f for f in range(s + 3, s + 8) if int(ix.frame_key[f]) == last_fed + 1][:2]
            if nxt:
                assert [read_index(f) for f in v.get_frames(nxt).data] == nxt
                assert dec.seeks == seeks
            checked += 1
        assert checked >= 5


def test_full_size_windows_keep_decoded_frames_within_the_budget(tmp_path):
    """A full-size RGB picture is twice its 4:2:0 frame: the overlap is kept decoded, so a budget too small
    for eight converted frames still holds the eight the next window needs, and nothing seeks back."""
    from framepipe.sampling import windows

    path = make_video(str(tmp_path / "full.mp4"), num_frames=120, gop=60, bframes=2)
    with av.open(path) as c:
        decoded = sum(p.buffer_size for p in next(c.decode(video=0)).planes)
    rgb = 160 * 96 * 3
    budget = 9 * decoded
    assert budget < 8 * rgb  # eight converted frames would not fit
    clips = windows(120, length=16, stride=8)
    previous = framepipe.recent_frames_limit()
    framepipe.set_recent_frames_limit(budget)
    try:
        with framepipe.open(path, index_cache=False) as v:
            for i in range(len(clips)):
                batch = v.get_clips(clips[i : i + 1])
                assert [read_index(f) for f in batch.data[0]] == clips[i].tolist()
                assert 0 < framepipe.recent_frames_bytes() <= budget
            assert v._decoder.seeks == 0
    finally:
        framepipe.set_recent_frames_limit(previous)


def test_a_forked_child_decodes_again_what_its_parent_kept_decoded(tmp_path):
    """Frames kept decoded hold buffers of the parent's decoder: a forked child drops them unfreed and
    decodes what it is asked again, exactly."""
    import multiprocessing

    path = make_video(str(tmp_path / "fork.mp4"), num_frames=60, gop=30, bframes=2)
    with framepipe.open(path, index_cache=False) as v:
        v.get_clips([list(range(0, 16))])  # full size: the tail is kept decoded
        kept = v._assembler.recent.frames
        assert kept and all(type(a).__name__ == "DecodedPicture" for a in kept.values())
        child = multiprocessing.get_context("fork").Process(target=_read_in_child, args=(v, 8))
        child.start()
        child.join(60)
        assert child.exitcode == 0
        assert v._assembler.recent.frames is kept  # the parent's are untouched


def _read_in_child(video, start: int) -> None:
    assert video._assembler.recent.frames == {}  # nothing of the parent's decoder is kept here
    got = [read_index(f) for f in video.get_clips([list(range(start, start + 16))]).data[0]]
    assert got == list(range(start, start + 16)), got
