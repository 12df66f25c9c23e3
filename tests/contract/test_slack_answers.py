"""The taxonomy of Slack's answers (shared/updates/slack_answers.py) against the error names Slack documents
for the methods the outbox calls (kept, with their sources, in the Slack emulator's errors.py)."""

from __future__ import annotations

import math

import pytest

from emulators.slack.errors import COMMON_ERRORS, METHOD_POST_MESSAGE, METHOD_UPDATE, documented_errors
from shared.updates.slack_answers import (
    ANSWERS,
    MAX_RETRY_AFTER_S,
    MESSAGE_GONE,
    AnswerClass,
    answer_class,
    retry_after_s,
)

DOCUMENTED = documented_errors(METHOD_POST_MESSAGE) | documented_errors(METHOD_UPDATE)


def test_every_classified_answer_is_one_slack_documents_for_posting_or_updating() -> None:
    # A misspelt name would never match Slack's answer, and its failures would fall to the message class
    assert sorted(set(ANSWERS) - DOCUMENTED) == []
    assert MESSAGE_GONE <= DOCUMENTED


def test_every_token_and_outage_answer_common_to_all_methods_is_classified() -> None:
    token = {"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed", "missing_scope"}
    outage = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
    assert token | outage <= COMMON_ERRORS
    assert {answer_class(e) for e in token} == {AnswerClass.CONFIGURATION}
    assert {answer_class(e) for e in outage} == {AnswerClass.TRANSIENT}


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_http_429_and_5xx_are_transient_whatever_the_body(status: int) -> None:
    assert answer_class("", status) is AnswerClass.TRANSIENT
    assert answer_class("invalid_auth", status) is AnswerClass.TRANSIENT


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("1e12", MAX_RETRY_AFTER_S),
        ("inf", MAX_RETRY_AFTER_S),
        ("-5", 0.0),
        ("nan", 30.0),
        ("soon", 30.0),
        (None, 30.0),
    ],
)
def test_retry_after_is_finite_and_clamped(header: str | None, seconds: float) -> None:
    wait = retry_after_s(header)
    assert math.isfinite(wait) and wait == seconds
