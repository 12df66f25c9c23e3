"""Lazy work's safety net: every ECS or configuration failure becomes a readable message, never silence
and never a stack trace; and each lazy delivery does its work once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from slack_bolt import BoltRequest, Respond

from bot import reply
from bot.deps import BotDeps
from bot.once import deferred_work_key, run_once
from shared.cards.task_cards import error_message, notice_message
from shared.errors import ConfigurationError, CredentialsNotFoundError, EcsApiError
from shared.log import log_event

STALE_BUTTON = "This button is from an older card; run the command again."


@contextlib.contextmanager
def answer_errors(respond: Respond, *, what: str) -> Iterator[None]:
    try:
        yield
    except EcsApiError as error:
        log_event(
            "ecs.error",
            level=logging.WARNING,
            outcome=error.code,
            ecs_request_id=error.request_id,
            region_id=error.region_id,
        )
        reply.reply_ephemeral(respond, error_message(error, what=what))
    except (CredentialsNotFoundError, ConfigurationError) as error:
        # The message names where credentials were looked for, never their values.
        log_event("config.error", level=logging.ERROR, outcome=type(error).__name__, detail=str(error))
        reply.reply_ephemeral(
            respond,
            notice_message(
                f":warning: Could not {what}: ecs-tasks is not configured correctly. "
                "An admin can find the details in the function's logs."
            ),
        )


def lazy_once(deps: BotDeps, request: BoltRequest, name: str, work: Callable[[], None]) -> None:
    run_once(deps, deferred_work_key(request, name), work)
