"""What the Keras sequences share: Keras's ``PyDataset`` contract (workers, epochs), per-window generators
by the seeding rule, no forked workers on JAX, and :meth:`KerasBatches.to_tf_dataset`."""

from __future__ import annotations

import threading

import keras
import numpy as np

from .._pixels.format import FrameFormat
from .._sampling.request import ITEMS, rng_for
from .._util.checks import check_bool, check_int
from .._util.warn import warn
from ..augment import Augmentation

__all__ = ["KerasBatches", "tensor_shape"]


def tensor_shape(fmt: FrameFormat, length: int, height: int | None, width: int | None) -> tuple:
    """The shape of a batch of clips in ``fmt``'s clip layout (None where unknown)."""
    if fmt.size is not None:
        height, width = fmt.size
    dims = {"N": None, "T": length, "H": height, "W": width, "C": fmt.channels}
    return tuple(dims[axis] for axis in fmt.clip_layout())


class KerasBatches(keras.utils.PyDataset):
    """The base of framepipe's Keras sequences: ``batch(index, epoch)`` is a pure function of the batch
    and the epoch, so Keras's workers (threads or processes) and tf.data's parallel calls agree on every
    batch, and every draw comes from the seeding rule (``(seed, epoch, key, batch, window)``).

    Thread safety: batches may be read from many threads at once (Keras's workers, ``tf.data``); the
    readers are handed out one per thread by a pool. ``set_epoch`` is for the main thread between epochs.
    """

    _seed: int | None
    _key: str

    def __init__(self, *, workers: int, use_multiprocessing: bool, max_queue_size: int) -> None:
        workers = check_int("workers", workers, minimum=1)
        use_multiprocessing = check_bool("use_multiprocessing", use_multiprocessing)
        if use_multiprocessing and workers > 1 and keras.backend.backend() == "jax":
            # Keras starts its processes by fork, which JAX does not survive ("os.fork() ... will likely
            # lead to a deadlock"); framepipe's decoding releases the GIL, so threads keep the cores busy
            warn(
                "framepipe: use_multiprocessing=True forks the process, which the JAX backend does not "
                "support; reading with workers threads instead (decoding releases the GIL)",
            )
            use_multiprocessing = False
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        self._epoch = 0

    # --- epochs -------------------------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch that shuffled rows, random clips and augmentation are drawn for."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw for ``epoch``. ``fit`` moves on by itself (``on_epoch_end``), and so does a dataset of
        :meth:`to_tf_dataset` each time it is iterated; this is for loops of your own."""
        self._epoch = check_int("epoch", epoch, minimum=0)

    def on_epoch_end(self) -> None:
        self.set_epoch(self._epoch + 1)

    def _rng(self, epoch: int, *item: int) -> np.random.Generator:
        return rng_for(self._seed, epoch, self._key, ITEMS, *item)

    # --- batches ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    @property
    def num_batches(self) -> int:
        return len(self)

    def batch(self, index: int, epoch: int):
        """Batch ``index`` of ``epoch``: ``x`` or ``(x, y)``."""
        raise NotImplementedError

    def __getitem__(self, index: int):
        index = check_int("batch index", index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        return self.batch(index % len(self), self._epoch)

    def _augmented(self, x: np.ndarray, augment: Augmentation | None, epoch: int, index: int) -> np.ndarray:
        if augment is None or not len(x):
            return x
        return np.stack([augment(clip, self._rng(epoch, index, k)) for k, clip in enumerate(x)])

    # --- tf.data ------------------------------------------------------------------------------------------
    def element_spec(self) -> tuple:
        """``(x shape, x dtype, y shape or None, y dtype or None)`` of a batch (the batch size as None)."""
        raise NotImplementedError

    def to_tf_dataset(self, *, deterministic: bool = True, num_parallel_calls: int | None = None):
        """The same batches as a ``tf.data.Dataset`` (TensorFlow only): ``x`` or ``(x, y)``, with a full
        ``element_spec`` and a known length, batches read in parallel (``num_parallel_calls``, default
        ``tf.data.AUTOTUNE``) and prefetched. Each pass over the dataset is the next epoch (the first is
        :attr:`epoch`), as ``fit`` moves a ``PyDataset`` on.

        Args:
            deterministic: keep the batches in order (False lets a fast batch overtake a slow one).
            num_parallel_calls: batches read at once.

        Returns:
            A ``tf.data.Dataset`` that ``model.fit`` takes as it is.

        Raises:
            ImportError: TensorFlow is not installed.

        Example:
            ``model.fit(gen.to_tf_dataset(), epochs=3, shuffle=False)`` (the generator shuffles itself
            where asked; Keras warns that it cannot shuffle any ``tf.data.Dataset`` unless told
            ``shuffle=False``).
        """
        try:
            import tensorflow as tf
        except ImportError as exc:
            raise ImportError(
                "to_tf_dataset needs TensorFlow: pip install tensorflow (or tensorflow-cpu)"
            ) from exc
        x_shape, x_dtype, y_shape, y_dtype = self.element_spec()
        n = len(self)
        lock = threading.Lock()

        def batches():  # one pass: one epoch, numbered as fit numbers a PyDataset's
            with lock:
                epoch = self._epoch
                self._epoch += 1
            for i in range(n):
                yield np.array([epoch, i], dtype=np.int64)

        def read(pair: np.ndarray):
            out = self.batch(int(pair[1]), int(pair[0]))
            return tuple(np.asarray(v) for v in out) if isinstance(out, tuple) else (np.asarray(out),)

        types = [tf.as_dtype(x_dtype)] + ([] if y_shape is None else [tf.as_dtype(y_dtype)])

        def tf_read(pair):
            values = tf.numpy_function(read, [pair], types)
            x = tf.ensure_shape(values[0], x_shape)
            if y_shape is None:
                return x
            return x, tf.ensure_shape(values[1], y_shape)

        ds = tf.data.Dataset.from_generator(batches, output_signature=tf.TensorSpec((2,), tf.int64))
        ds = ds.map(
            tf_read,
            num_parallel_calls=tf.data.AUTOTUNE if num_parallel_calls is None else num_parallel_calls,
            deterministic=deterministic,
        )
        ds = ds.apply(tf.data.experimental.assert_cardinality(n))
        return ds.prefetch(tf.data.AUTOTUNE)
