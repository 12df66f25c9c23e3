"""The local Function Compute stand-in (`ecs-tasks-dev serve`) over a raw socket: a malformed or short
Content-Length gets a 400, a stalled body times out instead of holding a thread, and teardown is prompt."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from emulators.fc_server import FcServer

READ_TIMEOUT_S = 0.5


class Recorder:
    """The handler behind the stand-in: records each event's body and answers 200."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def __call__(self, event: bytes, context: Any) -> dict[str, Any]:
        import json

        self.bodies.append(json.loads(event)["body"])
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
