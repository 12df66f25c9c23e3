"""A local stand-in for Function Compute 3.0 (dev tooling): HTTP requests become FC 3.0 HTTP trigger events
for the very handler that runs in the cloud, `InvokeFunction` (async, V3-signed) re-invokes it, and
`ListTriggers` (V3-signed) lists the triggers each function was given (`triggers`).

Used by `ecs-tasks-dev serve` and by the end-to-end tests. It answers as Function Compute does: the function's
initializer runs once per instance before its first invocation (`emulators.fc.instance`), an async payload over
128 KB is refused, HTTP trigger bodies are base64 on demand (`base64_bodies`), and each async invocation can be
delivered more than once (`duplicate_deliveries`). `emulators/fc/README.md` gives each behaviour's source.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulators.fc.instance import (
    ERROR_TYPE_HEADER,
    INITIALIZATION_ERROR,
    InitializationFailed,
    Initializer,
    Instances,
)
from emulators.serving import PromptlyStoppedHTTPServer

Handler = Callable[[bytes, Any], dict[str, Any]]
# Whether the HTTP trigger event carries a body of this media type (lower case, no parameters) as base64.
Base64Bodies = Callable[[str], bool]
INVOKE_PATH_PREFIX = "/2023-03-30/functions/"
TRIGGERS = "/triggers"
DEFAULT_ACCOUNT_ID = "1234567890123456"
# A client that stops sending (half a body, or nothing after the headers) is dropped after this long, so it
# cannot hold a handler thread forever.
DEFAULT_READ_TIMEOUT_S = 10.0
# Function Compute's HTTP trigger takes request bodies up to 32 MB; Slack's are a few kilobytes.
MAX_BODY_BYTES = 32 * 1024 * 1024
# An async invocation's payload: 128 KB (emulators/fc/README.md gives the source).
MAX_ASYNC_PAYLOAD_BYTES = 128 * 1024
# template.yml gives the initializer 30 s.
DEFAULT_INITIALIZATION_TIMEOUT_S = 30.0
# How often `serve_forever()` (the dev server's foreground wait) looks for stop().
SHUTDOWN_POLL_S = 0.05
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class FunctionMeta:
    name: str
    handler: str = "functions.http.handler"
    memory: int = 256
    timeout: int = 60


@dataclass(frozen=True)
class FcContext:
    """The attributes of Function Compute's `context` that the handlers read."""

    request_id: str
    function: FunctionMeta
    region: str = "cn-hangzhou"
    account_id: str = DEFAULT_ACCOUNT_ID


def plain_text_bodies(media_type: str) -> bool:
    """No body is base64 unless it is not UTF-8."""
    return False


def all_bodies(media_type: str) -> bool:
    """Every body is base64."""
    return True


def bodies_of(*media_types: str) -> Base64Bodies:
    """Bodies of these media types (e.g. `application/x-www-form-urlencoded`) are base64."""
    chosen = frozenset(media_type.lower() for media_type in media_types)
    return lambda media_type: media_type in chosen


@dataclass
class Invocation:
    function_name: str
    payload: bytes
    invocation_type: str
    result: dict[str, Any] | None = None
    failed: InitializationFailed | None = None  # the instance it ran on failed to initialize


