"""The deferred path: work that did not fit the inline budget runs again, later, with the full ECS deadline.

A deferral sends the *same signed request* through the same Bolt app again (so its signature is verified
again), its `Arrival` in the request's context (`BoltRequest(..., context=...)`) carrying the `DeferredRun`:
the same listener sees it and does the work, answering through the response_url. Where it runs is the
platform's choice: an async InvokeFunction on Function Compute 3.0 (`FunctionComputeDeferral`, its payload a
`DeferredInvocation`), a thread elsewhere (`ThreadDeferral`).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.usecases.work import DeferredRun
from shared.errors import FcApiError
from shared.log import log_event

if TYPE_CHECKING:
    from slack_bolt import BoltRequest, BoltResponse

    from bot.slack.checked import Checked
    from shared.ecs.invoke import AsyncInvoker  # Function Compute only (and `requests` with it)

# The one key of ours in a request's context: its Arrival.
_ARRIVAL_KEY = "ecs_tasks_arrival"


@dataclass(frozen=True)
class DeferredInvocation:
    """The payload of an async InvokeFunction: the original FC 3.0 HTTP event (so the deferred run verifies
    Slack's signature again) and the deferred run."""

    event: Mapping[str, Any]
    run: DeferredRun

    _EVENT = "ecs_tasks_deferred_event"
    _RUN = "ecs_tasks_deferred_run"

    def to_dict(self) -> dict[str, Any]:
        return {self._EVENT: dict(self.event), self._RUN: self.run.to_dict()}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> DeferredInvocation | None:
        """The invocation a payload carries; None for any other event (Slack's own request)."""
        event = payload.get(cls._EVENT)
        if not isinstance(event, dict):
            return None
        return cls(event, DeferredRun.from_dict(payload.get(cls._RUN)))


@dataclass(frozen=True)
class Arrival:
    """How a request reached the app, in its context: when its invocation started (monotonic; the inline
    budget counts from it; None: from when the listener runs), the deferred run it is (None: Slack's request
    itself), the FC 3.0 event it came in (what an async invocation sends again), and the head start's reading
    of it (None: the listener reads it)."""

    started: float | None
    deferred: DeferredRun | None = None
    event: Mapping[str, Any] | None = None
    checked: Checked | None = None

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
    """On Function Compute 3.0: an async InvokeFunction of this very function, carrying the original event."""

    def __init__(self, invoker: AsyncInvoker) -> None:
        self._invoker = invoker

    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        arrival = Arrival.of(request.context)
        event = arrival.event if arrival is not None else None
        if event is None:
            log_event("deferred.queue", level=logging.ERROR, outcome="no_event", via="InvokeFunction")
            return False
        try:
            fc_request_id = self._invoker.invoke_async(DeferredInvocation(event, run).to_dict())
        except FcApiError as error:
            log_event("deferred.queue", level=logging.ERROR, outcome=error.code, via="InvokeFunction")
            return False
        log_event("deferred.queue", outcome="queued", via="InvokeFunction", fc_request_id=fc_request_id)
        return True
