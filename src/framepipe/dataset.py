"""Many videos: sources from a folder-per-class tree, a manifest (CSV or JSON lines) or a list of paths,
with classes mapped to integers and clips planned from each video's index. Framework-agnostic: the torch
adapter (:mod:`framepipe.torch`) and others build on it.

>>> import os, tempfile
>>> from framepipe.tools.synthetic import make_video
>>> root = tempfile.mkdtemp()
>>> for cls in ("jump", "run"):
...     os.makedirs(os.path.join(root, cls))
...     _ = make_video(os.path.join(root, cls, "a.mp4"), num_frames=24)
>>> ds = VideoDataset.from_folder(root, length=8, stride=8)
>>> ds.classes, len(ds), ds.clip(4)
(['jump', 'run'], 6, ClipRef(video=1, label=1, frames=[8, 9, 10, 11, 12, 13, 14, 15], clip=1))
"""

from __future__ import annotations

from ._adapters.dataset import SAMPLERS, VIDEO_EXTENSIONS, ClipRef, VideoDataset, VideoSource
from ._adapters.indexing import build_index_store

__all__ = ["VideoSource", "ClipRef", "VideoDataset", "build_index_store", "VIDEO_EXTENSIONS", "SAMPLERS"]
