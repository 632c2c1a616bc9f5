"""framepipe.keras.TimeseriesGenerator: Keras semantics checked on decoded frames, and model.fit."""

from __future__ import annotations

import pickle

import keras
import numpy as np
import pytest

from framepipe.keras import TimeseriesGenerator
from framepipe.tools.synthetic import pattern_box, read_index

BOX = pattern_box(96, 160)  # stretch keeps the pattern at the source's fractions


def shown(x: np.ndarray) -> np.ndarray:
    """(B, T, H, W, C) frames -> (B, T) indices read from the pattern each frame shows."""
    return np.array([[read_index(f, box=BOX) for f in clip] for clip in x]).reshape(x.shape[:2])


@pytest.fixture(scope="module")
def video_37(tmp_path_factory):
    from framepipe.tools.synthetic import make_video

    return make_video(str(tmp_path_factory.mktemp("k") / "v37.mkv"), num_frames=37, bframes=2, gop=10)


@pytest.mark.parametrize(
    "num_frames, length, rate, stride, start, end, batch, reverse",
    [
        (60, 4, 1, 1, 0, None, 16, False),
        (60, 6, 2, 3, 2, None, 5, False),
        (60, 5, 3, 2, 0, 40, 7, True),
        (60, 8, 1, 5, 10, 50, 128, False),
        (60, 3, 2, 1, 0, 20, 4, True),
        (60, 1, 1, 7, 0, 59, 3, False),
        (37, 4, 2, 1, 0, None, 10, True),
        (37, 9, 4, 3, 5, 36, 2, False),
        (37, 2, 1, 4, 1, 30, 1, False),
        (37, 7, 3, 2, 0, None, 64, True),
        (37, 36, 5, 1, 0, None, 8, False),
    ],
)
def test_keras_semantics_on_frames(
    small_video, video_37, keras_oracle, num_frames, length, rate, stride, start, end, batch, reverse
):
    oracle = keras_oracle(num_frames, length, rate, stride, start, end, reverse, batch)
    gen = TimeseriesGenerator(
        small_video if num_frames == 60 else video_37,
        length=length,
        sampling_rate=rate,
        stride=stride,
        start_index=start,
        end_index=end,
        reverse=reverse,
        batch_size=batch,
        size=(24, 40),
        targets=np.arange(num_frames) * 10,
    )
    assert len(gen) == len(oracle)
    for i in range(len(gen)):
        x, y = gen[i]
        want_x, want_y = oracle[i]
        assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
        assert x.shape == (len(want_y), want_x.shape[1], 24, 40, 3)
        np.testing.assert_array_equal(shown(x), want_x)  # the frames really shown, not just index arrays
        np.testing.assert_array_equal(y, want_y * 10)


def test_targets_none_and_callable(small_video):
    gen = TimeseriesGenerator(small_video, length=4, batch_size=8, size=16)
    assert isinstance(gen[0], np.ndarray) and gen[0].shape == (8, 4, 16, 16, 3)
    gen = TimeseriesGenerator(small_video, length=4, batch_size=8, size=16, targets=lambda w: w[:, -1] + 1)
    x, y = gen[1]
    np.testing.assert_array_equal(y, np.arange(12, 20))  # rows 12..19; each window ends at row - 1


def test_shuffle_is_seeded_per_epoch(small_video):
    a = TimeseriesGenerator(
        small_video, length=4, batch_size=6, size=16, shuffle=True, seed=5, targets=np.arange(60)
    )
    b = TimeseriesGenerator(
        small_video, length=4, batch_size=6, size=16, shuffle=True, seed=5, targets=np.arange(60)
    )
    ya, yb = a[0][1], b[0][1]
    np.testing.assert_array_equal(ya, yb)
    assert ya.min() >= 4 and len(ya) == 6
    a.on_epoch_end()
    assert not np.array_equal(a[0][1], ya)  # a new epoch draws new rows


def test_argument_errors(small_video):
    with pytest.raises(ValueError, match="targets must have one entry per frame"):
        TimeseriesGenerator(small_video, length=4, targets=np.arange(10))
    with pytest.raises(ValueError, match="length"):
        TimeseriesGenerator(small_video, length=0)
    with pytest.raises(ValueError, match="size"):
        TimeseriesGenerator(small_video, length=4, size=(0, 3))
    with pytest.raises(TypeError, match="augment"):
        TimeseriesGenerator(small_video, length=4, augment="flip")
    gen = TimeseriesGenerator(small_video, length=4, batch_size=32)
    with pytest.raises(IndexError, match="batch index 2"):
        gen[2]


def test_pickles_without_open_files(small_video):
    gen = TimeseriesGenerator(small_video, length=4, batch_size=4, size=16)
    first = gen[0]
    clone = pickle.loads(pickle.dumps(gen))
    np.testing.assert_array_equal(clone[0], first)


def test_model_fit_with_two_workers(small_video):
    """The seed recipe's drop-in: a tiny Conv3D model trains on frames loaded on demand."""
    keras.utils.set_random_seed(0)
    labels = (np.arange(60) // 30).astype("float32")  # first half 0, second half 1
    gen = TimeseriesGenerator(
        small_video,
        length=4,
        stride=2,
        batch_size=4,
        size=(32, 32),
        targets=labels,
        workers=2,
        use_multiprocessing=False,
    )
    model = keras.Sequential(
        [
            keras.Input((4, 32, 32, 3)),
            keras.layers.Conv3D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling3D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(gen, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert model.predict(gen[0][0], verbose=0).shape == (4, 1)
