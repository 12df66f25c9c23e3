"""Retry schedule and deadlines: pure arithmetic, with time and randomness injected by the caller."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation), bounded in count."""

    max_attempts: int = 4
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, retry_number: int, random_fraction: float) -> float:
        """Sleep before retry `retry_number` (1 = first retry); `random_fraction` is in [0, 1)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry_number - 1))
        return ceiling * random_fraction


@dataclass(frozen=True)
class Deadline:
    """An absolute point on a monotonic clock by which a whole operation (retries included) must end."""

    expires_at: float
    monotonic: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(monotonic() + seconds, monotonic)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0
