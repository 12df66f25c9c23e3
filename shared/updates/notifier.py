"""Posting channel updates to Slack through `slack_sdk.WebClient`, with every failure classified.

The client is built without retry handlers: a post that may or may not have reached Slack is never
re-sent behind our back (the outbox decides, and documents, what is re-sent). Each failure becomes the
exception of its class in `shared.updates.slack_answers`: `ChannelUnavailable` (channel: archived; or
membership: not in it, not found, restricted), `SlackUnavailable` (transient: rate limited, 5xx, Slack's
internal errors, no answer), `SlackMisconfigured` (configuration: the token or its scopes; a kind of
`SlackUnavailable`, since it too passes once someone fixes it) and `SlackRejected` (the message itself).
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from shared.cards.task_cards import Message
from shared.errors import EcsTasksError
from shared.log import log_event
from shared.updates.slack_answers import (
    CHANNEL_NOT_FOUND,
    IS_ARCHIVED,
    MESSAGE_GONE,
    NOT_IN_CHANNEL,
    RATELIMITED,
    THREAD_GONE,
    AnswerClass,
    answer_class,
    retry_after_s,
)

__all__ = [
    "CHANNEL_NOT_FOUND",
    "IS_ARCHIVED",
    "NOT_IN_CHANNEL",
    "ChannelUnavailable",
    "Notifier",
    "Posted",
    "SlackMisconfigured",
    "SlackRejected",
    "SlackUnavailable",
]


class ChannelUnavailable(EcsTasksError):
    def __init__(self, channel_id: str, problem: str) -> None:
        super().__init__(f"cannot post in {channel_id}: {problem}")
        self.channel_id = channel_id
        self.problem = problem

    @property
    def recoverable(self) -> bool:
        """A membership problem (someone may invite the bot, or lift the restriction); else the channel is over."""
        return answer_class(self.problem) is AnswerClass.MEMBERSHIP


class SlackUnavailable(EcsTasksError):
    """Try again later: rate limited (Slack says when), or no answer (the post may or may not exist).
    `retry_after_s` is None when Slack named no time (the caller backs off)."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class SlackMisconfigured(SlackUnavailable):
    """The token is refused or lacks a scope: nothing can be posted anywhere until someone fixes it."""


class SlackRejected(EcsTasksError):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class Posted:
    ts: str
    threaded: bool  # False when the thread was gone and the post went to the channel instead


class Notifier:
    def __init__(self, client: WebClient) -> None:
        self._client = client

    def post(self, channel_id: str, message: Message, *, thread_ts: str | None = None) -> Posted:
        """A new message (in a thread when `thread_ts`); falls back to the channel if the thread is gone."""
        try:
            return Posted(self._post(channel_id, message, thread_ts), threaded=thread_ts is not None)
        except SlackRejected as rejected:
            if thread_ts is None or rejected.error != THREAD_GONE:
                raise
            log_event("slack.thread_gone", channel_id=channel_id, thread_ts=thread_ts)
            return Posted(self._post(channel_id, message, None), threaded=False)

    def update(self, channel_id: str, ts: str, message: Message) -> bool:
        """Replace a message in place (idempotent); False if the message is gone (deleted by someone)."""
        try:
            self._call(
                "chat.update",
                channel_id,
                lambda: self._client.chat_update(
                    channel=channel_id, ts=ts, text=message.text, blocks=message.blocks or None
                ),
            )
        except SlackRejected as rejected:
            if rejected.error in MESSAGE_GONE:
                log_event("slack.card_gone", channel_id=channel_id, card_ts=ts, outcome=rejected.error)
                return False
            raise
        return True

    def direct_message(self, user_id: str, message: Message) -> str:
        """A message to a person (chat.postMessage to the user id opens the DM with the bot)."""
        return self._post(user_id, message, None)

    def _post(self, channel_id: str, message: Message, thread_ts: str | None) -> str:
        response = self._call(
            "chat.postMessage",
            channel_id,
            lambda: self._client.chat_postMessage(
                channel=channel_id, text=message.text, blocks=message.blocks or None, thread_ts=thread_ts
            ),
        )
        return str(response.get("ts"))

    def _call(self, method: str, channel_id: str, send: Callable[[], SlackResponse]) -> dict[str, object]:
        try:
            response = send()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            status = error.response.status_code
            log_event("slack.call", method=method, channel_id=channel_id, outcome=code or f"http_{status}")
            kind = answer_class(code, status)
            if kind is AnswerClass.TRANSIENT:
                limited = status == 429 or code == RATELIMITED
                wait = retry_after_s(_header(error, "Retry-After")) if limited else None
                raise SlackUnavailable(code or f"http_{status}", wait) from error
            if kind is AnswerClass.CONFIGURATION:
                raise SlackMisconfigured(code) from error
            if kind in (AnswerClass.CHANNEL, AnswerClass.MEMBERSHIP):
                raise ChannelUnavailable(channel_id, code) from error
            raise SlackRejected(code or f"http_{status}") from error
        except (OSError, http.client.HTTPException) as error:
            # No answer: Slack may or may not have acted. The caller decides whether to send again.
            log_event("slack.call", method=method, channel_id=channel_id, outcome=type(error).__name__)
            raise SlackUnavailable(type(error).__name__) from error
        log_event("slack.call", method=method, channel_id=channel_id, outcome="ok")
        return dict(response.data) if isinstance(response.data, dict) else {}


def _header(error: SlackApiError, name: str) -> str | None:
    headers = error.response.headers or {}
    value = headers.get(name) or headers.get(name.lower())
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value is not None else None
