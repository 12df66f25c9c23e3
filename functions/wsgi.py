"""Function Compute 2.0 HTTP trigger entry point (WSGI): `functions.wsgi.handler(environ, start_response)`.

Lazy work runs on threads here, even on Function Compute (the async re-invocation carries FC 3.0 HTTP
events); an instance keeps running a thread only as long as the platform allows, so prefer FC 3.0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from functions.http import get_app
from shared.log import log_context


def handler(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    context = environ.get("fc.context")
    with log_context(request_id=getattr(context, "request_id", None)):
        # The adapter only wraps the app, which is built once per instance by get_app().
        return SlackRequestHandler(get_app(async_invocations=False))(environ, start_response)
