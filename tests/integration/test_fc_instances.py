"""The Function Compute stand-in's instances, over real HTTP on loopback: the initializer runs once per instance,
before the instance's first invocation; a failing initializer fails the instance, the invocation is answered
with FC's InitializationError, and the next invocation gets a new instance that runs it again. Then the same
for the product's own `functions.http.initialize` and `functions.http.handler`, with plain and base64 bodies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from emulators.ecs import EcsEmulator
from emulators.fc.instance import ERROR_TYPE_HEADER, INITIALIZATION_ERROR
from emulators.fc_server import Base64Bodies, FcServer, bodies_of, plain_text_bodies
from emulators.slack import SlackEmulator, SlackSender
from emulators.slack.sender import DEFAULT_CHANNEL_ID, DEFAULT_USER_ID
from tests.conftest import SIGNING_SECRET, SLACK_PATH
from tests.integration.test_fc_server import invoke

FORM = "application/x-www-form-urlencoded"


class Function:
    """A synthetic function: an initializer and a handler that write, in order, what ran into one log; the
    initializer raises while `failures` is above zero, and first waits `init_s`."""

    def __init__(self, *, failures: int = 0, init_s: float = 0.0) -> None:
        self.log: list[str] = []
        self.contexts: list[Any] = []
        self.failures = failures
        self.init_s = init_s
        self._lock = threading.Lock()

    def initialize(self, context: Any) -> None:
        time.sleep(self.init_s)
        with self._lock:
            self.log.append("initialize")
            self.contexts.append(context)
            if self.failures > 0:
                self.failures -= 1
                raise RuntimeError("the database is not there yet")

    def handler(self, event: bytes, context: Any) -> dict[str, Any]:
        with self._lock:
            self.log.append("handle")
        return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "ok"}


@pytest.fixture
def function() -> Function:
    return Function()


def serve(function: Function, **options: Any) -> FcServer:
    fc = FcServer(handler=function.handler, initializer=function.initialize, **options)
    fc.start()
    return fc


@pytest.fixture
def fc(function: Function) -> Iterator[FcServer]:
    server = serve(function)
    yield server
    server.stop()


def post(fc: FcServer, body: bytes = b"hello") -> requests.Response:
    return requests.post(fc.base_url + "/slack/events", data=body, headers={"content-type": FORM}, timeout=10)


def test_the_initializer_runs_once_per_instance_before_its_first_request(fc: FcServer, function: Function) -> None:
    # Given a new stand-in, when three requests arrive one after another
    answers = [post(fc) for _ in range(3)]
    # Then the initializer ran once, before the first of them, with the context Function Compute gives
    assert [a.status_code for a in answers] == [200, 200, 200] and all(a.text == "ok" for a in answers)
    assert function.log == ["initialize", "handle", "handle", "handle"]
    (context,) = function.contexts
    assert context.function.name == fc.function_name and context.request_id
    # And when a new instance starts (a cold start), its first request runs the initializer again
    fc.cold_start()
    assert post(fc).status_code == 200
    assert function.log[4:] == ["initialize", "handle"]
    assert [i.initialized for i in fc.instances.started] == [True, True]


def test_requests_that_arrive_while_the_instance_initializes_wait_for_it() -> None:
    # Given an initializer that takes a while
    function = Function(init_s=0.3)
    fc = serve(function)
    try:
        # When three requests arrive at once on a new instance
        answers: list[requests.Response] = []
        threads = [threading.Thread(target=lambda: answers.append(post(fc))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        fc.stop()
    # Then the initializer ran once, and no request reached the handler before it had finished
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert function.log == ["initialize", "handle", "handle", "handle"]


def test_a_raising_initializer_fails_the_instance_and_the_next_request_gets_a_new_one() -> None:
    # Given an initializer that raises the first time it runs
    function = Function(failures=1)
    fc = serve(function)
    try:
        # When the first request arrives
        failed = post(fc)
        # Then Function Compute's answer is an InitializationError, and the handler never ran
        assert failed.status_code == 200
        assert failed.headers[ERROR_TYPE_HEADER] == INITIALIZATION_ERROR
        error = failed.json()
        assert (error["errorType"], error["errorMessage"]) == ("RuntimeError", "the database is not there yet")
        assert any("in initialize" in frame for frame in error["stackTrace"][-1])
        assert function.log == ["initialize"]
        # And the next request runs on a new instance, whose initializer runs again and succeeds
        again = post(fc)
    finally:
        fc.stop()
    assert (again.status_code, again.text, ERROR_TYPE_HEADER in again.headers) == (200, "ok", False)
    assert function.log == ["initialize", "initialize", "handle"]
    assert [(i.failed, i.initialized) for i in fc.instances.started] == [(True, False), (False, True)]


def test_an_initializer_past_its_timeout_fails_the_instance() -> None:
    # Given an initializer that takes longer than its timeout
    function = Function(init_s=2.0)
    fc = serve(function, initialization_timeout_s=0.2)
    try:
        started = time.monotonic()
        answer = post(fc)
        waited = time.monotonic() - started
    finally:
        fc.stop()
    # Then the request is answered with an InitializationError once the timeout has passed, and the handler
    # never ran
    assert answer.headers[ERROR_TYPE_HEADER] == INITIALIZATION_ERROR
    assert answer.json()["errorType"] == "InitializationTimeout"
    assert 0.2 <= waited < 2.0
    assert "handle" not in function.log
    assert fc.instances.current.failed


def test_an_async_invocation_runs_on_an_initialized_instance_and_fails_with_it() -> None:
    # Given an initializer that raises the first time it runs, and InvokeFunction signed by the official SDK
    function = Function(failures=1)
    fc = serve(function, credentials={"fc-ak": "fc-secret"})
    try:
        # When two async invocations arrive one after the other
        first = invoke(fc, b'{"work": 1}')
        fc.wait_for_async()
        second = invoke(fc, b'{"work": 2}')
        fc.wait_for_async()
    finally:
        fc.stop()
    # Then both are queued (202); the first failed with its instance before the handler ran, the second ran on
    # a new instance
    assert (first.status_code, second.status_code) == (202, 202)
    failed, ran = fc.invocations
    assert failed.failed is not None and failed.failed.answer()["errorType"] == "RuntimeError"
    assert failed.result is None
    assert ran.failed is None and ran.result is not None and ran.result["body"] == "ok"
    assert function.log == ["initialize", "initialize", "handle"]


def test_without_an_initializer_every_request_reaches_the_handler() -> None:
    function = Function()
    fc = FcServer(handler=function.handler)
    fc.start()
    try:
        assert post(fc).text == "ok"
    finally:
        fc.stop()
    assert function.log == ["handle"]


# --- the product: functions.http.initialize and functions.http.handler -----------------------------


class Recorded:
    """The product's handler and initializer, noting what each saw: whether the app existed when the
    handler ran, and each HTTP trigger event's isBase64Encoded."""

    def __init__(self) -> None:
        self.initialized = 0
        self.app_built_before_handler: list[bool] = []
        self.base64: list[bool] = []

    def initialize(self, context: Any) -> None:
        from functions import http

        self.initialized += 1
        http.initialize(context)

    def handler(self, event: bytes, context: Any) -> dict[str, Any]:
        from functions import http

        self.app_built_before_handler.append(http._app is not None)
        self.base64.append(bool(json.loads(event).get("isBase64Encoded")))
        return http.handler(event, context)


