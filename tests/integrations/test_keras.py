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


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """root/<class>/<video>: frame i of video v shows 1000 * v + i, so a batch says which video it read."""
    from framepipe.tools.synthetic import make_video

    root = tmp_path_factory.mktemp("keras-many")
    spec = {1: ("walk/a.mp4", 30), 2: ("walk/b.mkv", 21), 3: ("run/c.mp4", 26)}
    for tag, (rel, n) in spec.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        make_video(root / rel, num_frames=n, width=96, height=96, gop=8, bframes=2, index_offset=1000 * tag)
    return root, spec


def seen(x: np.ndarray) -> list[tuple[int, tuple[int, ...]]]:
    """(video tag, frames) of each clip of a (B, T, H, W, C) batch, from the pixels."""
    out = []
    for clip in x:
        values = [read_index(f) for f in clip]
        assert len({v // 1000 for v in values}) == 1, values  # a window never crosses videos
        out.append((values[0] // 1000, tuple(v % 1000 for v in values)))
    return out


def test_keras_positional_signature(small_video):
    targets = np.arange(60) * 10
    positional = TimeseriesGenerator(small_video, targets, 6, 2, 3, 2, 50, False, True, 5, size=(24, 40))
    named = TimeseriesGenerator(
        small_video,
        targets=targets,
        length=6,
        sampling_rate=2,
        stride=3,
        start_index=2,
        end_index=50,
        shuffle=False,
        reverse=True,
        batch_size=5,
        size=(24, 40),
    )
    assert len(positional) == len(named)
    for i in range(len(named)):
        (xa, ya), (xb, yb) = positional[i], named[i]
        assert (xa == xb).all() and (ya == yb).all()
    with pytest.raises(TypeError, match="needs length"):
        TimeseriesGenerator(small_video, targets)
    with pytest.warns(DeprecationWarning, match="pass data="):
        TimeseriesGenerator(video=small_video, length=4)


def test_many_videos_per_frame_targets_and_labels(tagged):
    root, spec = tagged
    paths = [str(root / rel) for rel, _ in spec.values()]
    lengths = [n for _, n in spec.values()]
    targets = [np.arange(n) + 1000 * tag for tag, (_, n) in spec.items()]
    gen = TimeseriesGenerator(paths, targets, 5, 2, 3, batch_size=4, size=(48, 48))
    rows = []
    for i in range(len(gen)):
        x, y = gen[i]
        for (tag, frames), target in zip(seen(x), y):
            row = int(target) % 1000
            assert int(target) // 1000 == tag and frames == tuple(range(row - 5, row, 2))
            rows.append((tag, row))
    # each video's own Keras rows, one video after the other
    expected = [(t, r) for t, n in zip(spec, lengths) for r in range(5, n, 3)]
    assert rows == expected and len(gen) == -(-len(expected) // 4)
    # a folder of classes: y is each window's label id; shuffle draws the same for a seed and epoch
    folder = TimeseriesGenerator(str(root), None, 4, batch_size=6, shuffle=True, seed=2, size=48)
    assert folder.windows_of[0].num_frames == 26  # run/c.mp4 first: the listing is sorted by path
    x, y = folder[0]
    assert [{3: 0, 1: 1, 2: 1}[tag] for tag, _ in seen(x)] == y.tolist()
    again = TimeseriesGenerator(str(root), None, 4, batch_size=6, shuffle=True, seed=2, size=48)
    assert seen(again[0][0]) == seen(x)
    again.set_epoch(1)
    assert seen(again[0][0]) != seen(x)
    with pytest.raises(ValueError, match="one array per video"):
        TimeseriesGenerator(paths, targets[:2], 4)


def test_clip_sequence_gives_the_clips_of_clip_dataset(tagged):
    torch = pytest.importorskip("torch")
    from framepipe.keras import ClipSequence
    from framepipe.torch import ClipDataset

    root, _ = tagged
    options = dict(length=4, step=2, sampler="random", clips_per_video=3, seed=9, size=48)
    seq = ClipSequence(str(root), batch_size=4, **options)
    ds = ClipDataset(str(root), layout="THWC", dtype="uint8", **options)
    keras_clips = sorted(c for i in range(len(seq)) for c in seen(seq[i][0]))
    torch_clips = sorted(
        c for clip, _ in torch.utils.data.DataLoader(ds, batch_size=None) for c in seen(clip[None].numpy())
    )
    assert keras_clips == torch_clips and len(keras_clips) == 9
    x, y = seq[0]
    assert x.dtype == np.float32 and x.shape == (4, 4, 48, 48, 3) and y.dtype == np.int64
    assert seq.classes == ["run", "walk"]
    shuffled = ClipSequence(str(root), batch_size=9, shuffle=True, **options)
    first = seen(shuffled[0][0])
    assert sorted(first) == keras_clips and first != keras_clips
    shuffled.set_epoch(1)
    assert sorted(seen(shuffled[0][0])) != keras_clips  # new clips drawn for epoch 1
