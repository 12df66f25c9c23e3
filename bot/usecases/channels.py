"""Channel updates' commands and buttons, run by the same inline-or-defer runner as queries.

Their work is `bot.usecases.watching`'s (watch, unwatch), `bot.usecases.subscribing`'s (subscribe,
unsubscribe) and `bot.usecases.channel_status`'s (the list, and the paused notice under watch, subscribe and
list): it reads and writes the store and returns its replies, posts in the channel among them, which the
Slack layer sends once the work is done. An attempt that is abandoned has therefore posted nothing; its
deferred run answers instead.

Those modules (and the channel-updates model and cards with them) are imported by the jobs that use them: a
cold instance answering its first query never loads them.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from bot.language.codecs import TaskRef, UnwatchRef
from bot.language.grammar import ListCommand, SubscribeCommand, UnsubscribeCommand, UnwatchCommand, WatchCommand
from bot.usecases.attempt import Attempt
from bot.usecases.tasks import answering
from bot.usecases.where import Where
from bot.usecases.work import ChannelPost, Click, DeferredRun, Ephemeral, Replace, Replies, Reply, Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import notice_message
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.log import log_event

STORE_DOWN = ":warning: Could not {what}: the ecs-tasks database is not reachable. Please try again in a moment."
ChannelCommand = WatchCommand | UnwatchCommand | SubscribeCommand | UnsubscribeCommand | ListCommand
Job = Callable[[], Replies]


def command_work(deps: BotDeps, parsed: ChannelCommand, where: Where) -> Work:
    def job() -> Replies:
        from bot.usecases.channel_status import channel_list, paused_notice
        from bot.usecases.subscribing import subscribe, unsubscribe
        from bot.usecases.watching import unwatch_tasks, watch_tasks

        if isinstance(parsed, UnwatchCommand):
            return unwatch_tasks(deps, where, region=parsed.region, task_ids=parsed.task_ids, account=parsed.account)
        if isinstance(parsed, UnsubscribeCommand):
            return unsubscribe(deps, where, parsed)
        # What sets up or shows channel updates also says when none can be posted for now.
        if isinstance(parsed, WatchCommand):
            replies = watch_tasks(deps, where, parsed.region, parsed.task_ids, parsed.account)
        elif isinstance(parsed, SubscribeCommand):
            replies = subscribe(deps, where, parsed)
        else:
            replies = (Ephemeral(channel_list(deps, where.channel_id)),)
        return (*replies, *paused_notice(deps))

    return store_work("update this channel's watches", job)


def watch_button_work(deps: BotDeps, ref: TaskRef, click: Click, account: str = HOME_ACCOUNT_NAME) -> Work:
    """`account`: the task's account, as the Watch button's value carries it (home for a value from before
    accounts)."""

    def job() -> Replies:
        from bot.usecases.channel_status import paused_notice
        from bot.usecases.watching import watch_tasks

        return (*watch_tasks(deps, clicked_where(click), ref.region, (ref.task_id,), account), *paused_notice(deps))

    return store_work(f"watch task {ref.task_id}", job)


def unwatch_button_work(deps: BotDeps, ref: UnwatchRef, click: Click) -> Work:
    def job() -> Replies:
        from bot.usecases.watching import unwatch_tasks

        where = clicked_where(click)
        stopped = unwatch_tasks(deps, where, region=ref.region, task_ids=(ref.task_id,), account=ref.account)
        return (*stopped, *_refreshed_list(deps, click))

    return store_work(f"stop watching {ref.task_id}", job)


def unsubscribe_button_work(deps: BotDeps, subscription_id: int, click: Click) -> Work:
    def job() -> Replies:
        from bot.usecases.subscribing import remove_subscriptions

        removed = remove_subscriptions(deps, click.channel_id, [subscription_id])
        gone = () if removed else (Ephemeral(notice_message("That subscription was already removed.")),)
        return (*gone, *_refreshed_list(deps, click))

    return store_work("unsubscribe", job)


def clicked_where(click: Click) -> Where:
    anchor = None if click.is_ephemeral else click.message_ts
    return Where(team_id=click.team_id, channel_id=click.channel_id, user_id=click.user_id, anchor_ts=anchor)


def _refreshed_list(deps: BotDeps, click: Click) -> Replies:
    """A button clicked on the (ephemeral) list redraws the list in place."""
    if not click.is_ephemeral:
        return ()
    from bot.usecases.channel_status import channel_list

    return (Replace(channel_list(deps, click.channel_id), click.container),)


def store_work(what: str, job: Job) -> Work:
    """Work that reads or writes the store: its replies as follow-ups, a store that does not answer said so."""

    def work(attempt: Attempt, run: DeferredRun | None) -> Replies:
        return answering(what, attempt, lambda: _store_failures(what, lambda: _follow_ups(what, job())))

    return work


def _follow_ups(what: str, replies: Replies) -> Replies:
    """The job's replies as follow-ups (never in the acknowledgement), what follows each channel post
    (store writes, once posted) answering a store failure too."""
    return tuple(_follow_up(what, reply) for reply in replies)


def _follow_up(what: str, reply: Reply) -> Reply:
    if isinstance(reply, Ephemeral):
        return dataclasses.replace(reply, follow_up=True)
    if isinstance(reply, ChannelPost):
        post = reply

        def then(ts: str) -> Replies:
            return _store_failures(what, lambda: _follow_ups(what, post.then(ts)))

        return dataclasses.replace(post, then=then)
    return reply


def _store_failures(what: str, job: Job) -> Replies:
    """The job's replies; a store that does not answer is said so to the user."""
    from sqlalchemy.exc import SQLAlchemyError  # channel work only: SQLAlchemy stays off the query path

    try:
        return job()
    except SQLAlchemyError as error:
        log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__)
        return (Ephemeral(notice_message(STORE_DOWN.format(what=what)), follow_up=True),)
