"""A deferred run that Function Compute delivers after Slack's five-minute window still answers: its payload
carries its own seal (bot.slack.answering.seal), good for as long as the response_url (30 minutes). After
that it is dropped with a log line; an altered payload is refused. Over real HTTP through
`functions.http.handler` (the FC stand-in, its async deliveries held back and then delivered late), Slack's
own verifier (slack_sdk's SignatureVerifier, in the handler and in Bolt) reading a clock moved on."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from slack_sdk.signature import Clock

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from tests.conftest import SIGNING_SECRET, SLACK_PATH

CHANNEL, USER = "C0OPS", "U0ALICE"


def log_records(err: str) -> list[dict[str, Any]]:
    records = []
    for line in err.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


@pytest.fixture
def held_payload(fc_async: FcServer, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The async invocation of a command's deferred work, held back instead of delivered."""
    monkeypatch.setenv("ECS_TASKS_INLINE_BUDGET", "0")  # every command's work is deferred
    ecs.faults.update({"latency_s": 0.3})  # (and none is done before the budget is found spent)
    http.reset_app()
    fc_async.duplicate_deliveries = 0  # recorded, not run
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc_async.base_url + SLACK_PATH)
    response = sender.slash_command(
        "cn-hangzhou failed",
        user_id=USER,
        channel_id=CHANNEL,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
    )
    assert response.status_code == 200
    ecs.faults.update({"latency_s": 0})
    # The inline attempt's own query (the cold instance's head start) reaches ECS, out of the way of the counts
    waited_until = time.monotonic() + 2.0
    while not ecs.calls and time.monotonic() < waited_until:
        time.sleep(0.02)
    (invocation,) = fc_async.invocations
    return invocation.payload


def later_by(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    # Slack's verifier reads the time through slack_sdk.signature.Clock: the world `seconds` on
    real = time.time
    monkeypatch.setattr(Clock, "now", lambda self: real() + seconds)


def test_a_deferred_run_delivered_six_minutes_late_still_answers(
    fc_async: FcServer, held_payload: bytes, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a deferred run that Function Compute delivers six minutes after Slack signed the request
    later_by(monkeypatch, 6 * 60)
    before = len(ecs.calls)  # (the inline attempt may have started its query)
    # When it runs
    result = fc_async.invoke(held_payload)
    # Then it is not refused, and the user gets the card through the response_url
    assert result["statusCode"] == 200
    answers = slack.calls_to("response_url")
    assert answers and "blocks" in answers[-1].args
    assert "DescribeTasks" in [c.action for c in ecs.calls[before:]]


def test_a_deferred_run_delivered_after_the_response_url_expired_is_dropped_with_a_log_line(
    fc_async: FcServer,
    held_payload: bytes,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    capfd.readouterr()
    # Given a deferred run delivered 31 minutes late (its response_url is gone)
    later_by(monkeypatch, 31 * 60)
    before = len(ecs.calls)
    result = fc_async.invoke(held_payload)
    # Then nothing runs, and the log says it was dropped: no 401 warning
    assert result["statusCode"] == 200
    assert len(ecs.calls) == before and slack.calls_to("response_url") == []
    records = log_records(capfd.readouterr().err)
    assert any(r.get("event") == "deferred.expired" and r.get("outcome") == "dropped" for r in records)
    assert not any(r.get("event") == "http.rejected" for r in records)


@pytest.mark.parametrize("field", ["run", "issued_at", "body"])
def test_an_altered_deferred_payload_is_refused(
    fc_async: FcServer, held_payload: bytes, slack: SlackEmulator, ecs: EcsEmulator, field: str
) -> None:
    # Given the payload with one part changed by someone without the signing secret
    payload = json.loads(held_payload)
    if field == "run":
        payload["ecs_tasks_deferred_run"]["may_have_acted"] = True
    elif field == "issued_at":
        payload["ecs_tasks_deferred_issued_at"] += 3600
    else:
        payload["ecs_tasks_deferred_event"]["body"] = payload["ecs_tasks_deferred_event"]["body"].replace(
            "failed", "processing"
        )
    before = len(ecs.calls)
    # When it is delivered, then it is refused and nothing runs
    result = fc_async.invoke(json.dumps(payload).encode())
    assert result["statusCode"] == 401
    assert len(ecs.calls) == before and slack.calls_to("response_url") == []


def test_two_late_deliveries_of_one_invocation_answer_once(
    fc_async: FcServer, held_payload: bytes, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given one invocation delivered twice, a minute apart, both after Slack's window (each signed afresh)
    before = len(ecs.calls)
    later_by(monkeypatch, 6 * 60)
    first = fc_async.invoke(held_payload)
    later_by(monkeypatch, 7 * 60)
    second = fc_async.invoke(held_payload)
    # Then the work ran once: one query, one answer
    assert first["statusCode"] == second["statusCode"] == 200
    assert [c.action for c in ecs.calls[before:]].count("DescribeTasks") == 1
    assert len(slack.calls_to("response_url")) == 1
