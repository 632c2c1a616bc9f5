"""Clip-consistent augmentation: one random draw per clip, applied to every frame of it.

Built-ins cover what most video training needs without another dependency; each takes an (T, H, W, C)
clip (uint8, or float32 for the photometric ones) and returns a new one. For anything richer, pass a
callable from a maintained library instead; albumentations 2.x applies one draw to a whole clip when the
frames are passed as ``images``::

    import albumentations as A
    aug = A.Compose([A.RandomResizedCrop(size=(112, 112)), A.HorizontalFlip(), A.ColorJitter()])
    augment = lambda clip: np.stack(aug(images=clip)["images"])

>>> import numpy as np
>>> clip = np.zeros((4, 32, 48, 3), np.uint8); clip[:, :, :24] = 200
>>> crop = RandomResizedCrop((16, 16), scale=(1.0, 1.0), ratio=(1.5, 1.5))
>>> aug = Compose([RandomHorizontalFlip(p=1.0), crop], seed=0)
>>> out = aug(clip)
>>> out.shape, bool((out[:, :, :8] == 0).all()), bool((out[:, :, 8:] > 150).all())
((4, 16, 16, 3), True, True)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "Compose",
    "RandomHorizontalFlip",
    "ColorJitter",
    "RandomResizedCrop",
    "TemporalJitter",
    "Augmentation",
    "takes_rng",
]


def _check_clip(clip: np.ndarray, name: str) -> np.ndarray:
    clip = np.asarray(clip)
    if clip.ndim != 4:
        raise ValueError(f"{name} expects a clip shaped (T, H, W, C), got shape {clip.shape}")
    return clip


class RandomHorizontalFlip:
    """Mirror the whole clip left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        clip = _check_clip(clip, "RandomHorizontalFlip")
        return np.ascontiguousarray(clip[:, :, ::-1]) if rng.random() < self.p else clip


