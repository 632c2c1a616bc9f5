"""Limits for untrusted input: how many bytes one call may allocate for its output, and how many pixels a
frame may have, process-wide (``set_max_output_bytes``, ``set_max_frame_pixels``, or the environment
variables ``FRAMEPIPE_MAX_OUTPUT_BYTES`` and ``FRAMEPIPE_MAX_FRAME_PIXELS``, read when first needed) and
per reader (``max_bytes=`` and ``max_frame_pixels=`` among the output options). As Pillow's
``MAX_IMAGE_PIXELS`` does for images: a small file may declare huge frames, and a call for many of them
must fail with an error that names the setting before anything is allocated.

>>> set_max_output_bytes(1 << 20); max_output_bytes()
1048576
>>> set_max_output_bytes(None)  # back to the environment's, or the default
"""

from __future__ import annotations

import threading

from .checks import env_int

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "DEFAULT_MAX_FRAME_PIXELS",
    "max_output_bytes",
    "set_max_output_bytes",
    "max_frame_pixels",
    "set_max_frame_pixels",
]

#: one call's output: 4 GiB, so that a call and its working copies stay well inside a 24 GiB machine
DEFAULT_MAX_OUTPUT_BYTES = 4 << 30
#: one frame: 2**28 pixels (16384 x 16384); every camera and film format is far below
DEFAULT_MAX_FRAME_PIXELS = 1 << 28

_lock = threading.Lock()
_set: dict[str, int | None] = {"FRAMEPIPE_MAX_OUTPUT_BYTES": None, "FRAMEPIPE_MAX_FRAME_PIXELS": None}


def _positive(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


_from_env: dict[str, int] = {}  # each variable read once, when first needed (every call asks)


def _value(variable: str, default: int) -> int:
    chosen = _set[variable]  # (a plain read: the setters replace the value whole)
    if chosen is not None:
        return chosen
    found = _from_env.get(variable)
    if found is not None:
        return found
    value = env_int(variable, default, minimum=1)
    _from_env[variable] = value
    return value


def max_output_bytes() -> int:
    """The bytes one call may allocate for its output, when a reader sets no ``max_bytes``."""
    return _value("FRAMEPIPE_MAX_OUTPUT_BYTES", DEFAULT_MAX_OUTPUT_BYTES)


def set_max_output_bytes(limit: int | None) -> None:
    """Set :func:`max_output_bytes` for this process; None: ``$FRAMEPIPE_MAX_OUTPUT_BYTES`` (as read when
    first needed) or 4 GiB.

    Raises:
        ValueError: ``limit`` is not an int >= 1.
    """
    value = None if limit is None else _positive("limit", limit)
    with _lock:
        _set["FRAMEPIPE_MAX_OUTPUT_BYTES"] = value


def max_frame_pixels() -> int:
    """The pixels a frame may have, when a reader sets no ``max_frame_pixels``."""
    return _value("FRAMEPIPE_MAX_FRAME_PIXELS", DEFAULT_MAX_FRAME_PIXELS)


def set_max_frame_pixels(limit: int | None) -> None:
    """Set :func:`max_frame_pixels` for this process; None: ``$FRAMEPIPE_MAX_FRAME_PIXELS`` (as read when
    first needed) or 2**28.

    Raises:
        ValueError: ``limit`` is not an int >= 1.
    """
    value = None if limit is None else _positive("limit", limit)
    with _lock:
        _set["FRAMEPIPE_MAX_FRAME_PIXELS"] = value
