"""`SlackEmulator`: a real HTTP server speaking the Slack Web API, response_url and an inspection API.

Routes:
  GET|POST /api/<method>            Web API (form-encoded or JSON bodies, Bearer or `token` auth)
  POST     /response/<id>           response_url targets
  GET      /_emulator/calls         every recorded call
  GET      /_emulator/messages?channel=C…   current messages of a channel
  POST     /_emulator/reset         forget calls, messages, views and response URLs
  POST     /_emulator/response-url  {channel_id, user_id[, message_ts]} -> {url}
  POST     /_emulator/channel       {channel_id, state} or {channel_id[, private, bot_is_member, archived,
                                    deleted, restriction]}
  POST     /_emulator/fault         {method, error[, times]} or {method, status (5xx)[, times]}
  POST     /_emulator/token         {error[, until]}: refuse the bot token until `until` (epoch seconds)
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
from emulators.slack.answers import HttpAnswer
from emulators.slack.channels import (
    CHANNEL_STATES,
    PRESETS,
    RESTRICTIONS,
    Channel,
    ChannelState,
    Restriction,
)
from emulators.slack.errors import METHOD_RESPONSE_URL, documented_errors
from emulators.slack.faults import TOKEN_ERRORS, Fault, TokenError, TokenRefusal
from emulators.slack.rate_limits import RateLimits
from emulators.slack.response_url import (
    ERROR_STATUS,
    HTTP_BAD_REQUEST,
    RESPONSE_PATH_PREFIX,
    new_target,
    post_to_response_url,
)
from emulators.slack.web_api import (
    ERROR_RATELIMITED,
    HTTP_TOO_MANY_REQUESTS,
    ApiRequest,
    BotIdentity,
    call_method,
    message_json,
)
from emulators.slack.workspace import MISSING_PARENT_MODES, Message, MissingParent, RecordedCall, Workspace

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
INSPECT_PREFIX = "/_emulator/"
OUTAGE_TEXT = "Service Unavailable"  # an outage's body is a bare page, not Slack JSON


class SlackEmulator:
    """A Slack stand-in on loopback; state is inspectable in-process or over `/_emulator/`.

    `rate_limits` None (the default) lets every call through, as tests that send many messages a second
    need; `SLACK_RATE_LIMITS` applies Slack's. `missing_parent` chooses what a reply to a gone thread parent
    gets (see `workspace.MissingParent`).
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-demo-token",
        channels: Mapping[str, ChannelState | Channel] | None = None,
        clock: Callable[[], float] | None = None,
        identity: BotIdentity | None = None,
        rate_limits: RateLimits | None = None,
        missing_parent: MissingParent = "hidden",
    ) -> None:
        self.identity = dataclasses.replace(identity or BotIdentity(), token=bot_token)
        initial = {channel_id: _channel(state) for channel_id, state in (channels or {}).items()}
        _check_missing_parent(missing_parent)
        self.workspace = Workspace(clock=clock or time.time, initial_channels=initial, missing_parent=missing_parent)
        self.workspace.rate_limiter.limits = rate_limits
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

    def hidden_messages(self, channel_id: str) -> list[Message]:
        """Messages Slack accepted but shows nobody (replies to a gone thread parent)."""
        with self.workspace.lock:
            return self.workspace.snapshot_messages(channel_id, hidden=True)

    def delete_message(self, channel_id: str, ts: str) -> bool:
        """Delete a message as a person would in Slack; False if there was none."""
        with self.workspace.lock:
            return self.workspace.delete_message(channel_id, ts)

    def set_channel(self, channel_id: str, state: ChannelState | Channel) -> None:
        """A preset state (`"is_archived"` ...) or a whole `Channel`."""
        channel = _channel(state)
        with self.workspace.lock:
            self.workspace.channels[channel_id] = channel

    def channel(self, channel_id: str) -> Channel:
        with self.workspace.lock:
            return self.workspace.channel(channel_id)

    def set_missing_parent(self, mode: MissingParent) -> None:
        _check_missing_parent(mode)
        with self.workspace.lock:
            self.workspace.missing_parent = mode

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        """Apply `limits` from now on (counting afresh); None turns rate limiting off."""
        with self.workspace.lock:
            self.workspace.rate_limiter.limits = limits
            self.workspace.rate_limiter.reset()

    # --- fault injection ---------------------------------------------------------------------

    def fail_next(self, method: str, error: str) -> None:
        """The next call of `method` answers `error` (one of the method's documented errors)."""
        self.fail_method(method, error)

    def fail_method(self, method: str, error: str, *, times: int | None = 1, retry_after_s: int = 1) -> None:
        """The next `times` calls of `method` (None: every call until `clear_faults`) answer `error`.

        `error` must be documented for `method` (`errors.DOCUMENTED_ERRORS`). `ratelimited` is answered as
        Slack does, HTTP 429 with `Retry-After: retry_after_s`; response_url errors with their 4xx status.
        """
        if error not in documented_errors(method):
            raise ValueError(f"{error!r} is not a documented error of {method}")
        fault = Fault(error)
        if error == ERROR_RATELIMITED:
            fault = Fault(error, status=HTTP_TOO_MANY_REQUESTS, retry_after_s=retry_after_s)
        elif method == METHOD_RESPONSE_URL:
            fault = Fault(error, status=ERROR_STATUS.get(error, HTTP_BAD_REQUEST))
        with self.workspace.lock:
            self.workspace.faults.add(method, fault, times)

    def fail_http(self, method: str, status: int = 503, *, times: int | None = 1) -> None:
        """The next `times` calls of `method` answer HTTP `status` (5xx) with a page that is no Slack JSON."""
        documented_errors(method)  # a known method
        if not 500 <= status <= 599:
            raise ValueError(f"an outage answers a 5xx status, not {status}")
        with self.workspace.lock:
            self.workspace.faults.add(method, Fault(f"http_{status}", status=status, text=OUTAGE_TEXT), times)

    def revoke_token(self, error: TokenError = "token_revoked", *, until: float | None = None) -> None:
        """Every Web API call answers `error` until the emulator's clock reaches `until` (None: until cleared)."""
        if error not in TOKEN_ERRORS:
            raise ValueError(f"expected one of {sorted(TOKEN_ERRORS)}, not {error!r}")
        with self.workspace.lock:
            self.workspace.faults.token_refusal = TokenRefusal(error, until)

    def clear_faults(self) -> None:
        """Forget injected faults and any token refusal (`reset` does too)."""
        with self.workspace.lock:
            self.workspace.faults.clear()

    def reset(self) -> None:
        self.workspace.reset()


