"""Function Compute 2.0 HTTP trigger entry point (WSGI): `functions.wsgi.handler(environ, start_response)`.

FC 2.0 has no async re-invocation of the kind FC 3.0 offers here, so lazy work runs on threads; the
instance stays alive while a thread runs only as long as the platform allows, so prefer FC 3.0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from shared.log import log_context

_handler: SlackRequestHandler | None = None
_lock = threading.Lock()


def _get_handler() -> SlackRequestHandler:
    global _handler
    with _lock:
        if _handler is None:
            from functions.http import get_app

            _handler = SlackRequestHandler(get_app())
        return _handler


def handler(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    context = environ.get("fc.context")
    with log_context(request_id=getattr(context, "request_id", None)):
        return _get_handler()(environ, start_response)
