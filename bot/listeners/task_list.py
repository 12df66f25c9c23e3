"""The `/ecs-tasks` command and the card's Refresh / Prev / Next buttons.

The ack path only parses and checks access (fast, no I/O); ECS work runs in lazy listeners, so Slack gets
its acknowledgement within 3 seconds however slow ECS is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient

from bot import access, reply
from bot.answers import STALE_BUTTON, answer_errors, lazy_once
from bot.deps import BotDeps
from bot.grammar import Command, HelpCommand, QueryCommand, UsageError, describe_query, parse
from bot.help import help_message
from bot.query_codec import decode_query, encode_query, encode_task_ref
from shared.cards.task_cards import (
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    CardButtons,
    Message,
    notice_message,
    task_list_message,
)
from shared.ecs.query import TaskQuery
from shared.ecs.results import MultiRegionResult

COMMAND = "/ecs-tasks"
# Called for watch / unwatch / subscribe / unsubscribe / list: the channel-updates feature registers it.
ChannelCommandHandler = Callable[..., None]


def register(app: App, deps: BotDeps, channel_commands: ChannelCommandHandler | None = None) -> None:
    def parse_command(command: dict[str, Any]) -> tuple[Command, access.Denied | None]:
        parsed = parse(command.get("text", ""), default_region=deps.settings.default_region, now=deps.clock())
        denied = access.check_workspace(
            deps.settings, team_id=command.get("team_id"), channel_id=command.get("channel_id")
        )
        if denied is None and isinstance(parsed, QueryCommand):
            denied = access.check_regions(deps.settings, parsed.query.regions)
        return parsed, denied

    def ack_command(ack: Ack, command: dict[str, Any], context: Any) -> None:
        parsed, denied = parse_command(command)
        if denied:
            ack(**notice_message(denied.reason).as_kwargs())
        elif isinstance(parsed, HelpCommand):
            ack(**help_message(deps.settings).as_kwargs())
        elif isinstance(parsed, UsageError):
            ack(**notice_message(_usage_error_text(parsed)).as_kwargs())
        elif isinstance(parsed, QueryCommand):
            ack()
        elif channel_commands is not None:
            channel_commands(ack=ack, command=command, parsed=parsed, context=context)
        else:
            ack(**notice_message("Channel updates are not enabled in this deployment.").as_kwargs())

    def answer_query(request: BoltRequest, respond: Respond, client: WebClient, command: dict[str, Any]) -> None:
        parsed, denied = parse_command(command)
        if denied or not isinstance(parsed, QueryCommand):
            return  # the ack already answered
        query = parsed.query

        def work() -> None:
            with answer_errors(respond, what=f"list tasks ({describe_query(query)})"):
                message = build_card(deps, query, user_id=command.get("user_id"))
                reply.post_new(respond, client, message, public=query.public, channel_id=command.get("channel_id"))

        lazy_once(deps, request, "answer_query", work)

    app.command(COMMAND)(ack=ack_command, lazy=[answer_query])

    def ack_button(ack: Ack) -> None:
        ack()

    def refresh_card(request: BoltRequest, respond: Respond, client: WebClient, body: dict[str, Any]) -> None:
        value = body["actions"][0].get("value", "")

        def work() -> None:
            try:
                query = decode_query(value)
            except ValueError:
                reply.reply_ephemeral(respond, notice_message(STALE_BUTTON))
                return
            denied = access.check_click(deps.settings, body, query.regions)
            if denied:
                reply.reply_ephemeral(respond, notice_message(denied.reason))
                return
            with answer_errors(respond, what=f"refresh ({describe_query(query)})"):
                message = build_card(deps, query, user_id=body.get("user", {}).get("id"))
                reply.replace_in_place(respond, client, message, container=body.get("container", {}))

        lazy_once(deps, request, "refresh_card", work)

    for action_id in (ACTION_REFRESH, ACTION_PREV, ACTION_NEXT):
        app.action(action_id)(ack=ack_button, lazy=[refresh_card])


def build_card(deps: BotDeps, query: TaskQuery, *, user_id: str | None) -> Message:
    """Run the query and lay out its card, with button values that re-run it."""
    query = _narrow_all_regions(deps, query)
    result = deps.ecs.query(query, deadline=deps.ecs.deadline(deps.settings.ecs_deadline_s))
    refresh = encode_query(query)
    ref_query = _ref_query(query, refresh, result)
    buttons = CardButtons(
        refresh=refresh,
        prev=encode_query(dataclasses.replace(query, page=query.page - 1)) if query.page > 1 else None,
        next=encode_query(dataclasses.replace(query, page=query.page + 1)) if has_more_pages(result) else None,
        task_ref=lambda task: encode_task_ref(task.region_id or query.regions[0], task.task_id, ref_query),
        can_cancel=access.user_may_cancel(deps.settings, user_id),
        can_watch=True,
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


def _usage_error_text(error: UsageError) -> str:
    # The grammar's message already names the word, what was expected and the closest valid word.
    return f":warning: {error.message}\nType `/ecs-tasks help` for the full syntax."
