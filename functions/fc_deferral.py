"""The deferred path on Function Compute 3.0: an async InvokeFunction of this very function, carrying the
original HTTP event (so the deferred run verifies Slack's signature again) and the deferred-run marker."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.slack.answering.deferral import DeferredRun
from shared.errors import FcApiError
from shared.log import log_event

if TYPE_CHECKING:
    from slack_bolt import BoltRequest

    # Only Function Compute needs the invoker (and `requests` with it): off the cold path elsewhere.
    from functions.fc_invoke import AsyncInvoker

# In an async invocation's payload: the original HTTP event, and the marker of the deferred run.
DEFERRED_EVENT_KEY = "ecs_tasks_deferred_event"
DEFERRED_RUN_KEY = "ecs_tasks_deferred_run"
# In a request's context: the FC 3.0 HTTP event it came from.
FC_EVENT_CONTEXT_KEY = "fc_event"


class FunctionComputeDeferral:
    def __init__(self, invoker: AsyncInvoker) -> None:
        self._invoker = invoker

    def defer(self, request: BoltRequest, run: DeferredRun) -> bool:
        event = request.context.get(FC_EVENT_CONTEXT_KEY)
        if not isinstance(event, dict):
            log_event("deferred.queue", level=logging.ERROR, outcome="no_event", via="InvokeFunction")
            return False
        payload: dict[str, Any] = {DEFERRED_EVENT_KEY: event, DEFERRED_RUN_KEY: run.as_dict()}
        try:
            fc_request_id = self._invoker.invoke_async(payload)
        except FcApiError as error:
            log_event("deferred.queue", level=logging.ERROR, outcome=error.code, via="InvokeFunction")
            return False
        log_event("deferred.queue", outcome="queued", via="InvokeFunction", fc_request_id=fc_request_id)
        return True
