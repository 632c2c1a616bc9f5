"""The nearest-frame lookup (LeRobot's question) against a brute-force reference. No I/O."""

from __future__ import annotations

import numpy as np
import pytest

from framepipe._index.timestamps import nearest_frames_within


def _reference(pts, times, tol, rule, precision):
    """What LeRobot computes: every distance in the precision, argmin (the first on a tie)."""
    dt = np.dtype(precision)
    p = np.asarray(pts, dtype=np.float64).astype(dt)
    q = np.asarray(times, dtype=np.float64).astype(dt)
    dist = np.abs(q[:, None] - p[None, :])
    nearest = dist.argmin(axis=1)
    best = dist[np.arange(len(q)), nearest]
    within = best <= dt.type(tol) if rule == "<=" else best < dt.type(tol)
    return nearest, best.astype(np.float64), within


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("rule", ["<=", "<"])
def test_matches_brute_force_on_hits_misses_and_ties(precision, rule):
    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.choice([1 / 30, 1 / 15, 0.0334], size=200))
    pts = np.concatenate([[0.0], pts, [pts[-1]]])  # a repeated timestamp: the earlier frame wins
    p32 = pts.astype(np.float32).astype(np.float64)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        exact = rng.choice(pts, size=n)  # times that are frames' timestamps (LeRobot's usual query)
        near = exact + rng.normal(0, 2e-4, size=n)
        times = np.where(rng.random(n) < 0.5, exact, near)
        if rng.random() < 0.3:
            times = rng.choice(p32, size=n)  # already float32 values
        tol = float(rng.choice([0.0, 1e-4, 2e-4, 1.0]))
        got = nearest_frames_within(pts, times.tolist(), tolerance_s=tol, rule=rule, precision=precision)
        want = _reference(pts, times, tol, rule, precision)
        assert got.indices.tolist() == want[0].tolist()
        assert got.distances.tolist() == want[1].tolist()
        assert got.within.tolist() == want[2].tolist()


def test_exact_hits_give_the_first_of_equal_timestamps_and_distance_zero():
    pts = np.array([0.0, 0.1, 0.1, 0.2])
    got = nearest_frames_within(pts, [0.2, 0.1, 0.0], tolerance_s=1e-4)
    assert got.indices.tolist() == [3, 1, 0]
    assert got.distances.tolist() == [0.0, 0.0, 0.0]
    assert got.within.all()


def test_an_exact_hit_is_not_within_a_zero_tolerance_under_the_strict_rule():
    pts = np.arange(4) / 30
    assert nearest_frames_within(pts, [1 / 30], tolerance_s=0.0, rule="<").within.tolist() == [False]
    assert nearest_frames_within(pts, [1 / 30], tolerance_s=0.0, rule="<=").within.tolist() == [True]


def test_times_past_either_end_take_the_end_frames():
    pts = np.arange(4) / 30
    got = nearest_frames_within(pts, [-1.0, 5.0, 3 / 30], tolerance_s=1e-4)
    assert got.indices.tolist() == [0, 3, 3]
    assert got.within.tolist() == [False, False, True]


@pytest.mark.parametrize(
    ("times", "error"), [(["0.1"], TypeError), ([float("nan")], ValueError), ([True], TypeError)]
)
def test_bad_times_are_refused(times, error):
    with pytest.raises(error, match="seconds"):
        nearest_frames_within(np.arange(4) / 30, times, tolerance_s=1e-4)
