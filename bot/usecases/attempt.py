"""One budgeted attempt at a Slack request's work, inside the request itself.

The work runs on a worker thread and computes what to send; the listener's thread waits for it until the
budget ends and only then sends. An attempt the listener gave up on is *abandoned*: on Function Compute its
thread may resume whenever the frozen instance thaws, so every side effect it could still cause (an ECS call
that changes something; the work's Slack posts are sent by the listener, never by the work) asks
`attempt.begin_side_effect()` first, which refuses once the attempt is abandoned. The first side effect
*commits* the attempt instead: from then on it is never abandoned (it is finished, not done twice).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TypeVar

_T = TypeVar("_T")

# After the budget, ECS calls of an inline attempt may run this much longer: the listener gives up first,
# so a result that arrives just too late is not taken for an ECS timeout.
GRACE_S = 0.25


class Abandoned(Exception):
    """Raised inside abandoned work at its next side effect: the deferred path answers instead."""


class OutOfBudget(Exception):
    """Raised by work that cannot finish inside the budget (e.g. an ECS call timed out inline)."""


@dataclass
class Attempt:
    """One try at the work. `inline` attempts end at `ends_at` (monotonic); deferred ones have `ecs_deadline_s`."""

    inline: bool
    ends_at: float
    monotonic: Callable[[], float]
    ecs_deadline_s: float
    # Set by work that may have reached ECS with a call that changes something (CancelTask).
    may_have_acted: bool = False
    _abandoned: bool = False
    _committed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def deferred(cls, *, ecs_deadline_s: float, monotonic: Callable[[], float]) -> Attempt:
        return cls(False, monotonic() + ecs_deadline_s, monotonic, ecs_deadline_s)

    @property
    def abandoned(self) -> bool:
        return self._abandoned

    def remaining(self) -> float:
        return max(0.0, self.ends_at - self.monotonic())

    def read_deadline_s(self) -> float:
        """Seconds an ECS read may take: up to the budget (and a little grace) inline, the full deadline else."""
        return self.remaining() + GRACE_S if self.inline else self.ecs_deadline_s

    def act_deadline_s(self) -> float:
        """Seconds a changing ECS call may take: it must end inside the budget when inline."""
        return self.remaining() if self.inline else self.ecs_deadline_s

    def begin_side_effect(self) -> None:
        """Call before every side effect: raises Abandoned once the listener has given up on this attempt."""
        with self._lock:
            if self._abandoned:
                raise Abandoned
            self._committed = True

    def abandon(self) -> bool:
        """The listener gives up; False when a side effect already committed the attempt (it must finish)."""
        with self._lock:
            if self._committed:
                return False
            self._abandoned = True
            return True


def run_inline(attempt: Attempt, work: Callable[[Attempt], _T]) -> _T | None:
    """Run `work` on a worker thread until the attempt's budget ends: its result, or None when the work
    must be deferred."""
    future: Future[_T] = Future()
    context = contextvars.copy_context()  # the worker logs with the request's ids

    def run() -> None:
        try:
            future.set_result(context.run(work, attempt))
        except BaseException as error:  # noqa: BLE001 - handed to the listener's thread, which re-raises it
            future.set_exception(error)

    threading.Thread(target=run, name="ecs-tasks-inline", daemon=True).start()
    try:
        return future.result(timeout=attempt.remaining())
    except (FutureTimeout, OutOfBudget):
        if attempt.abandon():
            return None
    # Committed: a side effect is under way, so this attempt finishes what it started.
    try:
        return future.result()
    except OutOfBudget:
        return None