def _channel(state: ChannelState | Channel) -> Channel:
    if isinstance(state, Channel):
        return state
    if state not in CHANNEL_STATES:
        raise ValueError(f"unknown channel state {state!r}; expected one of {sorted(CHANNEL_STATES)}")
    return PRESETS[state]


def _check_missing_parent(mode: str) -> None:
    if mode not in MISSING_PARENT_MODES:
        raise ValueError(f"unknown missing_parent {mode!r}; expected one of {sorted(MISSING_PARENT_MODES)}")


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

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def _send_json(self, status: int, body: Mapping[str, Any]) -> None:
        self._send(HttpAnswer.of(body, status=status))

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
            self._send(call_method(self.emulator.workspace, self.emulator.identity, request))
        elif url.path.startswith(RESPONSE_PATH_PREFIX) and verb == "POST":
            url_id = url.path[len(RESPONSE_PATH_PREFIX) :]
            self._send(post_to_response_url(self.emulator.workspace, url_id, body))
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
            emulator.set_channel(_required(args, "channel_id"), _channel_from_json(args))
            return {"ok": True}
        try:
            if (verb, action) == ("POST", "fault"):
                method, times = _required(args, "method"), args.get("times", 1)
                if "status" in args:
                    emulator.fail_http(method, int(args["status"]), times=times)
                else:
                    emulator.fail_method(method, _required(args, "error"), times=times)
                return {"ok": True}
            if (verb, action) == ("POST", "token"):
                until = args.get("until")
                error = cast(TokenError, _required(args, "error"))
                emulator.revoke_token(error, until=float(until) if until is not None else None)
                return {"ok": True}
        except (ValueError, TypeError) as exc:
            raise _BadRequest(str(exc)) from exc
        raise _BadRequest(f"unknown inspection call {verb} {INSPECT_PREFIX}{action}")


def _required(args: Mapping[str, Any], name: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value:
        raise _BadRequest(f"{name} is required")
    return value


def _channel_from_json(args: Mapping[str, Any]) -> Channel:
    if "state" in args:
        state = str(args["state"])
        if state not in CHANNEL_STATES:
            raise _BadRequest(f"state must be one of {sorted(CHANNEL_STATES)}")
        return PRESETS[cast(ChannelState, state)]
    restriction = args.get("restriction")
    if restriction is not None and restriction not in RESTRICTIONS:
        raise _BadRequest(f"restriction must be one of {sorted(RESTRICTIONS)}")
    flags = {name: args[name] for name in ("private", "bot_is_member", "archived", "deleted") if name in args}
    if not all(isinstance(value, bool) for value in flags.values()):
        raise _BadRequest("private, bot_is_member, archived and deleted are booleans")
    return Channel(**flags, restriction=cast("Restriction | None", restriction))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8") or "{}")
    except ValueError as exc:
        raise _BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _BadRequest("the body must be a JSON object")
    return value