class ColorJitter:
    """Scale brightness by a factor in [1 - brightness, 1 + brightness] and contrast (around the clip's
    mean) by one in [1 - contrast, 1 + contrast]; one draw for the whole clip."""

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0) -> None:
        for name, v in (("brightness", brightness), ("contrast", contrast)):
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {v}")
        self.brightness, self.contrast = brightness, contrast

    def __call__(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        clip = _check_clip(clip, "ColorJitter")
        b = rng.uniform(1 - self.brightness, 1 + self.brightness)
        c = rng.uniform(1 - self.contrast, 1 + self.contrast)
        x = clip.astype(np.float32)
        x = (x - x.mean()) * c + x.mean() * b
        if clip.dtype == np.uint8:
            return np.clip(np.rint(x), 0, 255).astype(np.uint8)
        return x.astype(clip.dtype)


class RandomResizedCrop:
    """Crop one random box (area fraction in ``scale``, aspect ratio in ``ratio``) from every frame of the
    clip and resize it to ``size`` = (height, width) with libswscale (area filter). uint8 RGB/BGR clips."""

    def __init__(
        self,
        size: tuple[int, int],
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ) -> None:
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"size must be (height, width) > 0, got {size!r}")
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must be 0 < lo <= hi <= 1, got {scale!r}")
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must be 0 < lo <= hi, got {ratio!r}")
        self.size, self.scale, self.ratio = (int(size[0]), int(size[1])), scale, ratio

    def _box(self, h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        area = h * w
        for _ in range(10):  # as torchvision does: try, then fall back to the centre
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw
        ch, cw = h, min(w, int(round(h * self.ratio[1])))
        return 0, (w - cw) // 2, ch, cw

    def __call__(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import av
        from av.video.reformatter import VideoReformatter

        clip = _check_clip(clip, "RandomResizedCrop")
        if clip.dtype != np.uint8 or clip.shape[-1] != 3:
            raise TypeError(
                f"RandomResizedCrop needs uint8 clips with 3 channels, got {clip.dtype} with "
                f"{clip.shape[-1]}; open the video with dtype='uint8' and normalise afterwards"
            )
        top, left, ch, cw = self._box(clip.shape[1], clip.shape[2], rng)
        out_h, out_w = self.size
        fmt = VideoReformatter()
        out = np.empty((clip.shape[0], out_h, out_w, 3), np.uint8)
        for t, frame in enumerate(clip):
            crop = np.ascontiguousarray(frame[top : top + ch, left : left + cw])
            vf = av.VideoFrame.from_ndarray(crop, format="rgb24")
            out[t] = fmt.reformat(vf, width=out_w, height=out_h, interpolation="AREA").to_ndarray()
        return out


class TemporalJitter:
    """Shift a clip's frame indices by one random offset in [-max_shift, max_shift] (clamped to the video).

    Acts on indices before decoding (``jitter(indices, num_frames, rng)``): shifting after decoding would
    need frames that were never decoded.
    """

    def __init__(self, max_shift: int) -> None:
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift = max_shift

    def __call__(self, indices: np.ndarray, num_frames: int, rng: np.random.Generator) -> np.ndarray:
        idx = np.asarray(indices, dtype=np.int64)
        lo, hi = -int(idx.min()), num_frames - 1 - int(idx.max())
        shift = int(rng.integers(max(-self.max_shift, lo), min(self.max_shift, hi) + 1)) if lo <= hi else 0
        return idx + shift


class Compose:
    """Apply clip transforms in order: ``Compose([...])(clip, rng)``.

    A dataset (``ClipDataset``, ``WindowStream``, the Keras sequences) calls it with each item's own
    generator (from ``(seed, epoch, video, clip)``, the seeding rule), so workers never replay each
    other's draws; ``seed`` here is only for calling it yourself without a generator, and is ignored
    when one is given.
    """

    def __init__(
        self,
        transforms: Sequence[Callable[[np.ndarray, np.random.Generator], np.ndarray]],
        *,
        seed: int | None = None,
    ) -> None:
        for t in transforms:
            if not callable(t):
                raise TypeError(f"transforms must be callables, got {type(t).__name__}")
        self.transforms = list(transforms)
        self.rng = np.random.default_rng(seed)

    def __call__(self, clip: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        gen = rng if rng is not None else self.rng
        for t in self.transforms:
            clip = t(clip, gen)
        return clip


def takes_rng(fn: Callable) -> bool:
    """Whether a clip transform is called as ``fn(clip, rng)``: its second positional parameter has no
    default or is named ``rng`` (the built-ins and :class:`Compose`); otherwise it is called ``fn(clip)``.

    >>> takes_rng(lambda clip: clip), takes_rng(lambda clip, rng: clip), takes_rng(Compose([]))
    (False, True, True)
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: called with the clip alone
        return False
    positional = [
        p
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(positional) < 2:
        return False
    second = positional[1]
    return second.default is inspect.Parameter.empty or second.name == "rng"


class Augmentation:
    """A user's clip transform, called per item with that item's generator: ``fn(clip, rng)`` or
    ``fn(clip)`` (see :func:`takes_rng`). What the datasets and the Keras sequences wrap ``augment`` in.

    Args:
        fn: the transform.

    Raises:
        TypeError: ``fn`` is not callable.

    Example:
        >>> import numpy as np
        >>> aug = Augmentation(lambda clip, rng: clip + rng.integers(1, 2))
        >>> int(aug(np.zeros((1, 1, 1, 1), np.uint8), np.random.default_rng(0))[0, 0, 0, 0])
        1
    """

    def __init__(self, fn: Callable) -> None:
        if not callable(fn):
            raise TypeError(f"augment must be a callable taking a clip array, got {type(fn).__name__}")
        self.fn = fn
        self.with_rng = takes_rng(fn)

    def __call__(self, clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.fn(clip, rng) if self.with_rng else self.fn(clip)
