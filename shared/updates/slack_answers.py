"""What each of Slack's answers means for channel updates: one table, read by the notifier and the outbox.

Every failed Web API call falls in one class, and the class alone decides what the outbox does:

- transient (HTTP 429 `ratelimited` with Retry-After, HTTP 5xx, HTTP-200 `internal_error`, `fatal_error`,
  `service_unavailable`, `request_timeout`, no answer): tried again later (Retry-After, clamped), never given up;
- configuration (`invalid_auth`, `token_revoked`, `account_inactive`, `not_authed`, `missing_scope`): the whole
  outbox holds until the token works again; nothing is dropped;
- channel (`is_archived`, `is_inactive`): the channel's watches and subscriptions end;
- membership (`channel_not_found`, `not_in_channel`, `restricted_action*`): the watch pauses and its creator is
  told once; it ends after a day of failures;
- message (anything else: `msg_too_long`, `invalid_blocks`, ...): a plain-text fallback is posted instead.

Sources: the errors tables of https://docs.slack.dev/reference/methods/chat.postMessage and chat.update, and
https://docs.slack.dev/apis/web-api/rate-limits (kept beside the Slack emulator's `errors.py`).
"""

from __future__ import annotations

import math
from enum import Enum


class AnswerClass(Enum):
    TRANSIENT = "transient"
    CONFIGURATION = "configuration"
    CHANNEL = "channel"
    MEMBERSHIP = "membership"
    MESSAGE = "message"


RATELIMITED = "ratelimited"
NOT_IN_CHANNEL = "not_in_channel"
CHANNEL_NOT_FOUND = "channel_not_found"
IS_ARCHIVED = "is_archived"
IS_INACTIVE = "is_inactive"
RESTRICTED_ACTION = "restricted_action"
RESTRICTED_READ_ONLY = "restricted_action_read_only_channel"
RESTRICTED_THREAD_ONLY = "restricted_action_thread_only_channel"
# chat.update's answers for a card someone deleted (the next change starts a new card).
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})
THREAD_GONE = "thread_not_found"

ANSWERS: dict[str, AnswerClass] = {
    RATELIMITED: AnswerClass.TRANSIENT,
    "rate_limited": AnswerClass.TRANSIENT,  # chat.postMessage's page lists this spelling too
    "external_channel_migrating": AnswerClass.TRANSIENT,
    "internal_error": AnswerClass.TRANSIENT,
    "fatal_error": AnswerClass.TRANSIENT,
    "service_unavailable": AnswerClass.TRANSIENT,
    "request_timeout": AnswerClass.TRANSIENT,
    "invalid_auth": AnswerClass.CONFIGURATION,
    "token_revoked": AnswerClass.CONFIGURATION,
    "token_expired": AnswerClass.CONFIGURATION,
    "account_inactive": AnswerClass.CONFIGURATION,
    "not_authed": AnswerClass.CONFIGURATION,
    "missing_scope": AnswerClass.CONFIGURATION,
    "not_allowed_token_type": AnswerClass.CONFIGURATION,
    "team_access_not_granted": AnswerClass.CONFIGURATION,
    "accesslimited": AnswerClass.CONFIGURATION,
    "access_denied": AnswerClass.CONFIGURATION,
    "no_permission": AnswerClass.CONFIGURATION,
    "ekm_access_denied": AnswerClass.CONFIGURATION,
    "enterprise_is_restricted": AnswerClass.CONFIGURATION,
    "org_login_required": AnswerClass.CONFIGURATION,
    "two_factor_setup_required": AnswerClass.CONFIGURATION,
    "team_added_to_org": AnswerClass.CONFIGURATION,
    "team_not_found": AnswerClass.CONFIGURATION,
    "app_access_restricted": AnswerClass.CONFIGURATION,
    IS_ARCHIVED: AnswerClass.CHANNEL,
    IS_INACTIVE: AnswerClass.CHANNEL,
    CHANNEL_NOT_FOUND: AnswerClass.MEMBERSHIP,
    NOT_IN_CHANNEL: AnswerClass.MEMBERSHIP,
    RESTRICTED_ACTION: AnswerClass.MEMBERSHIP,
    RESTRICTED_READ_ONLY: AnswerClass.MEMBERSHIP,
    RESTRICTED_THREAD_ONLY: AnswerClass.MEMBERSHIP,
    "restricted_action_non_threadable_channel": AnswerClass.MEMBERSHIP,
    "restricted_action_thread_locked": AnswerClass.MEMBERSHIP,
    "posting_to_channel_denied": AnswerClass.MEMBERSHIP,
}

# Retry-After is a number of seconds from outside: anything not finite, negative or beyond this is clamped.
MAX_RETRY_AFTER_S = 15 * 60.0
DEFAULT_RETRY_AFTER_S = 30.0


def answer_class(error: str, http_status: int = 200) -> AnswerClass:
    """The class of one failed call: by its HTTP status first (429, 5xx), then by Slack's error name."""
    if http_status == 429 or http_status >= 500:
        return AnswerClass.TRANSIENT
    return ANSWERS.get(error, AnswerClass.MESSAGE)


def retry_after_s(header: str | None) -> float:
    """Slack's Retry-After header as seconds to wait, within [0, MAX_RETRY_AFTER_S]."""
    try:
        seconds = float(header) if header else DEFAULT_RETRY_AFTER_S
    except ValueError:
        return DEFAULT_RETRY_AFTER_S
    if math.isnan(seconds):
        return DEFAULT_RETRY_AFTER_S
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def backoff_s(attempt: int, *, base_s: float = DEFAULT_RETRY_AFTER_S) -> float:
    """The wait before trying again after `attempt` transient failures with no Retry-After: doubling, clamped."""
    return min(base_s * 2.0 ** min(max(attempt - 1, 0), 16), MAX_RETRY_AFTER_S)
