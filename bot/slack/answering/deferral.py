"""The deferred path: work that did not fit the inline budget runs again, later, with the full ECS deadline.

A deferral sends the *same signed request* through the same Bolt app again (so its signature is verified
again), with a marker in the request's context (`BoltRequest(..., context=...)`): the same listener sees the
marker and does the work, answering through the response_url. Where it runs is the platform's choice: an
async InvokeFunction on Function Compute (`functions.fc_deferral`), a thread elsewhere (`ThreadDeferral`).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from shared.log import log_event

if TYPE_CHECKING:
    from slack_bolt import BoltRequest, BoltResponse

# In a request's context: the marker of a deferred run (a DeferredRun.as_dict()).
DEFERRED_KEY = "ecs_tasks_deferred"
# In a request's context: the monotonic time its invocation started (the inline budget counts from it).
STARTED_KEY = "ecs_tasks_started"


@dataclass(frozen=True)
class DeferredRun:
    """What the inline attempt tells the deferred one: whether it may have reached ECS with a change."""

    may_have_acted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"may_have_acted": self.may_have_acted}

    @classmethod
    def of(cls, context: Mapping[str, Any]) -> DeferredRun | None:
        marker = context.get(DEFERRED_KEY)
        if not isinstance(marker, Mapping):
            return None
        return cls(may_have_acted=marker.get("may_have_acted") is True)


@dataclass(frozen=True)
class RawRequest:
    """The signed request as it arrived, enough to dispatch it again."""

    body: str
    headers: Mapping[str, str | Sequence[str]]
    query: Mapping[str, str | Sequence[str]]

    @classmethod
    def of(cls, request: BoltRequest) -> RawRequest:
        return cls(request.raw_body, dict(request.headers), dict(request.query))

    def redispatch(self, run: DeferredRun) -> BoltRequest:
        from slack_bolt import BoltRequest  # a cold instance verifies and starts its ECS call before Bolt loads

        return BoltRequest(
            body=self.body, headers=dict(self.headers), query=dict(self.query), context={DEFERRED_KEY: run.as_dict()}
        )


class Deferral(Protocol):
    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        """Queue `request` to run again with `run`; False (logged) if it could not be queued."""


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
        self.executor.submit(contextvars.copy_context().run, self._dispatch, RawRequest.of(request).redispatch(run))
        log_event("deferred.queue", outcome="queued", via="thread")
        return True

    def shutdown(self) -> None:
        """Finish deferred work in flight (tests, and the end of a local server)."""
        self.executor.shutdown(wait=True)
