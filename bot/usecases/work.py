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

if TYPE_CHECKING:
    from bot.usecases.attempt import Attempt
    from shared.cards.task_cards import Message  # the cards (slack_sdk's blocks) load with the work, not here


@dataclass(frozen=True)
class Click:
    """`body["actions"][0]` and where it was clicked, read once."""

    action_id: str
    value: str
    team_id: str | None
    channel_id: str
    user_id: str
    container: Mapping[str, Any]

    @property
    def is_ephemeral(self) -> bool:
        return bool(self.container.get("is_ephemeral"))

    @property
    def message_ts(self) -> str | None:
        ts = self.container.get("message_ts")
        return str(ts) if ts else None

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Click | None:
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
            return None
        action = actions[0]
        # Buttons carry `value`; the compact layout's select carries `selected_option.value`.
        selected = action.get("selected_option")
        value = action.get("value") or (selected.get("value") if isinstance(selected, Mapping) else None) or ""
        container = _mapping(body.get("container"))
        return cls(
            action_id=str(action.get("action_id") or ""),
            value=value if isinstance(value, str) else "",
            team_id=_text(_mapping(body.get("team")).get("id")) or _text(_mapping(body.get("user")).get("team_id")),
            channel_id=_text(_mapping(body.get("channel")).get("id")) or _text(container.get("channel_id")) or "",
            user_id=_text(_mapping(body.get("user")).get("id")) or "",
            container=container,
        )


@dataclass(frozen=True)
class DeferredRun:
    """What the inline attempt tells the deferred one: whether it may have reached ECS with a change."""

    may_have_acted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"may_have_acted": self.may_have_acted}

    @classmethod
    def from_dict(cls, value: object) -> DeferredRun:
        return cls(may_have_acted=isinstance(value, Mapping) and value.get("may_have_acted") is True)


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


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
