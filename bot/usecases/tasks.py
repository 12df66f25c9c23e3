"""The ECS work behind a query, Refresh / Prev / Next, Details and Cancel.

Each function's work runs on a worker thread (inline) or in the deferred run, makes its ECS calls within the
attempt's deadline, and returns its `Replies` (`bot.usecases.work`): what to send, sent later by the Slack
layer. Failures become readable answers; an ECS timeout inline means the work did not fit the budget (OutOfBudget).

Accounts: a query naming accounts runs in each of them, per (account, region), and the answers
are merged into one card whose groups name their account. Every call runs on a client from `deps.ecs`: at
home under the function's own credentials, elsewhere in a session named after the user (`slack-<user id>`)
allowed only to read, or for CancelTask itself only to cancel.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from bot.language.codecs import TaskRef, encode_query, encode_task_ref
from bot.language.grammar import describe_query
from bot.usecases import access
from bot.usecases.attempt import Attempt, OutOfBudget
from bot.usecases.work import Click, DeferredRun, Ephemeral, NewAnswer, Replace, Replies, Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import (
    CardButtons,
    Message,
    error_message,
    notice_message,
    sts_error_message,
    task_detail_message,
    task_list_message,
)
from shared.ecs.accounts import HOME
from shared.ecs.query import ALL_REGIONS, TaskQuery, TaskStatus
from shared.ecs.results import MultiRegionResult, RegionResult
from shared.errors import (
    CODE_CONNECTION,
    CODE_DEADLINE,
    CODE_TIMEOUT,
    ConfigurationError,
    CredentialsNotFoundError,
    EcsApiError,
    StsApiError,
)
from shared.log import log_event

if TYPE_CHECKING:
    from shared.ecs.accounts import Account
    from shared.ecs.client import EcsClient


# ECS outcomes that mean "not yet known": inline, the deferred run tries again with the full deadline.
UNFINISHED_CODES = frozenset({CODE_TIMEOUT, CODE_DEADLINE, CODE_CONNECTION})
# Inline, CancelTask starts only with at least this long left: a call cut short leaves its outcome unknown.
MIN_CANCEL_S = 0.3
# A deferred run after a CancelTask that may have been sent reads the task every CANCEL_SETTLE_POLL_S until
# the cancel shows, for up to CANCEL_SETTLE_S (or half the ECS deadline): a call still held by ECS lands in it.
CANCEL_SETTLE_S = 10.0
CANCEL_SETTLE_POLL_S = 0.5


NOT_A_USER = ":warning: Could not {what}: work in an account is done in the name of a Slack user, and none was given."
# Accounts queried at once; each one's regions are queried concurrently by its own client.
MAX_ACCOUNT_WORKERS = 4


class NotASlackUser(ValueError):
    """Work in a configured account is named after a Slack user (its session); this had no user id."""


class AccountRefused(Exception):
    """The work names an account the channel is not bound to (the guard refuses it first; this is the last
    line). `str()` is the answer for the user."""


def misconfigured_text(what: str, setting: str | None) -> str:
    named = f" (check {setting})" if setting else ""
    return f":warning: Could not {what}: ecs-tasks is misconfigured{named}. An admin can find the details in the logs."


def answering(what: str, attempt: Attempt, compute: Callable[[], Replies]) -> Replies:
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
    except StsApiError as error:
        if attempt.inline and error.code in UNFINISHED_CODES:
            raise OutOfBudget from error
        log_sts_error(error)
        message = sts_error_message(error, what=what)
    except AccountRefused as refused:
        message = notice_message(str(refused))
    except NotASlackUser:
        message = notice_message(NOT_A_USER.format(what=what))
    except (CredentialsNotFoundError, ConfigurationError) as error:
        setting = getattr(error, "setting", None)
        # The message names where credentials were looked for, or the setting; never a value.
        log_event("config.error", level=logging.ERROR, outcome=type(error).__name__, setting=setting, detail=str(error))
        message = notice_message(misconfigured_text(what, setting))
    return (Ephemeral(message),)


def query_work(deps: BotDeps, query: TaskQuery, *, user_id: str | None, channel_id: str | None) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Replies:
        def compute() -> Replies:
            card = build_card(deps, attempt, query, user_id=user_id, channel_id=channel_id, public=query.public)
            return (NewAnswer(card, public=query.public, channel_id=channel_id),)

        return answering(f"list tasks ({describe_query(query)})", attempt, compute)

    return work


def refresh_work(deps: BotDeps, query: TaskQuery, click: Click) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Replies:
        def compute() -> Replies:
            public = query.public or not click.is_ephemeral
            card = build_card(deps, attempt, query, user_id=click.user_id, channel_id=click.channel_id, public=public)
            return (Replace(card, click.container),)

        return answering(f"refresh ({describe_query(query)})", attempt, compute)

    return work


def details_work(deps: BotDeps, ref: TaskRef, click: Click) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Replies:
        def compute() -> Replies:
            account = _task_account(deps, ref, click.channel_id)
            ecs = user_client(deps, account, click.user_id)
            deadline = ecs.deadline(attempt.read_deadline_s())
            attribute = ecs.describe_task_attribute(ref.region, ref.task_id, deadline=deadline)
            starter = _started_by(deps, (account or HOME).name, ref)
            message = task_detail_message(attribute, now=deps.clock(), started_by=starter)
            return (Ephemeral(message),)

        return answering(f"show task {ref.task_id}{_in_named(ref)}", attempt, compute)

    return work


def cancel_work(deps: BotDeps, ref: TaskRef, click: Click, *, sleep: Callable[[float], None] = time.sleep) -> Work:
    """CancelTask is not idempotent: exactly one per click. Inline it starts only while the attempt is live,
    with a deadline inside the budget. A deferred run after an attempt that may have sent it (`may_have_acted`,
    carried in the deferred payload, so it holds with no database) never sends it again: it waits for the
    first call to show, and confirms the cancel when it has (`sleep`: between its reads of the task)."""

    def work(attempt: Attempt, run: DeferredRun | None) -> Replies:
        def compute() -> Replies:
            account = _task_account(deps, ref, click.channel_id)
            if run is not None and run.may_have_acted:
                return _after_cancel(_settled(user_client(deps, account, click.user_id), attempt))
            # A session allowed CancelTask only (the card afterwards is read through a read session).
            canceller = user_client(deps, account, click.user_id, cancel=True)
            if attempt.inline and attempt.remaining() < MIN_CANCEL_S:
                raise OutOfBudget
            attempt.begin_side_effect()  # raises Abandoned: an abandoned attempt never sends CancelTask
            attempt.may_have_acted = True
            deadline = canceller.deadline(attempt.act_deadline_s())
            result = canceller.cancel_task(ref.region, ref.task_id, deadline=deadline)
            return _after_cancel(f"{_cancelled_by(click, ref)} (RequestId {result.request_id}).")

        def _settled(reader: EcsClient, attempt: Attempt) -> str:
            """What became of the CancelTask the inline attempt may have sent, read until it shows."""
            waited_until = attempt.monotonic() + min(CANCEL_SETTLE_S, attempt.ecs_deadline_s / 2)
            while True:
                deadline = reader.deadline(attempt.read_deadline_s())
                status = reader.describe_task_attribute(ref.region, ref.task_id, deadline=deadline).task_status
                if status == TaskStatus.DELETED:  # what a cancelled task becomes
                    log_event("cancel.confirmed", outcome=status, task_id=ref.task_id)
                    return f"{_cancelled_by(click, ref)}."
                if status not in TaskStatus.UNFINISHED:
                    log_event("cancel.skipped", outcome=status, task_id=ref.task_id)
                    return (
                        f"Task `{ref.task_id}` in {_where(ref)} is {status} now: it ended before it could be cancelled."
                    )
                if attempt.monotonic() + CANCEL_SETTLE_POLL_S > waited_until:
                    log_event("cancel.unconfirmed", outcome=status, task_id=ref.task_id)
                    return (
                        f":warning: The cancel of task `{ref.task_id}` in {_where(ref)} was sent, but ECS still shows "
                        f"it {status}. It is not sent twice: Refresh the card, and click Cancel again if it keeps "
                        "running."
                    )
                sleep(CANCEL_SETTLE_POLL_S)

        def _after_cancel(text: str) -> Replies:
            public = ref.query.public or not click.is_ephemeral
            card = build_card(
                deps, attempt, ref.query, user_id=click.user_id, channel_id=click.channel_id, public=public
            )
            return Ephemeral(notice_message(text)), Replace(card, click.container)

        return answering(f"cancel task {ref.task_id}{_in_named(ref)}", attempt, compute)

    return work


def _cancelled_by(click: Click, ref: TaskRef) -> str:
    return f":octagonal_sign: <@{click.user_id}> cancelled task `{ref.task_id}` in {_where(ref)}"


def build_card(
    deps: BotDeps,
    attempt: Attempt,
    query: TaskQuery,
    *,
    user_id: str | None,
    channel_id: str | None,
    public: bool,
) -> Message:
    """Run the query and lay out its card, with button values that re-run it.

    A card everyone sees shows Cancel by the deployment's rule, not by whoever asked last; a card only its
    user sees follows that user's permission. Either way the guard checks every click.
    """
    query = narrow_all_regions(deps, query)
    result = run_query(deps, attempt, query, user_id=user_id, channel_id=channel_id)
    if not result.regions and query.accounts:
        return notice_message(_uncovered(deps, query, channel_id))
    if attempt.inline and any(r.error and r.error.code in UNFINISHED_CODES for r in result.regions):
        raise OutOfBudget
    refresh = encode_query(query)
    ref_query = _ref_query(query, refresh, result)
    # Which account each listed task is in (task ids are unique across accounts: ECS makes them random).
    account_of = {(t.region_id, t.task_id): r.account for r in result.regions if r.page for t in r.page.tasks}
    policy = deps.policy.current()
    can_cancel = access.anyone_may_cancel(policy) if public else access.user_may_cancel(policy, user_id)
    buttons = CardButtons(
        refresh=refresh,
        prev=encode_query(dataclasses.replace(query, page=query.page - 1)) if query.page > 1 else None,
        next=encode_query(dataclasses.replace(query, page=query.page + 1)) if has_more_pages(result) else None,
        task_ref=lambda task: encode_task_ref(
            task.region_id or query.regions[0],
            task.task_id,
            ref_query,
            account_of.get((task.region_id, task.task_id)) if query.accounts else None,
        ),
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


def log_sts_error(error: StsApiError) -> None:
    # The message says what to fix in which account (role, trust policy, external id); never a secret.
    log_event(
        "sts.error",
        level=logging.WARNING,
        outcome=error.code,
        account=error.account,
        sts_request_id=error.request_id,
    )


def narrow_all_regions(deps: BotDeps, query: TaskQuery) -> TaskQuery:
    """`all` means every allowed region when ECS_TASKS_REGIONS restricts them."""
    if query.all_regions and deps.settings.allowed_regions:
        return dataclasses.replace(query, regions=tuple(sorted(deps.settings.allowed_regions)))
    return query


# --- accounts --------------------------------------------------------------------------------------


def user_client(deps: BotDeps, account: Account | None, user_id: str | None, *, cancel: bool = False) -> EcsClient:
    """The home account's client for work from before accounts or at home (the function's own credentials,
    whoever asks); else the account's, in the user's session allowed to read, or (`cancel`) only to cancel.
    Sessions are imported here: the home path never needs them."""
    if account is None or account.is_home:
        return deps.ecs(HOME, None)
    from shared.ecs.sessions import Purpose, SessionSpec

    try:
        session = SessionSpec.for_user(user_id or "", Purpose.CANCEL if cancel else Purpose.READ)
    except ValueError as error:
        raise NotASlackUser(str(error)) from None
    return deps.ecs(account, session)


def _bound_account(deps: BotDeps, channel_id: str | None, name: str) -> Account:
    policy = deps.policy.current()
    account = policy.accounts.account_for_channel(channel_id, name)
    if account is None:
        # The one check's reason (it refuses exactly the names the channel is not bound to).
        denied = access.check_accounts(policy, channel_id, (name,))
        raise AccountRefused(denied.reason if denied else name)
    return account


def _where(ref: TaskRef) -> str:
    """`prod · cn-hangzhou` for a task in an account, as its card names it; the region alone otherwise."""
    return f"{ref.account} · {ref.region}" if ref.account else ref.region


def _in_named(ref: TaskRef) -> str:
    return f" in account {ref.account}" if ref.account else ""


def _started_by(deps: BotDeps, account: str, ref: TaskRef) -> str | None:
    """Who started the task, as stored with a follow of it (channel updates' store); None without a database,
    or when the store cannot answer (Details go out without it: the line is a courtesy)."""
    if deps.settings.database_url is None:
        return None
    from sqlalchemy.exc import SQLAlchemyError

    try:
        return deps.store().watches.started_by(account, ref.region, ref.task_id)
    except SQLAlchemyError as error:
        log_event("store.unavailable", level=logging.WARNING, outcome=type(error).__name__)
        return None


def _task_account(deps: BotDeps, ref: TaskRef, channel_id: str | None) -> Account | None:
    """The account a task button's task is in; None for a button from before accounts (the function's own)."""
    return None if ref.account is None else _bound_account(deps, channel_id, ref.account)


def _in_account(query: TaskQuery, account: Account) -> TaskQuery | None:
    """The query's part in one account: `all` means the regions the account covers (when it names any),
    named regions only those it covers; None when it covers none of them."""
    if query.all_regions and account.regions:
        regions = account.regions
    else:
        regions = tuple(r for r in query.regions if r == ALL_REGIONS or account.covers(r))
    return dataclasses.replace(query, regions=regions) if regions else None


def run_query(
    deps: BotDeps, attempt: Attempt, query: TaskQuery, *, user_id: str | None, channel_id: str | None
) -> MultiRegionResult:
    """One page of the query: at home when it names no account, else in each of its accounts, merged in order."""
    if not query.accounts:
        home = user_client(deps, None, user_id)
        return home.query(query, deadline=home.deadline(attempt.read_deadline_s()))
    seconds = attempt.read_deadline_s()
    accounts = [_bound_account(deps, channel_id, name) for name in query.accounts]

    def one(account: Account) -> tuple[RegionResult, ...]:
        part = _in_account(query, account)
        if part is None:
            return ()
        ecs = user_client(deps, account, user_id)
        try:
            answer = ecs.query(part, deadline=ecs.deadline(seconds))
        except StsApiError as error:
            if len(accounts) == 1 or (attempt.inline and error.code in UNFINISHED_CODES):
                raise  # one account: its own card says what to fix; out of time: the deferred path tries again
            # Several accounts: the others still answer; this one's groups carry what to fix in it.
            log_sts_error(error)
            return tuple(RegionResult(region, error=error, account=account.name) for region in part.regions)
        return tuple(dataclasses.replace(r, account=account.name) for r in answer.regions)

    parts = _each(one, accounts)
    not_asked = tuple((a.name, a.regions) for a in accounts if _in_account(query, a) is None)
    return MultiRegionResult(query, tuple(r for part in parts for r in part), not_asked)


def _each(
    work: Callable[[Account], tuple[RegionResult, ...]], accounts: Sequence[Account]
) -> list[tuple[RegionResult, ...]]:
    if len(accounts) <= 1:
        return [work(a) for a in accounts]
    with ThreadPoolExecutor(max_workers=min(MAX_ACCOUNT_WORKERS, len(accounts))) as pool:
        # Each in a copy of the caller's context, so log lines keep the request's ids.
        futures = [pool.submit(contextvars.copy_context().run, work, a) for a in accounts]
        return [f.result() for f in futures]


def _uncovered(deps: BotDeps, query: TaskQuery, channel_id: str | None) -> str:
    covers = [
        f"`{account.name}` covers {', '.join(account.regions)}"
        for account in (_bound_account(deps, channel_id, name) for name in query.accounts)
    ]
    asked = ", ".join(query.regions)
    return f":information_source: None of these accounts works in {asked}: {'; '.join(covers)}. Name their regions."
