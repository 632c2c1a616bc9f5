"""A real multi-stream file (NASA footage, from torchcodec's test resources) against ffmpeg CLI frames."""

from __future__ import annotations

import os

import numpy as np
import pytest

import framepipe


@pytest.fixture(scope="module")
def reference(data_dir):
    with np.load(os.path.join(data_dir, "nasa_13013.stream3.reference_frames.npz")) as data:
        return {int(k[len("frame") :]): data[k] for k in data.files}


def test_streams_and_counts(nasa):
    with (
        framepipe.open(nasa, stream=0) as s0,
        framepipe.open(nasa, stream=3) as s3,
        framepipe.open(nasa) as best,
    ):
        assert (s0.metadata.width, s0.metadata.height, len(s0)) == (320, 180, 325)
        assert (s3.metadata.width, s3.metadata.height, len(s3)) == (480, 270, 390)
        assert best.metadata.stream_index == 3  # the best stream by FFmpeg's choice
        assert s3.metadata.average_fps == pytest.approx(29.97, abs=0.01)


def test_matches_ffmpeg_rgb(nasa, reference):
    order = sorted(reference)[::-1]  # reversed, to exercise the plan
    with framepipe.open(nasa, stream=3) as v:
        batch = v.get_frames(order)
    for i, frame in zip(order, batch.data):
        diff = np.abs(frame.astype(np.int16) - reference[i].astype(np.int16))
        assert diff.mean() < 0.5, (i, diff.mean())


def test_times_on_real_file(nasa, reference):
    with framepipe.open(nasa, stream=3) as v:
        t = v.pts_seconds[[0, 15, 35]] + 0.01
        batch = v.get_frames_at_times(t)
    assert batch.indices.tolist() == [0, 15, 35]
    for i, frame in zip([0, 15, 35], batch.data):
        assert np.abs(frame.astype(np.int16) - reference[i].astype(np.int16)).mean() < 0.5
