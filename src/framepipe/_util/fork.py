"""What a forked child must not touch: FFmpeg objects its parent made.

Freeing a codec, libswscale or filter-graph context joins its worker threads, which exist only in the
parent: a child would wait forever, at the call or at interpreter exit. Objects a child inherits are
therefore never freed there (:func:`keep_forever`); each owner re-makes its own on first use in the
child (the decoders, :class:`~framepipe._pixels.convert.Converter`).
"""

from __future__ import annotations

import ctypes

__all__ = ["keep_forever"]


def keep_forever(obj) -> None:
    """Never free ``obj`` in this process (an extra reference that is never dropped keeps it out of every
    collection; its memory is the parent's pages, shared copy-on-write)."""
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
