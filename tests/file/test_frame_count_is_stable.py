"""The frame count found at open is the count for good: packets that disagree with the
index later make the decoder stop seeking, or lose frames through on_error, and never renumber frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import framepipe
from framepipe._decode.decode import IndexMismatch
from framepipe._decode.seeking import SeekingDecoder
from framepipe._file.reader import load_index, open_with_index
from framepipe.tools.synthetic import read_index


def labels(data) -> list[int]:
    return [read_index(f) for f in data]


def test_packets_that_disagree_after_a_seek_make_the_decoder_demux_from_the_start(videos, monkeypatch):
    path, truth = videos["h264_bframes.mp4"]
    original = SeekingDecoder._next_packet
    seen = {"raised": 0}

    def disagree_once_after_a_seek(self):
        if self.seek_trusted and self.seeks and not seen["raised"]:
            seen["raised"] += 1
            raise IndexMismatch("packet 40 has pts 999, the index says 3072 (simulated)")
        return original(self)

    monkeypatch.setattr(SeekingDecoder, "_next_packet", disagree_once_after_a_seek)
    with framepipe.open(path, index_cache=False, threads=1) as video:
        n = len(video)
        assert labels(video.get_frames([50, 10, 55]).data) == [truth[50], truth[10], truth[55]]
        assert seen["raised"] == 1 and not video._decoder.seek_trusted
        assert labels(video.get_frames([30, 31]).data) == [truth[30], truth[31]]  # still exact, by demuxing
        assert len(video) == n == video.metadata.num_frames


@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_an_index_that_disagrees_even_from_the_start_loses_frames_through_on_error(videos, on_error):
    path, truth = videos["h264_bframes.mp4"]
    index = load_index(path, index_cache=False)
    bad = index.pkt_pts.copy()
    bad[30] += 1  # as a stale or foreign index would: packet 30 is not what the file holds
    wrong = dataclasses.replace(index, pkt_pts=bad)
    video = open_with_index(path, wrong, threads=1, on_error=on_error)
    n = len(video)
    early = [int(f) for f in np.flatnonzero(index.frame_pkt < 20)[:3]]  # shown by packets before the damage
    assert labels(video.get_frames(early).data) == [truth[f] for f in early]
    # a frame whose decode passes packet 30: from a keyframe at or before it, shown by a packet after it
    late = int(np.flatnonzero((index.frame_key <= 30) & (index.frame_pkt > 30))[0])
    if on_error == "raise":
        with pytest.raises(framepipe.CorruptFrameError, match="disagree with its index"):
            video.get_frames([late])
    else:
        batch = video.get_frames([late, early[0]])
        assert labels(batch.data) == [truth[early[0]]] and [i.index for i in batch.issues] == [late]
    assert len(video) == n == video.metadata.num_frames  # never renumbered
    video.close()
