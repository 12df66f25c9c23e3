"""Function Compute 3.0 HTTP trigger entry point: `functions.http.handler`.

The Bolt app is built once per instance (on the first invocation, or by the `initialize` hook) and reused
while the instance is warm. The same handler receives our own asynchronous re-invocations for lazy work.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App
from slack_bolt.request.internals import extract_channel_id, extract_team_id, extract_user_id

from functions.fc_event import BadEvent, http_method, plain_response, to_bolt_request, to_fc_response
from functions.lazy_runners import (
    FC_EVENT_CONTEXT_KEY,
    LAZY_EVENT_KEY,
    ContextThreadLazyRunner,
    FunctionComputeLazyRunner,
)
from shared.errors import ConfigurationError
from shared.log import configure_logging, log_context, log_event

_app: App | None = None
_lazy_pool: ThreadPoolExecutor | None = None
_app_lock = threading.Lock()


def build_platform_app(*, async_invocations: bool = True) -> App:
    """The app wired for where it runs: async re-invocation on Function Compute 3.0, threads elsewhere
    (and on FC 2.0's WSGI runtime, whose events are not FC 3.0 HTTP events)."""
    from bot.app import build_app
    from bot.compose import build_bot_deps
    from shared.config import load_settings
    from shared.ecs.credentials import DefaultCredentialsProvider

    settings = load_settings()
    configure_logging(logging.getLevelName(settings.log_level))
    app = build_app(build_bot_deps(settings))
    if settings.on_function_compute and async_invocations:
        from functions.fc_invoke import AsyncInvoker, fc_endpoint

        invoker = AsyncInvoker(
            DefaultCredentialsProvider(),
            endpoint=fc_endpoint(settings),
            function_name=settings.fc_function_name or "",
        )
        app.listener_runner.lazy_listener_runner = FunctionComputeLazyRunner(app.logger, invoker)
    else:
        global _lazy_pool
        _lazy_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ecs-tasks-lazy")
        app.listener_runner.lazy_listener_runner = ContextThreadLazyRunner(app.logger, _lazy_pool)
    return app


def get_app(*, async_invocations: bool = True) -> App:
    global _app
    with _app_lock:
        if _app is None:
            _app = build_platform_app(async_invocations=async_invocations)
        return _app


def reset_app() -> None:
    """Finish lazy work in flight, then forget the app (tests change the environment between cases)."""
    global _app, _lazy_pool
    with _app_lock:
        if _lazy_pool is not None:
            _lazy_pool.shutdown(wait=True)
        _app, _lazy_pool = None, None


def initialize(context: Any) -> None:
    """Function Compute initializer hook: build the app before the first request arrives."""
    get_app()


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "request_id", None)
    with log_context(request_id=request_id):
        try:
            return _handle(event)
        except ConfigurationError as error:
            # The message names the setting (never a value): the operator's first clue in the log.
            log_event("config.error", level=logging.ERROR, outcome=500, detail=str(error))
            return plain_response(500, "ecs-tasks is not configured correctly")
        except Exception as error:  # noqa: BLE001 - the platform boundary: logged, and no detail leaves
            # Function Compute would send an unhandled error's trace to the (anonymous) caller.
            log_event("http.error", level=logging.ERROR, outcome=500, exception=type(error).__name__)
            return plain_response(500, "internal error")


def _handle(event: bytes | str | dict[str, Any]) -> dict[str, Any]:
    try:
        parsed = _load(event)
    except BadEvent as bad:
        log_event("http.rejected", level=logging.WARNING, outcome=bad.status, reason=bad.reason)
        return plain_response(bad.status, bad.reason)
    lazy_event = parsed.get(LAZY_EVENT_KEY)
    if isinstance(lazy_event, dict):
        return _dispatch(lazy_event, allow_lazy=True)
    if http_method(parsed) != "POST":
        return plain_response(405, "ecs-tasks accepts Slack's POST requests only")
    return _dispatch(parsed, allow_lazy=False)


def _load(event: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(event, dict):
        return event
    try:
        parsed = json.loads(event)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(400, "the event is not JSON") from exc
    if not isinstance(parsed, dict):
        raise BadEvent(400, "the event is not a JSON object")
    return parsed


def _dispatch(event: dict[str, Any], *, allow_lazy: bool) -> dict[str, Any]:
    try:
        request = to_bolt_request(event, allow_lazy=allow_lazy)
    except BadEvent as bad:
        log_event("http.rejected", level=logging.WARNING, outcome=bad.status, reason=bad.reason)
        return plain_response(bad.status, bad.reason)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Bolt parses the body while building the request: a malformed payload is the sender's fault.
        log_event("http.rejected", level=logging.WARNING, outcome=400, reason=type(exc).__name__)
        return plain_response(400, "the request body could not be parsed")
    if not isinstance(request.body, dict):
        log_event("http.rejected", level=logging.WARNING, outcome=400, reason="body is not an object")
        return plain_response(400, "the request body has an unexpected shape")
    request.context[FC_EVENT_CONTEXT_KEY] = event
    body = request.body
    started = time.perf_counter()
    with log_context(**_slack_ids(body), lazy=request.lazy_function_name):
        response = get_app().dispatch(request)
        log_event(
            "slack.request",
            outcome=response.status,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            command=body.get("command"),
            action_id=_action_id(body),
        )
    return to_fc_response(response)


def _slack_ids(body: dict[str, Any]) -> dict[str, str | None]:
    """The ids for the log context; an unverified body may have any shape, so none of this may raise."""
    try:
        return {
            "team_id": extract_team_id(body),
            "channel_id": extract_channel_id(body),
            "user_id": extract_user_id(body),
        }
    except (AttributeError, KeyError, TypeError, IndexError):
        return {}


def _action_id(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        value = actions[0].get("action_id")
        return str(value) if value is not None else None
    return None
