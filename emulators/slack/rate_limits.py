"""Slack's Web API rate limits as token buckets on the emulator's clock.

https://docs.slack.dev/apis/web-api/rate-limits: chat.postMessage allows about one message per second per
channel, with short bursts tolerated (the burst size is unpublished: 3 is this emulator's choice);
chat.update is Tier 3 (50+ per minute), chat.postEphemeral Tier 4 (100+ per minute, unverified), both per
workspace.
Past a limit Slack answers HTTP 429, `{"ok": false, "error": "ratelimited"}` and `Retry-After` in seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emulators.slack.errors import METHOD_POST_EPHEMERAL, METHOD_POST_MESSAGE, METHOD_UPDATE


@dataclass(frozen=True)
class Rate:
    """`burst` calls at once, then `per_second` on average."""

    per_second: float
    burst: int


@dataclass(frozen=True)
class RateLimits:
    """The limits per method; chat.postMessage's is per channel, the others per workspace."""

    post_message_per_channel: Rate = Rate(per_second=1.0, burst=3)
    update: Rate = Rate(per_second=50 / 60, burst=50)  # Tier 3
    post_ephemeral: Rate = Rate(per_second=100 / 60, burst=100)  # Tier 4


SLACK_RATE_LIMITS = RateLimits()


@dataclass
class _Bucket:
    rate: Rate
    tokens: float
    at: float

    def take(self, now: float) -> float | None:
        """Spend one call; None when allowed, else the seconds until one would be."""
        self.tokens = min(float(self.rate.burst), self.tokens + (now - self.at) * self.rate.per_second)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate.per_second


@dataclass
class RateLimiter:
    """Counts calls per method (and channel for chat.postMessage); `limits` None lets every call through."""

    limits: RateLimits | None = None
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)

    def retry_after(self, method: str, channel_id: str, now: float) -> int | None:
        """Count one call; None when it is within the limit, else the whole seconds of `Retry-After`."""
        if self.limits is None:
            return None
        rates = {
            METHOD_POST_MESSAGE: (self.limits.post_message_per_channel, channel_id),
            METHOD_UPDATE: (self.limits.update, ""),
            METHOD_POST_EPHEMERAL: (self.limits.post_ephemeral, ""),
        }
        if method not in rates:
            return None
        rate, scope = rates[method]
        bucket = self._buckets.setdefault((method, scope), _Bucket(rate, float(rate.burst), now))
        wait = bucket.take(now)
        return None if wait is None else max(1, math.ceil(wait))

    def reset(self) -> None:
        self._buckets.clear()
