"""PyTorch adapter: ``ClipDataset`` (map-style) and ``WindowStream`` (iterable) over one or many videos.

Both work with ``DataLoader(num_workers>0)``: readers open lazily inside each worker (nothing FFmpeg-owned
crosses a fork), clips come back as ``torch.Tensor`` (so ``pin_memory=True`` works), and ``WindowStream``
yields each window exactly once per epoch across workers and ``torch.distributed`` ranks.

>>> import os, tempfile, torch
>>> from framepipe.tools.synthetic import make_video
>>> from framepipe.torch import ClipDataset
>>> path = make_video(os.path.join(tempfile.mkdtemp(), "v.mp4"), num_frames=32)
>>> ds = ClipDataset([path], labels=[3], length=8, stride=8, size=(32, 32))
>>> clip, label = ds[1]
>>> tuple(clip.shape), clip.dtype, label
((8, 3, 32, 32), torch.float32, 3)
"""

from __future__ import annotations

from ._util.extras import require

require("torch", extra="torch", what="framepipe.torch")

from ._adapters.torch_datasets import ClipDataset, WindowStream  # noqa: E402

__all__ = ["ClipDataset", "WindowStream"]
