"""Pure index math of the file path: requests, decode runs, seek keyframes, time lookup. No I/O."""

from __future__ import annotations

import numpy as np
import pytest

from framepipe._decode.plan import plan_request, plan_runs
from framepipe._index.index import seek_keys
from framepipe._index.timestamps import frames_at_times
from framepipe._pixels.recent import RecentFrames


def _gops(num_frames: int, gop: int) -> tuple[np.ndarray, np.ndarray]:
    """frame_key and sorted keyframe packets of a closed-GOP stream without reordering."""
    frame_key = (np.arange(num_frames) // gop) * gop
    return frame_key, np.arange(0, num_frames, gop)


def _runs(targets, num_frames=40, gop=10):
    frame_key, keys = _gops(num_frames, gop)
    runs = plan_runs(frame_key, keys, np.arange(num_frames), np.asarray(targets))
    return [(r.key_packet, r.frames.tolist()) for r in runs]


def test_request_dedups_sorts_and_maps_positions():
    r = plan_request(np.array([7, 3, 7, 1]))
    assert r.targets.tolist() == [1, 3, 7]
    assert r.slot_of.tolist() == [2, 1, 2, 0]
    assert r.positions == [[(3,)], [(1,)], [(0,), (2,)]]


def test_request_for_clips_keeps_their_shape():
    r = plan_request(np.array([[0, 2, 4], [2, 4, 6]]))
    assert r.targets.tolist() == [0, 2, 4, 6]
    assert r.slot_of.shape == (2, 3)
    assert r.positions[1] == [(0, 1), (1, 0)]  # frame 2: first clip's 2nd frame, second clip's 1st


@pytest.mark.parametrize(
    "targets, runs",
    [
        ([], []),
        ([5], [(0, [5])]),
        ([1, 2, 3], [(0, [1, 2, 3])]),
        ([3, 12], [(0, [3, 12])]),  # next GOP: decode on instead of seeking
        ([3, 25], [(0, [3]), (20, [25])]),  # two GOPs ahead: seek
        ([3, 12, 25], [(0, [3, 12, 25])]),  # 12 brings the run into GOP 10; GOP 20 is the next one
        ([12, 19, 35], [(10, [12, 19]), (30, [35])]),
    ],
)
def test_runs_continue_into_the_next_gop_and_seek_further(targets, runs):
    assert _runs(targets) == runs


def test_runs_never_go_backwards_and_cover_every_target():
    rng = np.random.default_rng(0)
    for _ in range(50):
        targets = np.unique(rng.integers(0, 40, size=rng.integers(1, 12)))
        runs = _runs(targets)
        assert [f for _, frames in runs for f in frames] == targets.tolist()
        keys = [k for k, _ in runs]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_seek_keys_open_gop_starts_from_the_previous_keyframe():
    # decode order: I0 P3 B1 B2 | I6 B4 B5 P9 B7 B8 (the B-frames after I6 are shown before it)
    pkt_pts = np.array([0, 3, 1, 2, 6, 4, 5, 9, 7, 8])
    pkt_key = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    frame_pts = np.arange(10)
    frame_pkt = np.argsort(pkt_pts)
    keys = seek_keys(pkt_pts, pkt_key, frame_pts, frame_pkt)
    # frames 4 and 5 are decoded after keyframe packet 4 but shown before it: they need packet 0
    assert keys.tolist() == [0, 0, 0, 0, 0, 0, 4, 4, 4, 4]


def test_seek_keys_without_a_first_keyframe_flag_start_at_packet_0():
    pts = np.arange(6)
    keys = seek_keys(pts, np.array([0, 0, 0, 1, 0, 0], dtype=bool), pts, np.arange(6))
    assert keys.tolist() == [0, 0, 0, 3, 3, 3]


def test_frames_at_times_picks_the_frame_on_screen():
    pts = np.array([0.0, 0.04, 0.1, 0.3])  # variable frame rate
    got = frames_at_times(pts, 0.4, [0.0, 0.039, 0.04, 0.0999999999, 0.2, 0.39, 0.4, -0.1, np.nan])
    assert got.tolist() == [0, 0, 1, 2, 2, 3, -1, -1, -1]


def test_recent_frames_keep_the_newest_within_budget_and_span():
    frame = np.zeros((2, 2, 3), np.uint8)  # 12 bytes
    recent = RecentFrames(max_bytes=4 * 12, span=8)
    recent.keep({f: frame for f in range(20)}, last=19)
    assert sorted(recent.frames) == [16, 17, 18, 19]
    assert [f in recent.snapshot() for f in (15, 16, 19, 20)] == [False, True, True, False]
    recent.keep({30: frame}, last=30)  # a later call: old frames out of span leave
    assert sorted(recent.frames) == [30]
    recent.clear()
    assert recent.frames == {}


def test_recent_frames_are_kept_only_while_calls_overlap():
    frame = np.zeros((2, 2, 3), np.uint8)
    recent = RecentFrames(span=8)
    assert recent.keep_after([0, 1, 2, 3]) == -5  # the first call keeps its tail
    assert recent.keep_after([2, 3, 4, 5]) == -3  # a sliding window: keeps on
    assert recent.keep_after([100, 101]) is None  # random access: nothing of it is kept
    assert recent.keep_after([300]) is None
    assert recent.keep_after([295, 301]) == 293  # overlaps again (301 > 300 - 8 and 295 <= 300): keeps
    assert recent.keep_after([302, 303]) is None  # continues forward, shares nothing: the decoder goes on
    recent.keep({f: frame for f in (1, 2)}, last=2)
    off = RecentFrames(span=8, max_bytes=0)
    assert off.keep_after([0]) is None  # no budget: never
