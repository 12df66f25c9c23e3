"""The deferred path: work that did not fit the inline budget runs again, later, with the full ECS deadline.

A deferral sends the *same request* through the same Bolt app again, its `Arrival` in the request's context
(`BoltRequest(..., context=...)`) carrying the `DeferredRun`: the same listener sees it and does the work,
answering through the response_url. Where it runs is the platform's choice: an async InvokeFunction on
Function Compute 3.0 (`FunctionComputeDeferral`, its payload a sealed `DeferredInvocation`: the seal, not
Slack's five-minute signature, says whether it may run, `bot.slack.answering.seal`), a thread elsewhere
(`ThreadDeferral`, at once, with Slack's signature verified again).
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from bot.usecases.work import DeferredRun
from shared.errors import FcApiError
from shared.log import log_event

if TYPE_CHECKING:
    from slack_bolt import BoltRequest, BoltResponse

    from bot.slack.answering.seal import Sealer  # sealing loads where a deferral seals or opens
    from bot.slack.checked import Checked
    from shared.ecs.invoke import AsyncInvoker  # Function Compute only (and `requests` with it)

# The one key of ours in a request's context: its Arrival.
_ARRIVAL_KEY = "ecs_tasks_arrival"


class Verdict(Enum):
    """What a deferred invocation's seal says (`DeferredInvocation.verdict`)."""

    SEALED = "sealed"  # made by this function, within the response_url's life: run it
    EXPIRED = "expired"  # made by this function, but its response_url is gone: drop it
    FORGED = "forged"  # not made by this function (or altered): refuse it


@dataclass(frozen=True)
class DeferredInvocation:
    """The payload of an async InvokeFunction: the original FC 3.0 HTTP event, the deferred run, when it was
    issued (Unix seconds) and its seal (`bot.slack.answering.seal`) over all three."""

    event: Mapping[str, Any]
    run: DeferredRun
    issued_at: int = 0
    seal: str = ""

    _EVENT = "ecs_tasks_deferred_event"
    _RUN = "ecs_tasks_deferred_run"
    _ISSUED_AT = "ecs_tasks_deferred_issued_at"
    _SEAL = "ecs_tasks_deferred_seal"

    @classmethod
    def sealed(
        cls, event: Mapping[str, Any], run: DeferredRun, *, sealer: Sealer, issued_at: int
    ) -> DeferredInvocation:
        unsealed = cls(event, run, issued_at)
        return dataclasses.replace(unsealed, seal=sealer.seal(unsealed._content(), issued_at))

    def verdict(self, sealer: Sealer, *, now: float) -> Verdict:
        if not self.seal or not sealer.holds(self._content(), self.issued_at, self.seal):
            return Verdict.FORGED
        age = now - self.issued_at
        from bot.slack.answering.seal import CLOCK_SKEW_S, SEAL_LIFETIME_S

        return Verdict.SEALED if -CLOCK_SKEW_S <= age <= SEAL_LIFETIME_S else Verdict.EXPIRED

    def _content(self) -> dict[str, Any]:
        return {self._EVENT: dict(self.event), self._RUN: self.run.to_dict()}

    def to_dict(self) -> dict[str, Any]:
        return {**self._content(), self._ISSUED_AT: self.issued_at, self._SEAL: self.seal}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeferredInvocation | None:
        """The invocation a payload carries (its seal unchecked: `verdict`); None for any other event (Slack's
        own request)."""
        event = payload.get(cls._EVENT)
        if not isinstance(event, dict):
            return None
        issued_at, seal = payload.get(cls._ISSUED_AT), payload.get(cls._SEAL)
        return cls(
            event,
            DeferredRun.from_dict(payload.get(cls._RUN)),
            issued_at if isinstance(issued_at, int) and not isinstance(issued_at, bool) else 0,
            seal if isinstance(seal, str) else "",
        )


