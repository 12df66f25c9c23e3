"""`SlackEmulator`: a real HTTP server speaking the Slack Web API, response_url and an inspection API.

Routes:
  GET|POST /api/<method>            Web API (form-encoded or JSON bodies, Bearer or `token` auth)
  POST     /response/<id>           response_url targets
  GET      /_emulator/calls         every recorded call
  GET      /_emulator/messages?channel=C…   current messages of a channel
  POST     /_emulator/reset         forget calls, messages, views and response URLs
  POST     /_emulator/response-url  {channel_id, user_id[, message_ts]} -> {url}
  POST     /_emulator/channel       {channel_id, state}
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from emulators.serving import PromptlyStoppedHTTPServer
from emulators.slack.response_url import RESPONSE_PATH_PREFIX, new_target, post_to_response_url
from emulators.slack.web_api import ApiRequest, BotIdentity, call_method, message_json
from emulators.slack.workspace import CHANNEL_STATES, ChannelState, Message, RecordedCall, Workspace

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
INSPECT_PREFIX = "/_emulator/"
JSON_TYPE = "application/json; charset=utf-8"


class SlackEmulator:
    """A Slack stand-in on loopback; state is inspectable in-process or over `/_emulator/`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-demo-token",
        channels: Mapping[str, ChannelState] | None = None,
        clock: Callable[[], float] | None = None,
        identity: BotIdentity | None = None,
    ) -> None:
        self.identity = dataclasses.replace(identity or BotIdentity(), token=bot_token)
        for state in (channels or {}).values():
            _check_state(state)
        self.workspace = Workspace(clock=clock or time.time, initial_channels=dict(channels or {}))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def _bind(self, host: str, port: int) -> _Server:
        if self._server is None:
            self._server = _Server((host, port), _Handler, self)
        return self._server

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (the Web API is at `api_url`)."""
        if self._thread is not None:
            return self.base_url
        server = self._bind(host, port)
        self._thread = threading.Thread(
            target=server.serve_forever,
            name="slack-emulator",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def serve_forever(
        self, host: str = "127.0.0.1", port: int = 0, *, ready: Callable[[str], None] | None = None
    ) -> None:
        """Serve in the calling thread until `stop()` (from another thread) or KeyboardInterrupt.

        `ready` is called with the base URL once the port is bound (useful with port 0).
        """
        server = self._bind(host, port)
        if ready is not None:
            ready(self.base_url)
        try:
            server.serve_forever()
        finally:
            server.server_close()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> SlackEmulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """For `WebClient(base_url=...)` / SLACK_API_URL: ends with a slash as WebClient expects."""
        return f"{self.base_url}{API_PREFIX}"

    # --- inspection and control --------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        with self.workspace.lock:
            return list(self.workspace.calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def wait_for_calls(self, n: int, timeout: float = 5.0, *, method: str | None = None) -> list[RecordedCall]:
        """The calls (of `method`, if given) once there are at least `n`; raises TimeoutError otherwise."""
        return self.workspace.wait_for_calls(n, timeout, method)

    def new_response_url(self, *, channel_id: str, user_id: str, message_ts: str | None = None) -> str:
        """A response_url on this server; `message_ts` is the message a button click came from."""
        url_id = new_target(self.workspace, channel_id=channel_id, user_id=user_id, message_ts=message_ts)
        return f"{self.base_url}{RESPONSE_PATH_PREFIX}{url_id}"

    def messages(self, channel_id: str) -> list[Message]:
        with self.workspace.lock:
            return self.workspace.snapshot_messages(channel_id)

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self.workspace.lock:
            view = self.workspace.home_views.get(user_id)
            return json.loads(json.dumps(view)) if view is not None else None

    def slack_message(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """A message as Slack shows it to apps (e.g. the `message` of a button click), or None."""
        with self.workspace.lock:
            message = self.workspace.find_message(channel_id, ts)
            return json.loads(json.dumps(message_json(message, self.identity))) if message else None

    def set_channel(self, channel_id: str, state: ChannelState) -> None:
        _check_state(state)
        with self.workspace.lock:
            self.workspace.channels[channel_id] = state

    def reset(self) -> None:
        self.workspace.reset()


def _check_state(state: str) -> None:
    if state not in CHANNEL_STATES:
        raise ValueError(f"unknown channel state {state!r}; expected one of {sorted(CHANNEL_STATES)}")


class _Server(PromptlyStoppedHTTPServer):
    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], emulator: SlackEmulator
    ) -> None:
        super().__init__(address, handler)
        self.emulator = emulator


class _BadRequest(Exception):
    """A malformed call to the inspection API."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "SlackEmulator/1.0"

    @property
    def emulator(self) -> SlackEmulator:
        return cast(_Server, self.server).emulator

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", JSON_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, verb: str) -> None:
        url = urlsplit(self.path)
        body = self._body() if verb == "POST" else b""
        if url.path.startswith(API_PREFIX):
            request = ApiRequest(
                method=url.path[len(API_PREFIX) :],
                query=url.query,
                body=body,
                content_type=self.headers.get("Content-Type") or "",
                authorization=self.headers.get("Authorization"),
            )
            self._send_json(200, call_method(self.emulator.workspace, self.emulator.identity, request))
        elif url.path.startswith(RESPONSE_PATH_PREFIX) and verb == "POST":
            url_id = url.path[len(RESPONSE_PATH_PREFIX) :]
            self._send_json(*post_to_response_url(self.emulator.workspace, url_id, body))
        elif url.path.startswith(INSPECT_PREFIX):
            try:
                self._send_json(200, self._inspect(verb, url.path[len(INSPECT_PREFIX) :], url.query, body))
            except _BadRequest as exc:
                self._send_json(400, {"ok": False, "error": str(exc)})
        else:
            self._send_json(404, {"ok": False, "error": "not_found", "path": url.path})

    def _inspect(self, verb: str, action: str, query: str, body: bytes) -> dict[str, Any]:
        emulator = self.emulator
        if (verb, action) == ("GET", "calls"):
            return {"ok": True, "calls": [call.to_dict() for call in emulator.calls]}
        if (verb, action) == ("GET", "messages"):
            channel = parse_qs(query).get("channel", [""])[0]
            return {"ok": True, "messages": [m.to_dict() for m in emulator.messages(channel)]}
        if (verb, action) == ("POST", "reset"):
            emulator.reset()
            return {"ok": True}
        args = _json_object(body)
        if (verb, action) == ("POST", "response-url"):
            channel_id, user_id = str(args.get("channel_id", "")), str(args.get("user_id", ""))
            if not channel_id or not user_id:
                raise _BadRequest("channel_id and user_id are required")
            message_ts = args.get("message_ts")
            url = emulator.new_response_url(
                channel_id=channel_id, user_id=user_id, message_ts=str(message_ts) if message_ts else None
            )
            return {"ok": True, "url": url}
        if (verb, action) == ("POST", "channel"):
            state = str(args.get("state", ""))
            if state not in CHANNEL_STATES or not args.get("channel_id"):
                raise _BadRequest(f"channel_id and a state in {sorted(CHANNEL_STATES)} are required")
            emulator.set_channel(str(args["channel_id"]), cast(ChannelState, state))
            return {"ok": True}
        raise _BadRequest(f"unknown inspection call {verb} {INSPECT_PREFIX}{action}")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8") or "{}")
    except ValueError as exc:
        raise _BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    return value
