"""Plan stage: turn the frames a call asks for into forward decode runs. Pure index math, no I/O.

Every plan is made here. :func:`plan_request` sorts and deduplicates the requested indices and records
where each decoded frame goes in the output; :func:`plan_runs` groups the frames still to decode into
*runs*: each run seeks once, to a keyframe, and decodes forward through all of its frames. A run keeps going
instead of seeking again when
the next frame's keyframe is no further than the next keyframe after what the run already decodes (the
same or the next GOP): decoding up to one GOP ahead is cheaper than a seek plus a fresh decoder start.
Runs never go backwards, so one call decodes each needed GOP at most once.

>>> import numpy as np
>>> keys = np.array([0, 0, 0, 3, 3, 3, 6, 6, 6, 9])        # GOPs of 3 frames (packets = frames here)
>>> [(r.key_packet, r.frames.tolist()) for r in plan_runs(keys, keys, np.arange(10), np.array([1, 2, 8]))]
[(0, [1, 2]), (6, [8])]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._util.constants import FEW_VALUES

__all__ = ["Request", "Run", "plan_request", "plan_runs"]


@dataclass
class Run:
    """Seek to ``key_packet`` (decode order), then decode forward until every frame in ``frames`` is out."""

    key_packet: int
    frames: np.ndarray  # ascending frame indices


@dataclass(frozen=True)
class Request:
    """One call's frames: each once, ascending (``targets``), and the output positions each fills.

    ``slot_of`` has the request's shape ((N,) frames or (B, T) clips) and holds, for each position, the
    slot of its frame in ``targets``; :meth:`where` lists the output positions of ``targets[k]``.
    ``positions`` None: the request was already ascending and unique, so ``targets[k]`` fills position
    ``k`` alone (the common small call builds no lists).
    """

    targets: np.ndarray
    slot_of: np.ndarray
    positions: list[list[tuple]] | None

    def where(self, slot: int) -> list[tuple]:
        """The output positions that ``targets[slot]`` fills."""
        return [(slot,)] if self.positions is None else self.positions[slot]


def plan_request(indices: np.ndarray) -> Request:
    """Deduplicate ``indices`` (any shape, already checked and non-negative) into a :class:`Request`.

    >>> r = plan_request(np.array([[4, 2], [2, 9]]))
    >>> r.targets.tolist(), r.where(0)
    ([2, 4, 9], [(0, 1), (1, 0)])
    """
    if indices.ndim == 1 and _ascending(indices):
        # already ascending and unique (consecutive frames, a sampler's output): each frame is its own slot
        return Request(indices, np.arange(len(indices)), None)
    uniq, inverse = np.unique(indices, return_inverse=True)
    slot_of = inverse.reshape(np.shape(indices))
    positions: list[list[tuple]] = [[] for _ in range(len(uniq))]
    if slot_of.ndim == 1:  # frames (the common, small case): plain ints, no per-element numpy
        slots: list[int] = slot_of.tolist()  # type: ignore[assignment]  # a 1-D array gives a list
        for i, slot in enumerate(slots):
            positions[slot].append((i,))
    else:
        for where, slot in np.ndenumerate(slot_of):
            positions[slot].append(tuple(int(w) for w in where))
    return Request(uniq, slot_of, positions)


def _ascending(indices: np.ndarray) -> bool:
    """Whether 1-D ``indices`` rise strictly (in Python for a few: one numpy call costs more than that)."""
    if len(indices) <= FEW_VALUES:
        values = indices.tolist()
        return all(a < b for a, b in zip(values, values[1:]))
    return bool((indices[1:] > indices[:-1]).all())


def plan_runs(
    frame_key: np.ndarray, pkt_keys_sorted: np.ndarray, frame_pkt: np.ndarray, targets: np.ndarray
) -> list[Run]:
    """Group ascending ``targets`` into runs.

    ``frame_key[i]``: the keyframe packet to start at for frame i. ``pkt_keys_sorted``: every keyframe
    packet (ascending). ``frame_pkt[i]``: the packet that shows frame i.
    """
    runs: list[Run] = []
    if len(targets) == 0:
        return runs
    keys = frame_key[targets].tolist()
    if keys.count(keys[0]) == len(keys):  # one GOP (a small call: a few timestamps): one run, no grouping
        return [Run(keys[0], targets)]
    pkts = frame_pkt[targets]
    # for each frame, the first keyframe after its packet: where a run that must feed it could stop
    nxt = np.searchsorted(pkt_keys_sorted, pkts, side="right")
    limits = np.where(
        nxt < len(pkt_keys_sorted), pkt_keys_sorted[np.minimum(nxt, len(pkt_keys_sorted) - 1)], pkts
    ).tolist()
    pkts = pkts.tolist()
    start, run_key, last = 0, keys[0], 0  # last: the run's frame with the furthest packet so far
    for j in range(1, len(targets)):
        k = keys[j]
        # the first keyframe after everything this run must feed anyway
        if run_key <= k <= max(limits[last], pkts[last]):
            if pkts[j] > pkts[last]:
                last = j
            continue
        runs.append(Run(run_key, targets[start:j]))
        start, run_key, last = j, k, j
    runs.append(Run(run_key, targets[start:]))
    return runs
