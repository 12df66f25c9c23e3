"""Failures injected on demand: a method's documented errors, HTTP 5xx outages, a token refused for a while.

Faults queue per method and are spent one call at a time, in the order they were added; a fault added with
`times=None` answers every call until `clear()`. A refused token answers every Web API call (response_url
needs no token) until the emulator's clock reaches `until`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal, get_args

from emulators.slack.answers import SlackApiFailure

TokenError = Literal["token_revoked", "invalid_auth", "account_inactive", "not_authed", "missing_scope"]
TOKEN_ERRORS: frozenset[str] = frozenset(get_args(TokenError))


@dataclass(frozen=True)
class Fault:
    """One answer to give instead of doing the call.

    `status` 200 is Slack's usual `ok: false`; 429 adds `Retry-After: retry_after_s`; 5xx answers `text`
    (an outage's page, not Slack JSON).
    """

    error: str
    status: int = 200
    retry_after_s: int | None = None
    text: str | None = None

    def failure(self) -> SlackApiFailure:
        headers = {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else None
        return SlackApiFailure(self.error, status=self.status, headers=headers, text=self.text)


@dataclass
class _Queued:
    fault: Fault
    remaining: int | None  # None: until cleared


@dataclass(frozen=True)
class TokenRefusal:
    error: TokenError
    until: float | None  # None: until cleared


@dataclass
class FaultPlan:
    """The faults still to answer; the caller holds the workspace lock."""

    _queues: dict[str, deque[_Queued]] = field(default_factory=dict)
    token_refusal: TokenRefusal | None = None

    def add(self, method: str, fault: Fault, times: int | None) -> None:
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1 (or None for every call), not {times}")
        self._queues.setdefault(method, deque()).append(_Queued(fault, times))

    def take(self, method: str) -> Fault | None:
        """The fault this call of `method` answers, if any; spends one of its `times`."""
        queue = self._queues.get(method)
        if not queue:
            return None
        queued = queue[0]
        if queued.remaining is not None:
            queued.remaining -= 1
            if queued.remaining == 0:
                queue.popleft()
        return queued.fault

    def refused_token(self, now: float) -> TokenError | None:
        refusal = self.token_refusal
        if refusal is None:
            return None
        if refusal.until is not None and now >= refusal.until:
            self.token_refusal = None
            return None
        return refusal.error

    def clear(self) -> None:
        self._queues.clear()
        self.token_refusal = None