@dataclass(frozen=True)
class Arrival:
    """How a request reached the app, in its context: when its invocation started (monotonic; the inline
    budget counts from it; None: from when the listener runs), the deferred run it is (None: Slack's request
    itself), the FC 3.0 event it came in (what an async invocation sends again), the head start's reading
    of it (None: the listener reads it), and what names a deferred run the same on every delivery (its
    invocation's seal; None: the request's Slack signature, which a sealed invocation's fresh signature is not)."""

    started: float | None
    deferred: DeferredRun | None = None
    event: Mapping[str, Any] | None = None
    checked: Checked | None = None
    delivery_key: str | None = None

    def as_context(self) -> dict[str, Any]:
        return {_ARRIVAL_KEY: self}

    @classmethod
    def of(cls, context: Mapping[str, Any]) -> Arrival | None:
        arrival = context.get(_ARRIVAL_KEY)
        return arrival if isinstance(arrival, Arrival) else None


@dataclass(frozen=True)
class RawRequest:
    """The signed request as it arrived, enough to dispatch it again."""

    body: str
    headers: Mapping[str, str | Sequence[str]]
    query: Mapping[str, str | Sequence[str]]

    @classmethod
    def of(cls, request: BoltRequest) -> RawRequest:
        return cls(request.raw_body, dict(request.headers), dict(request.query))

    def redispatch(self, arrival: Arrival) -> BoltRequest:
        from slack_bolt import BoltRequest  # a cold instance verifies and starts its ECS call before Bolt loads

        return BoltRequest(
            body=self.body, headers=dict(self.headers), query=dict(self.query), context=arrival.as_context()
        )


class Deferral(Protocol):
    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        """Queue `request` to run again as `run`; False (logged) if it could not be queued."""


class ThreadDeferral:
    """Elsewhere than Function Compute: the deferred run is a thread of this process, through the same app."""

    def __init__(self, executor: Executor | None = None) -> None:
        # Public so a harness can track the work (bench/): any Executor will do.
        self.executor = executor or ThreadPoolExecutor(max_workers=8, thread_name_prefix="ecs-tasks-deferred")
        self._dispatch: Callable[[BoltRequest], BoltResponse] | None = None

    def bind(self, dispatch: Callable[[BoltRequest], BoltResponse]) -> None:
        self._dispatch = dispatch

    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        if self._dispatch is None:
            log_event("deferred.queue", level=logging.ERROR, outcome="not_bound", via="thread")
            return False
        arrival = Arrival(started=None, deferred=run)
        self.executor.submit(contextvars.copy_context().run, self._dispatch, RawRequest.of(request).redispatch(arrival))
        log_event("deferred.queue", outcome="queued", via="thread")
        return True

    def shutdown(self) -> None:
        """Finish deferred work in flight (tests, and the end of a local server)."""
        self.executor.shutdown(wait=True)


class FunctionComputeDeferral:
    """On Function Compute 3.0: an async InvokeFunction of this very function, carrying the original event,
    sealed by `sealer` at the time `now` gives (Unix seconds)."""

    def __init__(self, invoker: AsyncInvoker, *, sealer: Sealer, now: Callable[[], float] = time.time) -> None:
        self._invoker = invoker
        self._sealer = sealer
        self._now = now

    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        arrival = Arrival.of(request.context)
        event = arrival.event if arrival is not None else None
        if event is None:
            log_event("deferred.queue", level=logging.ERROR, outcome="no_event", via="InvokeFunction")
            return False
        try:
            invocation = DeferredInvocation.sealed(event, run, sealer=self._sealer, issued_at=int(self._now()))
            fc_request_id = self._invoker.invoke_async(invocation.to_dict())
        except FcApiError as error:
            log_event("deferred.queue", level=logging.ERROR, outcome=error.code, via="InvokeFunction")
            return False
        log_event("deferred.queue", outcome="queued", via="InvokeFunction", fc_request_id=fc_request_id)
        return True
