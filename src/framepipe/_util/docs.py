"""Docstring fragments written once: every reader and adapter that takes the output options, a
``frame_format`` or ``storage_options`` describes them with the same words, filled in at import.

>>> @fill
... def f(**format_options):
...     '''Args:
...         **format_options: {format_options}
...     '''
>>> "``interpolation``" in f.__doc__ and "{format_options}" not in f.__doc__
True
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TypeVar

__all__ = ["FRAGMENTS", "fill"]

FRAGMENTS = {
    "format_options": (
        "the output options as keywords (over ``frame_format``): ``size``, ``resize``, ``color``, "
        "``dtype``, ``layout``, ``interpolation``, ``mean``, ``std``, ``array``, ``rotation``, as "
        ":class:`~framepipe.FrameFormat` documents them."
    ),
    "frame_format": ("the output options as one :class:`~framepipe.FrameFormat`; or give them as keywords."),
    "storage_options": (
        "options for a URL's fsspec filesystem (credentials, endpoint, ...), as pandas and PyArrow "
        "take them; never shown in messages."
    ),
}

_T = TypeVar("_T", bound=Callable)


def fill(obj: _T) -> _T:
    """Replace each ``{name}`` of :data:`FRAGMENTS` in ``obj``'s docstring, wrapped to its indentation."""
    doc = obj.__doc__
    if not doc:
        return obj
    lines = []
    for line in doc.split("\n"):
        for name, text in FRAGMENTS.items():
            token = "{" + name + "}"
            if token in line:
                head = line[: line.index(token)]
                indent = " " * (len(line) - len(line.lstrip()) + 4)
                wrapped = textwrap.wrap(head + text, width=108, subsequent_indent=indent)
                line = "\n".join(wrapped) + line[line.index(token) + len(token) :]
        lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj
