"""The one retry rule (shared.ecs.retry) as its three callers live it, over loopback HTTP: ECS against the ECS
emulator, STS AssumeRole against the STS emulator, FC InvokeFunction against the FC stand-in (and, for the
answers it never gives, a scripted FC on a loopback port). Reads back off alike; a call that changes something
(CancelTask, InvokeFunction) is tried again only when it was refused before acting."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.sts.server import StsEmulator
from shared.ecs.client import EcsClient
from shared.ecs.credentials import Credentials, StaticCredentialsProvider
from shared.ecs.invoke import AsyncInvoker
from shared.ecs.retry import RetryPolicy
from shared.ecs.sessions import Purpose, SessionSpec
from shared.ecs.sts import STS_API_VERSION, StsClient
from shared.ecs.transport import ApiTransport
from shared.errors import CODE_CONNECT_FAILED, CODE_TIMEOUT, ApiError, EcsApiError, FcApiError, StsApiError
from tests.conftest import ACCESS_KEY_ID, ACCESS_KEY_SECRET, fixed_task
from tests.sts_support import CALLERS, HOME_KEY_ID, HOME_KEY_SECRET, ROLES, STAGING, Clock

POLICY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)
# Full jitter at a fixed random fraction of 0.5: half of 0.01, 0.02, 0.04.
BACKOFF = [0.005, 0.01, 0.02]
FC_KEY_ID, FC_KEY_SECRET = "fc-key-id", "fc-key-secret"
THROTTLED = (429, {"Code": "Throttling", "Message": "Request was denied due to request throttling."})


class Sleeps:
    """An injected sleep that records and does not wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class ScriptedFc:
    """FC's InvokeFunction as a loopback HTTP server answering from a script: (status, JSON body, delay) per
    request, then 202 Accepted. It counts what reached it."""

    def __init__(self, script: list[tuple[int, dict[str, str], float]]) -> None:
        self.script = list(script)
        self.received = 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    outer.received += 1
                    status, body, delay = outer.script.pop(0) if outer.script else (202, {}, 0.0)
                time.sleep(delay)
                payload = json.dumps(body).encode() if body else b""
                try:
                    self.send_response(status)
                    self.send_header("x-fc-request-id", f"fc-{outer.received}")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting: nothing to answer

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedFc:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"


def invoker(endpoint: str, sleeps: Sleeps) -> AsyncInvoker:
    credentials = StaticCredentialsProvider(Credentials(FC_KEY_ID, FC_KEY_SECRET))
    return AsyncInvoker(
        credentials, endpoint=endpoint, function_name="ecs-tasks", retry=POLICY, sleep=sleeps, rand=lambda: 0.5
    )


def ecs_client(ecs: EcsEmulator, sleeps: Sleeps, timeout: tuple[float, float] = (1.0, 2.0)) -> EcsClient:
    credentials = StaticCredentialsProvider(Credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET))
    transport = ApiTransport(credentials, endpoint=ecs.base_url)
    return EcsClient(transport, retry=POLICY, timeout=timeout, sleep=sleeps, rand=lambda: 0.5)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sts() -> Iterator[StsEmulator]:
    with StsEmulator(callers=CALLERS, roles=ROLES, clock=Clock(datetime.now(timezone.utc))) as emulator:
        yield emulator


# --- reads and refusals back off alike ----------------------------------------------------------------


def throttled_ecs_read(ecs: EcsEmulator, sts: StsEmulator, sleeps: Sleeps) -> Callable[[], object]:
    ecs.faults.update({"throttle_next": 2, "throttle_retry_after_ms": 0})  # no wait asked: the backoff decides
    return lambda: ecs_client(ecs, sleeps).describe_tasks("cn-hangzhou")


def throttled_assume_role(ecs: EcsEmulator, sts: StsEmulator, sleeps: Sleeps) -> Callable[[], object]:
    sts.throttle(2)
    transport = ApiTransport(
        StaticCredentialsProvider(Credentials(HOME_KEY_ID, HOME_KEY_SECRET)),
        endpoint=sts.base_url,
        api_version=STS_API_VERSION,
        error_type=StsApiError,
    )
    client = StsClient(transport, retry=POLICY, sleep=sleeps, rand=lambda: 0.5)
    return lambda: client.assume_role(STAGING, SessionSpec.for_user("U0ALICE", Purpose.READ))


@pytest.mark.parametrize("make_call", [throttled_ecs_read, throttled_assume_role], ids=["DescribeTasks", "AssumeRole"])
def test_throttled_reads_are_retried_on_the_one_backoff_schedule(
    ecs: EcsEmulator, sts: StsEmulator, make_call: Callable[[EcsEmulator, StsEmulator, Sleeps], Callable[[], object]]
) -> None:
    # Given ECS or STS throttling the first two requests
    sleeps = Sleeps()
    # When a read is made, then it succeeds on the third attempt after the policy's two backoff sleeps
    make_call(ecs, sts, sleeps)()
    assert sleeps.calls == BACKOFF[:2]


def test_a_throttled_invoke_is_retried_on_the_same_schedule() -> None:
    # Given Function Compute throttling the first two InvokeFunction requests (throttled before acting)
    sleeps = Sleeps()
    with ScriptedFc([(*THROTTLED, 0.0), (*THROTTLED, 0.0)]) as fc:
        # When the deferred work is handed off, then the third attempt queues it, after the same two sleeps
        assert invoker(fc.base_url, sleeps).invoke_async({"work": 1}) == "fc-3"
        assert fc.received == 3
    assert sleeps.calls == BACKOFF[:2]


def test_an_invoke_that_never_connected_is_retried_like_a_cancel() -> None:
    # Given nothing listening where FC should be: the request was never sent
    sleeps = Sleeps()
    with pytest.raises(FcApiError) as raised:
        invoker(f"http://127.0.0.1:{closed_port()}", sleeps).invoke_async({"work": 1})
    # Then every attempt the policy allows was made, backing off in between
    assert raised.value.code == CODE_CONNECT_FAILED
    assert sleeps.calls == BACKOFF


# --- a call that changes something is not repeated once it may have acted ------------------------------


def test_cancel_task_is_not_retried_after_a_read_timeout(ecs: EcsEmulator, now: datetime) -> None:
    ecs.add_task(**fixed_task("t-slow", created=now, status="Processing"))
    ecs.faults.update({"latency_s": 0.6})
    sleeps = Sleeps()
    with pytest.raises(EcsApiError) as raised:
        ecs_client(ecs, sleeps, timeout=(0.5, 0.2)).cancel_task("cn-hangzhou", "t-slow")
    assert raised.value.code == CODE_TIMEOUT
    assert [c.action for c in ecs.calls] == ["CancelTask"] and sleeps.calls == []


def test_invoke_function_is_not_retried_after_a_read_timeout() -> None:
    # Given FC that takes longer to answer than the hand-off's read timeout (1.5 s): it may have queued the work
    sleeps = Sleeps()
    with ScriptedFc([(202, {}, 2.0)]) as fc:
        with pytest.raises(FcApiError) as raised:
            invoker(fc.base_url, sleeps).invoke_async({"work": 1})
        # Then it is not sent again (a second delivery would run the work twice)
        assert raised.value.code == CODE_TIMEOUT
        assert fc.received == 1 and sleeps.calls == []


def test_an_invoke_answered_with_an_internal_error_is_not_retried() -> None:
    # Given an InternalError (a read would be tried again, but the service may have acted): one attempt only
    sleeps = Sleeps()
    with ScriptedFc([(500, {"Code": "InternalError", "Message": "try again"}, 0.0)]) as fc:
        with pytest.raises(FcApiError) as raised:
            invoker(fc.base_url, sleeps).invoke_async({"work": 1})
        assert raised.value.code == "InternalError" and raised.value.http_status == 500
        assert fc.received == 1 and sleeps.calls == []


# --- InvokeFunction on the shared transport ----------------------------------------------------------


def test_invoke_function_is_signed_as_the_fc_stand_in_verifies_and_queues_the_payload() -> None:
    delivered: list[bytes] = []

    def handler(event: bytes, context: Any) -> dict[str, Any]:
        delivered.append(event)
        return {}

    with FcServer(handler, credentials={FC_KEY_ID: FC_KEY_SECRET}) as fc:
        request_id = invoker(fc.base_url, Sleeps()).invoke_async({"work": 1})
        fc.wait_for_async()
    assert request_id and delivered == [b'{"work":1}']


def test_an_fc_refusal_is_an_api_error_with_the_services_code() -> None:
    # Given a wrong secret: the FC stand-in refuses the signature
    with (
        FcServer(lambda event, context: {}, credentials={FC_KEY_ID: "another-secret"}) as fc,
        pytest.raises(ApiError) as raised,
    ):
        invoker(fc.base_url, Sleeps()).invoke_async({"work": 1})
    assert isinstance(raised.value, FcApiError)
    assert raised.value.code == "SignatureDoesNotMatch" and raised.value.http_status == 403
