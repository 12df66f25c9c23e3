"""A channel as the bot sees it, and what Slack answers when the bot posts or edits there.

- A deleted channel, or a private one the bot is not in, is invisible to the bot: `channel_not_found`
  (chat:write.public covers public channels only).
- Archived: chat.postMessage and chat.postEphemeral answer `is_archived`; chat.update answers `is_inactive`
  ("cannot be edited within a frozen, archived or deleted channel", chat.update's page), as it does in a
  deleted channel.
- A public channel the bot is not in: `not_in_channel`, unless the token has chat:write.public.
- A channel's posting restriction (`restricted_action*`) refuses posts, never edits; a thread-only channel
  refuses top-level posts only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

Restriction = Literal[
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
]
RESTRICTIONS: frozenset[str] = frozenset(get_args(Restriction))
THREAD_ONLY: Restriction = "restricted_action_thread_only_channel"

SCOPE_CHAT_WRITE_PUBLIC = "chat:write.public"

ERROR_CHANNEL_NOT_FOUND = "channel_not_found"
ERROR_NOT_IN_CHANNEL = "not_in_channel"
ERROR_IS_ARCHIVED = "is_archived"
ERROR_IS_INACTIVE = "is_inactive"


@dataclass(frozen=True)
class Channel:
    """One channel: visibility, the bot's membership, its life cycle and any posting restriction."""

    private: bool = False
    bot_is_member: bool = True
    archived: bool = False
    deleted: bool = False
    restriction: Restriction | None = None


# Named presets, one per answer a post gets (the CLI's and the inspection API's `state`).
ChannelState = Literal["ok", "not_in_channel", "channel_not_found", "is_archived"]
CHANNEL_STATES: frozenset[str] = frozenset(get_args(ChannelState))
PRESETS: Mapping[ChannelState, Channel] = {
    "ok": Channel(),
    "not_in_channel": Channel(bot_is_member=False),  # public; refused without chat:write.public
    "channel_not_found": Channel(private=True, bot_is_member=False),
    "is_archived": Channel(archived=True),
}
OPEN_CHANNEL = PRESETS["ok"]


def _unreachable(channel: Channel) -> str | None:
    if channel.deleted or (channel.private and not channel.bot_is_member):
        return ERROR_CHANNEL_NOT_FOUND
    return None


def _membership(channel: Channel, scopes: frozenset[str]) -> str | None:
    if not channel.bot_is_member and SCOPE_CHAT_WRITE_PUBLIC not in scopes:
        return ERROR_NOT_IN_CHANNEL
    return None


def post_refusal(channel: Channel, scopes: frozenset[str], *, reply: bool) -> str | None:
    """The error chat.postMessage / chat.postEphemeral answer here, or None when the post is accepted."""
    if refusal := _unreachable(channel):
        return refusal
    if channel.archived:
        return ERROR_IS_ARCHIVED
    if refusal := _membership(channel, scopes):
        return refusal
    if channel.restriction is not None and not (channel.restriction == THREAD_ONLY and reply):
        return channel.restriction
    return None


def update_refusal(channel: Channel, scopes: frozenset[str]) -> str | None:
    """The error chat.update answers here, or None when the edit may go ahead."""
    if channel.deleted:
        return ERROR_IS_INACTIVE
    if channel.private and not channel.bot_is_member:
        return ERROR_CHANNEL_NOT_FOUND
    if channel.archived:
        return ERROR_IS_INACTIVE
    return _membership(channel, scopes)
