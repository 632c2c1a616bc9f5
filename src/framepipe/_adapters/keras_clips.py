"""The implementation of :class:`framepipe.keras.ClipSequence`, whose docstring is the documentation."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._pixels.format import FrameFormat
from .._sampling.request import item_rng
from .._util.checks import check_bool, check_callable, check_int
from .._util.choices import ClipLayout
from .._util.docs import fill
from ..augment import Augmentation
from .dataset import VideoDataset
from .keras_base import KerasBatches, tensor_shape
from .keras_sequences import keras_format
from .pool import Opener, ReaderPool

__all__ = ["ClipSequence"]


@fill
class ClipSequence(KerasBatches):
    """A ``keras.utils.PyDataset`` of clips over many videos: the clips ``ClipDataset`` and
    ``framepipe.ray.read_clips`` give for the same request (samplers ``"windows"``, ``"random"``,
    ``"uniform"``, ``"segments"``; the seeding rule), in batches of ``batch_size``: ``x`` (B, T, H, W, C)
    float32 in [0, 1] (or as the output options say), and ``y`` the label ids where the videos are
    labelled.

    Thread safety: batches may be read from several threads at once (Keras's ``workers``, tf.data), each
    with its own reader; ``on_epoch_end`` between epochs.

    Args:
        videos: a folder of class sub-folders, a manifest, a glob, a list of paths (with ``labels``), or
            videos held in memory (bytes, ``BytesIO``, Hugging Face ``Video(decode=False)`` values).
        labels: one per video of a list.
        length: frames per clip.
        batch_size: clips per batch.
        shuffle: a new order of the clips each epoch (from ``seed`` and the epoch).
        layout: ``"NTHWC"`` (default), ``"NTCHW"`` or ``"NCTHW"``.
        frame_format: {frame_format}
        augment: a callable on each (T, H, W, C) clip: ``f(clip, rng)`` or ``f(clip)``; ``rng`` is the
            clip's own generator (the seeding rule), the same in any worker.
        threads: decoder threads per reader.
        max_open: readers kept open per worker.
        workers: Keras ``PyDataset`` workers.
        use_multiprocessing: Keras ``PyDataset`` processes (threads on JAX, with a warning).
        max_queue_size: Keras ``PyDataset`` queue.
        **options: the request's keywords (``step``, ``stride``, ``sampler``, ``clips_per_video``,
            ``train``, ``seed``, ``on_end``, ``on_error``, ``on_bad_video``, ``stream``, ``classes``,
            ``storage_options``, ``index``: an index store's folder) and the output keywords.

    Raises:
        ValueError, TypeError: an argument is wrong; the message names it.

    Example:
        >>> import os, tempfile
        >>> from framepipe.tools.synthetic import make_video
        >>> root = tempfile.mkdtemp()
        >>> paths = [make_video(os.path.join(root, f"{c}.mp4"), num_frames=24) for c in "ab"]
        >>> seq = ClipSequence(paths, labels=["a", "b"], length=8, batch_size=4, size=32)
        >>> x, y = seq[0]; x.shape, y.tolist()
        ((4, 8, 32, 32, 3), [0, 0, 0, 1])
    """

    def __init__(
        self,
        videos,
        labels: Sequence | None = None,
        *,
        length: int,
        batch_size: int = 32,
        shuffle: bool = False,
        layout: ClipLayout = "NTHWC",
        frame_format: FrameFormat | None = None,
        augment: Callable[..., np.ndarray] | None = None,
        threads: int = 1,
        max_open: int = 16,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
        **options,
    ) -> None:
        super().__init__(
            workers=workers, use_multiprocessing=use_multiprocessing, max_queue_size=max_queue_size
        )
        format_options, sampling_options = FrameFormat.split_options(options)
        fmt = keras_format(frame_format, dict(format_options, layout=layout), "ClipSequence")
        self._fmt = fmt
        self.videos = VideoDataset.from_any(
            videos, labels, length=length, frame_format=fmt, can_skip_frames=True, **sampling_options
        )
        self._batch_size = check_int("batch_size", batch_size, minimum=1)
        self._shuffle = check_bool("shuffle", shuffle)
        self._seed = self.videos.sampling.seed
        self._key = ""  # the order of the whole sequence: no one video's
        # a sequence without a seed still needs one order per epoch that every worker agrees on
        entropy = np.random.SeedSequence().entropy
        self._order_seed = int(entropy) % (1 << 63) if self._seed is None and isinstance(entropy, int) else 0
        check_callable("augment", augment, "a clip array")
        self._augment = Augmentation(augment) if augment is not None else None
        self._readers = ReaderPool(
            Opener(
                fmt,
                stream=self.videos.stream,
                threads=threads,
                on_error=self.videos.on_error,
                storage_options=self.videos.storage_options,
                known=self.videos.openables(),
            ),
            max_open=max_open,
        )
        self._labelled = bool(self.videos.classes) or self.videos.labels.numeric

    @property
    def classes(self) -> list[str]:
        return self.videos.classes

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(epoch)
        self.videos.set_epoch(epoch)

    def __len__(self) -> int:
        return -(-len(self.videos) // self._batch_size)

    def _order(self, epoch: int) -> np.ndarray:
        n = len(self.videos)
        if not self._shuffle:
            return np.arange(n)
        seed = self._seed if self._seed is not None else self._order_seed
        assert seed is not None  # one of the two is set at construction
        return np.random.default_rng([seed, epoch, 1]).permutation(n)

    def batch(self, index: int, epoch: int):
        items = self._order(epoch)[index * self._batch_size : (index + 1) * self._batch_size]
        clips, ys = [], []
        for i in items.tolist():
            ref = self.videos.clip(i, epoch=epoch)  # (the same draws in every worker: the seeding rule)
            with self._readers.reader(ref.video) as reader:
                got = reader.get_clips([ref.frames])
            if not len(got):  # on_error="skip": the clip lost a frame
                continue
            clip = got.data[0]
            if self._augment is not None:
                src = self.videos.video_source(ref.video)
                clip = self._augment(clip, item_rng(self._seed, epoch, src.seed_key, ref.clip))
            clips.append(clip)
            ys.append(ref.label)
        x = (
            np.stack(clips)
            if clips
            else np.zeros((0, *tensor_shape(self._fmt, self.videos.length, 1, 1)[1:]))
        )
        return (x, np.asarray(ys, dtype=np.int64)) if self._labelled else x

    def element_spec(self) -> tuple:
        sizes = {self.videos.frame_size(v) for v in range(self.videos.num_videos)}
        h, w = sizes.pop() if len(sizes) == 1 else (None, None)
        x_shape = tensor_shape(self._fmt, self.videos.length, h, w)
        return x_shape, self._fmt.dtype, ((None,) if self._labelled else None), "int64"
