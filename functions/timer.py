"""Function Compute 3.0 timer trigger entry point: `functions.timer.handler`, one poller tick a minute.

The event arrives as bytes of JSON, `{"triggerTime", "triggerName", "payload"}`. A tick keeps within a
budget below the function's timeout, so it ends on its own (releasing what it holds) instead of being
killed; a retried or overlapping invocation is harmless (see `shared.updates.outbox`). The poller is
built once per instance by `bot.wiring.build` and reused while the instance is warm. One JSON log line per tick.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from shared.errors import ConfigurationError, CredentialsNotFoundError
from shared.log import log_context, log_event
from shared.updates.poller import Poller, log_tick

# What stops a whole tick (the next one, a minute later, tries again); per-region ECS errors never do.
TICK_FAILURES = (SQLAlchemyError, ConfigurationError, CredentialsNotFoundError)

DEFAULT_TIMEOUT_S = 60.0
# Left for the end of the tick (releasing leases, the log line) and the runtime itself.
SAFETY_MARGIN_S = 10.0
MAX_BUDGET_S = 240.0
MIN_BUDGET_S = 5.0

_poller: Poller | None = None
_lock = threading.Lock()


def tick_budget(function_timeout_s: float | None) -> float:
    """Seconds one tick may spend: the function's timeout minus a margin, within sane bounds."""
    timeout = function_timeout_s if function_timeout_s and function_timeout_s > 0 else DEFAULT_TIMEOUT_S
    return max(MIN_BUDGET_S, min(MAX_BUDGET_S, timeout - SAFETY_MARGIN_S))


def parse_timer_event(event: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The timer event's fields; anything unreadable becomes an empty event (the tick runs anyway)."""
    if isinstance(event, dict):
        return event
    try:
        parsed = json.loads(event or b"{}")
    except (ValueError, UnicodeDecodeError):
        log_event("timer.bad_event", level=logging.WARNING)
        return {}
    return parsed if isinstance(parsed, dict) else {}


def get_poller() -> Poller:
    global _poller
    with _lock:
        if _poller is None:
            from bot.wiring.build import load_poller

            _poller = load_poller()
        return _poller


def reset_poller() -> None:
    """Forget the instance's poller (tests change the environment between cases)."""
    global _poller
    with _lock:
        _poller = None


def handler(event: bytes | str | dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.monotonic()
    fields = parse_timer_event(event)
    function = getattr(context, "function", None)
    budget = tick_budget(getattr(function, "timeout", None))
    with log_context(request_id=getattr(context, "request_id", None), trigger=fields.get("triggerName")):
        try:
            report = get_poller().tick(budget)
        except TICK_FAILURES as error:
            # The type only: a database error's text can quote the URL's host and password.
            log_event("poller.failed", level=logging.ERROR, outcome=type(error).__name__)
            return {"ok": False, "error": type(error).__name__}
        log_tick(
            report,
            trigger_time=fields.get("triggerTime"),
            budget_s=budget,
            handler_ms=round((time.monotonic() - started) * 1000, 1),
        )
    return {"ok": True, **report.as_fields()}
