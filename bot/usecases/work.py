"""What a use case's work is, and what it answers with.

Work runs on a worker thread (inline) or in the deferred run, within the attempt's deadline, and returns
`Replies`: messages for the Slack layer to send afterwards (`bot.slack.answering.reply.send`), never sent by
the work itself. A post in the channel can say what follows it (`ChannelPost.then`): a watch's rows carry
its card's ts, so they are stored once the card is posted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from shared.cards.task_cards import Message

if TYPE_CHECKING:
    from bot.slack.answering.attempt import Attempt
    from bot.slack.answering.deferral import DeferredRun


@dataclass(frozen=True)
class Ephemeral:
    """A new message only the user sees, leaving any card as it is. A `follow_up` goes through the
    response_url even where a slash command's acknowledgement could carry it: a channel command's notes
    follow its work in the channel."""

    message: Message
    follow_up: bool = False


@dataclass(frozen=True)
class NewAnswer:
    """The answer to a slash command: ephemeral, or (`public`) a message in the channel the bot can update."""

    message: Message
    public: bool
    channel_id: str | None


@dataclass(frozen=True)
class Replace:
    """The message whose button was clicked, replaced in place (`container`: the click's)."""

    message: Message
    container: Mapping[str, Any]


@dataclass(frozen=True)
class ChannelPost:
    """A message posted in the channel as the bot; `then` gets its ts and returns what follows. A post the
    channel does not take is explained to the user instead, and `then` is not called."""

    channel_id: str
    message: Message
    then: Callable[[str], Replies]
    thread_ts: str | None = None


@dataclass(frozen=True)
class ChannelUpdate:
    """A message of the bot's in the channel, redrawn; one the channel no longer takes keeps its old look."""

    channel_id: str
    ts: str
    message: Message


Reply: TypeAlias = "Ephemeral | NewAnswer | Replace | ChannelPost | ChannelUpdate"
Replies: TypeAlias = "tuple[Reply, ...]"
Work: TypeAlias = "Callable[[Attempt, DeferredRun | None], Replies]"
