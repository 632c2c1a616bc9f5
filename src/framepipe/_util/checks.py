"""Argument checks, in one place: each raises ``TypeError`` for a value of the wrong type and
``ValueError`` for one out of range, with a message that names the argument and shows what was given.

>>> check_int("length", 16, minimum=1)
16
>>> check_int("length", 0, minimum=1)
Traceback (most recent call last):
...
ValueError: length must be an int >= 1, got 0
>>> check_choice("mode", "latest", ("latest", "all"))
'latest'
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, overload

import numpy as np

from .constants import FEW_VALUES

__all__ = [
    "check_int",
    "check_seconds",
    "check_number",
    "check_choice",
    "check_bool",
    "check_callable",
    "check_frame_indices",
    "check_times",
    "env_int",
]


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@overload
def check_int(
    name: str, value: Any, *, minimum: int | None = ..., allow_none: Literal[False] = ...
) -> int: ...
@overload
def check_int(name: str, value: Any, *, minimum: int | None = ..., allow_none: bool) -> int | None: ...
def check_int(name: str, value: Any, *, minimum: int | None = None, allow_none: bool = False) -> int | None:
    """An int (not a bool) >= ``minimum``; None passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    if not _is_int(value):
        raise TypeError(
            f"{name} must be an int{' or None' if allow_none else ''}, got {type(value).__name__} {value!r}"
        )
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


@overload
def check_number(
    name: str, value: Any, *, positive: bool = ..., allow_none: Literal[False] = ...
) -> float: ...
@overload
def check_number(name: str, value: Any, *, positive: bool = ..., allow_none: bool) -> float | None: ...
def check_number(name: str, value: Any, *, positive: bool = True, allow_none: bool = False) -> float | None:
    """A finite int or float (not a bool), > 0 when ``positive``; None passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if not ok or not math.isfinite(value) or (positive and value <= 0):
        what = "a positive number" if positive else "a finite number"
        raise ValueError(f"{name} must be {what}{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


@overload
def check_seconds(name: str, value: Any, *, allow_none: Literal[False] = ...) -> float: ...
@overload
def check_seconds(name: str, value: Any, *, allow_none: bool) -> float | None: ...
def check_seconds(name: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A positive, finite number of seconds (timeouts, intervals)."""
    if value is None and allow_none:
        return None
    try:
        return check_number(name, value)
    except ValueError:
        raise ValueError(
            f"{name} must be a positive number of seconds{' or None' if allow_none else ''}, got {value!r}"
        ) from None


_Choice = TypeVar("_Choice", bound=str)


def check_choice(name: str, value: _Choice, choices: Sequence[str]) -> _Choice:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """True or False (not a truthy stand-in such as 1 or "yes")."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_callable(name: str, value, what: str, *, allow_none: bool = True) -> Callable | None:
    """A callable (``what`` says on what), or None when allowed."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise TypeError(f"{name} must be a callable on {what}, got {type(value).__name__}")
    return value


def check_frame_indices(name: str, values, *, num_frames: int, path: str) -> np.ndarray:
    """Frame indices of a video of ``num_frames`` frames as int64, any shape, negatives counted from the end.

    Whole floats (``5.0``) are taken; anything else that is not an integer raises ``TypeError``, an index
    outside ``-num_frames..num_frames-1`` raises ``IndexError`` naming ``path``.
    """
    arr = np.asarray(values)
    kind = arr.dtype.kind  # "i"/"u" integers, "b" bool, "f" floats (read per call: cheaper than issubdtype)
    if kind == "b" or (arr.size and kind not in "iu"):
        if arr.size and kind == "f" and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be integers, got {arr.dtype} values")
    arr = arr.astype(np.int64, copy=False)
    n = num_frames
    if arr.size:
        few = arr.size <= FEW_VALUES
        low, high = (min(v := arr.ravel().tolist()), max(v)) if few else (arr.min(), arr.max())
        if low >= 0 and high < n:  # the common case: nothing to count from the end
            return arr.copy() if arr is values else arr  # never the caller's own array
    bad = (arr < -n) | (arr >= n)
    if bad.any():
        raise IndexError(
            f"{name} contains {int(arr[bad].flat[0])}, out of range for {path} "
            f"({n} frames: valid indices are -{n}..{n - 1})"
        )
    return np.where(arr < 0, arr + n, arr)


def check_times(name: str, values: Any) -> np.ndarray:
    """Times in seconds as float64, any shape: numbers only (not strings, not bools), and finite.

    >>> check_times("seconds", [1, 2.5]).tolist()
    [1.0, 2.5]
    >>> check_times("seconds", ["1"])
    Traceback (most recent call last):
    ...
    TypeError: seconds must be numbers (seconds), got <U1 values: ['1']
    >>> check_times("seconds", [float("nan")])
    Traceback (most recent call last):
    ...
    ValueError: seconds must be finite times in seconds, got nan at position 0
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "b" or (arr.size and arr.dtype.kind not in "iufc"):  # (np.number, read cheaply)
        shown = arr.reshape(-1)[:4].tolist()
        raise TypeError(f"{name} must be numbers (seconds), got {arr.dtype} values: {shown}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        where = int(np.flatnonzero(~np.isfinite(arr).reshape(-1))[0])
        raise ValueError(
            f"{name} must be finite times in seconds, got {arr.reshape(-1)[where]} at position {where}"
        )
    return arr


def env_int(variable: str, default: int, *, minimum: int) -> int:
    """The whole number in ``$variable`` (``default`` where it is unset or blank), read when called.

    Raises:
        ValueError: the value is not a whole number, or is below ``minimum``; the message names the variable.

    >>> env_int("FRAMEPIPE_NOT_SET", 32, minimum=1)
    32
    """
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise ValueError(f"${variable} must be a whole number >= {minimum}, got {raw!r}")
    return value
