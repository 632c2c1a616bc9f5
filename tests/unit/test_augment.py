"""Clip-consistent augmentation: every frame of a clip gets the same random parameters."""

from __future__ import annotations

import numpy as np
import pytest

from framepipe import augment
from framepipe.tools.synthetic import draw_frame, read_index


@pytest.fixture
def clip():
    return np.stack([draw_frame(i, height=96, width=96) for i in range(6)])


def test_flip_is_all_or_nothing(clip):
    out = augment.RandomHorizontalFlip(p=1.0)(clip, np.random.default_rng(0))
    np.testing.assert_array_equal(out, clip[:, :, ::-1])
    assert augment.RandomHorizontalFlip(p=0.0)(clip, np.random.default_rng(0)) is clip


def test_color_jitter_same_factor_for_every_frame():
    flat = np.full((5, 8, 8, 3), 100, np.uint8)
    out = augment.ColorJitter(brightness=0.5)(flat, np.random.default_rng(3))
    assert len(np.unique(out)) == 1 and out[0, 0, 0, 0] != 100


def test_resized_crop_one_box_for_the_clip(clip):
    crop = augment.RandomResizedCrop((48, 48), scale=(0.9, 1.0), ratio=(1.0, 1.0))
    out = crop(clip, np.random.default_rng(1))
    assert out.shape == (6, 48, 48, 3)
    assert [read_index(f) for f in out] == list(range(6))  # a near-full crop still shows each index
    with pytest.raises(TypeError, match="uint8"):
        crop(clip.astype(np.float32), np.random.default_rng(1))


def test_compose_is_reproducible(clip):
    make = lambda: augment.Compose([augment.RandomHorizontalFlip(), augment.ColorJitter(0.3, 0.3)], seed=7)
    a, b = make(), make()
    for _ in range(4):
        np.testing.assert_array_equal(a(clip), b(clip))


def test_temporal_jitter_stays_inside():
    jitter = augment.TemporalJitter(5)
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = jitter(np.arange(2, 10), 12, rng)
        assert out.min() >= 0 and out.max() <= 11 and (np.diff(out) == 1).all()
    with pytest.raises(ValueError, match="max_shift"):
        augment.TemporalJitter(-1)
    with pytest.raises(ValueError, match="scale"):
        augment.RandomResizedCrop((8, 8), scale=(0.5, 0.2))
