"""A LeRobot video backend: ``decode_video_frames`` with LeRobot's semantics, decoded by framepipe.

LeRobot (huggingface/lerobot) asks for frames by timestamp: 2 to 4 consecutive times in an episode of an
MP4 that holds many episodes per camera, each answered by the frame whose timestamp is nearest, within
``tolerance_s``. This module answers the same calls with the same tensors and errors, and:

- **exact on every file**: frames come from framepipe's index (no approximate seek: right on variable
  frame rate video, where LeRobot's torchcodec path is not);
- **bounded**: one :class:`ReaderPool` per process (the pool the PyTorch and Keras adapters use too) keeps
  at most ``max_open`` readers (open files), and
  the frames readers keep for overlapping calls share one process-wide budget
  (:func:`framepipe.set_recent_frames_limit`);
- **fork safe**: readers opened before a fork are re-opened in each worker (no shared FFmpeg state or
  file offset);
- **depth**: ``is_depth=True`` gives LeRobot's 12-bit depth codes, (N, 1, H, W) uint16.

One call switches a running LeRobot over (needs the ``[lerobot]`` extra, i.e. torch)::

    import framepipe.lerobot
    framepipe.lerobot.install()     # every LeRobot module now decodes through framepipe

Example:
    >>> import os, tempfile
    >>> from framepipe.tools.synthetic import make_video, read_index
    >>> from framepipe.lerobot import decode_video_frames
    >>> path = make_video(os.path.join(tempfile.mkdtemp(), "cam.mp4"), num_frames=30, fps=30)
    >>> frames = decode_video_frames(path, [0.1, 0.1333333], tolerance_s=1e-4)
    >>> as_uint8 = [f.permute(1, 2, 0).mul(255).round().byte().numpy() for f in frames]
    >>> frames.shape, frames.dtype, [read_index(f) for f in as_uint8]
    (torch.Size([2, 3, 96, 160]), torch.float32, [3, 4])
"""

from __future__ import annotations

from ._adapters.lerobot_decode import BACKENDS, decode_video_frames, default_pool, default_tolerance_rule
from ._adapters.lerobot_install import install, installed, uninstall
from ._adapters.pool import Opener, PoolStats, ReaderPool

__all__ = [
    "decode_video_frames",
    "ReaderPool",
    "Opener",
    "PoolStats",
    "default_pool",
    "install",
    "uninstall",
    "installed",
    "default_tolerance_rule",
    "BACKENDS",
]
