"""Every button passes one guard: each one, clicked from a place or by a person it should refuse, or with a
value its card could not have carried, is refused with a clear answer and costs no ECS call. Over real
HTTP through `functions.http.handler` (the FC stand-in), values built by the bot's own encoders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bot.language.codecs import encode_query, encode_task_ref
from bot.language.words import MAX_PAGE
from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from shared.cards.parts import ACTION_UNSUBSCRIBE, ACTION_UNWATCH
from shared.cards.task_cards import (
    ACTION_CANCEL,
    ACTION_DETAILS,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_WATCH,
)
from shared.ecs.query import TaskQuery
from shared.updates.cards import VALUE_SEPARATOR

CHANNEL = "C0OPS"
USER = "U0ALICE"
REGION = "cn-hangzhou"
TASK = "t-bp1guard001"
QUERY = TaskQuery(regions=(REGION,))


@dataclass(frozen=True)
class Kind:
    action_id: str
    value: Callable[[str], str]  # region -> a value the card would carry


def query_value(region: str) -> str:
    return encode_query(TaskQuery(regions=(region,)))


def task_ref(region: str) -> str:
    return encode_task_ref(region, TASK, TaskQuery(regions=(region,)))


def unwatch_value(region: str) -> str:
    return f"{region}{VALUE_SEPARATOR}{TASK}"


BUTTONS = {
    "refresh": Kind(ACTION_REFRESH, query_value),
    "prev": Kind(ACTION_PREV, query_value),
    "next": Kind(ACTION_NEXT, query_value),
    "details": Kind(f"{ACTION_DETAILS}:0", task_ref),
    "task_menu": Kind(ACTION_TASK_MENU, task_ref),
    "cancel": Kind(f"{ACTION_CANCEL}:0", task_ref),
    "watch": Kind(f"{ACTION_WATCH}:0", task_ref),
    "unwatch": Kind(f"{ACTION_UNWATCH}:0", unwatch_value),
    "unsubscribe": Kind(f"{ACTION_UNSUBSCRIBE}:0", lambda region: "1"),
}
# Unwatch removes the channel's own row whatever region it names (bot.slack.guard): not refused for one.
WITH_REGION = [name for name in BUTTONS if name not in ("unsubscribe", "unwatch")]
# The place or person refused, and the words the answer must carry.
PLACES = {
    "team": ("ECS_TASKS_ALLOWED_TEAM_IDS", "T0OTHER", "not enabled for this Slack workspace"),
    "channel": ("ECS_TASKS_ALLOWED_CHANNEL_IDS", "C0OTHER", "not enabled in this channel"),
}


def click_and_answer(
    sender: SlackSender, slack: SlackEmulator, fc: FcServer, action_id: str, value: str, *, user_id: str = USER
) -> str:
    """Click, and return the one answer: given before the click was acknowledged."""
    response = sender.block_action(
        action_id=action_id,
        value=value,
        channel_id=CHANNEL,
        user_id=user_id,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=user_id),
        is_ephemeral=True,
    )
    assert response.status_code == 200
    (answer,) = slack.calls_to("response_url")
    fc.wait_for_async()
    return str(answer.args["text"])


def no_work_done(ecs: EcsEmulator, slack: SlackEmulator) -> None:
    assert ecs.calls == [], "a refused click must not reach ECS"
    assert [c.method for c in slack.calls] == ["response_url"], "nothing but the refusal is sent"


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("name", sorted(BUTTONS))
def test_every_button_refuses_a_foreign_team_or_channel(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    place: str,
) -> None:
    # Given a deployment that allows another team (or channel) only, and may cancel for USER
    variable, allowed, expected = PLACES[place]
    monkeypatch.setenv(variable, allowed)
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    http.reset_app()
    kind = BUTTONS[name]
    # When the button of a card is clicked from here
    text = click_and_answer(sender, slack, fc, kind.action_id, kind.value(REGION))
    # Then the click is refused, and nothing is done
    assert expected in text
    no_work_done(ecs, slack)


@pytest.mark.parametrize("name", WITH_REGION)
def test_every_button_with_a_region_refuses_a_region_not_allowed(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    monkeypatch.setenv("ECS_TASKS_REGIONS", "cn-shanghai")
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    http.reset_app()
    kind = BUTTONS[name]
    text = click_and_answer(sender, slack, fc, kind.action_id, kind.value(REGION))
    assert "may not be queried" in text and "cn-shanghai" in text
    no_work_done(ecs, slack)


def test_cancel_refuses_a_user_who_may_not_cancel(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", "U0ADMIN")
    http.reset_app()
    text = click_and_answer(sender, slack, fc, f"{ACTION_CANCEL}:0", task_ref(REGION), user_id="U0MALLORY")
    assert "may not cancel" in text and "ECS_TASKS_CANCEL_USER_IDS" in text
    no_work_done(ecs, slack)


HOSTILE_REGION = "x@127.0.0.1:9/#"
STALE_VALUES = [
    ("refresh-garbage", ACTION_REFRESH, "q1.@@not-a-query@@"),
    ("refresh-hostile-region", ACTION_REFRESH, encode_query(TaskQuery(regions=(HOSTILE_REGION,)))),
    ("next-beyond-max-page", ACTION_NEXT, encode_query(TaskQuery(regions=(REGION,), page=MAX_PAGE + 1))),
    ("details-hostile-region", f"{ACTION_DETAILS}:0", encode_task_ref(HOSTILE_REGION, TASK, QUERY)),
    ("details-region-all", f"{ACTION_DETAILS}:0", encode_task_ref("all", TASK, QUERY)),
    ("details-bad-task-id", f"{ACTION_DETAILS}:0", encode_task_ref(REGION, "t-../../x", QUERY)),
    ("watch-hostile-region", f"{ACTION_WATCH}:0", encode_task_ref(HOSTILE_REGION, TASK, QUERY)),
    ("unwatch-hostile-region", f"{ACTION_UNWATCH}:0", f"{HOSTILE_REGION}{VALUE_SEPARATOR}{TASK}"),
    ("unwatch-no-task", f"{ACTION_UNWATCH}:0", f"{REGION}{VALUE_SEPARATOR}"),
    ("unsubscribe-superscript-digit", f"{ACTION_UNSUBSCRIBE}:0", "²"),
    ("unsubscribe-not-a-number", f"{ACTION_UNSUBSCRIBE}:0", "1; DROP TABLE"),
    ("unsubscribe-huge", f"{ACTION_UNSUBSCRIBE}:0", "9" * 40),
]


@pytest.mark.parametrize(("case", "action_id", "value"), STALE_VALUES, ids=[c[0] for c in STALE_VALUES])
def test_a_value_no_card_could_carry_is_refused_as_stale(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    case: str,
    action_id: str,
    value: str,
) -> None:
    text = click_and_answer(sender, slack, fc, action_id, value)
    assert "older card" in text
    no_work_done(ecs, slack)


def test_cancel_with_a_hostile_region_is_refused_for_a_user_who_may_cancel(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    http.reset_app()
    text = click_and_answer(sender, slack, fc, f"{ACTION_CANCEL}:0", encode_task_ref(HOSTILE_REGION, TASK, QUERY))
    assert "older card" in text
    no_work_done(ecs, slack)
