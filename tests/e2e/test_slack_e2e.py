"""End to end over loopback: a request signed as Slack signs it → the FC 3.0 handler (through the local FC
stand-in) → the ECS emulator (signatures verified) → the response_url or Web API of the Slack emulator."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from shared.cards.task_cards import ACTION_CANCEL, ACTION_DETAILS, ACTION_NEXT, ACTION_REFRESH, base_action_id
from tests.conftest import LISTINGS, fixed_task

CHANNEL = "C0OPS"
USER = "U0ALICE"
ACK_DEADLINE_S = 3.0


def seed_failed_imports(ecs: EcsEmulator, now: datetime, count: int = 12) -> None:
    for i in range(count):
        created = now - timedelta(hours=2, minutes=i)
        ecs.add_task(
            **fixed_task(
                f"t-bp1fail{i:03d}",
                status="Failed",
                created=created,
                finished=created + timedelta(minutes=7),
                resource_id=f"m-bp1img{i:03d}",
            )
        )
    ecs.add_task(**fixed_task("t-bp1done001", status="Finished", created=now, finished=now))


def send_command(sender: SlackSender, slack: SlackEmulator, text: str, **kwargs: Any) -> tuple[Any, float, str]:
    response_url = slack.new_response_url(channel_id=kwargs.get("channel_id", CHANNEL), user_id=USER)
    started = time.monotonic()
    response = sender.slash_command(
        text, user_id=USER, channel_id=kwargs.pop("channel_id", CHANNEL), response_url=response_url, **kwargs
    )
    return response, time.monotonic() - started, response_url


def wait_for_response(slack: SlackEmulator, count: int = 1, timeout: float = 10.0) -> list[Any]:
    return slack.wait_for_calls(count, timeout=timeout, method="response_url")


def buttons(blocks: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every interactive element in the blocks, by action_id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for block in blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if "action_id" in element:
                found.setdefault(base_action_id(element["action_id"]), []).append(element)
    return found


def click(sender: SlackSender, button: dict[str, Any], response_url: str, *, user_id: str = USER) -> Any:
    """Click a button of an ephemeral card, as Slack sends it."""
    return sender.block_action(
        action_id=button["action_id"],
        value=button["value"],
        channel_id=CHANNEL,
        user_id=user_id,
        response_url=response_url,
        is_ephemeral=True,
    )


def all_text(blocks: list[dict[str, Any]]) -> str:
    import json

    return json.dumps(blocks, ensure_ascii=False)


# --- the command ---------------------------------------------------------------------------------


def card_in_ack(response: Any) -> dict[str, Any]:
    """The card a slash command answered inline: the acknowledgement's own body."""
    assert response.status_code == 200
    message: dict[str, Any] = response.json()
    assert "blocks" in message, message
    return message


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_failed_imports_card_is_the_acknowledgement(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given failed ImportImage tasks in cn-hangzhou
    seed_failed_imports(ecs, now)
    # When the user types the command
    response, elapsed, _ = send_command(sender, slack, "cn-hangzhou failed ImportImage")
    # Then Slack gets its acknowledgement within its deadline, and it is the card: ephemeral, listing the
    # failed tasks, with nothing sent anywhere else
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S
    message = card_in_ack(response)
    assert message.get("response_type") == "ephemeral"
    assert slack.calls == []
    text = all_text(message["blocks"])
    assert "t-bp1fail000" in text and "t-bp1done001" not in text
    assert "<!date^" in text
    ids = buttons(message["blocks"])
    assert ACTION_REFRESH in ids and ACTION_NEXT in ids and ACTION_DETAILS in ids
    assert ACTION_CANCEL not in ids, "nobody may cancel unless ECS_TASKS_CANCEL_USER_IDS names them"
    describe = [c for c in ecs.calls if c.action == "DescribeTasks"]
    assert describe and describe[-1].params["TaskStatus"] == "Failed"
    assert describe[-1].params["TaskAction"] == "ImportImage"


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_next_page_and_refresh_replace_the_card_in_place(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    seed_failed_imports(ecs, now, count=12)
    response, _, response_url = send_command(sender, slack, "cn-hangzhou failed import")
    next_button = buttons(card_in_ack(response)["blocks"])[ACTION_NEXT][0]
    # When the user clicks Next on the ephemeral card
    clicked = click(sender, next_button, response_url)
    assert clicked.status_code == 200
    # Then page 2 replaced the original through the response_url before the click was acknowledged
    (second,) = slack.calls_to("response_url")
    assert second.args.get("replace_original") is True
    assert "t-bp1fail010" in all_text(second.args["blocks"])
    assert [c.params.get("PageNumber") for c in ecs.calls if c.action == "DescribeTasks"][-1] == "2"
    # And Refresh re-queries the same page
    refresh = buttons(second.args["blocks"])[ACTION_REFRESH][0]
    click(sender, refresh, response_url)
    third = slack.calls_to("response_url")[-1]
    assert len(slack.calls_to("response_url")) == 2
    assert third.args.get("replace_original") is True
    assert [c.params.get("PageNumber") for c in ecs.calls if c.action == "DescribeTasks"][-1] == "2"


@pytest.mark.parametrize("ecs", LISTINGS, indirect=True)
def test_a_waiting_query_says_what_ecs_can_list_and_finds_named_tasks(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given a Waiting ImportImage task beside a finished one
    ecs.add_task(
        TaskId="t-bp1wait001", RegionId="cn-hangzhou", TaskAction="ImportImage", created_ago_s=5, waiting_s=900
    )
    ecs.add_task(**fixed_task("t-bp1done002", created=now, finished=now))
    # When the user asks for waiting tasks, then for that task by id
    listed = card_in_ack(send_command(sender, slack, "cn-hangzhou waiting")[0])
    by_id = card_in_ack(send_command(sender, slack, "cn-hangzhou waiting t-bp1wait001")[0])
    # Then without ids the card lists it only where ECS lists it (lenient), and otherwise says honestly that
    # ECS cannot list Waiting tasks and how to see one; by id, the card shows it either way
    listed_text = all_text(listed["blocks"])
    if ecs.service.listing == "strict":
        assert "t-bp1wait001" not in listed_text
        assert "ECS lists only Finished, Processing and Failed tasks" in listed_text and "by its id" in listed_text
    else:
        assert "t-bp1wait001" in listed_text
    assert "t-bp1wait001" in all_text(by_id["blocks"]) and "t-bp1done002" not in all_text(by_id["blocks"])
    assert any(c.action == "DescribeTaskAttribute" for c in ecs.calls) is (ecs.service.listing == "strict")


def test_details_show_progress_and_error_codes(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    ecs.add_task(
        TaskId="t-bp1broken",
        RegionId="cn-hangzhou",
        TaskAction="ImportImage",
        created_ago_s=3600,
        waiting_s=10,
        processing_s=60,
        outcome="Failed",
        total_count=2,
        errors=[
            {
                "ErrorCode": "InvalidImage.Format",
                "ErrorMsg": "The image format is not supported.",
                "Name": "OSSObject",
                "Value": "images/web.qcow2",
            }
        ],
    )
    response, _, response_url = send_command(sender, slack, "cn-hangzhou failed")
    details = buttons(card_in_ack(response)["blocks"])[ACTION_DETAILS][0]
    click(sender, details, response_url)
    (detail,) = slack.calls_to("response_url")
    text = all_text(detail.args["blocks"])
    assert "InvalidImage.Format" in text and "The image format is not supported." in text
    assert any(c.action == "DescribeTaskAttribute" for c in ecs.calls)


def test_cancel_is_refused_then_allowed_and_refreshes_the_card(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import http

    ecs.add_task(
        TaskId="t-bp1export",
        RegionId="cn-hangzhou",
        TaskAction="ExportImage",
        created_ago_s=30,
        waiting_s=0,
        processing_s=3600,
        outcome="Finished",
    )
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", USER)
    http.reset_app()
    response, _, response_url = send_command(sender, slack, "cn-hangzhou processing export")
    cancel = buttons(card_in_ack(response)["blocks"])[ACTION_CANCEL][0]
    assert cancel["confirm"]["confirm"]["text"], "cancel asks for confirmation"
    # A user not on the list is refused, and nothing is cancelled
    click(sender, cancel, response_url, user_id="U0MALLORY")
    (refusal,) = slack.calls_to("response_url")
    assert "may not cancel" in refusal.args["text"]
    fc.wait_for_async()
    assert not any(c.action == "CancelTask" for c in ecs.calls)
    # The listed user cancels; the card is refreshed in place, all before the click is acknowledged
    click(sender, cancel, response_url)
    calls = slack.calls_to("response_url")
    assert len(calls) == 3
    assert [c.action for c in ecs.calls if c.action == "CancelTask"] == ["CancelTask"]
    assert calls[-1].args.get("replace_original") is True
    assert "cancelled task" in calls[-2].args["text"]


def test_public_answer_is_posted_and_refreshed_with_chat_update(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    seed_failed_imports(ecs, now, count=2)
    send_command(sender, slack, "cn-hangzhou failed public")
    (posted,) = slack.wait_for_calls(1, method="chat.postMessage")
    assert posted.ok and posted.args["channel"] == CHANNEL
    (message,) = slack.messages(CHANNEL)
    refresh = buttons(message.blocks)[ACTION_REFRESH][0]
    sender.block_action(
        action_id=refresh["action_id"],
        value=refresh["value"],
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        message={"ts": message.ts, "blocks": message.blocks, "text": message.text},
        message_ts=message.ts,
    )
    (update,) = slack.wait_for_calls(1, method="chat.update")
    assert update.ok and update.args["ts"] == message.ts


# --- what the ack says by itself ----------------------------------------------------------------------


def test_unknown_word_gets_a_suggestion_and_no_ecs_call(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    response, elapsed, _ = send_command(sender, slack, "cn-hangzou faild")
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S
    body = response.json()
    assert "cn-hangzou" in body["text"] and "cn-hangzhou" in body["text"]
    fc.wait_for_async()
    assert ecs.calls == []


def test_help_lists_examples(fc: FcServer, sender: SlackSender, slack: SlackEmulator) -> None:
    response, _, _ = send_command(sender, slack, "help")
    assert "/ecs-tasks" in response.json()["text"]


# --- verification --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["forged", "stale", "unsigned"])
def test_requests_not_signed_by_slack_are_refused(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, kind: str
) -> None:
    body = sender.slash_command_body(
        "cn-hangzhou failed", response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )
    if kind == "forged":
        headers = sender.forged_headers(body)
    elif kind == "stale":
        headers = sender.stale_headers(body)
    else:
        headers = sender.unsigned_headers()
    response = sender.post_raw(body, headers)
    assert response.status_code == 401
    fc.wait_for_async()
    assert ecs.calls == [] and slack.calls == []


def test_malformed_payload_is_a_400(fc: FcServer, sender: SlackSender, ecs: EcsEmulator) -> None:
    body = "payload=%7Bnot-json"
    response = sender.post_raw(body, sender.signed_headers(body))
    assert response.status_code in (400, 401)
    assert ecs.calls == []


# --- ECS trouble never reaches Slack as a timeout -----------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "expected"),
    [
        ({"throttle_rate": 1.0}, "Throttling"),
        ({"error_5xx_rate": 1.0}, "Service"),
    ],
)
def test_ecs_failures_become_a_clear_answer(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    faults: dict[str, float],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ecs.faults.update(faults)
    response, elapsed, _ = send_command(sender, slack, "cn-hangzhou failed")
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S
    # The answer is the acknowledgement when ECS fails fast, else it arrives at the response_url
    answer = response.json() if response.text else wait_for_response(slack, timeout=30)[-1].args
    text = answer["text"] + all_text(answer.get("blocks", []))
    assert "RequestId" in text and "Traceback" not in text
    assert expected in text or "InternalError" in text


def test_ten_second_latency_still_acks_fast_then_answers(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import http

    monkeypatch.setenv("ECS_TASKS_ECS_DEADLINE", "2")
    http.reset_app()
    ecs.faults.update({"latency_s": 10.0})
    response, elapsed, _ = send_command(sender, slack, "cn-hangzhou failed")
    assert response.status_code == 200 and elapsed < ACK_DEADLINE_S
    answer = wait_for_response(slack, timeout=15)[-1]
    assert "Client.Timeout" in answer.args["text"] or "Client.Deadline" in answer.args["text"]


def test_a_card_for_a_hundred_task_ids_stays_small_and_its_buttons_work(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    # Given a query naming 100 task ids with real-length ids (each button would otherwise carry all of them)
    ids = [f"t-bp1{i:03d}abcdefghijklmnop" for i in range(100)]
    for task_id in ids:
        ecs.add_task(**fixed_task(task_id, status="Failed", created=now, finished=now))
    response, _, response_url = send_command(sender, slack, "cn-hangzhou " + ",".join(ids))
    card = card_in_ack(response)
    # Then the message stays a few kilobytes, and a task's Details still works
    assert len(all_text(card["blocks"])) < 20_000
    details = buttons(card["blocks"])[ACTION_DETAILS][0]
    click(sender, details, response_url)
    (detail,) = slack.calls_to("response_url")
    assert details["value"] and "Failed" in all_text(detail.args["blocks"])


def test_a_public_card_shows_the_same_buttons_whoever_refreshes_it(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions import http

    # Given an admin who may cancel, and a user who may not
    monkeypatch.setenv("ECS_TASKS_CANCEL_USER_IDS", "U0ADMIN")
    http.reset_app()
    ecs.add_task(RegionId="cn-hangzhou", TaskAction="ExportImage", waiting_s=0, processing_s=3600)
    # When the user (not the admin) posts a card in the channel
    send_command(sender, slack, "cn-hangzhou processing public")
    slack.wait_for_calls(1, method="chat.postMessage")
    (message,) = slack.messages(CHANNEL)
    looks = [sorted(buttons(message.blocks))]
    # And the admin, then the user, refresh it
    for count, user_id in enumerate(("U0ADMIN", USER), start=1):
        current = slack.slack_message(CHANNEL, message.ts) or {}
        refresh = buttons(current["blocks"])[ACTION_REFRESH][0]
        sender.block_action(
            action_id=refresh["action_id"],
            value=refresh["value"],
            channel_id=CHANNEL,
            user_id=user_id,
            response_url=slack.new_response_url(channel_id=CHANNEL, user_id=user_id),
            message={"ts": message.ts, "blocks": current["blocks"], "text": current.get("text", "")},
            message_ts=message.ts,
        )
        looks.append(sorted(buttons(slack.wait_for_calls(count, method="chat.update")[-1].args["blocks"])))
    # Then everyone sees the same buttons, Cancel included, whoever clicked last
    assert looks[0] == looks[1] == looks[2] and ACTION_CANCEL in looks[0]
    # And a Cancel by the user is still refused, by the user's own permission
    current = slack.slack_message(CHANNEL, message.ts) or {}
    cancel = buttons(current["blocks"])[ACTION_CANCEL][0]
    sender.block_action(
        action_id=cancel["action_id"],
        value=cancel["value"],
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        message_ts=message.ts,
    )
    assert "may not cancel" in slack.wait_for_calls(1, method="response_url")[-1].args["text"]
    assert not any(c.action == "CancelTask" for c in ecs.calls)
