"""One round trip: with Function Compute settings and no database, through the handler template.yml names
(`functions.http.handler`, over real HTTP via the FC stand-in), answers come inside Slack's request; only
work that does not fit the budget goes the deferred way (an async InvokeFunction, delivered twice)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from shared.cards.parts import ACTION_UNSUBSCRIBE, ACTION_UNWATCH
from shared.cards.task_cards import ACTION_CANCEL, ACTION_REFRESH, ACTION_WATCH, base_action_id
from tests.conftest import SIGNING_SECRET, SLACK_PATH, fixed_task

CHANNEL = "C0OPS"
USER = "U0ALICE"
ACK_DEADLINE_S = 3.0
# Slower than Slack's acknowledgement deadline: an answer that waited for ECS would be too late.
SLOW_ECS_S = 3.2


@pytest.fixture
def no_database(fc_async: FcServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FcServer]:
    """Function Compute settings (the fc_async fixture's) without ECS_TASKS_DATABASE_URL."""
    from functions import http

    monkeypatch.delenv("ECS_TASKS_DATABASE_URL")
    http.reset_app()
    yield fc_async
    http.reset_app()


@pytest.fixture
def sender(no_database: FcServer) -> SlackSender:
    return SlackSender(signing_secret=SIGNING_SECRET, target_url=no_database.base_url + SLACK_PATH)


def command(sender: SlackSender, slack: SlackEmulator, text: str) -> tuple[Any, float, str]:
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    started = time.monotonic()
    response = sender.slash_command(text, user_id=USER, channel_id=CHANNEL, response_url=response_url)
    return response, time.monotonic() - started, response_url


def element(blocks: list[dict[str, Any]], action: str) -> dict[str, Any]:
    for block in blocks:
        for found in [*block.get("elements", []), *([block["accessory"]] if "accessory" in block else [])]:
            if base_action_id(str(found.get("action_id", ""))) == action:
                return dict(found)
    raise AssertionError(f"no {action} in the card")


def click(sender: SlackSender, button: dict[str, Any], response_url: str, *, user_id: str = USER) -> Any:
    return sender.block_action(
        action_id=button["action_id"],
        value=button["value"],
        channel_id=CHANNEL,
        user_id=user_id,
        response_url=response_url,
        is_ephemeral=True,
    )


def test_a_slash_command_is_answered_in_its_acknowledgement(
    no_database: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given Function Compute settings, no database, and a failed task
    ecs.add_task(**fixed_task("t-inline001", status="Failed", created=now, finished=now))
    # When the user types a query
    response, elapsed, _ = command(sender, slack, "cn-hangzhou failed")
    # Then the acknowledgement is the card, nothing was invoked, and nothing else was sent
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S
    card = response.json()
    assert card["response_type"] == "ephemeral" and "t-inline001" in json.dumps(card["blocks"])
    no_database.wait_for_async()
    assert no_database.invocations == [] and slack.calls == []
    assert [c.action for c in ecs.calls] == ["DescribeTasks"]


def test_a_refresh_is_at_the_response_url_before_its_acknowledgement_returns(
    no_database: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    ecs.add_task(**fixed_task("t-inline002", status="Failed", created=now, finished=now))
    response, _, response_url = command(sender, slack, "cn-hangzhou failed")
    refresh = element(response.json()["blocks"], ACTION_REFRESH)
    # When the user clicks Refresh
    clicked = click(sender, refresh, response_url)
    # Then by the time the acknowledgement is back, the new card has replaced the old one
    assert clicked.status_code == 200
    (replaced,) = slack.calls_to("response_url")
    assert replaced.args["replace_original"] is True and "t-inline002" in json.dumps(replaced.args["blocks"])
    no_database.wait_for_async()
    assert no_database.invocations == []


def test_slow_ecs_defers_and_the_twice_delivered_invocation_posts_exactly_one_card(
    no_database: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given ECS answering in more than 3 seconds
    ecs.add_task(**fixed_task("t-inline003", status="Failed", created=now, finished=now))
    ecs.faults.update({"latency_s": SLOW_ECS_S})
    # When the user types a query
    response, elapsed, _ = command(sender, slack, "cn-hangzhou failed")
    # The in-request attempt sent its ECS call before the acknowledgement: ECS answers it by this time.
    inline_call_answered_by = time.monotonic() + SLOW_ECS_S
    # Then Slack still gets its acknowledgement within 3 seconds (empty: the card comes later)
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S and response.text == ""
    # And the one async invocation, delivered twice, posts exactly one card
    no_database.wait_for_async(timeout=30)
    assert len(no_database.invocations) == 1
    (card,) = slack.calls_to("response_url")
    assert "t-inline003" in json.dumps(card.args["blocks"])
    # And nothing else ever posts: not the abandoned in-request attempt, once its ECS call has come back
    # (the deferred run's own slow ECS call has usually used up most of this wait already)
    time.sleep(max(0.0, inline_call_answered_by + 0.5 - time.monotonic()))
    assert [c.method for c in slack.calls] == ["response_url"]


@pytest.mark.parametrize("database", [False, True], ids=["no_database", "database"])
def test_a_cancel_still_in_flight_when_the_budget_ends_is_sent_once_and_confirmed(
    fc_async: FcServer,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    database: bool,
) -> None:
    from functions import http

    # Given Function Compute settings, with or without a database (no claim store: the deferred payload alone
    # says that CancelTask may have been sent), and a user who may cancel
    if not database:
        monkeypatch.delenv("ECS_TASKS_DATABASE_URL")
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    http.reset_app()
    sender = SlackSender(signing_secret=SIGNING_SECRET, target_url=fc_async.base_url + SLACK_PATH)
    task_id = ecs.add_task(RegionId="cn-hangzhou", TaskAction="ExportImage", waiting_s=0, processing_s=3600)
    response, _, response_url = command(sender, slack, "cn-hangzhou processing")
    cancel = element(response.json()["blocks"], ACTION_CANCEL)
    # And ECS holding every call 2 s, so the in-request CancelTask is still in flight when the budget ends
    ecs.faults.update({"latency_s": 2.0})
    started = time.monotonic()
    clicked = click(sender, cancel, response_url)
    assert clicked.status_code == 200 and time.monotonic() - started < ACK_DEADLINE_S
    # (the deferred run then reads a fast ECS while that CancelTask is still held)
    ecs.faults.update({"latency_s": 0})
    fc_async.wait_for_async(timeout=40)
    # Then CancelTask was sent exactly once, though the deferred run was delivered twice
    actions = [c.action for c in ecs.calls]
    assert actions.count("CancelTask") == 1
    assert actions.index("DescribeTaskAttribute") > actions.index("CancelTask")
    # And the clicker is told the task was cancelled, never that it was "not cancelled again"
    texts = [str(c.args.get("text")) for c in slack.calls_to("response_url")]
    assert any(task_id in t and f"<@{USER}> cancelled task" in t for t in texts), texts
    assert not any("not cancelled again" in t or "ended before" in t for t in texts), texts


@pytest.mark.parametrize("text", ["watch cn-hangzhou t-abc123", "subscribe cn-hangzhou", "list", "unwatch t-abc123"])
def test_channel_commands_say_they_need_a_database(
    no_database: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, text: str
) -> None:
    response, _, _ = command(sender, slack, text)
    answer = response.json()
    assert "need a database" in answer["text"] and "ECS_TASKS_DATABASE_URL" in answer["text"]
    assert ecs.calls == [] and slack.calls == []


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        (f"{ACTION_WATCH}:0", None),
        (f"{ACTION_UNWATCH}:0", "cn-hangzhou/t-abc123"),
        (f"{ACTION_UNSUBSCRIBE}:0", "1"),
    ],
)
def test_channel_buttons_say_they_need_a_database(
    no_database: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    action_id: str,
    value: str | None,
) -> None:
    from bot.language.codecs import encode_task_ref
    from shared.ecs.query import TaskQuery

    value = value or encode_task_ref("cn-hangzhou", "t-abc123", TaskQuery(regions=("cn-hangzhou",)))
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    click(sender, {"action_id": action_id, "value": value}, response_url)
    (answer,) = slack.calls_to("response_url")
    assert "need a database" in answer.args["text"] and "ECS_TASKS_DATABASE_URL" in answer.args["text"]
    assert ecs.calls == []


def test_a_card_without_a_database_offers_no_watch_button(
    no_database: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    ecs.add_task(**fixed_task("t-inline004", status="Failed", created=now, finished=now))
    response, _, _ = command(sender, slack, "cn-hangzhou failed")
    with pytest.raises(AssertionError):
        element(response.json()["blocks"], ACTION_WATCH)
