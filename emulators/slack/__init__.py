"""Slack stand-ins for development and tests (never deployed).

`SlackEmulator` serves the Web API, response_url targets and an inspection API on loopback;
`SlackSender` sends signed slash commands and button clicks as Slack does; `render_message` shows
a Block Kit message in a terminal; `limits.BLOCK_KIT_LIMITS` holds the limits the emulator enforces (from
Slack's reference; the formatter's own are in `shared/cards/limits.py`).
"""

from __future__ import annotations

from emulators.slack.limits import BLOCK_KIT_LIMITS, BlockKitLimits
from emulators.slack.render import render_message
from emulators.slack.sender import SlackSender
from emulators.slack.server import SlackEmulator
from emulators.slack.web_api import BotIdentity
from emulators.slack.workspace import ChannelState, Message, RecordedCall

__all__ = [
    "BLOCK_KIT_LIMITS",
    "BlockKitLimits",
    "BotIdentity",
    "ChannelState",
    "Message",
    "RecordedCall",
    "SlackEmulator",
    "SlackSender",
    "render_message",
]
