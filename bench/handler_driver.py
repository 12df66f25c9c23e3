"""Drives the FC HTTP handler in this process with signed Slack events, as Function Compute would call it.

Each request gets a fresh response_url from the Slack emulator; its card must come back in the acknowledgement
(a slash command answered inline) or reach that URL (checked by `unanswered`). Only the handler call itself is
timed: building the event is the platform's work.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from typing import Any

from bench.deferred_tracking import TrackingExecutor, track_deferred_work
from bench.env import CLEARED_VARIABLES, COMMAND_TEXT, handler_env
from bench.procs import RESPONSE_URL_METHOD, EmulatorUrls, new_response_url, slack_calls, url_id
from bench.slack_events import button_click_event, find_button, new_sender, slash_command_event
from shared.cards.task_cards import ACTION_REFRESH

HTTP_OK = 200


class _Context:
    """The attribute of Function Compute's context that the handler reads."""

    request_id = "bench-warm"


class HandlerDriver:
    def __init__(self, urls: EmulatorUrls, database_url: str) -> None:
        for name in CLEARED_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(
            handler_env(ecs_url=urls.ecs_url, slack_api_url=urls.slack_api_url, database_url=database_url)
        )
        from functions import http

        http.reset_app()
        self._http = http
        self._urls = urls
        self._sender = new_sender()
        self._lazy: TrackingExecutor = track_deferred_work(http.get_app())
        self._context = _Context()
        self._in_ack: dict[str, dict[str, Any]] = {}  # response_url id -> the card its ack carried

    def _serve(self, event: bytes, response_url: str) -> float:
        started = time.perf_counter()
        response = self._http.handler(event, self._context)
        elapsed = time.perf_counter() - started
        if response["statusCode"] != HTTP_OK:
            raise RuntimeError(f"the handler answered {response['statusCode']}: {response.get('body')}")
        body = response.get("body") or ""
        if body.startswith("{"):
            answer = json.loads(body)
            if answer.get("blocks"):
                self._in_ack[url_id(response_url)] = answer
        return elapsed

    def slash_command(self, text: str = COMMAND_TEXT) -> tuple[float, str]:
        """(seconds until the ack returned, the command's response_url)."""
        response_url = new_response_url(self._urls.slack_url)
        event = slash_command_event(self._sender, text, response_url=response_url)
        return self._serve(event, response_url), response_url

    def click(self, button: dict[str, Any]) -> tuple[float, str]:
        response_url = new_response_url(self._urls.slack_url)
        event = button_click_event(self._sender, button, response_url=response_url)
        return self._serve(event, response_url), response_url

    def drain(self) -> None:
        """Wait for the deferred work of every request so far (untimed)."""
        self._lazy.drain()

    def refresh_button(self) -> dict[str, Any]:
        """The Refresh button of a real card: serve one command and take it from the answer."""
        _, response_url = self.slash_command()
        self.drain()
        answer = self._in_ack.get(url_id(response_url))
        blocks = answer["blocks"] if answer else self.posts_by_url()[url_id(response_url)][-1]["args"]["blocks"]
        return find_button(blocks, ACTION_REFRESH)

    def posts_by_url(self) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for call in slack_calls(self._urls.slack_url):
            if call["method"] == RESPONSE_URL_METHOD and call["ok"]:
                found.setdefault(str(call["args"].get("url_id")), []).append(call)
        return found

    def unanswered(self, response_urls: Iterable[str]) -> list[str]:
        """The response_urls whose request got no card: none in its ack, and none accepted at the URL."""
        answered = set(self.posts_by_url()) | set(self._in_ack)
        return [url for url in response_urls if url_id(url) not in answered]
