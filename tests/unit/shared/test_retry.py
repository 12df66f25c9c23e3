"""The one retry loop (shared.ecs.retry.Retrying.call) on an injected clock: what it tries again, how long it
waits, and what it leaves alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.ecs.retry import Deadline, Retrying, RetryPolicy, Timeout
from shared.errors import CODE_CONNECT_FAILED, CODE_DEADLINE, CODE_TIMEOUT, ApiError, EcsApiError, StsApiError


class FakeTime:
    """A monotonic clock that only the injected sleep moves."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def retrying(time: FakeTime, timeout: Timeout = (3.0, 10.0)) -> Retrying:
    return Retrying(
        RetryPolicy(max_attempts=4, base_delay_s=0.2, max_delay_s=5.0), timeout, time.sleep, lambda: 0.5, time.monotonic
    )


def failing(*errors: ApiError) -> tuple[list[Timeout], Callable[[Timeout], str]]:
    """An attempt that raises `errors` in turn, then answers "ok"; it records the timeouts it was given."""
    timeouts: list[Timeout] = []
    queue = list(errors)

    def attempt(timeout: Timeout) -> str:
        timeouts.append(timeout)
        if queue:
            raise queue.pop(0)
        return "ok"

    return timeouts, attempt


def test_a_read_is_retried_with_backoff_and_every_attempt_is_observed() -> None:
    time = FakeTime()
    timeouts, attempt = failing(EcsApiError("Throttling.User", "slow down"), EcsApiError(CODE_TIMEOUT, "no answer"))
    seen: list[tuple[object, str | None]] = []
    result = retrying(time).call(
        attempt,
        deadline=Deadline.after(20, time.monotonic),
        changes_something=False,
        errors=EcsApiError,
        what="the call",
        observe=lambda result, error, seconds: seen.append((result, error.code if error else None)),
    )
    assert result == "ok" and time.sleeps == [0.1, 0.2]
    assert seen == [(None, "Throttling.User"), (None, CODE_TIMEOUT), ("ok", None)]
    assert timeouts == [(3.0, 10.0)] * 3


@pytest.mark.parametrize(("code", "attempts"), [(CODE_TIMEOUT, 1), ("InternalError", 1), (CODE_CONNECT_FAILED, 4)])
def test_a_call_that_changes_something_is_retried_only_when_refused_before_acting(code: str, attempts: int) -> None:
    time = FakeTime()
    timeouts, attempt = failing(*(EcsApiError(code, "x") for _ in range(10)))
    with pytest.raises(EcsApiError):
        retrying(time).call(
            attempt,
            deadline=Deadline.after(20, time.monotonic),
            changes_something=True,
            errors=EcsApiError,
            what="CancelTask",
        )
    assert len(timeouts) == attempts


def test_the_wait_asked_for_is_honoured_and_never_runs_past_the_deadline() -> None:
    time = FakeTime()
    _, attempt = failing(
        EcsApiError("Throttling", "x", retry_after_s=1.5), EcsApiError("Throttling", "x", retry_after_s=9)
    )
    with pytest.raises(EcsApiError) as raised:
        retrying(time).call(
            attempt,
            deadline=Deadline.after(5, time.monotonic),
            changes_something=False,
            errors=EcsApiError,
            what="the call",
        )
    # The first wait is what ECS asked (above the backoff); the second would end past the deadline: given up
    assert time.sleeps == [1.5] and raised.value.retry_after_s == 9


def test_attempts_are_cut_to_the_time_left_and_none_starts_after_the_deadline() -> None:
    time = FakeTime()
    timeouts, attempt = failing()
    retrying(time).call(
        attempt,
        deadline=Deadline.after(2, time.monotonic),
        changes_something=False,
        errors=EcsApiError,
        what="the call",
    )
    assert timeouts == [(2.0, 2.0)]
    seen: list[str] = []
    with pytest.raises(StsApiError) as raised:
        retrying(time, timeout=4.0).call(
            attempt,
            deadline=Deadline(time.now, time.monotonic),
            changes_something=False,
            errors=StsApiError,
            what="AssumeRole",
            observe=lambda result, error, seconds: seen.append(error.code if error else "ok"),
        )
    assert (
        raised.value.code == CODE_DEADLINE
        and raised.value.message == "the deadline passed before AssumeRole could be made"
    )
    assert seen == [CODE_DEADLINE]


def test_errors_of_another_api_pass_through_untried() -> None:
    # Given an ECS attempt whose credentials provider failed with STS's error (STS retried it already)
    time = FakeTime()
    timeouts, attempt = failing(StsApiError("Throttling.User", "x"))
    seen: list[object] = []
    with pytest.raises(StsApiError):
        retrying(time).call(
            attempt,
            deadline=Deadline.after(20, time.monotonic),
            changes_something=False,
            errors=EcsApiError,
            what="the call",
            observe=lambda result, error, seconds: seen.append(error),
        )
    # Then it is neither retried nor reported as an ECS attempt
    assert len(timeouts) == 1 and time.sleeps == [] and seen == []
