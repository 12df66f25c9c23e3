"""Posting channel updates to Slack through `slack_sdk.WebClient`, with every failure classified.

The client is built without retry handlers: a post that may or may not have reached Slack is never
re-sent behind our back (the outbox decides, and documents, what is re-sent). Failures become:
`ChannelUnavailable` (the bot cannot post in that channel: not_in_channel, channel_not_found, is_archived),
`SlackUnavailable` (rate limited, or no answer: try later) and `SlackRejected` (anything else Slack refused).
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

NOT_IN_CHANNEL = "not_in_channel"
CHANNEL_NOT_FOUND = "channel_not_found"
IS_ARCHIVED = "is_archived"
CHANNEL_PROBLEMS = frozenset({NOT_IN_CHANNEL, CHANNEL_NOT_FOUND, IS_ARCHIVED})
# The channel may come back (someone invites the bot): keep the watch. The others end it.
RECOVERABLE_PROBLEMS = frozenset({NOT_IN_CHANNEL})
RATELIMITED = "ratelimited"
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})
THREAD_GONE = "thread_not_found"
DEFAULT_RETRY_AFTER_S = 30.0


class ChannelUnavailable(EcsTasksError):
    def __init__(self, channel_id: str, problem: str) -> None:
        super().__init__(f"cannot post in {channel_id}: {problem}")
        self.channel_id = channel_id
        self.problem = problem

    @property
    def recoverable(self) -> bool:
        return self.problem in RECOVERABLE_PROBLEMS


class SlackUnavailable(EcsTasksError):
    """Try again later: rate limited (Slack says when), or no answer (the post may or may not exist)."""

    def __init__(self, reason: str, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


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
                lambda: self._client.chat_update(channel=channel_id, ts=ts, **message.as_kwargs()),
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
                channel=channel_id, text=message.text, blocks=message.blocks, thread_ts=thread_ts
            ),
        )
        return str(response.get("ts"))

    def _call(self, method: str, channel_id: str, send: Callable[[], SlackResponse]) -> dict[str, object]:
        try:
            response = send()
        except SlackApiError as error:
            code = str(error.response.get("error") or "")
            log_event("slack.call", method=method, channel_id=channel_id, outcome=code or "error")
            if code in CHANNEL_PROBLEMS:
                raise ChannelUnavailable(channel_id, code) from error
            if code == RATELIMITED or error.response.status_code == 429:
                raise SlackUnavailable(RATELIMITED, _retry_after(error)) from error
            if error.response.status_code >= 500:
                raise SlackUnavailable(f"http_{error.response.status_code}") from error
            raise SlackRejected(code or f"http_{error.response.status_code}") from error
        except (OSError, http.client.HTTPException) as error:
            # No answer: Slack may or may not have acted. The caller decides whether to send again.
            log_event("slack.call", method=method, channel_id=channel_id, outcome=type(error).__name__)
            raise SlackUnavailable(type(error).__name__) from error
        log_event("slack.call", method=method, channel_id=channel_id, outcome="ok")
        return dict(response.data) if isinstance(response.data, dict) else {}


def _retry_after(error: SlackApiError) -> float:
    value = (error.response.headers or {}).get("Retry-After") or (error.response.headers or {}).get("retry-after")
    try:
        return float(value) if value else DEFAULT_RETRY_AFTER_S
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
