"""Putting what the work answered (`bot.usecases.work.Replies`) in front of the user: a new message, the
original one replaced in place, or a post in the channel as the bot.

Ephemeral messages can only be changed through the response_url; messages in the channel through
`chat.update`. A slash command answered inline carries its first message in the acknowledgement itself.
Every outcome is logged; a failed delivery is never silent. Posts to a response_url go out through the client
the wiring builds (`ResponseUrl`), under the one Slack client policy: its timeout, and no hidden re-send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.usecases.work import ChannelPost, ChannelUpdate, Ephemeral, NewAnswer, Replace, Replies
from shared.cards.task_cards import Message, notice_message
from shared.log import log_event

if TYPE_CHECKING:
    from slack_sdk.webhook import WebhookClient

RESPONSE_EPHEMERAL = "ephemeral"
RESPONSE_IN_CHANNEL = "in_channel"
BOT_MISSING = (
    "I am not in this channel, so I could not post there. Invite me with `/invite @ecs-tasks`, then try again."
)
NOT_SEEN = (
    "I could not post here: Slack does not show me this channel. If it is private, invite me with "
    "`/invite @ecs-tasks`, then try again."
)
NO_APPS = (
    "This channel allows no posts by apps, so I could not post there. Ask its managers to allow them, or use "
    "another channel."
)
READ_ONLY = (
    "This channel is read-only, so I could not post there. Ask its managers to let me post, or use another channel."
)
THREAD_ONLY = (
    "This channel takes replies in threads only, so I could not start a card there. Watch from another channel, "
    "or ask its managers to allow new posts."
)
RESTRICTED = (
    "Slack does not let me post in this channel ({problem}). Ask its managers to allow my posts, or use another "
    "channel."
)


@dataclass(frozen=True)
class ResponseUrl:
    """A request's response_url (None: the request carries none) and how a client for it is built: by the
    wiring, under the one Slack client policy (its timeout; no retry handlers, as slack_sdk's default
    connection-error handler would post a message twice when only Slack's answer was lost)."""

    url: str | None
    client_for: Callable[[str], WebhookClient]

    def post(self, body: Mapping[str, Any]) -> int | None:
        """Post `body`; Slack's HTTP status, or None (logged) when there is no response_url or it could not be
        reached within the policy's timeout."""
        if not self.url:
            # Every real Slack request carries one; a request without it has nobody to answer.
            log_event("slack.deliver", level=logging.WARNING, via="response_url", outcome="no_response_url")
            return None
        try:
            return self.client_for(self.url).send_dict(dict(body)).status_code
        except OSError as failed:  # urllib's URLError and timeouts are OSErrors: the post is not sent again
            log_event("slack.deliver", level=logging.WARNING, via="response_url", outcome=type(failed).__name__)
            return None


@dataclass
class Answer:
    """Where one request's answer goes. `in_ack` is open for a slash command answered inline: its first
    message becomes the acknowledgement's body (`ack_body`) instead of a response_url post."""

    respond: ResponseUrl
    client: WebClient
    in_ack: bool = False
    ack_body: dict[str, Any] | None = None

    def new(self, message: Message, *, public: bool, channel_id: str | None) -> None:
        """Answer a slash command: ephemeral, or a channel message the bot can update."""
        if public and channel_id:
            try:
                self.client.chat_postMessage(channel=channel_id, **message.as_kwargs())
                log_event("slack.deliver", via="chat.postMessage", outcome="ok")
                return
            except SlackApiError as error:
                # Private channels the bot is not in: the ack or response_url can still post there, as the app.
                log_event("slack.deliver", via="chat.postMessage", outcome=str(error.response.get("error")))
        self._send(message, response_type=RESPONSE_IN_CHANNEL if public else RESPONSE_EPHEMERAL)

    def ephemeral(self, message: Message) -> None:
        """A new ephemeral message for the user, leaving any card as it is."""
        self._send(message, response_type=RESPONSE_EPHEMERAL)

    def replace(self, message: Message, *, container: Mapping[str, Any]) -> None:
        replace_in_place(self.respond, self.client, message, container=container)

    def _send(self, message: Message, *, response_type: str) -> None:
        if self.in_ack and self.ack_body is None:
            self.ack_body = {**message.as_kwargs(), "response_type": response_type}
            log_event("slack.deliver", via="ack", outcome="ok", response_type=response_type)
            return
        _respond(self.respond, message, response_type=response_type, replace_original=False)


def replace_in_place(
    respond: ResponseUrl, client: WebClient, message: Message, *, container: Mapping[str, Any]
) -> None:
    """Replace the message whose button was clicked."""
    channel_id = container.get("channel_id")
    message_ts = container.get("message_ts")
    if not container.get("is_ephemeral") and channel_id and message_ts:
        try:
            client.chat_update(channel=channel_id, ts=message_ts, **message.as_kwargs())
            log_event("slack.deliver", via="chat.update", outcome="ok")
            return
        except SlackApiError as error:
            # Messages posted through a response_url are not ours to chat.update: replace them there.
            log_event("slack.deliver", via="chat.update", outcome=str(error.response.get("error")))
    _respond(respond, message, replace_original=True)


def reply_ephemeral(respond: ResponseUrl, message: Message) -> None:
    """A new ephemeral message for the clicking user, leaving the card as it is."""
    _respond(respond, message, response_type=RESPONSE_EPHEMERAL, replace_original=False)


def _respond(respond: ResponseUrl, message: Message, **options: Any) -> None:
    status = respond.post({**message.as_kwargs(), **options})
    if status is not None:
        log_event("slack.deliver", via="response_url", outcome="ok" if status == 200 else f"http_{status}", **options)


def send(answer: Answer, replies: Replies) -> None:
    """Send each reply, in order (what follows a channel post is sent after it)."""
    for reply in replies:
        if isinstance(reply, Ephemeral):
            if reply.follow_up:
                reply_ephemeral(answer.respond, reply.message)
            else:
                answer.ephemeral(reply.message)
        elif isinstance(reply, NewAnswer):
            answer.new(reply.message, public=reply.public, channel_id=reply.channel_id)
        elif isinstance(reply, Replace):
            answer.replace(reply.message, container=reply.container)
        elif isinstance(reply, ChannelPost):
            posted = _post(answer, reply)
            if posted is not None:
                send(answer, reply.then(posted))
        else:
            _update(answer, reply)


def _post(answer: Answer, post: ChannelPost) -> str | None:
    """Post in the channel; None (and the user told why, and how to fix it, as a follow-up) if the bot cannot."""
    # Channel updates only: their notifier and cards stay off the query path.
    from shared.updates.cards import channel_problem_message
    from shared.updates.notifier import ChannelUnavailable, Notifier, SlackRejected, SlackUnavailable

    try:
        return Notifier(answer.client).post(post.channel_id, post.message, thread_ts=post.thread_ts).ts
    except ChannelUnavailable as unavailable:
        text = (
            cannot_post(unavailable.problem)
            if unavailable.recoverable
            else channel_problem_message(post.channel_id, unavailable.problem, task_ids=(), kept=False).text
        )
        reply_ephemeral(answer.respond, notice_message(text))
    except (SlackUnavailable, SlackRejected) as failed:
        reply_ephemeral(answer.respond, notice_message(f":warning: Slack did not take the post ({failed}). Try again."))
    return None


def cannot_post(problem: str) -> str:
    """What the user can do about a channel the bot may not post in (a membership answer of Slack's): invite
    the bot, or have the channel's managers lift the restriction Slack names."""
    from shared.cards.parts import code
    from shared.updates.slack_answers import (
        CHANNEL_NOT_FOUND,
        NOT_IN_CHANNEL,
        RESTRICTED_ACTION,
        RESTRICTED_READ_ONLY,
        RESTRICTED_THREAD_ONLY,
    )

    fixes = {
        NOT_IN_CHANNEL: BOT_MISSING,
        CHANNEL_NOT_FOUND: NOT_SEEN,
        RESTRICTED_ACTION: NO_APPS,
        RESTRICTED_READ_ONLY: READ_ONLY,
        RESTRICTED_THREAD_ONLY: THREAD_ONLY,
    }
    return fixes.get(problem) or RESTRICTED.format(problem=code(problem))


def _update(answer: Answer, update: ChannelUpdate) -> None:
    from shared.updates.notifier import ChannelUnavailable, Notifier, SlackRejected, SlackUnavailable

    try:
        Notifier(answer.client).update(update.channel_id, update.ts, update.message)
    except (ChannelUnavailable, SlackUnavailable, SlackRejected):
        return  # the card keeps its old look (logged by the notifier)
