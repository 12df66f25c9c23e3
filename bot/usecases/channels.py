"""Channel updates' commands and buttons, run by the same inline-or-defer runner as queries.

Their work is `bot.usecases.watching`'s, which answers the user and posts in the channel itself. It gets a
response_url and a Web API client that ask the attempt first (`Attempt.begin_side_effect`), so an abandoned
attempt posts nothing, and one that has started posting is finished rather than repeated.

`bot.usecases.watching` (and the channel-updates model and cards with it) is imported by the jobs that use it: a cold
instance answering its first query never loads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookResponse

from bot.language.codecs import TaskRef
from bot.language.grammar import ListCommand, SubscribeCommand, UnsubscribeCommand, UnwatchCommand, WatchCommand
from bot.slack.answering import reply
from bot.slack.answering.attempt import Attempt
from bot.slack.answering.deferral import DeferredRun
from bot.slack.answering.reply import Answer
from bot.slack.guard import Click, UnwatchRef
from bot.usecases.tasks import Deliver, Work, answering
from bot.wiring.build import guarded_web_client
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import notice_message
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.log import log_event

if TYPE_CHECKING:
    from bot.usecases.watching import Where

STORE_DOWN = ":warning: Could not {what}: the ecs-tasks database is not reachable. Please try again in a moment."
ChannelCommand = WatchCommand | UnwatchCommand | SubscribeCommand | UnsubscribeCommand | ListCommand
Job = Callable[[Respond, WebClient], None]


@dataclass(frozen=True)
class SlackTarget:
    """Where the job answers: the request's response_url, and the bot token its posts use."""

    response_url: str | None
    token: str | None


def command_work(deps: BotDeps, target: SlackTarget, parsed: ChannelCommand, where: Where) -> Work:
    def job(respond: Respond, client: WebClient) -> None:
        from bot.usecases.watching import channel_list, subscribe, unsubscribe, unwatch_tasks, watch_tasks

        if isinstance(parsed, WatchCommand):
            watch_tasks(deps, respond, client, where, parsed.region, parsed.task_ids, parsed.account)
        elif isinstance(parsed, UnwatchCommand):
            unwatch_tasks(deps, respond, client, where, parsed)
        elif isinstance(parsed, SubscribeCommand):
            subscribe(deps, respond, client, where, parsed)
        elif isinstance(parsed, UnsubscribeCommand):
            unsubscribe(deps, respond, where, parsed)
        else:
            reply.reply_ephemeral(respond, channel_list(deps, where.channel_id))

    return _work(deps, target, "update this channel's watches", job)


def watch_button_work(
    deps: BotDeps, target: SlackTarget, ref: TaskRef, click: Click, account: str = HOME_ACCOUNT_NAME
) -> Work:
    """`account`: the task's account, as the Watch button's value carries it (home for a value from before
    accounts)."""

    def job(respond: Respond, client: WebClient) -> None:
        from bot.usecases.watching import watch_tasks

        watch_tasks(deps, respond, client, clicked_where(click), ref.region, (ref.task_id,), account)

    return _work(deps, target, f"watch task {ref.task_id}", job)


def unwatch_button_work(deps: BotDeps, target: SlackTarget, ref: UnwatchRef, click: Click) -> Work:
    def job(respond: Respond, client: WebClient) -> None:
        from bot.usecases.watching import unwatch_tasks

        unwatch_tasks(
            deps, respond, client, clicked_where(click), UnwatchCommand(ref.region, (ref.task_id,), account=ref.account)
        )
        _refresh_list(deps, respond, client, click)

    return _work(deps, target, f"stop watching {ref.task_id}", job)


def unsubscribe_button_work(deps: BotDeps, target: SlackTarget, subscription_id: int, click: Click) -> Work:
    def job(respond: Respond, client: WebClient) -> None:
        from bot.usecases.watching import remove_subscriptions

        removed = remove_subscriptions(deps, click.channel_id, [subscription_id])
        if not removed:
            reply.reply_ephemeral(respond, notice_message("That subscription was already removed."))
        _refresh_list(deps, respond, client, click)

    return _work(deps, target, "unsubscribe", job)


def clicked_where(click: Click) -> Where:
    from bot.usecases.watching import Where

    anchor = None if click.is_ephemeral else click.message_ts
    return Where(team_id=click.team_id, channel_id=click.channel_id, user_id=click.user_id, anchor_ts=anchor)


def _refresh_list(deps: BotDeps, respond: Respond, client: WebClient, click: Click) -> None:
    """A button clicked on the (ephemeral) list redraws the list in place."""
    if click.is_ephemeral:
        from bot.usecases.watching import channel_list

        message = channel_list(deps, click.channel_id)
        reply.replace_in_place(respond, client, message, container=click.container)


def _work(deps: BotDeps, target: SlackTarget, what: str, job: Job) -> Work:
    def work(attempt: Attempt, run: DeferredRun | None) -> Deliver:
        def compute() -> Deliver:
            # The job answers as it goes (its posts carry ids it needs next), each post asking the attempt.
            def deliver(answer: Answer) -> None:
                return None

            respond = _GuardedRespond(attempt, target.response_url)
            client = guarded_web_client(deps.settings, token=target.token, before_call=attempt.begin_side_effect)
            with _store_failures(respond, what):
                job(respond, client)
            return deliver

        return answering(what, attempt, compute)

    return work


class _GuardedRespond(Respond):
    def __init__(self, attempt: Attempt, response_url: str | None) -> None:
        super().__init__(response_url=response_url)
        self._attempt = attempt

    def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        self._attempt.begin_side_effect()
        return super().__call__(*args, **kwargs)


@contextmanager
def _store_failures(respond: Respond, what: str) -> Iterator[None]:
    from sqlalchemy.exc import SQLAlchemyError  # channel work only: SQLAlchemy stays off the query path

    try:
        yield
    except SQLAlchemyError as error:
        log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__)
        reply.reply_ephemeral(respond, notice_message(STORE_DOWN.format(what=what)))
