"""Bad input over real HTTP: oversized, not UTF-8, wrong content type, unexpected shapes, replays.
Each gets a 4xx or a clear message; none reaches ECS twice or leaves anything behind."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

import pytest
import requests

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from functions.fc_event import MAX_BODY_BYTES
from tests.conftest import SLACK_PATH, fixed_task

CHANNEL = "C0OPS"
USER = "U0ALICE"


def signed_post(sender: SlackSender, fc: FcServer, body: bytes, content_type: str) -> requests.Response:
    headers = sender.signed_headers(body.decode("utf-8", errors="surrogateescape"))
    headers["Content-Type"] = content_type
    return requests.post(fc.base_url + SLACK_PATH, data=body, headers=headers, timeout=10)


def test_oversized_body_is_413(fc: FcServer, sender: SlackSender, ecs: EcsEmulator) -> None:
    body = urlencode({"command": "/ecs-tasks", "text": "x" * (MAX_BODY_BYTES + 10)}).encode()
    response = signed_post(sender, fc, body, "application/x-www-form-urlencoded")
    assert response.status_code == 413 and ecs.calls == []


def test_invalid_utf8_is_400(fc: FcServer, sender: SlackSender, ecs: EcsEmulator) -> None:
    response = requests.post(
        fc.base_url + SLACK_PATH,
        data=b"command=%2Fecs-tasks&text=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded", **sender.signed_headers("x")},
        timeout=10,
    )
    assert response.status_code == 400 and ecs.calls == []


@pytest.mark.parametrize(
    ("body", "content_type", "lowest_status"),
    [
        (b'{"hello": 1}', "application/json", 400),
        (b"payload=%5B1%2C2%5D", "application/x-www-form-urlencoded", 400),
        (b"payload=%7B%22type%22%3A%22block_actions%22%7D", "application/x-www-form-urlencoded", 400),
        (b"<xml>hello</xml>", "application/xml", 400),
        # Bolt reads a `payload=` body whatever its content type; without the button's value (and a
        # response_url to answer on) the click is acknowledged and dropped: nothing reaches ECS.
        (b'payload={"type":"block_actions","actions":[{"action_id":"ecs_tasks_refresh"}]}', "text/plain", 200),
    ],
)
def test_unexpected_shapes_get_no_ecs_call_and_no_5xx(
    fc: FcServer,
    sender: SlackSender,
    ecs: EcsEmulator,
    slack: SlackEmulator,
    body: bytes,
    content_type: str,
    lowest_status: int,
) -> None:
    response = signed_post(sender, fc, body, content_type)
    assert lowest_status <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    fc.wait_for_async()
    assert ecs.calls == [] and slack.calls == []


def test_unknown_button_in_a_well_formed_click_is_a_404(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    response = sender.block_action(
        action_id="not_ours",
        value="x",
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        is_ephemeral=True,
    )
    assert response.status_code == 404 and ecs.calls == []


def test_a_garbled_button_value_gets_a_clear_message(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator
) -> None:
    sender.block_action(
        action_id="ecs_tasks_refresh",
        value="q1.@@not-a-query@@",
        channel_id=CHANNEL,
        user_id=USER,
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        is_ephemeral=True,
    )
    (answer,) = slack.wait_for_calls(1, method="response_url")
    assert "older card" in answer.args["text"] and ecs.calls == []


def test_a_replayed_command_is_answered_once(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, ecs: EcsEmulator, now: datetime
) -> None:
    ecs.add_task(**fixed_task("t-replay001", status="Failed", created=now, finished=now))
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    body = sender.slash_command_body("cn-hangzhou failed", user_id=USER, channel_id=CHANNEL, response_url=response_url)
    headers = sender.signed_headers(body)
    # Slack sent it once; an attacker (or a proxy) sends the very same bytes again
    first = sender.post_raw(body, headers)
    second = sender.post_raw(body, headers)
    assert first.status_code == 200 and second.status_code == 200
    fc.wait_for_async()
    from functions import http

    http.reset_app()  # drains deferred work: every piece of work that was started has finished
    # The first is answered (in its acknowledgement); the replay gets an empty one and asks ECS nothing
    assert json.dumps(first.json()).count("t-replay001") >= 1
    assert second.text == "" and slack.calls == []
    assert len([c for c in ecs.calls if c.action == "DescribeTasks"]) == 1


@pytest.mark.parametrize(
    "payload",
    [
        '{"type":"block_actions","actions":["x"]}',
        '{"type":"block_actions","actions":{"a":1}}',
        '{"type":"block_actions","team":"T1","channel":7,"user":[1]}',
    ],
)
def test_unsigned_odd_shapes_are_refused_not_crashed_on(
    fc: FcServer, sender: SlackSender, ecs: EcsEmulator, payload: str
) -> None:
    # Given a body nobody signed, shaped to trip code that reads it
    body = urlencode({"payload": payload})
    # When it reaches the public trigger
    response = sender.post_raw(body, {**sender.unsigned_headers(), "Content-Type": "application/x-www-form-urlencoded"})
    # Then it is refused (unsigned, or unparseable), with no trace of our code in the answer
    assert response.status_code in (400, 401)
    assert "Traceback" not in response.text and "Error" not in response.text
    assert ecs.calls == []
