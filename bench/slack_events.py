"""Signed Slack requests wrapped as Function Compute 3.0 HTTP events, as the platform hands them to the handler."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from bench.env import CHANNEL_ID, REGION, SIGNING_SECRET, SLACK_PATH, TEAM_ID, USER_ID
from emulators.fc_server import http_event
from emulators.slack import SlackSender
from emulators.slack.sender import find_element

LOOPBACK = "127.0.0.1"
# Where Slack would send the request; only the body and the headers matter to the handler.
REQUEST_URL = f"http://{LOOPBACK}{SLACK_PATH}"


def new_sender() -> SlackSender:
    return SlackSender(signing_secret=SIGNING_SECRET, target_url=REQUEST_URL, team_id=TEAM_ID)


def as_fc_event(sender: SlackSender, body: str) -> bytes:
    headers = {"Host": LOOPBACK, **sender.signed_headers(body)}
    event = http_event(
        method="POST", path=SLACK_PATH, query={}, headers=headers, body=body.encode(), source_ip=LOOPBACK
    )
    return json.dumps(event).encode()


def slash_command_event(sender: SlackSender, text: str, *, response_url: str) -> bytes:
    body = sender.slash_command_body(text, user_id=USER_ID, channel_id=CHANNEL_ID, response_url=response_url)
    return as_fc_event(sender, body)


def button_click_event(sender: SlackSender, button: dict[str, Any], *, response_url: str) -> bytes:
    """A click on `button` (an element of a card the bot posted ephemerally)."""
    payload = sender.block_actions_payload(
        action_id=str(button["action_id"]),
        value=str(button.get("value", "")),
        user_id=USER_ID,
        channel_id=CHANNEL_ID,
        response_url=response_url,
        is_ephemeral=True,
    )
    return as_fc_event(sender, sender.block_actions_body(payload))


def find_button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The interactive element of the blocks whose action_id is `action_id`."""
    found = find_element(blocks, action_id)
    if found is None:
        raise LookupError(f"no button {action_id!r} in the card")
    return found[1]


def refresh_button_for(text: str) -> dict[str, Any]:
    """The Refresh button of the card a command answers with: the same value the card carries."""
    from bot.language.codecs import encode_query
    from bot.language.grammar import QueryCommand, parse
    from shared.cards.task_cards import ACTION_REFRESH

    command = parse(text, default_region=REGION, now=datetime.now(timezone.utc))
    if not isinstance(command, QueryCommand):
        raise ValueError(f"{text!r} is not a query")
    return {"action_id": ACTION_REFRESH, "value": encode_query(command.query)}
