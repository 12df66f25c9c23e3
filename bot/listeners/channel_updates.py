"""Channel updates in Slack: `/ecs-tasks watch | unwatch | subscribe | unsubscribe | list` and the
Watch, Unwatch and Unsubscribe buttons. The work itself is in `bot.watching`; the poller posts changes.

The slash command's listener belongs to `task_list`, which calls `channel_command_ack` on the ack path
(fast: parsing and access checks only, no SQLAlchemy). Bolt gives that hook the context but not the
request, and Bolt's middleware runs before listeners (its `next()` does not wrap them). So a middleware
leaves a starter in the context, which the hook calls after acking to start `run_channel_command` lazily
(a thread locally, an async re-invocation on Function Compute). A re-invocation carries the function's
name; task_list's listener, which matches the command first, does not know it, so the same middleware
runs it (through Bolt's lazy runner) and answers the invocation itself.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse, Respond
from slack_bolt.util.utils import create_copy, get_name_for_callable
from slack_sdk import WebClient

from bot import access, reply
from bot.answers import STALE_BUTTON, answer_errors, lazy_once
from bot.deps import BotDeps
from bot.grammar import (
    ListCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    WatchCommand,
    parse,
)
from bot.listeners.task_list import COMMAND
from bot.query_codec import QueryCodecError, decode_task_ref
from bot.watching import (
    Where,
    channel_list,
    remove_subscriptions,
    subscribe,
    unsubscribe,
    unwatch_tasks,
    watch_tasks,
)
from shared.cards.task_cards import ACTION_WATCH_PATTERN, notice_message
from shared.log import log_event
from shared.updates.cards import ACTION_UNSUBSCRIBE_PATTERN, ACTION_UNWATCH_PATTERN, parse_unwatch_value

# In a slash command's context: a function that starts the lazy channel-command work (see the module doc).
START_WORK_KEY = "ecs_tasks_start_channel_work"
LAZY_FUNCTION = "run_channel_command"  # the lazy function's name, as Bolt names a re-invocation
STORE_DOWN = ":warning: Could not {what}: the ecs-tasks database is not reachable. Please try again in a moment."


def channel_command_ack(deps: BotDeps) -> Callable[..., None]:
    """The hook `task_list` calls for channel commands, on the ack path."""

    def ack_channel_command(*, ack: Ack, command: dict[str, Any], parsed: object, context: BoltContext) -> None:
        regions: tuple[str, ...] = ()
        if isinstance(parsed, WatchCommand):
            regions = (parsed.region,)
        elif isinstance(parsed, SubscribeCommand):
            regions = parsed.regions
        denied = access.check_regions(deps.settings, regions)
        if denied is not None:
            ack(**notice_message(denied.reason).as_kwargs())
            return
        if not command.get("channel_id") or not command.get("user_id"):
            ack(**notice_message("This command works in a channel.").as_kwargs())
            return
        start = context.get(START_WORK_KEY)
        if start is None:
            log_event("channel_updates.not_registered", level=logging.ERROR)
            ack(**notice_message("Channel updates are not enabled in this deployment.").as_kwargs())
            return
        ack()
        start()

    return ack_channel_command


def register(app: App, deps: BotDeps) -> None:
    def offer_channel_work(
        request: BoltRequest, context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if request.lazy_only and request.lazy_function_name == LAZY_FUNCTION:
            context.listener_runner.lazy_listener_runner.run(function=run_channel_command, request=request)
            return BoltResponse(status=200)
        if not request.lazy_only and isinstance(request.body, dict) and request.body.get("command") == COMMAND:
            context[START_WORK_KEY] = lambda: _start_lazy(context, request, run_channel_command)
        return next()

    def run_channel_command(request: BoltRequest, respond: Respond, client: WebClient, command: dict[str, Any]) -> None:
        parsed = parse(command.get("text", ""), default_region=deps.settings.default_region, now=deps.clock())
        where = Where(command.get("team_id"), command.get("channel_id", ""), command.get("user_id", ""))

        def work() -> None:
            with answer_failures(respond, what="update this channel's watches"):
                if isinstance(parsed, WatchCommand):
                    watch_tasks(deps, respond, client, where, parsed.region, parsed.task_ids)
                elif isinstance(parsed, UnwatchCommand):
                    unwatch_tasks(deps, respond, client, where, parsed)
                elif isinstance(parsed, SubscribeCommand):
                    subscribe(deps, respond, client, where, parsed)
                elif isinstance(parsed, UnsubscribeCommand):
                    unsubscribe(deps, respond, where, parsed)
                elif isinstance(parsed, ListCommand):
                    reply.reply_ephemeral(respond, channel_list(deps, where.channel_id))

        lazy_once(deps, request, LAZY_FUNCTION, work)

    app.middleware(offer_channel_work)

    def ack_button(ack: Ack) -> None:
        ack()

    def watch_button(request: BoltRequest, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        where = _clicked_where(body)

        def work() -> None:
            try:
                ref = decode_task_ref(str(body["actions"][0].get("value") or ""))
            except QueryCodecError:
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            denied = access.check_regions(deps.settings, (ref.region,)) or access.check_workspace(
                deps.settings, team_id=where.team_id, channel_id=where.channel_id
            )
            if denied is not None:
                reply.reply_ephemeral(respond, notice_message(denied.reason))
                return
            with answer_failures(respond, what=f"watch task {ref.task_id}"):
                watch_tasks(deps, respond, client, where, ref.region, (ref.task_id,))

        lazy_once(deps, request, "watch_button", work)

    def unwatch_button(request: BoltRequest, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        where = _clicked_where(body)
        value = parse_unwatch_value(str(body["actions"][0].get("value") or ""))

        def work() -> None:
            if value is None:
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            with answer_failures(respond, what=f"stop watching {value[1]}"):
                unwatch_tasks(deps, respond, client, where, UnwatchCommand(value[0], (value[1],)))
                _refresh_list(deps, respond, client, body)

        lazy_once(deps, request, "unwatch_button", work)

    def unsubscribe_button(request: BoltRequest, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        where = _clicked_where(body)
        value = str(body["actions"][0].get("value") or "")

        def work() -> None:
            if not (value.isascii() and value.isdigit()):  # `²`.isdigit() is True; int() refuses it
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            with answer_failures(respond, what="unsubscribe"):
                removed = remove_subscriptions(deps, where.channel_id, [int(value)])
                if not removed:
                    reply.reply_ephemeral(respond, notice_message("That subscription was already removed."))
                _refresh_list(deps, respond, client, body)

        lazy_once(deps, request, "unsubscribe_button", work)

    app.action(ACTION_WATCH_PATTERN)(ack=ack_button, lazy=[watch_button])
    app.action(ACTION_UNWATCH_PATTERN)(ack=ack_button, lazy=[unwatch_button])
    app.action(ACTION_UNSUBSCRIBE_PATTERN)(ack=ack_button, lazy=[unsubscribe_button])


def _start_lazy(context: BoltContext, request: BoltRequest, function: Callable[..., None]) -> None:
    """What Bolt does for a listener's own lazy functions (ThreadListenerRunner._start_lazy_function)."""
    runner = context.listener_runner
    copied: BoltRequest = create_copy(request.to_copyable())
    copied.lazy_only = True
    copied.lazy_function_name = get_name_for_callable(function)
    copied.context["listener_runner"] = runner
    runner.lazy_listener_runner.start(function=function, request=copied)


