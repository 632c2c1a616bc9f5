"""Switching a running LeRobot over to framepipe: LeRobot's decode functions replaced in its modules
(documented in :mod:`framepipe.lerobot`)."""

from __future__ import annotations

import sys

from .._util.extras import require
from .lerobot_decode import decode_video_frames

__all__ = ["install", "uninstall", "installed"]


def _as_pyav(
    video_path, timestamps, tolerance_s, log_loaded_timestamps=False, return_uint8=False, is_depth=False
):
    """Stands in for ``decode_video_frames_pyav`` (same signature)."""
    return decode_video_frames(
        video_path, timestamps, tolerance_s, return_uint8=return_uint8, is_depth=is_depth
    )


def _as_torchcodec(
    video_path, timestamps, tolerance_s, log_loaded_timestamps=False, decoder_cache=None, return_uint8=False
):
    """Stands in for ``decode_video_frames_torchcodec`` (same signature; LeRobot's decoder cache is
    unused)."""
    return decode_video_frames(video_path, timestamps, tolerance_s, return_uint8=return_uint8)


_REPLACEMENTS = {
    "decode_video_frames": decode_video_frames,
    "decode_video_frames_pyav": _as_pyav,
    "decode_video_frames_torchcodec": _as_torchcodec,
}
_ORIGINALS: dict[str, object] = {}


def install() -> list[str]:
    """Make the running LeRobot decode every video through framepipe.

    Replaces ``decode_video_frames`` (and its pyav and torchcodec variants) in
    ``lerobot.datasets.video_utils`` and in every LeRobot module already imported that bound them at
    import (``dataset_reader``, ``streaming_dataset``, the annotation pipeline's frames module, ...);
    modules imported later bind the replacements. Forked DataLoader workers inherit the switch; a
    worker started with ``spawn`` must call ``install()`` itself (e.g. in ``worker_init_fn``).

    Returns:
        The ``module.function`` names replaced.

    Raises:
        ImportError: LeRobot is not importable.
    """
    video_utils = require(
        "lerobot.datasets.video_utils",
        extra=None,
        what="framepipe.lerobot.install()",
        install="pip install lerobot",
    )

    for name, replacement in _REPLACEMENTS.items():
        current = getattr(video_utils, name, None)
        if current is not None and current is not replacement:
            _ORIGINALS.setdefault(name, current)
    return _swap({name: (_ORIGINALS.get(name), replacement) for name, replacement in _REPLACEMENTS.items()})


def uninstall() -> list[str]:
    """Put LeRobot's own functions back wherever :func:`install` replaced them; returns the names."""
    swapped = _swap({name: (_REPLACEMENTS[name], original) for name, original in _ORIGINALS.items()})
    return swapped


def installed() -> bool:
    """Whether LeRobot's ``video_utils.decode_video_frames`` is framepipe's right now."""
    module = sys.modules.get("lerobot.datasets.video_utils")
    return module is not None and getattr(module, "decode_video_frames", None) is decode_video_frames


def _swap(pairs: dict[str, tuple[object, object]]) -> list[str]:
    done = []
    for mod_name, module in list(sys.modules.items()):
        if module is None or not (mod_name == "lerobot" or mod_name.startswith("lerobot.")):
            continue
        for name, (old, new) in pairs.items():
            if old is not None and new is not None and getattr(module, name, None) is old:
                setattr(module, name, new)
                done.append(f"{mod_name}.{name}")
    return sorted(done)
