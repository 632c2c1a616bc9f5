"""How a lost live connection is retried: the policy alone, with no I/O (the receiver applies it)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Reconnect"]


@dataclass(frozen=True)
class Reconnect:
    """Exponential backoff with jitter, up to ``max_attempts`` attempts in a row (None: forever).

    The n-th attempt waits ``min(max_delay, initial_delay * multiplier**(n-1))`` seconds, times a random
    factor in ``[1 - jitter, 1 + jitter]`` so that many clients of one server do not retry in step.

    >>> Reconnect(initial_delay=0.5, jitter=0).delay(3)
    2.0
    >>> list(Reconnect(max_attempts=4, initial_delay=1, max_delay=3, jitter=0).delays())
    [1.0, 2.0, 3.0, 3.0]
    """

    max_attempts: int | None = 10
    initial_delay: float = 0.5
    max_delay: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts is not None and (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ValueError(f"max_attempts must be a positive int or None, got {self.max_attempts!r}")
        for name in ("initial_delay", "max_delay", "multiplier"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter!r}")

    @classmethod
    def from_option(cls, reconnect: bool | int | Reconnect) -> Reconnect | None:
        """What ``open_stream(reconnect=...)`` means: True (the defaults), False (None), attempts, a
        policy."""
        if isinstance(reconnect, Reconnect):
            return reconnect
        if isinstance(reconnect, bool):
            return cls() if reconnect else None
        if isinstance(reconnect, int):
            return cls(max_attempts=reconnect)
        raise TypeError(
            f"reconnect must be True, False, a number of attempts or a Reconnect; got {reconnect!r}"
        )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt`` (1-based)."""
        base = float(min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1)))
        if not self.jitter:
            return base
        return base * (1.0 + self.jitter * (rng or random).uniform(-1.0, 1.0))

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The wait before each attempt, for as many attempts as the policy allows."""
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            attempt += 1
            yield self.delay(attempt, rng)
