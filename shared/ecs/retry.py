"""The one retry rule for every Alibaba Cloud call (ECS, STS, FC InvokeFunction), its backoff schedule and
deadlines. Time and randomness are injected by the caller."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.errors import CODE_DEADLINE, ApiError

# connect and read seconds, or one figure for both (as `requests` takes it).
Timeout = float | tuple[float, float]
ResultT = TypeVar("ResultT")


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


@dataclass(frozen=True)
class Retrying:
    """How calls are retried: the policy, the timeout of one attempt, and the injected sleep, randomness and
    monotonic clock. `call` is the one retry loop of every Alibaba Cloud call."""

    policy: RetryPolicy
    timeout: Timeout
    sleep: Callable[[float], None]
    rand: Callable[[], float]
    monotonic: Callable[[], float]

    def call(
        self,
        attempt: Callable[[Timeout], ResultT],
        *,
        deadline: Deadline,
        changes_something: bool,
        errors: type[ApiError],
        what: str,
        observe: Callable[[ResultT | None, ApiError | None, float], None] | None = None,
    ) -> ResultT:
        """`attempt(timeout)` until it returns, or raises an error not worth another attempt.

        Only the API's own `errors` are retried; any other (an StsApiError of a credentials provider, which
        retried on its own) passes through at once. `observe` hears of every attempt that raised one of
        them or returned (its result or its error, and its seconds): for structured logs.

        A call that changes something (CancelTask, InvokeFunction) may have acted when it timed out or its
        connection broke, so it is tried again only when the service provably refused it before acting; a
        read is tried again on any retryable error. Waits back off with jitter, are at least what the
        service asked (`retry_after_s`), and never run past `deadline`: the caller gets the real error in
        time. When no time is left for an attempt, the error is an `errors` saying so about `what`."""
        number = 0
        while True:
            number += 1
            started = self.monotonic()
            try:
                result = attempt(self._attempt_timeout(deadline, errors, what))
            except errors as error:
                if observe is not None:
                    observe(None, error, self.monotonic() - started)
                wait = self._wait_before_retry(error, number, deadline, changes_something)
                if wait is None:
                    raise
                self.sleep(wait)
                continue
            if observe is not None:
                observe(result, None, self.monotonic() - started)
            return result

    def _attempt_timeout(self, deadline: Deadline, errors: type[ApiError], what: str) -> Timeout:
        remaining = deadline.remaining()
        if remaining <= 0:
            raise errors(CODE_DEADLINE, f"the deadline passed before {what} could be made")
        if isinstance(self.timeout, tuple):
            connect, read = self.timeout
            return (min(connect, remaining), min(read, remaining))
        return min(self.timeout, remaining)

    def _wait_before_retry(
        self, error: ApiError, number: int, deadline: Deadline, changes_something: bool
    ) -> float | None:
        """Seconds to sleep before attempt `number + 1`, or None to give up with this error."""
        if number >= self.policy.max_attempts or not may_retry(error, changes_something):
            return None
        wait = self.policy.delay(number, self.rand())
        if error.retry_after_s is not None:
            wait = max(wait, error.retry_after_s)
        return None if wait >= deadline.remaining() else wait


def may_retry(error: ApiError, changes_something: bool) -> bool:
    return error.retryable and (not changes_something or error.rejected_before_acting)
