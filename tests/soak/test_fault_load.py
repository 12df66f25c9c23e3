"""Fault and load suite: many slash commands and button clicks while ECS throttles, fails, garbles, drops and
stalls. Every one is acknowledged within Slack's 3 seconds and answered once (a result or a clear error); no
traceback reaches Slack and no secret reaches the logs. `make test` runs a short version, `make soak` the long one.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from shared.cards.task_cards import ACTION_REFRESH
from shared.log import LOGGER_NAME, JsonFormatter
from tests.conftest import ACCESS_KEY_SECRET, BOT_TOKEN, SIGNING_SECRET, SLACK_PATH, fixed_task

ACK_DEADLINE_S = 3.0
# About 10% of ECS requests fail one way or another, and another 2% stall for 5 seconds.
FAULTS = {
    "throttle_rate": 0.03,
    "error_5xx_rate": 0.03,
    "malformed_rate": 0.02,
    "drop_rate": 0.02,
    "slow_rate": 0.02,
    "slow_latency_s": 5.0,
    "seed": 11,
}
SECRETS = (SIGNING_SECRET, BOT_TOKEN, ACCESS_KEY_SECRET)


@dataclass
class Outcome:
    kind: str
    status: int
    ack_s: float
    response_url: str
    acked_with: str  # a slash command answered inline: its answer is the acknowledgement's body


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every JSON log line of the run, to scan for secrets."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in (LOGGER_NAME, "slack_bolt", "slack_sdk", "urllib3")]
    for logger in loggers:
        logger.addHandler(handler)
    yield stream
    for logger in loggers:
        logger.removeHandler(handler)


def run_load(
    count: int,
    fc: FcServer,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> list[Outcome]:
    for i in range(30):
        created = now - timedelta(minutes=i)
        ecs.add_task(**fixed_task(f"t-load{i:04d}", status="Failed", created=created, finished=created))
    monkeypatch.setenv("ECS_TASKS_ECS_DEADLINE", "4")
    http.reset_app()
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc.base_url + SLACK_PATH)
    # A real value for the Refresh buttons: one card fetched before the faults start.
    card = sender.slash_command(
        "cn-hangzhou failed", response_url=slack.new_response_url(channel_id="C0", user_id="U0")
    ).json()
    refresh = next(e for b in card["blocks"] for e in b.get("elements", []) if e.get("action_id") == ACTION_REFRESH)
    slack.reset()
    ecs.faults.update(FAULTS)

    def one(i: int) -> Outcome:
        channel, user = f"C{i % 7}", f"U{i}"
        response_url = slack.new_response_url(channel_id=channel, user_id=user)
        started = time.monotonic()
        if i % 2:
            response = sender.block_action(
                action_id=ACTION_REFRESH,
                value=refresh["value"],
                channel_id=channel,
                user_id=user,
                response_url=response_url,
                is_ephemeral=True,
            )
            kind = "click"
        else:
            response = sender.slash_command(
                "cn-hangzhou failed import", user_id=user, channel_id=channel, response_url=response_url
            )
            kind = "command"
        return Outcome(kind, response.status_code, time.monotonic() - started, response_url, response.text)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(one, range(count)))
    fc.wait_for_async(timeout=120)
    return outcomes


def check(outcomes: list[Outcome], slack: SlackEmulator, ecs: EcsEmulator, logs: io.StringIO) -> None:
    injected = [c.fault for c in ecs.calls if c.fault]
    assert len(injected) >= len(ecs.calls) // 20, "the faults were injected"
    slow = [o for o in outcomes if o.status != 200 or o.ack_s >= ACK_DEADLINE_S]
    assert slow == [], f"{len(slow)} requests were not acknowledged in time: {slow[:3]}"
    answers: dict[str, int] = {}
    posted = [c.args for c in slack.calls_to("response_url")]
    for args in posted:
        answers[args["url_id"]] = answers.get(args["url_id"], 0) + 1
    for outcome in outcomes:
        if outcome.acked_with:
            url_id = outcome.response_url.rsplit("/", 1)[-1]
            answers[url_id] = answers.get(url_id, 0) + 1
            posted.append(json.loads(outcome.acked_with))
    unanswered = [o for o in outcomes if o.response_url.rsplit("/", 1)[-1] not in answers]
    assert unanswered == [], f"{len(unanswered)} requests got no answer"
    assert max(answers.values()) == 1, "a request was answered twice"
    shown = json.dumps(posted)
    assert "Traceback" not in shown and 'File "' not in shown
    for args in posted:
        body = json.dumps(args)
        is_card = "tasks in cn-hangzhou" in body
        is_clear_error = "RequestId" in body or "Client." in body
        assert is_card or is_clear_error, f"an answer that is neither a card nor a clear error: {body[:300]}"
    text = logs.getvalue()
    assert text, "the run logged"
    for secret in SECRETS:
        assert secret not in text


def test_short_fault_load(
    fc_async: FcServer,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    captured_logs: io.StringIO,
) -> None:
    outcomes = run_load(120, fc_async, slack, ecs, now, monkeypatch)
    check(outcomes, slack, ecs, captured_logs)


@pytest.mark.soak
def test_soak_fault_load(
    fc_async: FcServer,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    now: datetime,
    monkeypatch: pytest.MonkeyPatch,
    captured_logs: io.StringIO,
) -> None:
    outcomes = run_load(1000, fc_async, slack, ecs, now, monkeypatch)
    check(outcomes, slack, ecs, captured_logs)
