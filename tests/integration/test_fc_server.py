"""The local Function Compute stand-in (`ecs-tasks-dev serve`) over a raw socket: a malformed or short
Content-Length gets a 400, a stalled body times out instead of holding a thread, and teardown is prompt. Over
HTTP: trigger bodies as base64 on demand, and InvokeFunction's signature check and async payload limit."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from alibabacloud_openapi_util.client import Client as SdkSigner

from emulators.fc_server import FcServer, all_bodies, bodies_of

READ_TIMEOUT_S = 0.5


class Recorder:
    """The handler behind the stand-in: records each HTTP event's body (and each async payload) and answers 200."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.bodies: list[str] = []
        self.async_payloads: list[bytes] = []

    def __call__(self, event: bytes, context: Any) -> dict[str, Any]:
        data = json.loads(event)
        if "rawPath" in data:
            self.events.append(data)
            self.bodies.append(data["body"])
        else:
            self.async_payloads.append(event)
        return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}


@pytest.fixture
def handler() -> Recorder:
    return Recorder()


@pytest.fixture
def server(handler: Recorder) -> Iterator[FcServer]:
    fc = FcServer(handler=handler, read_timeout_s=READ_TIMEOUT_S)
    fc.start()
    yield fc
    fc.stop()


def exchange(server: FcServer, raw: bytes, *, half_close: bool = True, wait_s: float = 5.0) -> bytes:
    """Send raw bytes, optionally stop sending (half-close), and read until the server closes."""
    host, port = server.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait_s) as sock:
        sock.sendall(raw)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def request(length: str, body: bytes) -> bytes:
    return (
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + b"Content-Length: "
        + length.encode()
        + b"\r\n\r\n"
        + body
    )


def test_a_well_formed_request_reaches_the_handler(server: FcServer, handler: Recorder) -> None:
    answer = exchange(server, request("5", b"hello"))
    assert status_of(answer) == 200 and answer.endswith(b"ok")
    assert handler.bodies == ["hello"]


@pytest.mark.parametrize("length", ["abc", "-5", "1e3", "²", "5, 5", "99999999999"])
def test_a_malformed_content_length_gets_a_400_and_never_reaches_the_handler(
    server: FcServer, handler: Recorder, length: str
) -> None:
    # Given a request whose Content-Length is not a plain, bounded number of bytes
    answer = exchange(server, request(length, b"hello"))
    # Then it is refused before the handler runs
    assert status_of(answer) == 400
    assert handler.bodies == []


def test_a_body_shorter_than_its_content_length_gets_a_400(server: FcServer, handler: Recorder) -> None:
    # Given a client that announces 100 bytes, sends 5 and stops sending
    answer = exchange(server, request("100", b"hello"), half_close=True)
    # Then the stand-in answers 400 at once and the handler never runs
    assert status_of(answer) == 400 and b"5 of 100" in answer
    assert handler.bodies == []


def test_a_stalled_body_times_out_instead_of_holding_a_thread(server: FcServer, handler: Recorder) -> None:
    # Given a client that sends half its body and then keeps the connection open, sending nothing
    started = time.monotonic()
    answer = exchange(server, request("100", b"hello"), half_close=False)
    # Then the read times out after the configured time, with a 400, and the connection is closed
    assert status_of(answer) == 400 and b"did not arrive" in answer
    assert READ_TIMEOUT_S <= time.monotonic() - started < READ_TIMEOUT_S + 4
    assert handler.bodies == []


def test_headers_that_never_end_are_dropped_after_the_read_timeout(server: FcServer) -> None:
    # Given a client that sends a request line and then nothing
    started = time.monotonic()
    answer = exchange(server, b"POST /slack/events HTTP/1.1\r\nHost: x\r\n", half_close=False)
    # Then the server closes the connection after the read timeout
    assert answer == b""
    assert time.monotonic() - started < READ_TIMEOUT_S + 4


def test_stop_returns_promptly_and_ends_the_accept_loop(handler: Recorder) -> None:
    # Given a running stand-in
    fc = FcServer(handler=handler)
    fc.start()
    before = {t.ident for t in threading.enumerate() if t.name == "fc-server"}
    assert before
    # When it is stopped, then the accept loop is gone (stop() joins it): nothing left polling
    fc.stop()
    assert not any(t.name == "fc-server" and t.ident in before for t in threading.enumerate())


# --- InvokeFunction: signatures checked with the official SDK's utilities ---------------------------


