"""Keras checks that depend on the backend; tests/integrations/test_keras_backends.py runs this module (and
test_keras.py) under each backend in its own process, since Keras picks its backend once, at import."""

from __future__ import annotations

import os
import warnings

import keras
import numpy as np
import pytest

from framepipe.keras import ClipSequence, TimeseriesGenerator
from framepipe.tools.synthetic import make_video, read_index

BACKEND = keras.backend.backend()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("backend")
    for cls, n, tag in (("walk", 40, 1), ("run", 33, 2)):
        (root / cls).mkdir()
        make_video(root / cls / "v.mp4", num_frames=n, width=64, height=64, gop=8, index_offset=1000 * tag)
    return root


def model_for(shape):
    model = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.GlobalAveragePooling3D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_fit_on_this_backend_with_many_videos_and_workers(videos):
    gen = TimeseriesGenerator(
        str(videos), None, 8, 2, 4, batch_size=4, size=32, shuffle=True, seed=0, workers=2
    )
    x, y = gen[0]
    assert x.shape == (4, 4, 32, 32, 3) and set(y.tolist()) <= {0, 1}
    history = model_for((4, 32, 32, 3)).fit(gen, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and gen.epoch >= 2  # fit moved the epochs on


@pytest.mark.skipif(BACKEND != "jax", reason="JAX only: Keras's workers are forked processes")
def test_jax_reads_with_threads_instead_of_forked_processes(videos, capfd):
    with pytest.warns(UserWarning, match="JAX backend does not support"):
        gen = TimeseriesGenerator(
            str(videos), None, 8, batch_size=4, size=32, workers=2, use_multiprocessing=True
        )
    assert gen.use_multiprocessing is False
    model_for((8, 32, 32, 3)).fit(gen, epochs=1, verbose=0)
    assert "os.fork()" not in capfd.readouterr().err  # JAX's deadlock warning never printed


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.data needs TensorFlow")
def test_to_tf_dataset_gives_the_same_batches_and_fits(videos):
    import tensorflow as tf

    targets = [np.arange(40) % 2, np.arange(33) % 2]
    gen = TimeseriesGenerator(
        [str(videos / "walk/v.mp4"), str(videos / "run/v.mp4")], targets, 6, 2, 3, batch_size=5, size=32
    )
    ds = gen.to_tf_dataset()
    assert ds.element_spec == (
        tf.TensorSpec((None, 3, 32, 32, 3), tf.float32),
        tf.TensorSpec((None,), tf.as_dtype(targets[0].dtype)),
    )
    assert int(ds.cardinality()) == len(gen)
    batches = list(ds.as_numpy_iterator())
    assert len(batches) == len(gen)
    for (x, y), (ex, ey) in zip(batches, (gen.batch(i, 0) for i in range(len(gen)))):
        assert np.array_equal(x, ex) and np.array_equal(y, ey)
    assert [read_index(f) for f in batches[0][0][0]] == [1000, 1002, 1004]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # shuffle=False: the generator shuffles (or not) itself; Keras warns of any tf.data.Dataset otherwise
        model_for((3, 32, 32, 3)).fit(gen.to_tf_dataset(), epochs=2, verbose=0, shuffle=False)
    assert not [str(w.message) for w in caught if "keras" in w.filename or "framepipe" in w.filename]
    seq = ClipSequence(str(videos), length=4, sampler="random", clips_per_video=2, batch_size=3, size=32)
    assert seq.to_tf_dataset().element_spec[1] == tf.TensorSpec((None,), tf.int64)
    model_for((4, 32, 32, 3)).fit(seq.to_tf_dataset(), epochs=1, verbose=0)


def test_backend_is_the_one_asked_for():
    assert os.environ.get("KERAS_BACKEND", BACKEND) == BACKEND
