"""The Function Compute 3.0 adapter: pure translators over the real event fixture, the handler's refusals,
and deferred work through a V3-signed async InvokeFunction delivered at least once."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from bot.slack.answering.deferral import DeferredInvocation
from bot.usecases.work import DeferredRun
from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer, http_event
from emulators.slack import SlackEmulator, SlackSender
from functions.fc_event import MAX_BODY_BYTES, to_bolt_request, to_fc_response
from functions.http import handler, reset_app
from tests.conftest import SIGNING_SECRET, SLACK_PATH, fc3_reference_event

CHANNEL = "C0OPS"
USER = "U0ALICE"


class Context:
    request_id = "req-test-1"


def test_reference_event_translates_to_a_bolt_request() -> None:
    # Given the real FC 3.0 HTTP trigger event
    event = fc3_reference_event()
    # When translated
    request = to_bolt_request(event)
    # Then the body and the (lower-cased) headers come through
    assert request.raw_body == "haha"
    assert request.headers["x-acs-action"] == ["InvokeFunction"]
    assert request.headers["content-type"] == ["application/octet-stream"]


def test_base64_bodies_are_decoded() -> None:
    event = fc3_reference_event()
    event["body"] = base64.b64encode(b"text=hello%20world").decode()
    event["isBase64Encoded"] = True
    assert to_bolt_request(event).raw_body == "text=hello%20world"


def test_a_deferred_invocation_is_verified_again(
    app_env: dict[str, str], slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    # Given an async invocation payload carrying a request Slack did not sign
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url="http://unused")
    body = sender.slash_command_body(
        "cn-hangzhou failed", response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )
    event = fc3_reference_event()
    event.update(body=body, isBase64Encoded=False, headers=sender.forged_headers(body))
    payload = DeferredInvocation(event, DeferredRun(may_have_acted=False)).to_dict()
    # When it reaches the handler
    reply = handler(json.dumps(payload).encode(), Context())
    # Then it is refused like any unsigned request, and nothing runs
    assert reply["statusCode"] == 401 and ecs.calls == [] and slack.calls == []


def test_bolt_response_translates_to_the_fc_reply() -> None:
    from slack_bolt import BoltResponse

    reply = to_fc_response(BoltResponse(status=200, body='{"ok":true}', headers={"content-type": "application/json"}))
    assert reply == {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": '{"ok":true}',
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda e: e["requestContext"]["http"].update(method="GET"), 405),
        (lambda e: e.update(body=base64.b64encode(b"\xff\xfe").decode(), isBase64Encoded=True), 400),
        (lambda e: e.update(body="!!!", isBase64Encoded=True), 400),
        (lambda e: e.update(body="x" * (MAX_BODY_BYTES + 1)), 413),
    ],
)
def test_handler_refuses_what_is_not_a_slack_request(app_env: dict[str, str], mutate: Any, status: int) -> None:
    event = fc3_reference_event()
    mutate(event)
    reply = handler(json.dumps(event).encode(), Context())
    assert reply["statusCode"] == status
    assert "Traceback" not in reply["body"]


def test_event_that_is_not_json_is_a_400(app_env: dict[str, str]) -> None:
    assert handler(b"\x00not json", Context())["statusCode"] == 400
    assert handler(b"[1, 2]", Context())["statusCode"] == 400


def test_unsigned_reference_event_is_a_401(app_env: dict[str, str], ecs: EcsEmulator) -> None:
    reply = handler(json.dumps(fc3_reference_event()).encode(), Context())
    assert reply["statusCode"] == 401 and ecs.calls == []


# --- deferred work through InvokeFunction ----------------------------------------------------------


def test_slow_work_is_invoked_async_signed_and_posts_once_when_delivered_twice(
    fc_async: FcServer, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    ecs.add_task(
        TaskId="t-bp1async",
        RegionId="cn-hangzhou",
        TaskAction="ImportImage",
        TaskStatus="Failed",
        CreationTime="2026-11-28T10:00:00Z",
        FinishedTime="2026-11-28T10:05:00Z",
    )
    ecs.faults.update({"latency_s": 2.0})  # more than the inline budget
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc_async.base_url + SLACK_PATH)
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    started = time.monotonic()
    response = sender.slash_command("cn-hangzhou failed", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    assert response.status_code == 200 and time.monotonic() - started < 3.0 and response.text == ""
    fc_async.wait_for_async(timeout=20)
    # The InvokeFunction request passed the V3 signature check (else nothing would have been queued)
    (invocation,) = fc_async.invocations
    payload = DeferredInvocation.from_dict(json.loads(invocation.payload))
    assert payload is not None and payload.event["body"] and payload.run == DeferredRun(may_have_acted=False)
    # Both deliveries ran; exactly one answer reached Slack
    assert invocation.result is not None and invocation.result["statusCode"] == 200
    answers = slack.calls_to("response_url")
    assert len(answers) == 1 and "t-bp1async" in json.dumps(answers[0].args["blocks"])


def test_invoke_failure_tells_the_user_instead_of_silence(
    fc_async: FcServer, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    fc_async.credentials = {}  # InvokeFunction now refuses our signature
    ecs.faults.update({"latency_s": 2.0})  # more than the inline budget: the work must be handed on
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc_async.base_url + SLACK_PATH)
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    response = sender.slash_command("cn-hangzhou failed", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    assert response.status_code == 200
    assert "could not start" in response.json()["text"]
    assert fc_async.invocations == []


def test_http_event_builder_matches_the_reference_shape() -> None:
    event = http_event(
        method="POST", path="/slack/events", query={}, headers={"Host": "h"}, body=b"a=1", source_ip="127.0.0.1"
    )
    reference = fc3_reference_event()
    assert set(event) == set(reference)
    assert set(event["requestContext"]) >= set(reference["requestContext"]) - {"triggerId"}
    assert set(event["requestContext"]["http"]) == set(reference["requestContext"]["http"])


def test_wsgi_entry_point_for_fc2_verifies_acks_and_answers(
    app_env: dict[str, str], slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    from wsgiref.util import setup_testing_defaults

    from functions import wsgi

    # FC 2.0 sets FC_FUNCTION_NAME too; deferred work must still run here, on a thread
    monkeypatch.setenv("FC_FUNCTION_NAME", "ecs-tasks-fc2")
    reset_app()
    ecs.add_task(
        TaskId="t-bp1wsgi",
        RegionId="cn-hangzhou",
        TaskAction="ExportImage",
        TaskStatus="Failed",
        CreationTime="2026-11-28T10:00:00Z",
        FinishedTime="2026-11-28T10:05:00Z",
    )
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url="http://unused")
    statuses: list[str] = []

    def call(body: str, headers: dict[str, str]) -> bytes:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": SLACK_PATH,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body.encode()),
            "fc.context": Context(),
        }
        setup_testing_defaults(environ)
        for name, value in headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        return b"".join(wsgi.handler(environ, lambda status, _headers: statuses.append(status)))

    help_body = sender.slash_command_body("help", response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER))
    assert "/ecs-tasks" in json.loads(call(help_body, sender.signed_headers(help_body)))["text"]
    call(help_body, sender.forged_headers(help_body))
    query = sender.slash_command_body(
        "cn-hangzhou failed", response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )
    answer = json.loads(call(query, sender.signed_headers(query)))
    assert [s.split()[0] for s in statuses] == ["200", "401", "200"]
    assert "t-bp1wsgi" in json.dumps(answer["blocks"])
    reset_app()
