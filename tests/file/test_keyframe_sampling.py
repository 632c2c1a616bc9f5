"""Keyframe sampling (``snap="keyframe"``): exact pictures chosen from keyframes, one decoded picture a
sample, on every container case; the pure choice of keyframes is checked on its own."""

from __future__ import annotations

import numpy as np
import pytest

import framepipe
from framepipe._file.reader import VideoFile
from framepipe.sampling import keyframes_at_times
from framepipe.tools.synthetic import make_video, read_index


# --- which keyframe: pure index math --------------------------------------------------------------------
def test_the_keyframe_nearest_each_time_each_once():
    pts = np.arange(12) * 0.5  # 2 fps; keyframes at 0, 4, 8
    keys = np.array([0, 4, 8])
    frames, asked = keyframes_at_times(pts, 6.0, keys, [0.0, 0.9, 1.1, 2.2, 3.4, 3.6, 5.9])
    # 1.1: frame 2 on screen; key 0's display ended 0.6 before (at 0.5), key 4's starts 0.9 after: key 0.
    # 3.4: frame 6 on screen; key 4's display ended 0.9 before (at 2.5), key 8's starts 0.6 after: key 8
    assert frames.tolist() == [0, 4, 8] and asked.tolist() == [0.0, 2.2, 3.4]


def test_a_tie_takes_the_earlier_keyframe_and_a_keyframe_on_screen_is_itself():
    pts = np.arange(8) * 1.0
    keys = np.array([0, 4])
    # t=2.5: frame 2 on screen; key 0's display ends at 1.0 (1.5 away), key 4 starts at 4.0 (1.5 away)
    assert keyframes_at_times(pts, 8.0, keys, [2.5])[0].tolist() == [0]
    assert keyframes_at_times(pts, 8.0, keys, [4.99])[0].tolist() == [4]  # on screen: no distance


def test_on_all_intra_video_keyframe_sampling_is_exact_sampling():
    pts = np.cumsum(np.r_[0, np.random.default_rng(1).uniform(0.02, 0.09, 49)])  # variable frame rate
    times = np.random.default_rng(2).uniform(pts[0], pts[-1], 30)
    frames, _ = keyframes_at_times(pts, pts[-1] + 0.05, np.arange(50), times)
    on_screen = np.searchsorted(pts, times + 1e-6, side="right") - 1
    assert frames.tolist() == list(dict.fromkeys(on_screen.tolist()))


def test_times_outside_the_video_and_a_video_without_keyframes_are_refused():
    pts = np.arange(4) * 1.0
    with pytest.raises(IndexError, match="seconds contains 9.0, outside the frames"):
        keyframes_at_times(pts, 4.0, np.array([0]), [1.0, 9.0])
    with pytest.raises(IndexError, match="no keyframe index"):
        keyframes_at_times(pts, 4.0, np.array([], dtype=np.int64), [1.0])
    with pytest.raises(ValueError, match="finite"):
        keyframes_at_times(pts, 4.0, np.array([0]), [float("nan")])


# --- reading them: every container case ------------------------------------------------------------------
def _pictures(video: VideoFile) -> int:
    return video._decoder.pictures_decoded


def test_keyframe_samples_are_exact_pictures_each_decoded_alone(videos, case_name):
    path, truth = videos[case_name]
    with framepipe.open(path, threads=1, index_cache=False) as video:
        m = video.metadata
        if m.index_mode == "decode":  # timestamps unusable: no keyframe index to choose from
            with pytest.raises(IndexError, match="no keyframe index"):
                video.get_frames_at_times([m.start_seconds], snap="keyframe")
            return
        times = np.linspace(m.start_seconds, m.end_seconds, 9, endpoint=False)
        expected, asked = keyframes_at_times(video.pts_seconds, m.end_seconds, m.keyframe_indices, times)
        before = _pictures(video)
        batch = video.get_frames_at_times(times, snap="keyframe")
        decoded = _pictures(video) - before
        assert batch.indices.tolist() == expected.tolist()
        assert batch.requested_seconds.tolist() == asked.tolist()
        assert set(batch.indices.tolist()) <= set(m.keyframe_indices.tolist())
        # the picture is that frame's own, whatever the container says: never a frame from another time
        assert [read_index(f) for f in batch.data] == [truth[i] for i in batch.indices]
        assert np.allclose(batch.pts_seconds, video.pts_seconds[batch.indices])
        if case_name != "lying_keyframes.mp4":  # a lying flag costs a decode from the real keyframe
            assert decoded == len(batch), (decoded, len(batch))


