"""Function Compute 3.0 EventBridge trigger entry point: `functions.events.handler`.

EventBridge invokes it with ActionTrail's API-call events for ECS's task calls, as bytes of JSON: one
CloudEvent, or a batch (a JSON array). Each is read and checked (`shared.updates.api_calls`) and handed to
the announcer (`shared.updates.announcer`), built once per instance by `bot.wiring.build`. It has a function
of its own (not the Slack function's handler, whose every request is Slack's and verified as such; not the
poller's, whose timer event must not wait behind a batch): the poller's role, settings and store.

An event is a hint: one that cannot be read is logged and skipped, never retried (a retry would read the
same bytes). One JSON log line per event.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from shared.errors import ConfigurationError, CredentialsNotFoundError
from shared.log import log_context, log_event

if TYPE_CHECKING:
    from shared.updates.announcer import EventAnnouncer

# Each event's work (a look-up and its posts) keeps within this; the function's timeout is well above it.
EVENT_BUDGET_S = 20.0
FAILURES = (SQLAlchemyError, ConfigurationError, CredentialsNotFoundError)

_announcer: EventAnnouncer | None = None
_lock = threading.Lock()


def get_announcer() -> EventAnnouncer:
    global _announcer
    with _lock:
        if _announcer is None:
            from bot.wiring.build import load_event_announcer

            _announcer = load_event_announcer()
        return _announcer


def reset_announcer() -> None:
    """Forget the instance's announcer (tests change the environment between cases)."""
    global _announcer
    with _lock:
        _announcer = None


def handler(event: bytes | str | dict[str, Any] | list[Any], context: Any) -> dict[str, Any]:
    from shared.ecs.retry import Deadline
    from shared.updates.api_calls import Unreadable, parse_api_call, read_batch

    with log_context(request_id=getattr(context, "request_id", None)):
        try:
            batch = read_batch(event)
        except Unreadable as bad:
            log_event("event.unreadable", level=logging.WARNING, outcome=str(bad))
            return {"ok": False, "error": str(bad)}
        outcomes: dict[str, int] = {}
        for item in batch:
            started = time.monotonic()
            try:
                call = parse_api_call(item)
            except Unreadable as bad:
                log_event("event.unreadable", level=logging.WARNING, outcome=str(bad))
                outcomes["unreadable"] = outcomes.get("unreadable", 0) + 1
                continue
            try:
                handled = get_announcer().handle(call, Deadline.after(EVENT_BUDGET_S, time.monotonic))
            except FAILURES as error:
                # The type only: a database error's text can quote the URL's host and password.
                log_event("event.failed", level=logging.ERROR, outcome=type(error).__name__)
                return {"ok": False, "error": type(error).__name__}
            outcomes[handled.outcome] = outcomes.get(handled.outcome, 0) + 1
            log_event(
                "event.done",
                outcome=handled.outcome,
                posted=handled.posted,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
        return {"ok": True, **outcomes}
