"""Helpers for the STS tests: a loopback recorder that keeps each raw request, the official STS SDK client
pointed at a loopback endpoint, and fixed accounts, roles and callers for the emulators."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from alibabacloud_sts20150401.client import Client as SdkStsClient
from alibabacloud_tea_openapi.utils_models import Config as SdkConfig

from emulators.serving import PromptlyStoppedHTTPServer
from emulators.sts.service import Caller, Role
from shared.ecs.accounts import Account

HOME_KEY_ID = "home-access-key-id"
HOME_KEY_SECRET = "home-access-key-secret"
FUNCTION_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-fc"
POLLER_ROLE = "acs:ram::1000000000000000:role/ecs-tasks-poller"
PROD_ROLE = "acs:ram::1111111111111111:role/ecs-tasks-read"
STAGING_ROLE = "acs:ram::2222222222222222:role/ecs-tasks-read"
PROD = Account("prod", PROD_ROLE, ("cn-hangzhou",), external_id="prod-external-id")
STAGING = Account("staging", STAGING_ROLE, ("cn-shanghai",))

CALLERS = {HOME_KEY_ID: Caller(HOME_KEY_SECRET, FUNCTION_ROLE)}
ROLES = [
    Role(PROD_ROLE, frozenset({FUNCTION_ROLE, POLLER_ROLE}), external_id="prod-external-id"),
    Role(STAGING_ROLE, frozenset({"acs:ram::1000000000000000:root"})),
]

ASSUME_ROLE_ANSWER = {
    "RequestId": "6894B13B-6D71-4EF5-88FA-F32781734A7F",
    "AssumedRoleUser": {"Arn": PROD_ROLE + "/slack-U0123ABC", "AssumedRoleId": "344584339364951186:slack-U0123ABC"},
    "Credentials": {
        "AccessKeyId": "STS.L4aBSCSJVMuKg5U1vFDw",
        "AccessKeySecret": "wyLTSmsyPGP1ohvvw8xYgB29dlGI8KMiH2pKCNZ9",
        "SecurityToken": "CAES" + "rAIIARKAAShQquMnLIlbvEcIxO6wCoqJufs8sWwieUxu45hS9AvKNEte8KRUWiJWJ6Y" * 4,
        "Expiration": "2026-12-02T08:00:00Z",
    },
}


class Clock:
    """A settable clock shared by the emulators, the signer and the cache."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # names lowercased
    body: bytes

    @property
    def query_string(self) -> str:
        return urlsplit(self.target).query


class _Recorder(PromptlyStoppedHTTPServer):  # its stop does not wait for a poll
    requests: list[RawRequest]
    answer: bytes
    status: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Recorder

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.requests.append(RawRequest(self.command, self.path, headers, body))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.answer)))
        self.end_headers()
        self.wfile.write(self.server.answer)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def recorder(answer: dict[str, Any] = ASSUME_ROLE_ANSWER, status: int = 200) -> Iterator[tuple[str, list[RawRequest]]]:
    """A loopback endpoint that records every request and answers `answer`; yields (host:port, requests)."""
    server = _Recorder(("127.0.0.1", 0), _Handler)
    server.requests = []
    server.answer = json.dumps(answer).encode()
    server.status = status
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"{host!s}:{port}", server.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def sdk_sts_client(
    host_port: str, *, signature: str, key_id: str, secret: str, token: str | None = None
) -> SdkStsClient:
    """The official STS client on plain HTTP at `host_port`: signature "v3" (its default) or "v1"."""
    config = SdkConfig(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        endpoint=host_port,
        protocol="http",
        signature_algorithm="v2" if signature == "v1" else None,
    )
    return SdkStsClient(config)