def test_keyframe_sampling_decodes_far_less_than_exact_sampling(videos):
    path, truth = videos["h264_bframes.mp4"]
    with framepipe.open(path, threads=1, index_cache=False) as video:
        times = np.arange(0, video.metadata.end_seconds, 1.0)
        before = _pictures(video)
        exact = video.get_frames_at_times(times)
        exact_cost = _pictures(video) - before
    with framepipe.open(path, threads=1, index_cache=False) as fresh:  # nothing kept from the exact call
        snapped = fresh.get_frames_at_times(times, snap="keyframe")
        assert _pictures(fresh) == len(snapped) < exact_cost
        assert len(snapped) <= len(exact)


def test_an_edit_list_cut_whose_first_frame_is_not_a_keyframe(videos):
    path, truth = videos["h264_edit_list.mp4"]
    with framepipe.open(path, index_cache=False) as video:
        keys = video.metadata.keyframe_indices
        assert keys[0] != 0  # the cut starts mid-GOP: the first shown frame is no keyframe
        batch = video.get_frames_at_times([video.metadata.start_seconds], snap="keyframe")
        assert batch.indices.tolist() == [keys[0]] and read_index(batch.data[0]) == truth[keys[0]]


def test_a_single_keyframe_gives_one_row(tmp_path):
    path = make_video(
        tmp_path / "one_gop.mp4",
        num_frames=50,
        options={"x264-params": "keyint=1000:min-keyint=1000:scenecut=0"},
    )
    with framepipe.open(path) as video:
        assert video.metadata.keyframe_indices.tolist() == [0]
        batch = video.get_frames_at_times([0.0, 0.5, 1.9], snap="keyframe")
        assert batch.indices.tolist() == [0] and batch.requested_seconds.tolist() == [0.0]


def test_mjpeg_keyframe_sampling_equals_exact_sampling(videos):
    path, truth = videos["mjpeg.avi"]
    with framepipe.open(path) as video:
        times = np.linspace(0, video.metadata.end_seconds, 7, endpoint=False)
        exact = video.get_frames_at_times(times)
        snapped = video.get_frames_at_times(times, snap="keyframe")
        assert snapped.indices.tolist() == list(dict.fromkeys(exact.indices.tolist()))
        assert np.array_equal(snapped.data, exact.data[np.unique(exact.indices, return_index=True)[1]])


def test_iter_frames_by_rate_snapped_to_keyframes(videos):
    path, truth = videos["vfr.mkv"]
    with framepipe.open(path) as video:
        m = video.metadata
        frames = list(video.iter_frames(fps=4.0, snap="keyframe"))
        times = np.arange(m.start_seconds, m.end_seconds, 0.25)
        expected, asked = keyframes_at_times(video.pts_seconds, m.end_seconds, m.keyframe_indices, times)
        order = np.argsort(expected)
        assert [f.index for f in frames] == expected[order].tolist()  # forward through the file
        assert [f.requested_seconds for f in frames] == asked[order].tolist()
        assert [read_index(f.data) for f in frames] == [truth[i] for i in expected[order]]
        with pytest.raises(ValueError, match="samples by time: give fps"):
            next(video.iter_frames(step=2, snap="keyframe"))


def test_get_keyframes_refuses_a_frame_that_is_no_keyframe(videos):
    path, _ = videos["h264_bframes.mp4"]
    with framepipe.open(path) as video:
        first_non_key = int(np.setdiff1d(np.arange(len(video)), video.metadata.keyframe_indices)[0])
        with pytest.raises(ValueError, match=f"indices contains {first_non_key}, not a keyframe of"):
            video.get_keyframes([0, first_non_key])
        with pytest.raises(ValueError, match="snap must be one of exact, keyframe"):
            video.get_frames_at_times([0.0], snap="nearest")  # type: ignore[arg-type]