@dataclass
class SdkRequest:
    """The shape `alibabacloud_openapi_util.client.Client.get_authorization` reads."""

    method: str
    pathname: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def invoke(fc: FcServer, body: bytes, *, secret: str = "fc-secret", sent_body: bytes | None = None) -> Any:
    """An async InvokeFunction request signed by the official SDK (not by our signer)."""
    path = f"/2023-03-30/functions/{fc.function_name}/invocations"
    headers = {
        "host": fc.base_url.removeprefix("http://"),
        "x-acs-action": "InvokeFunction",
        "x-acs-version": "2023-03-30",
        "x-acs-date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "x-fc-invocation-type": "Async",
    }
    authorization = SdkSigner.get_authorization(
        SdkRequest("POST", path, {}, dict(headers)),
        "ACS3-HMAC-SHA256",
        headers["x-acs-content-sha256"],
        "fc-ak",
        secret,
    )
    return requests.post(
        fc.base_url + path,
        data=body if sent_body is None else sent_body,
        headers={**headers, "Authorization": authorization},
        timeout=5,
    )


def test_invoke_function_accepts_the_official_sdks_signature_and_refuses_others(handler: Recorder) -> None:
    # Given the stand-in with one access key
    fc = FcServer(handler=handler, credentials={"fc-ak": "fc-secret"})
    fc.start()
    try:
        # When the SDK signs an async invocation, then it is queued (202) and the handler runs it
        accepted = invoke(fc, b'{"work": 1}')
        fc.wait_for_async()
        # And a wrong secret or an altered body is refused before anything runs
        wrong_secret = invoke(fc, b'{"work": 2}', secret="not-the-secret")
        altered = invoke(fc, b'{"work": 3}', sent_body=b'{"work": 4}')
    finally:
        fc.stop()
    assert accepted.status_code == 202
    assert (wrong_secret.status_code, wrong_secret.json()["Code"]) == (403, "SignatureDoesNotMatch")
    assert (altered.status_code, altered.json()["Code"]) == (400, "ContentSHA256Mismatch")
    assert [i.payload for i in fc.invocations] == handler.async_payloads == [b'{"work": 1}']


def test_an_async_payload_over_128_kb_is_refused_as_function_compute_refuses_it(handler: Recorder) -> None:
    # Given the stand-in, and JSON payloads of exactly the limit and one byte over it
    fc = FcServer(handler=handler, credentials={"fc-ak": "fc-secret"})
    fc.start()
    at_limit, over_limit = (json.dumps({"pad": "x" * (size - 11)}).encode() for size in (131072, 131073))
    assert (len(at_limit), len(over_limit)) == (131072, 131073)  # 128 KB, and one byte more
    try:
        # When each is invoked asynchronously
        accepted = invoke(fc, at_limit)
        refused = invoke(fc, over_limit)
        fc.wait_for_async()
    finally:
        fc.stop()
    # Then the one at the limit runs, and the one over it is refused with FC's error before anything runs
    assert accepted.status_code == 202
    assert refused.status_code == 400
    error = refused.json()
    assert (error["Code"], error["Message"]) == (
        "EntityTooLarge",
        "payload size exceeds maximum allowed size (131072 bytes)",
    )
    assert error["RequestId"]
    assert [i.payload for i in fc.invocations] == handler.async_payloads == [at_limit]


# --- HTTP trigger bodies, plain or base64 ------------------------------------------------------------


def post_to(fc: FcServer, body: bytes, content_type: str) -> requests.Response:
    return requests.post(fc.base_url + "/slack/events", data=body, headers={"content-type": content_type}, timeout=5)


def test_bodies_of_the_chosen_media_types_arrive_as_base64(handler: Recorder) -> None:
    # Given the stand-in encoding form bodies as base64
    fc = FcServer(handler=handler, base64_bodies=bodies_of("application/x-www-form-urlencoded"))
    fc.start()
    try:
        # When a form body (with a charset parameter) and a JSON body arrive
        post_to(fc, b"text=caf%C3%A9&x=1", "application/x-www-form-urlencoded; charset=utf-8")
        post_to(fc, b'{"a": 1}', "application/json")
    finally:
        fc.stop()
    # Then the form body is base64, flagged so, and decodes to the bytes sent; the JSON body is plain
    form, other = handler.events
    assert form["isBase64Encoded"] is True and base64.b64decode(form["body"]) == b"text=caf%C3%A9&x=1"
    assert (other["isBase64Encoded"], other["body"]) == (False, '{"a": 1}')


def test_all_bodies_are_base64_for_every_media_type_and_by_default_none_is(handler: Recorder) -> None:
    always = FcServer(handler=handler, base64_bodies=all_bodies)
    default = FcServer(handler=handler)
    for fc in (always, default):
        fc.start()
        try:
            post_to(fc, b'{"a": 1}', "application/json")
        finally:
            fc.stop()
    encoded, plain = handler.events
    assert encoded["isBase64Encoded"] is True and base64.b64decode(encoded["body"]) == b'{"a": 1}'
    assert (plain["isBase64Encoded"], plain["body"]) == (False, '{"a": 1}')
