"""Injected faults: latency, throttling, 5xx, malformed bodies and dropped connections.

Each ECS request draws from one seeded `random.Random`, so a run with the same seed and the same
request order sees the same faults. The rates are bands of one uniform draw (drop, then 5xx, then
throttle, then malformed): each rate is that fault's exact probability while they sum to at most 1.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from enum import Enum
from typing import Any

# Throttled answers that carry x-acs-retry-after ask for this many milliseconds (the header's unit, as the
# official SDK reads it: alibabacloud_tea_openapi.utils.get_throttling_time_left, then sleep(ms / 1000)).
THROTTLE_RETRY_AFTER_MS = 1000
_RATE_FIELDS = ("throttle_rate", "error_5xx_rate", "malformed_rate", "drop_rate", "slow_rate")
_INT_FIELDS = frozenset({"seed", "throttle_retry_after_ms", "throttle_next"})


@dataclass
class FaultConfig:
    """Mutable at run time; probabilities are 0..1 per request."""

    latency_s: float = 0.0
    throttle_rate: float = 0.0
    error_5xx_rate: float = 0.0
    malformed_rate: float = 0.0
    drop_rate: float = 0.0
    # Independently of the above: this share of requests is delayed by slow_latency_s more.
    slow_rate: float = 0.0
    slow_latency_s: float = 5.0
    seed: int = 0
    # What a throttled answer's x-acs-retry-after says, in milliseconds.
    throttle_retry_after_ms: int = THROTTLE_RETRY_AFTER_MS
    # The next N requests are throttled, each with x-acs-retry-after, before any random draw: exact tests.
    throttle_next: int = 0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for name in _RATE_FIELDS:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_s < 0 or self.slow_latency_s < 0:
            raise ValueError("latency_s and slow_latency_s must be >= 0")
        if self.throttle_retry_after_ms < 0 or self.throttle_next < 0:
            raise ValueError("throttle_retry_after_ms and throttle_next must be >= 0")

    def update(self, changes: Mapping[str, Any]) -> None:
        """Set the named fields (all or nothing); unknown names are refused."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}")
        coerced = {name: int(value) if name in _INT_FIELDS else float(value) for name, value in changes.items()}
        candidate = FaultConfig(**{**asdict(self), **coerced})
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultKind(str, Enum):
    NONE = "none"
    DROP = "drop"
    ERROR_5XX = "5xx"
    THROTTLE = "throttle"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    latency_s: float
    # Picks the flavour: 503 or 500; with or without x-acs-retry-after; truncated or HTML body.
    variant: bool


class FaultInjector:
    """Draws one decision per request; reseeds itself when the config's seed changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random()
        self._seeded_with: int | None = None

    def decide(self, config: FaultConfig) -> Fault:
        with self._lock:
            if config.throttle_next > 0:
                config.throttle_next -= 1
                return Fault(FaultKind.THROTTLE, config.latency_s, variant=True)
            if self._seeded_with != config.seed:
                self._rng.seed(config.seed)
                self._seeded_with = config.seed
            draw = self._rng.random()
            variant = self._rng.random() < 0.5
            slow = self._rng.random() < config.slow_rate
        latency = config.latency_s + (config.slow_latency_s if slow else 0.0)
        return Fault(_kind(draw, config), latency, variant)


def _kind(draw: float, config: FaultConfig) -> FaultKind:
    bands = (
        (config.drop_rate, FaultKind.DROP),
        (config.error_5xx_rate, FaultKind.ERROR_5XX),
        (config.throttle_rate, FaultKind.THROTTLE),
        (config.malformed_rate, FaultKind.MALFORMED),
    )
    edge = 0.0
    for rate, kind in bands:
        edge += rate
        if draw < edge:
            return kind
    return FaultKind.NONE
