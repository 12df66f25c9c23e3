"""The access-control matrix, end to end: who is refused, with what message, and that refusal costs no ECS call."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.usecases.access import check_regions, check_workspace, user_may_cancel
from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions import http
from shared.config import Settings
from shared.policy import AccessPolicy, ReservedWord
from tests.conftest import fixed_task

TEAM = "T0DEMO"  # the sender's default team
CHANNEL = "C0OPS"
USER = "U0ALICE"


def settings(**values: str) -> Settings:
    return Settings.model_validate(values)


def policy(**values: str) -> AccessPolicy:
    return AccessPolicy.from_settings(settings(**values))


@pytest.mark.parametrize(
    ("config", "team", "channel", "refused"),
    [
        ({}, "T1", "C1", False),
        ({"ECS_TASKS_ALLOWED_TEAM_IDS": "T1,T2"}, "T2", "C1", False),
        ({"ECS_TASKS_ALLOWED_TEAM_IDS": "T1"}, "T9", "C1", True),
        ({"ECS_TASKS_ALLOWED_CHANNEL_IDS": "C1"}, "T1", "C1", False),
        ({"ECS_TASKS_ALLOWED_CHANNEL_IDS": "C1"}, "T1", "C2", True),
        ({"ECS_TASKS_ALLOWED_TEAM_IDS": "T1", "ECS_TASKS_ALLOWED_CHANNEL_IDS": "C1"}, "T1", "C2", True),
    ],
)
def test_workspace_matrix(config: dict[str, str], team: str, channel: str, refused: bool) -> None:
    assert (check_workspace(policy(**config), team_id=team, channel_id=channel) is not None) is refused


def test_regions_and_cancel_rules() -> None:
    limited = policy(ECS_TASKS_REGIONS="cn-hangzhou, cn-shanghai", ECS_TASKS_CANCEL_USER_IDS="U1")
    assert check_regions(limited, ("cn-hangzhou",)) is None
    denied = check_regions(limited, ("cn-hangzhou", "cn-beijing"))
    assert denied is not None and "cn-beijing" in denied.reason and "cn-shanghai" in denied.reason
    assert check_regions(limited, ("all",)) is None  # narrowed to the allowed ones instead
    assert user_may_cancel(limited, "U1") and not user_may_cancel(limited, "U2") and not user_may_cancel(limited, None)
    assert not user_may_cancel(policy(), "U1"), "nobody may cancel when the list is unset"


@pytest.mark.parametrize(
    ("variable", "value", "words", "expected"),
    [
        ("ECS_TASKS_ALLOWED_TEAM_IDS", "T0OTHER", "cn-hangzhou", "not enabled for this Slack workspace"),
        ("ECS_TASKS_ALLOWED_CHANNEL_IDS", "C0OTHER", "cn-hangzhou", "not enabled in this channel"),
        ("ECS_TASKS_REGIONS", "cn-shanghai", "cn-hangzhou failed", "may not be queried"),
    ],
)
def test_refusals_are_ephemeral_and_cost_no_ecs_call(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    words: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)
    http.reset_app()
    response = sender.slash_command(
        words,
        user_id=USER,
        channel_id=CHANNEL,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
    )
    assert response.status_code == 200
    body = response.json()
    assert expected in body["text"] and body.get("response_type", "ephemeral") == "ephemeral"
    fc.wait_for_async()
    assert ecs.calls == [] and slack.calls_to("response_url") == []


def test_all_regions_is_narrowed_to_the_allowed_ones(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    ecs.add_task(**fixed_task("t-shanghai1", region="cn-shanghai", status="Failed", created=now, finished=now))
    ecs.add_task(**fixed_task("t-beijing01", region="cn-beijing", status="Failed", created=now, finished=now))
    monkeypatch.setenv("ECS_TASKS_REGIONS", "cn-shanghai")
    http.reset_app()
    response = sender.slash_command(
        "all failed",
        user_id=USER,
        channel_id=CHANNEL,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
    )
    text = str(response.json()["blocks"])
    assert "t-shanghai1" in text and "t-beijing01" not in text
    assert {c.region_id for c in ecs.calls} == {"cn-shanghai"}
    assert not any(c.action == "DescribeRegions" for c in ecs.calls)


def test_buttons_on_an_old_card_are_checked_like_commands(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    # Given a card shown while the channel was allowed
    ecs.add_task(**fixed_task("t-oldcard01", status="Failed", created=now, finished=now))
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    card = sender.slash_command("cn-hangzhou failed", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    blocks = card.json()["blocks"]
    refresh = next(e for b in blocks for e in b.get("elements", []) if e.get("action_id") == "ecs_tasks_refresh")
    details = next(b["accessory"] for b in blocks if "accessory" in b)
    calls_before = len(ecs.calls)
    # When the channel is no longer allowed, and the user clicks Refresh and Details
    monkeypatch.setenv("ECS_TASKS_ALLOWED_CHANNEL_IDS", "C0ELSEWHERE")
    http.reset_app()
    for button in (refresh, details):
        sender.block_action(
            action_id=button["action_id"],
            value=button["value"],
            channel_id=CHANNEL,
            user_id=USER,
            response_url=response_url,
            is_ephemeral=True,
        )
    answers = slack.calls_to("response_url")
    # Then both are refused before their clicks are acknowledged, and ECS is not asked
    assert len(answers) == 2 and all("not enabled in this channel" in a.args["text"] for a in answers)
    fc.wait_for_async()
    assert len(ecs.calls) == calls_before


def test_the_policy_is_built_once_per_process(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
) -> None:
    # Given a fresh instance, and every policy built from settings counted
    built: list[Settings] = []
    from_settings = AccessPolicy.from_settings

    def counted(cls: type[AccessPolicy], /, settings: Settings, **kwargs: ReservedWord) -> AccessPolicy:
        built.append(settings)
        return from_settings(settings, **kwargs)

    monkeypatch.setattr(AccessPolicy, "from_settings", classmethod(counted))
    monkeypatch.setenv("ECS_TASKS_ALLOWED_CHANNEL_IDS", CHANNEL)
    http.reset_app()
    ecs.add_task(**fixed_task("t-onepolicy1", status="Failed", created=now, finished=now))
    # When it answers two commands (one refused) and the Refresh and Details clicks on the card
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    card = sender.slash_command("cn-hangzhou failed", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    elsewhere = slack.new_response_url(channel_id="C0ELSEWHERE", user_id=USER)
    refused = sender.slash_command("cn-hangzhou", user_id=USER, channel_id="C0ELSEWHERE", response_url=elsewhere)
    blocks = card.json()["blocks"]
    buttons = [e for b in blocks for e in b.get("elements", []) if e.get("action_id") == "ecs_tasks_refresh"]
    buttons += [b["accessory"] for b in blocks if "accessory" in b]
    for button in buttons:
        sender.block_action(action_id=button["action_id"], value=button["value"], channel_id=CHANNEL,
                            user_id=USER, response_url=response_url, is_ephemeral=True)  # fmt: skip
    fc.wait_for_async()
    # Then every check asked the one policy the instance built
    assert "t-onepolicy1" in str(blocks) and len(buttons) >= 2
    assert refused.status_code == 200 and "not enabled in this channel" in refused.json()["text"]
    assert len(built) == 1
