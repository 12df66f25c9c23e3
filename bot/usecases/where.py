"""Who asked for a channel update, and in which channel: what every channel command's and button's work is
given (`bot.slack.dispatch` builds it from a slash command, `bot.usecases.channels` from a click)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Where:
    """Who asked, in which channel; `anchor_ts` is the channel card a Watch button was clicked on."""

    team_id: str | None
    channel_id: str
    user_id: str
    anchor_ts: str | None = None


# What a command that needs a channel answers anywhere else (a DM with the app, for one).
NOT_IN_CHANNEL = "This command works in a channel."
