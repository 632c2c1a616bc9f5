"""Optional dependencies: each adapter imports its extra through :func:`require`, so that a missing one
raises an ``ImportError`` naming the ``pip install`` line that fixes it.

>>> require("json", extra="cli", what="this example").__name__
'json'
>>> require("no_such_module_here", extra="ray", what="framepipe.ray")
Traceback (most recent call last):
...
ImportError: framepipe.ray needs no_such_module_here, which is not installed: pip install 'framepipe[ray]'
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

__all__ = ["require"]


def require(
    module: str,
    *,
    extra: str | None,
    what: str,
    install: str | None = None,
    hints: Mapping[str, str] | None = None,
) -> ModuleType:
    """Import ``module``, or raise the ``ImportError`` that says how to install it.

    Args:
        module: the module to import (``"ray.data"``).
        extra: framepipe's extra that brings it (``"ray"``); None where ``install`` says it instead.
        what: who needs it, for the message (``"framepipe.ray"``).
        install: the install line, where it is not ``pip install 'framepipe[extra]'``.
        hints: more words for the message, by the top-level name of the missing module (Keras without
            TensorFlow: how to choose another backend).

    Returns:
        The module.

    Raises:
        ImportError: ``module``, or a module it needs, is not installed; the message names both the
            missing module and the install line.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        line = install or f"pip install 'framepipe[{extra}]'"
        hint = (hints or {}).get(missing.split(".")[0], "")
        raise ImportError(f"{what} needs {missing}, which is not installed: {line}{hint}") from exc