@dataclass
class FcServer:
    handler: Handler
    function_name: str = "ecs-tasks"
    credentials: Mapping[str, str] = field(default_factory=dict)  # AccessKeyId -> secret, for InvokeFunction
    duplicate_deliveries: int = 1
    region: str = "cn-hangzhou"
    read_timeout_s: float = DEFAULT_READ_TIMEOUT_S
    initializer: Initializer | None = None  # run once per instance, before its first invocation
    initialization_timeout_s: float = DEFAULT_INITIALIZATION_TIMEOUT_S
    base64_bodies: Base64Bodies = plain_text_bodies
    # ListTriggers' answer per function name, each trigger as FC 3.0's Trigger structure (`triggerName`,
    # `triggerType`, ...); a function named nowhere here (nor `function_name`) does not exist.
    triggers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    instances: Instances = field(default_factory=Instances)
    _server: PromptlyStoppedHTTPServer | None = None
    _accept_thread: threading.Thread | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        server = PromptlyStoppedHTTPServer((host, port), _make_request_handler(self))
        self._server = server
        self._accept_thread = threading.Thread(target=server.serve_forever, name="fc-server", daemon=True)
        self._accept_thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        while self._server is not None:
            time.sleep(SHUTDOWN_POLL_S)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._accept_thread is not None:
            self._accept_thread.join()
            self._accept_thread = None

    def wait_for_async(self, timeout: float = 10.0) -> None:
        """Block until every queued async invocation has finished (tests and the demo)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [t for t in self._threads if t.is_alive()]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} async invocations still running")
            pending[0].join(timeout=0.05)

    def __enter__(self) -> FcServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- invocations ------------------------------------------------------------------------

    def context(self) -> FcContext:
        return FcContext(request_id=str(uuid.uuid4()), function=FunctionMeta(self.function_name), region=self.region)

    def cold_start(self) -> None:
        """The next invocation runs on a new instance, which runs the initializer first."""
        self.instances.cold_start()

    def invoke(self, payload: bytes) -> dict[str, Any]:
        """Run the handler on the instance, initialized first; raises InitializationFailed when the
        instance's initializer fails (Function Compute answers the invocation with the error)."""
        self.instances.ready(self.initializer, self.context, self.initialization_timeout_s)
        return self.handler(payload, self.context())

    def invoke_http(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.invoke(json.dumps(event).encode())

    def invoke_async(self, payload: bytes) -> None:
        record = Invocation(self.function_name, payload, "Async")
        with self._lock:
            self.invocations.append(record)
        for _ in range(self.duplicate_deliveries):
            thread = threading.Thread(target=self._run_async, args=(record,), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _run_async(self, record: Invocation) -> None:
        try:
            record.result = self.invoke(record.payload)
        except InitializationFailed as failed:
            record.failed = failed

    def verify_invoke_signature(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: bytes
    ) -> str | None:
        """None when the V3 signature is right, else the error code Function Compute would answer. The
        signature is the official SDK's (emulators.acs_signature), never our own signer's."""
        # Imported here: plain `serve` (no --fc-async) runs without the SDK's signing utilities.
        from emulators.acs_signature import V3Authorization, v3_matches

        authorization = V3Authorization.parse(headers.get("authorization", ""))
        if authorization is None:
            return "IncompleteSignature"
        secret = self.credentials.get(authorization.access_key_id)
        if secret is None:
            return "InvalidAccessKeyId.NotFound"
        payload_sha256 = headers.get("x-acs-content-sha256", "")
        if not hmac.compare_digest(payload_sha256, hashlib.sha256(body).hexdigest()):
            return "ContentSHA256Mismatch"
        signed_names = {name.lower() for name in authorization.signed_headers}
        if "host" not in signed_names or any(name not in headers for name in signed_names):
            return "IncompleteSignature"
        matches = v3_matches(
            authorization,
            method=method,
            path=path,
            query=query,
            signed_headers={name: headers[name] for name in signed_names},
            payload_sha256=payload_sha256,
            secret=secret,
        )
        return None if matches else "SignatureDoesNotMatch"


class BadRequest(Exception):
    """A request the stand-in answers 400 without running the handler; the message says why."""


def read_body(headers: Any, stream: Any) -> bytes:
    """The body that Content-Length announces, read in full: 400 for a malformed, negative or oversized length,
    and for a body that ends early; the caller's socket timeout ends a read that stalls."""
    # `headers` is the request's email.message.Message (any object with .get).
    raw = headers.get("Content-Length")
    if raw is None:
        return b""
    text = raw.strip()
    if not text.isascii() or not text.isdigit():
        raise BadRequest("Content-Length is not a whole number of bytes")
    length = int(text)
    if length > MAX_BODY_BYTES:
        raise BadRequest(f"Content-Length over {MAX_BODY_BYTES} bytes")
    body = stream.read(length) if length else b""
    if len(body) != length:
        raise BadRequest(f"the body ended after {len(body)} of {length} bytes")
    return bytes(body)


def http_event(
    *,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    source_ip: str,
    as_base64: bool = False,
) -> dict[str, Any]:
    """An FC 3.0 HTTP trigger event, shaped like `tests/fixtures/fc3-events/http-trigger-event.json`; the body
    is base64 when `as_base64` is set or when it is not UTF-8."""
    is_base64 = as_base64 or not _is_utf8(body)
    text = base64.b64encode(body).decode() if is_base64 else body.decode("utf-8")
    now = datetime.now(timezone.utc)
    return {
        "version": "v1",
        "rawPath": path,
        "headers": dict(headers),
        "queryParameters": dict(query),
        "body": text,
        "isBase64Encoded": is_base64,
        "requestContext": {
            "accountId": DEFAULT_ACCOUNT_ID,
            "domainName": headers.get("Host", "127.0.0.1"),
            "domainPrefix": DEFAULT_ACCOUNT_ID,
            "requestId": str(uuid.uuid4()),
            "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timeEpoch": str(int(now.timestamp() * 1000)),
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
        },
    }


def _make_request_handler(server: FcServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # StreamRequestHandler puts this on the socket: every read (request line, headers, body) times out.
        timeout = server.read_timeout_s

        def log_message(self, format: str, *args: Any) -> None:
            return  # the handler logs JSON lines itself

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            try:
                body = read_body(self.headers, self.rfile)
            except BadRequest as refused:
                self._refuse(str(refused))
                return
            except TimeoutError:
                self._refuse(f"the body did not arrive within {server.read_timeout_s:g} s")
                return
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if parts.path.startswith(INVOKE_PATH_PREFIX) and parts.path.endswith("/invocations"):
                self._invoke(parts.path, query, body)
                return
            if self.command == "GET" and parts.path.startswith(INVOKE_PATH_PREFIX) and parts.path.endswith(TRIGGERS):
                self._list_triggers(parts.path, query, body)
                return
            # FC joins repeated headers with commas; so does this dict of the last-seen values.
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                headers[name] = f"{headers[name]},{value}" if name in headers else value
            event = http_event(
                method=self.command,
                path=parts.path,
                query=query,
                headers=headers,
                body=body,
                source_ip=self.client_address[0],
                as_base64=server.base64_bodies(_media_type(headers)),
            )
            try:
                result = server.invoke_http(event)
            except InitializationFailed as failed:
                self._initialization_failed(failed)
                return
            self._reply(result.get("statusCode", 200), result.get("headers") or {}, _body_bytes(result))

        def _invoke(self, path: str, query: dict[str, str], body: bytes) -> None:
            lowered = {k.lower(): v for k, v in self.headers.items()}
            error = server.verify_invoke_signature("POST", path, query, lowered, body)
            if error is not None:
                self._api_error(403 if error == "SignatureDoesNotMatch" else 400, error, error)
                return
            name = path[len(INVOKE_PATH_PREFIX) :].split("/", 1)[0]
            if name != server.function_name:
                self._reply(404, {"content-type": "application/json"}, b'{"Code":"FunctionNotFound"}')
                return
            if lowered.get("x-fc-invocation-type", "Sync").lower() == "async":
                if len(body) > MAX_ASYNC_PAYLOAD_BYTES:
                    message = f"payload size exceeds maximum allowed size ({MAX_ASYNC_PAYLOAD_BYTES} bytes)"
                    self._api_error(400, "EntityTooLarge", message)
                    return
                server.invoke_async(body)
                self._reply(202, {"x-fc-request-id": str(uuid.uuid4())}, b"")
                return
            try:
                result = server.invoke(body)
            except InitializationFailed as failed:
                self._initialization_failed(failed)
                return
            self._reply(200, {"content-type": "application/json"}, json.dumps(result).encode())

        def _list_triggers(self, path: str, query: dict[str, str], body: bytes) -> None:
            lowered = {k.lower(): v for k, v in self.headers.items()}
            error = server.verify_invoke_signature("GET", path, query, lowered, body)
            if error is not None:
                self._api_error(403 if error == "SignatureDoesNotMatch" else 400, error, error)
                return
            name = path[len(INVOKE_PATH_PREFIX) : -len(TRIGGERS)]
            if name != server.function_name and name not in server.triggers:
                self._api_error(404, "FunctionNotFound", "function not found")
                return
            answer = {"triggers": server.triggers.get(name, [])}  # one page: no nextToken
            self._reply(200, {"content-type": JSON_CONTENT_TYPE}, json.dumps(answer).encode())

        def _api_error(self, status: int, code: str, message: str) -> None:
            payload = json.dumps({"Code": code, "Message": message, "RequestId": str(uuid.uuid4())}).encode()
            self._reply(status, {"content-type": JSON_CONTENT_TYPE}, payload)

        def _initialization_failed(self, failed: InitializationFailed) -> None:
            headers = {
                "content-type": JSON_CONTENT_TYPE,
                ERROR_TYPE_HEADER: INITIALIZATION_ERROR,
                "x-fc-request-id": str(uuid.uuid4()),
            }
            self._reply(200, headers, json.dumps(failed.answer()).encode())

        def _refuse(self, reason: str) -> None:
            # The rest of the stream cannot be trusted to start a new request: answer, then close.
            self.close_connection = True
            payload = json.dumps({"Code": "BadRequest", "Message": reason}).encode()
            self._reply(400, {"content-type": JSON_CONTENT_TYPE, "connection": "close"}, payload)

        def _reply(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return RequestHandler


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _media_type(headers: Mapping[str, str]) -> str:
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), "")
    return content_type.split(";", 1)[0].strip().lower()


def _body_bytes(result: Mapping[str, Any]) -> bytes:
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode() if isinstance(body, str) else bytes(body)
