"""Slack stand-ins for development and tests (never deployed).

`SlackEmulator` serves the Web API, response_url targets and an inspection API on loopback, and answers
Slack's failures on demand (channel states, rate limits, injected errors and outages; see README.md);
`SlackSender` sends signed slash commands and button clicks as Slack does; `render_message` shows
a Block Kit message in a terminal; `limits.BLOCK_KIT_LIMITS` holds the limits the emulator enforces (from
Slack's reference; the formatter's own are in `shared/cards/limits.py`).
"""

from __future__ import annotations

from emulators.slack.channels import Channel, ChannelState
from emulators.slack.limits import BLOCK_KIT_LIMITS, BlockKitLimits
from emulators.slack.rate_limits import SLACK_RATE_LIMITS, Rate, RateLimits
from emulators.slack.render import render_message
from emulators.slack.sender import SlackSender
from emulators.slack.server import SlackEmulator
from emulators.slack.web_api import MANIFEST_SCOPES, BotIdentity
from emulators.slack.workspace import Message, RecordedCall

__all__ = [
    "BLOCK_KIT_LIMITS",
    "MANIFEST_SCOPES",
    "SLACK_RATE_LIMITS",
    "BlockKitLimits",
    "BotIdentity",
    "Channel",
    "ChannelState",
    "Message",
    "Rate",
    "RateLimits",
    "RecordedCall",
    "SlackEmulator",
    "SlackSender",
    "render_message",
]
