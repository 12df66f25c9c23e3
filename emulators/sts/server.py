"""The STS emulator over real HTTP on loopback: a stdlib ThreadingHTTPServer on a background thread.

registry = SessionRegistry()
with StsEmulator(callers={"demo-access-key-id": Caller("demo-access-key-secret", FUNCTION_ROLE)},
                 roles=[Role(PROD_ROLE, frozenset({FUNCTION_ROLE}))], registry=registry) as sts:
    sts.base_url  # STS_ENDPOINT
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from emulators.serving import PromptlyStoppedHTTPServer
from emulators.sts.service import Caller, Role, StsCall, StsService
from emulators.sts.sessions import SessionRegistry

FORM_TYPE = "application/x-www-form-urlencoded"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: bytes


class _Server(PromptlyStoppedHTTPServer):
    service: StsService


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30.0
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        is_form = headers.get("content-type", "").split(";")[0].strip().lower() == FORM_TYPE
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if is_form else {}
        request = _Request(
            self.command.upper(),
            split.path or "/",
            dict(parse_qsl(split.query, keep_blank_values=True)),
            form,
            headers,
            body,
        )
        reply = self.server.service.handle(request)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class StsEmulator:
    def __init__(
        self,
        *,
        callers: Mapping[str, Caller],
        roles: Iterable[Role],
        registry: SessionRegistry | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.registry = registry or SessionRegistry()
        self.service = StsService(callers=callers, roles=roles, registry=self.registry, clock=clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = _Server((host, port), _Handler)
        server.service = self.service
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="sts-emulator", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> StsEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("emulator not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def calls(self) -> list[StsCall]:
        return self.service.calls

    def throttle(self, count: int) -> None:
        self.service.throttle(count)
