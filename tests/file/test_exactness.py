"""Frame i is the i-th frame of a full sequential decode, for every codec and container case."""

from __future__ import annotations

import numpy as np
import pytest

import framepipe
from framepipe.tools.synthetic import read_index


def labels(data) -> list[int]:
    return [read_index(f) for f in data]


@pytest.fixture
def case(case_name, videos):
    path, truth = videos[case_name]
    with framepipe.open(path, index_cache=False) as video:
        yield video, truth


def test_count_matches_full_decode(case):
    video, truth = case
    assert len(video) == len(truth) == video.metadata.num_frames


def test_random_sorted_duplicate_reversed_boundary(case):
    video, truth = case
    n = len(truth)
    rng = np.random.default_rng(3)
    for idx in (
        rng.integers(0, n, 25).tolist(),  # random
        sorted(rng.integers(0, n, 10).tolist()),  # sorted
        [4, 4, 9, 4, 9],  # duplicates
        list(range(n - 1, n - 12, -1)),  # reversed
        [0, n - 1, -1, -n, 1, n - 2],  # boundaries and negatives
    ):
        batch = video.get_frames(idx)
        want = [truth[i] for i in idx]
        assert labels(batch.data) == want, idx
        assert batch.indices.tolist() == [i % n for i in idx]


def test_single_index_and_slices(case):
    video, truth = case
    assert read_index(video[7]) == truth[7]
    assert read_index(video[-1]) == truth[-1]
    assert labels(video[2:20:3]) == truth[2:20:3]
    assert labels(video[::-7]) == truth[::-7]


def test_iteration(case):
    video, truth = case
    assert [read_index(f.data) for f in video.iter_frames()] == truth
    frames = list(video.iter_frames(start=3, stop=len(truth) - 2, step=5))
    assert [f.index for f in frames] == list(range(3, len(truth) - 2, 5))
    assert [read_index(f.data) for f in frames] == truth[3 : len(truth) - 2 : 5]


def test_times_use_real_timestamps(case):
    video, truth = case
    pts = video.pts_seconds
    pick = [0, 5, len(truth) // 2, len(truth) - 1]
    # exactly on a frame's timestamp, and just before the next one: both show that frame
    t_on = pts[pick]
    t_late = [(pts[i + 1] - 1e-4) if i + 1 < len(pts) else pts[i] + 1e-4 for i in pick]
    assert labels(video.get_frames_at_times(t_on).data) == [truth[i] for i in pick]
    assert labels(video.get_frames_at_times(t_late).data) == [truth[i] for i in pick]


def test_overlapping_clips(case):
    video, truth = case
    n = len(truth)
    clips = [list(range(s, s + 8, 2)) for s in (0, 2, n - 8, 3, 0)]
    batch = video.get_clips(clips)
    assert batch.data.shape[:2] == (5, 4)
    for clip, data in zip(clips, batch.data):
        assert labels(data) == [truth[i] for i in clip]


def test_lying_keyframes_really_lie(videos):
    """Guard that the fixture exercises the retry: some flagged keyframe is not decodable on its own."""
    import av

    path, _ = videos["lying_keyframes.mp4"]
    with av.open(path) as c:
        flagged = sum(p.is_keyframe for p in c.demux(video=0) if p.size)
    assert flagged > 4  # 4 real keyframes in 80 frames, the rest are lies


def test_edit_list_hides_packets(videos):
    path, truth = videos["h264_edit_list.mp4"]
    with framepipe.open(path, index_cache=False) as video:
        md = video.metadata
        assert md.header_num_frames > md.num_frames == len(truth)  # the header counts the hidden packets
        assert read_index(video[0]) == truth[0] > 0  # the first shown frame is from after the cut


def test_vfr_detected_and_times_exact(videos):
    path, truth = videos["vfr.mkv"]
    stamps = np.asarray(videos.spec("vfr.mkv")["timestamps_ms"]) / 1000.0
    with framepipe.open(path, index_cache=False) as video:
        assert video.metadata.is_variable_frame_rate
        np.testing.assert_allclose(video.pts_seconds, stamps, atol=1e-9)
        # t * fps would pick wrong frames here; real timestamps pick the right ones
        t = stamps[[10, 30, 50]] + 0.005
        assert labels(video.get_frames_at_times(t).data) == [10, 30, 50]
    with framepipe.open(videos["h264_bframes.mp4"][0], index_cache=False) as cfr:
        assert not cfr.metadata.is_variable_frame_rate


def test_no_pts_stream_uses_decode_index(videos):
    path, truth = videos["raw_no_pts.h264"]
    with framepipe.open(path, index_cache=False) as video:
        assert video.metadata.index_mode == "decode"
        assert labels(video.get_frames([30, 2, 17]).data) == [truth[30], truth[2], truth[17]]


def test_iter_frames_at_fps(videos):
    path, truth = videos["h264_bframes.mp4"]  # 25 fps
    with framepipe.open(path, index_cache=False) as video:
        frames = list(video.iter_frames(fps=5.0))
        assert [f.index for f in frames] == list(range(0, 60, 5))
        assert [read_index(f.data) for f in frames] == truth[0:60:5]
        part = list(video.iter_frames(start=10, stop=30, fps=2.5))
        assert [f.index for f in part] == [10, 20]
    path, _ = videos["vfr.mkv"]
    stamps = np.asarray(videos.spec("vfr.mkv")["timestamps_ms"]) / 1000.0
    with framepipe.open(path, index_cache=False) as video:
        got = [f.index for f in video.iter_frames(fps=4.0)]
    want = sorted(
        {
            int(np.searchsorted(stamps, t + 1e-6, side="right") - 1)
            for t in np.arange(0, stamps[-1] + 0.03, 0.25)
        }
    )
    assert got == want
