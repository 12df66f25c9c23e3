"""Where Bolt's lazy listeners run: a re-invocation of this function on Function Compute, a thread elsewhere."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltRequest
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_sdk.webhook import WebhookClient

from functions.fc_event import LAZY_FUNCTION_HEADER, LAZY_ONLY_HEADER
from shared.errors import FcApiError
from shared.log import log_event

if TYPE_CHECKING:
    # Only Function Compute needs the invoker (and `requests` with it): off the cold path elsewhere.
    from functions.fc_invoke import AsyncInvoker

# The key under which an async invocation's payload carries the original HTTP event.
LAZY_EVENT_KEY = "ecs_tasks_lazy"
FC_EVENT_CONTEXT_KEY = "fc_event"
COULD_NOT_START = (  # shown to the user
    ":warning: ecs-tasks could not start working on this (the function could not be invoked). "
    "Please try again in a moment."
)


class ContextThreadLazyRunner(LazyListenerRunner):
    """Runs lazy work on a thread pool, keeping the log context (request and Slack ids) of the request."""

    def __init__(self, logger: logging.Logger, executor: Executor) -> None:
        self.logger = logger
        self.executor = executor

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        runnable = build_runnable_function(func=function, logger=self.logger, request=request)
        self.executor.submit(contextvars.copy_context().run, runnable)


class FunctionComputeLazyRunner(LazyListenerRunner):
    """Re-invokes this same function asynchronously with the original event plus Bolt's lazy-only headers."""

    def __init__(self, logger: logging.Logger, invoker: AsyncInvoker) -> None:
        self.logger = logger
        self.invoker = invoker

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        event: dict[str, Any] = dict(request.context[FC_EVENT_CONTEXT_KEY])
        event["headers"] = {
            **(event.get("headers") or {}),
            LAZY_ONLY_HEADER: "1",
            LAZY_FUNCTION_HEADER: request.lazy_function_name or "",
        }
        try:
            fc_request_id = self.invoker.invoke_async({LAZY_EVENT_KEY: event})
        except FcApiError as error:
            log_event("lazy.invoke", level=logging.ERROR, outcome=error.code, lazy=request.lazy_function_name)
            _tell_user(request)
            return
        log_event("lazy.invoke", outcome="queued", lazy=request.lazy_function_name, fc_request_id=fc_request_id)


def _tell_user(request: BoltRequest) -> None:
    """Never silence: if the work cannot be queued, say so through the response_url."""
    response_url = request.context.response_url
    if not response_url:
        return
    try:
        # A short timeout: this runs on the ack path.
        WebhookClient(url=response_url, timeout=1).send(text=COULD_NOT_START, response_type="ephemeral")
    except OSError as error:  # URLError and timeouts: the ack must still go back to Slack
        log_event("lazy.tell_user", level=logging.ERROR, outcome=type(error).__name__)
