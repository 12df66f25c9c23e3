"""The channel-update layouts stay within Block Kit's limits whatever the input, and say what matters."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

from shared.cards.limits import blocks_fit
from shared.cards.parts import ACTION_UNSUBSCRIBE, ACTION_UNWATCH
from shared.ecs.models import Task, TaskAttribute
from shared.updates.cards import (
    channel_problem_message,
    expiry_note,
    final_reply,
    list_message,
    unwatch_value,
    watch_card,
)
from shared.updates.model import WATCH_ACTIVE, WATCH_EXPIRED, Subscription, Watch

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def watch(n: int, *, state: str = WATCH_ACTIVE, status: str = "Processing") -> Watch:
    task = Task.model_validate(
        {
            "TaskId": f"t-bp1{n:017d}",
            "TaskStatus": status,
            "TaskAction": "ImportImage",
            "RegionId": "cn-hangzhou",
            "CreationTime": NOW - timedelta(minutes=5),
        }
    )
    return Watch(
        n,
        None,
        "C1",
        "U1",
        "cn-hangzhou",
        task.task_id,
        "watch",
        None,
        task,
        status,
        "1.1",
        "1.1",
        state,
        None,
        NOW,
        NOW + timedelta(days=7),
    )


def action_ids(blocks: list[dict[str, object]]) -> list[str]:
    found = []
    for block in blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            found.append(str(accessory["action_id"]))
    return found


def test_a_card_of_a_few_tasks_has_an_unwatch_button_on_each_followed_one() -> None:
    card = watch_card([watch(1), watch(2, state=WATCH_EXPIRED)], now=NOW)
    assert blocks_fit(card.blocks)
    assert action_ids(card.blocks) == [f"{ACTION_UNWATCH}:0"]
    assert "no longer watched (expired)" in json.dumps(card.blocks)
    # (bot.language.codecs decodes these values: tests/unit/bot/test_query_codec.py)
    assert unwatch_value(watch(1)) == f"cn-hangzhou/{watch(1).task_id}"
    staging = dataclasses.replace(watch(1), account="staging")
    assert unwatch_value(staging) == f"staging/cn-hangzhou/{staging.task_id}"


def test_a_card_of_100_tasks_condenses_to_fit() -> None:
    card = watch_card([watch(n) for n in range(100)], now=NOW)
    assert blocks_fit(card.blocks) and len(card.blocks) <= 50
    shown = json.dumps(card.blocks)
    assert watch(0).task_id in shown and len(card.text) <= 300


def test_a_failure_notice_lists_error_codes_and_stays_within_limits_for_thousands() -> None:
    operations = [
        {
            "OperationStatus": "Failed",
            "ErrorCode": f"Code.{n}",
            "ErrorMsg": "x" * 500,
            "RelatedItemSet": {"RelatedItem": [{"Name": "ImageId", "Value": f"m-{n}"}]},
        }
        for n in range(3000)
    ]
    attribute = TaskAttribute.model_validate(
        {
            "TaskId": "t-1",
            "TaskStatus": "Failed",
            "TotalCount": 3000,
            "FailedCount": 3000,
            "CreationTime": "2026-03-01T11:00:00Z",
            "FinishedTime": "2026-03-01T11:07:00Z",
            "OperationProgressSet": {"OperationProgress": operations},
        }
    )
    reply = final_reply(attribute, attribute=attribute, attribute_error=None, now=NOW)
    shown = json.dumps(reply.blocks)
    assert blocks_fit(reply.blocks)
    assert "Code.0" in shown and "took 7m 00s" in shown and "more error" in shown
    # When DescribeTaskAttribute could not answer, the notice still goes out and says why
    bare = final_reply(attribute, attribute=None, attribute_error="Throttling.User", now=NOW)
    assert "Throttling.User" in json.dumps(bare.blocks)


def test_the_list_has_unsubscribe_and_unwatch_buttons_and_fits_for_hundreds() -> None:
    subscriptions = [Subscription(n, None, "C1", "U1", "all", "Failed", None, NOW) for n in range(60)]
    message = list_message([watch(n) for n in range(300)], subscriptions, now=NOW)
    assert blocks_fit(message.blocks)
    ids = action_ids(message.blocks)
    assert ids[0] == f"{ACTION_UNSUBSCRIBE}:0" and len(set(ids)) == len(ids)
    assert "more item" in json.dumps(message.blocks)


def test_the_cannot_post_message_says_how_to_fix_it() -> None:
    kept = channel_problem_message("C1", "not_in_channel", task_ids=["t-1"], kept=True)
    assert "/invite @ecs-tasks" in kept.blocks[0]["text"]["text"] and "keep watching" in kept.blocks[0]["text"]["text"]
    gone = channel_problem_message("C1", "channel_not_found", task_ids=["t-1"], kept=False)
    assert "another channel" in gone.blocks[0]["text"]["text"]


def test_a_watch_in_a_configured_account_names_the_account_on_its_card_and_in_its_expiry_note() -> None:
    # Given a watch in the function's own account and one in staging
    home, staging = watch(1), dataclasses.replace(watch(2), account="staging")

    # When their card and the staging watch's expiry note are drawn
    footer = json.dumps(watch_card([home, staging], now=NOW).blocks[-1], ensure_ascii=False)
    note = json.dumps(
        expiry_note(staging.task, ttl=timedelta(days=7), region_id="cn-hangzhou", account="staging").blocks
    )

    # Then the card names each place as it is, and the note's command names the account, so it can be typed
    assert "cn-hangzhou · Changes" in footer or "cn-hangzhou \u00b7 Changes" in footer
    assert "staging \u00b7 cn-hangzhou" in footer or "staging · cn-hangzhou" in footer
    assert "/ecs-tasks watch staging cn-hangzhou " + staging.task_id in note
    home_note = json.dumps(expiry_note(home.task, ttl=timedelta(days=7), region_id="cn-hangzhou").blocks)
    assert "/ecs-tasks watch cn-hangzhou " + home.task_id in home_note
