"""Digits from outside are ASCII digits: `'²'.isdigit()` is True, and `int('²')` then raises."""

from __future__ import annotations

import pytest

from emulators.fc_server import FcServer
from emulators.slack import SlackEmulator, SlackSender
from shared.cards.parts import ACTION_UNSUBSCRIBE
from tests.e2e.test_channel_updates import CHANNEL, USER, command, fresh_poller, wait_for_store

__all__ = ["fresh_poller"]  # the autouse fixture, for this module too


@pytest.mark.parametrize("value", ["²", "١٢", "①"])
def test_an_unsubscribe_button_with_non_ascii_digits_is_a_stale_button(
    fc: FcServer, sender: SlackSender, slack: SlackEmulator, app_env: dict[str, str], value: str
) -> None:
    # Given a channel with a subscription
    command(sender, slack, "subscribe cn-hangzhou failed")
    wait_for_store(app_env, subscriptions=1)
    before = len(slack.calls_to("response_url"))
    # When an edited Unsubscribe button carries digits that are not ASCII
    response_url = slack.new_response_url(channel_id=CHANNEL, user_id=USER)
    sender.block_action(
        action_id=f"{ACTION_UNSUBSCRIBE}:0",
        value=value,
        channel_id=CHANNEL,
        user_id=USER,
        response_url=response_url,
        is_ephemeral=True,
    )
    # Then the clicker is told the button is stale (rather than the work failing with no answer)
    (answer,) = slack.wait_for_calls(before + 1, method="response_url")[before:]
    assert "older card" in str(answer.args)
