"""The ECS work behind a query, Refresh / Prev / Next, Details and Cancel.

Each function runs on a worker thread (inline) or in the deferred run, makes its ECS calls within the
attempt's deadline, and returns a `Deliver`: what to send, sent later by the listener's thread. Failures
become readable answers; an ECS timeout inline means the work did not fit the budget (OutOfBudget).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from bot import access
from bot.deferral import DeferredRun
from bot.deps import BotDeps
from bot.grammar import describe_query
from bot.guard import Click
from bot.inline import Attempt, OutOfBudget
from bot.query_codec import TaskRef, encode_query, encode_task_ref
from bot.reply import Answer
from shared.cards.task_cards import (
    CardButtons,
    Message,
    error_message,
    notice_message,
    task_detail_message,
    task_list_message,
)
from shared.ecs.query import TaskQuery
from shared.ecs.results import MultiRegionResult
from shared.errors import (
    CODE_CONNECTION,
    CODE_DEADLINE,
    CODE_TIMEOUT,
    ConfigurationError,
    CredentialsNotFoundError,
    EcsApiError,
)
from shared.log import log_event

Deliver = Callable[[Answer], None]
Work = Callable[[Attempt, "DeferredRun | None"], Deliver]

# ECS outcomes that mean "not yet known": inline, the deferred run tries again with the full deadline.
UNFINISHED_CODES = frozenset({CODE_TIMEOUT, CODE_DEADLINE, CODE_CONNECTION})
# A task in one of these may still be cancelled.
CANCELLABLE = frozenset({"Waiting", "Processing", "Paused"})
# Inline, CancelTask starts only with at least this long left: a call cut short leaves its outcome unknown.
MIN_CANCEL_S = 0.3


def misconfigured_text(what: str, setting: str | None) -> str:
    named = f" (check {setting})" if setting else ""
    return f":warning: Could not {what}: ecs-tasks is misconfigured{named}. An admin can find the details in the logs."


def answering(what: str, attempt: Attempt, compute: Callable[[], Deliver]) -> Deliver:
    """`compute`, with every ECS or configuration failure turned into an ephemeral answer."""
    try:
        return compute()
    except EcsApiError as error:
        if attempt.inline and error.code in UNFINISHED_CODES:
            raise OutOfBudget from error
        log_event(
            "ecs.error",
            level=logging.WARNING,
            outcome=error.code,
            ecs_request_id=error.request_id,
            region_id=error.region_id,
        )
        message = error_message(error, what=what)
    except (CredentialsNotFoundError, ConfigurationError) as error:
        setting = getattr(error, "setting", None)
        # The message names where credentials were looked for, or the setting; never a value.
        log_event("config.error", level=logging.ERROR, outcome=type(error).__name__, setting=setting, detail=str(error))
        message = notice_message(misconfigured_text(what, setting))
    return lambda answer: answer.ephemeral(message)


def query_work(deps: BotDeps, query: TaskQuery, *, user_id: str | None, channel_id: str | None) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Deliver:
        def compute() -> Deliver:
            card = build_card(deps, attempt, query, user_id=user_id, public=query.public)
            return lambda answer: answer.new(card, public=query.public, channel_id=channel_id)

        return answering(f"list tasks ({describe_query(query)})", attempt, compute)

    return work


def refresh_work(deps: BotDeps, query: TaskQuery, click: Click) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Deliver:
        def compute() -> Deliver:
            public = query.public or not click.is_ephemeral
            card = build_card(deps, attempt, query, user_id=click.user_id, public=public)
            return lambda answer: answer.replace(card, container=click.container)

        return answering(f"refresh ({describe_query(query)})", attempt, compute)

    return work


def details_work(deps: BotDeps, ref: TaskRef) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Deliver:
        def compute() -> Deliver:
            deadline = deps.ecs.deadline(attempt.read_deadline_s())
            attribute = deps.ecs.describe_task_attribute(ref.region, ref.task_id, deadline=deadline)
            message = task_detail_message(attribute, now=deps.clock())
            return lambda answer: answer.ephemeral(message)

        return answering(f"show task {ref.task_id}", attempt, compute)

    return work


def cancel_work(deps: BotDeps, ref: TaskRef, click: Click) -> Work:
    """CancelTask is not idempotent: inline it starts only while the attempt is live, with a deadline inside
    the budget; a deferred run after an attempt that may have reached ECS asks first."""

    def work(attempt: Attempt, run: DeferredRun | None) -> Deliver:
        def compute() -> Deliver:
            if run is not None and run.may_have_acted:
                deadline = deps.ecs.deadline(attempt.read_deadline_s())
                status = deps.ecs.describe_task_attribute(ref.region, ref.task_id, deadline=deadline).task_status
                if status not in CANCELLABLE:
                    log_event("cancel.skipped", outcome=status, task_id=ref.task_id)
                    return _after_cancel(
                        f"Task `{ref.task_id}` in {ref.region} is {status} now: it is not cancelled again.",
                    )
            if attempt.inline and attempt.remaining() < MIN_CANCEL_S:
                raise OutOfBudget
            attempt.begin_side_effect()  # raises Abandoned: an abandoned attempt never sends CancelTask
            attempt.may_have_acted = True
            result = deps.ecs.cancel_task(ref.region, ref.task_id, deadline=deps.ecs.deadline(attempt.act_deadline_s()))
            return _after_cancel(
                f":octagonal_sign: <@{click.user_id}> cancelled task `{ref.task_id}` in {ref.region} "
                f"(RequestId {result.request_id})."
            )

        def _after_cancel(text: str) -> Deliver:
            public = ref.query.public or not click.is_ephemeral
            card = build_card(deps, attempt, ref.query, user_id=click.user_id, public=public)

            def deliver(answer: Answer) -> None:
                answer.ephemeral(notice_message(text))
                answer.replace(card, container=click.container)

            return deliver

        return answering(f"cancel task {ref.task_id}", attempt, compute)

    return work


def build_card(deps: BotDeps, attempt: Attempt, query: TaskQuery, *, user_id: str | None, public: bool) -> Message:
    """Run the query and lay out its card, with button values that re-run it.

    A card everyone sees shows Cancel by the deployment's rule, not by whoever asked last; a card only its
    user sees follows that user's permission. Either way the guard checks every click.
    """
    query = _narrow_all_regions(deps, query)
    result = deps.ecs.query(query, deadline=deps.ecs.deadline(attempt.read_deadline_s()))
    if attempt.inline and any(r.error and r.error.code in UNFINISHED_CODES for r in result.regions):
        raise OutOfBudget
    refresh = encode_query(query)
    ref_query = _ref_query(query, refresh, result)
    can_cancel = access.anyone_may_cancel(deps.settings) if public else access.user_may_cancel(deps.settings, user_id)
    buttons = CardButtons(
        refresh=refresh,
        prev=encode_query(dataclasses.replace(query, page=query.page - 1)) if query.page > 1 else None,
        next=encode_query(dataclasses.replace(query, page=query.page + 1)) if has_more_pages(result) else None,
        task_ref=lambda task: encode_task_ref(task.region_id or query.regions[0], task.task_id, ref_query),
        can_cancel=can_cancel,
        can_watch=deps.settings.database_url is not None,
    )
    return task_list_message(result, title=describe_query(query), buttons=buttons, now=deps.clock())


# Every per-task button carries the card's query (to refresh the card after a cancel). A query naming many
# task ids encodes to up to 2,000 characters; copied into each button it would make the message huge.
REF_QUERY_CHARS = 300


def _ref_query(query: TaskQuery, encoded: str, result: MultiRegionResult) -> TaskQuery:
    """The query per-task buttons carry: the card's own, or for a long task-id list, just the ids shown."""
    if len(encoded) <= REF_QUERY_CHARS or not query.task_ids:
        return query
    return dataclasses.replace(query, task_ids=tuple(t.task_id for t in result.tasks)[: query.page_size], page=1)


def has_more_pages(result: MultiRegionResult) -> bool:
    return any(r.page and r.page.page_number * r.page.page_size < r.page.total_count for r in result.regions)


def _narrow_all_regions(deps: BotDeps, query: TaskQuery) -> TaskQuery:
    """`all` means every allowed region when ECS_TASKS_REGIONS restricts them."""
    if query.all_regions and deps.settings.allowed_regions:
        return dataclasses.replace(query, regions=tuple(sorted(deps.settings.allowed_regions)))
    return query
