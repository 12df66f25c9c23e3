"""Signature first: whatever its shape, a request Slack did not sign gets a 401 before its body is parsed,
logged as a warning (anyone can send one: never an error, never a 500); a signed click with no action is a
400. Over real HTTP through `functions.http.handler`; signatures made as Slack makes them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from emulators.ecs import EcsEmulator
from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender

CHANNEL = "C0OPS"
USER = "U0ALICE"


def log_levels(err: str) -> list[tuple[str, str]]:
    """(level, event) of every JSON log line our code wrote."""
    found = []
    for line in err.splitlines():
        try:
            record: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "level" in record:
            found.append((str(record["level"]), str(record.get("event"))))
    return found


def slash_body(sender: SlackSender, slack: SlackEmulator) -> str:
    return sender.slash_command_body(
        "cn-hangzhou failed", response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    )


@pytest.mark.parametrize("timestamp", ["abc", "12.5", "²³", "1" * 40])
def test_a_malformed_timestamp_is_a_401_with_a_warning(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    capfd: pytest.CaptureFixture[str],
    timestamp: str,
) -> None:
    # Given a request signed over a timestamp that is not a number
    body = slash_body(sender, slack)
    headers = {**sender.signed_headers(body), "X-Slack-Request-Timestamp": timestamp}
    # When it reaches the trigger
    response = sender.post_raw(body, headers)
    # Then it is refused as unsigned, logged as a warning and never as an error
    assert response.status_code == 401
    levels = log_levels(capfd.readouterr().err)
    assert ("warning", "http.rejected") in levels
    assert not [lv for lv in levels if lv[0] in ("error", "critical")], levels
    assert ecs.calls == [] and slack.calls == []


@pytest.mark.parametrize(
    "body",
    [
        "payload=%7Bnot-json",
        urlencode({"payload": '{"type":"block_actions","actions":"x"}'}),
        "\x00\x01binary",
    ],
)
@pytest.mark.parametrize("kind", ["unsigned", "forged", "stale"])
def test_an_unsigned_request_of_any_shape_is_a_401_before_parsing(
    fc: FcServer,
    sender: SlackSender,
    ecs: EcsEmulator,
    slack: SlackEmulator,
    capfd: pytest.CaptureFixture[str],
    body: str,
    kind: str,
) -> None:
    headers = {
        "unsigned": sender.unsigned_headers(),
        "forged": sender.forged_headers(body),
        "stale": sender.stale_headers(body),
    }[kind]
    response = sender.post_raw(body, headers)
    assert response.status_code == 401, response.text
    levels = log_levels(capfd.readouterr().err)
    assert not [lv for lv in levels if lv[0] in ("error", "critical")], levels
    assert ecs.calls == [] and slack.calls == []


@pytest.mark.parametrize("actions", [[], {"a": 1}, "x", None, ["not-an-object"]])
def test_a_signed_click_without_an_action_is_a_400(
    fc: FcServer,
    sender: SlackSender,
    slack: SlackEmulator,
    ecs: EcsEmulator,
    capfd: pytest.CaptureFixture[str],
    actions: Any,
) -> None:
    # Given a correctly signed block_actions payload whose `actions` is empty or not a list of objects
    payload = sender.block_actions_payload(
        action_id="ecs_tasks_refresh",
        value="cn-hangzhou",
        response_url=slack.new_response_url(channel_id=CHANNEL, user_id=USER),
        is_ephemeral=True,
    )
    payload["actions"] = actions
    body = sender.block_actions_body(payload)
    # When it reaches the trigger
    response = sender.post_raw(body, sender.signed_headers(body))
    # Then it is a 400, with no error-level log, and nothing is done
    assert response.status_code == 400, response.text
    levels = log_levels(capfd.readouterr().err)
    assert not [lv for lv in levels if lv[0] in ("error", "critical")], levels
    assert ecs.calls == [] and slack.calls == []
