"""Plan stage: turn the frames a call asks for into forward decode runs. Pure index math, no I/O.

The requested indices are sorted and deduplicated, then grouped into *runs*: each run seeks once, to a
keyframe, and decodes forward through all of its frames. A run keeps going instead of seeking again when
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

__all__ = ["Run", "plan_runs", "unique_targets"]


@dataclass
class Run:
    """Seek to ``key_packet`` (decode order), then decode forward until every frame in ``frames`` is out."""

    key_packet: int
    frames: np.ndarray  # ascending frame indices


def unique_targets(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique indices, and for each requested position the slot of its frame in that array."""
    uniq, inverse = np.unique(indices, return_inverse=True)
    return uniq, inverse.reshape(np.shape(indices))


def plan_runs(frame_key: np.ndarray, pkt_keys_sorted: np.ndarray, frame_pkt: np.ndarray, targets: np.ndarray) -> list[Run]:
    """Group ascending ``targets`` into runs.

    ``frame_key[i]``: the keyframe packet to start at for frame i. ``pkt_keys_sorted``: every keyframe
    packet (ascending). ``frame_pkt[i]``: the packet that shows frame i.
    """
    runs: list[Run] = []
    if len(targets) == 0:
        return runs
    keys = frame_key[targets]
    start = 0
    run_key = int(keys[0])
    last_pkt = int(frame_pkt[targets[0]])
    for j in range(1, len(targets)):
        k = int(keys[j])
        # the first keyframe after everything this run must feed anyway
        nxt = np.searchsorted(pkt_keys_sorted, last_pkt, side="right")
        limit = int(pkt_keys_sorted[nxt]) if nxt < len(pkt_keys_sorted) else last_pkt
        if run_key <= k <= max(limit, last_pkt):
            last_pkt = max(last_pkt, int(frame_pkt[targets[j]]))
            continue
        runs.append(Run(run_key, targets[start:j]))
        start, run_key, last_pkt = j, k, int(frame_pkt[targets[j]])
    runs.append(Run(run_key, targets[start:]))
    return runs