def slash_command(fc: FcServer, slack: SlackEmulator, text: str) -> requests.Response:
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc.base_url + SLACK_PATH)
    response_url = slack.new_response_url(channel_id=DEFAULT_CHANNEL_ID, user_id=DEFAULT_USER_ID)
    return sender.slash_command(text, response_url=response_url)


def answers_through(bodies: Base64Bodies, slack: SlackEmulator) -> tuple[Recorded, list[Any]]:
    """Two slash commands through a new stand-in for the product (a new instance), its bodies as `bodies` says."""
    from functions import http

    http.reset_app()  # the product's module state, as a new instance's process would start
    recorded = Recorded()
    fc = FcServer(handler=recorded.handler, initializer=recorded.initialize, base64_bodies=bodies)
    fc.start()
    try:
        answers = [slash_command(fc, slack, text) for text in ("help", "cn-hangzhou failed")]
        fc.wait_for_async()
    finally:
        fc.stop()
    assert [a.status_code for a in answers] == [200, 200]
    return recorded, [a.json() for a in answers]


@pytest.mark.usefixtures("app_env")
def test_the_products_initializer_builds_the_app_before_the_first_request_in_both_encodings(
    slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # Given the product behind the stand-in, with trigger bodies as plain text and then as base64
    plain, plain_answers = answers_through(plain_text_bodies, slack)
    encoded, encoded_answers = answers_through(bodies_of(FORM), slack)
    # Then in each, the initializer ran once and the app existed before the handler's first request
    assert (plain.initialized, encoded.initialized) == (1, 1)
    assert plain.app_built_before_handler == encoded.app_built_before_handler == [True, True]
    # And the signed slash commands arrived plain, then base64, and got the same answers
    assert (plain.base64, encoded.base64) == ([False, False], [True, True])
    # (help's buttons carry the time of asking, to the second: its text is compared)
    (plain_help, plain_query), (encoded_help, encoded_query) = plain_answers, encoded_answers
    assert encoded_help["text"] == plain_help["text"] and "/ecs-tasks" in plain_help["text"]
    assert encoded_query == plain_query
    assert plain_query["text"].startswith("Failed tasks in cn-hangzhou") and len(ecs.calls) >= 2