def _clicked_where(body: dict[str, Any]) -> Where:
    container = body.get("container") or {}
    channel_id = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    anchor = None if container.get("is_ephemeral") else container.get("message_ts")
    return Where(
        team_id=(body.get("team") or {}).get("id"),
        channel_id=channel_id,
        user_id=str((body.get("user") or {}).get("id") or ""),
        anchor_ts=str(anchor) if anchor else None,
    )


def _refresh_list(deps: BotDeps, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
    """A button clicked on the (ephemeral) list redraws the list in place."""
    container = body.get("container") or {}
    if container.get("is_ephemeral"):
        message = channel_list(deps, str(container.get("channel_id") or ""))
        reply.replace_in_place(respond, client, message, container=container)


@contextlib.contextmanager
def answer_failures(respond: Respond, *, what: str) -> Iterator[None]:
    """ECS and configuration failures as `answer_errors` words them; the store's, readably too."""
    from sqlalchemy.exc import SQLAlchemyError  # lazy work only: SQLAlchemy stays off the ack path

    with answer_errors(respond, what=what):
        try:
            yield
        except SQLAlchemyError as error:
            log_event("store.unavailable", level=logging.ERROR, outcome=type(error).__name__)
            reply.reply_ephemeral(respond, notice_message(STORE_DOWN.format(what=what)))
