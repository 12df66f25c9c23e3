"""The one dispatcher for `/ecs-tasks` and every button: parse (or guard), check access, then hand the
command or click to its handler, found in a table by its type. Bolt's public listener API only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest, Respond
from slack_sdk import WebClient

from bot.language.codecs import QueryCodecError, encode_query
from bot.language.grammar import (
    AccountsCommand,
    Command,
    HelpCommand,
    ListCommand,
    QueryCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    UsageError,
    WatchCommand,
    parse,
)
from bot.language.help import accounts_message, help_message
from bot.language.regions import recognised_regions
from bot.language.words import SLASH_COMMAND
from bot.slack import access
from bot.slack.answering.answer import Runner
from bot.slack.answering.reply import reply_ephemeral
from bot.slack.guard import Allowed, ButtonKind, Click, Refused, check_click
from bot.usecases import channels as channel_work
from bot.usecases import tasks as task_work
from bot.usecases.channels import NEEDS_DATABASE, SlackTarget
from bot.usecases.tasks import Work
from bot.wiring.deps import BotDeps
from shared.cards.parts import ACTION_UNSUBSCRIBE_PATTERN, ACTION_UNWATCH_PATTERN
from shared.cards.task_cards import (
    ACTION_CANCEL_PATTERN,
    ACTION_DETAILS_PATTERN,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_WATCH_PATTERN,
    Message,
    notice_message,
)
from shared.ecs.accounts import HOME_ACCOUNT_NAME

NOT_IN_CHANNEL = "This command works in a channel."


# What a typed command becomes: an answer for the ack (no ECS, no store), or work for the runner.
CommandHandler = Callable[[BotDeps, Any, dict[str, Any], SlackTarget], "Message | Work"]
ButtonHandler = Callable[[BotDeps, Any, Click, SlackTarget], Work]


NO_ROOM_FOR_ACCOUNTS = (
    ":warning: This query is too long for its card's buttons together with its accounts ({accounts}). "
    "Name fewer task ids or regions, or one account."
)


def _channel_accounts(deps: BotDeps, channel_id: str | None) -> tuple[str, ...]:
    """The names a channel's queries run in; empty where it works in the function's own account."""
    return tuple(a.name for a in deps.accounts.accounts_for_channel(channel_id) if not a.is_home)


def _help(deps: BotDeps, parsed: HelpCommand, command: dict[str, Any], target: SlackTarget) -> Message | Work:
    return help_message(deps.settings, accounts=_channel_accounts(deps, command.get("channel_id")))


def _accounts(deps: BotDeps, parsed: AccountsCommand, command: dict[str, Any], target: SlackTarget) -> Message | Work:
    return accounts_message(deps.settings, deps.accounts.accounts_for_channel(command.get("channel_id")))


def _usage(deps: BotDeps, parsed: UsageError, command: dict[str, Any], target: SlackTarget) -> Message | Work:
    # The grammar's message already names the word, what was expected and the closest valid word.
    return notice_message(f":warning: {parsed.message}\nType `/ecs-tasks help` for the full syntax.")


def _query(deps: BotDeps, parsed: QueryCommand, command: dict[str, Any], target: SlackTarget) -> Message | Work:
    if parsed.query.accounts:
        try:
            # Its card's buttons must carry it, accounts and all, as the card will run it (`all` narrowed).
            encode_query(task_work.narrow_all_regions(deps, parsed.query))
        except QueryCodecError:
            return notice_message(NO_ROOM_FOR_ACCOUNTS.format(accounts=", ".join(parsed.query.accounts)))
    return task_work.query_work(
        deps, parsed.query, user_id=command.get("user_id"), channel_id=command.get("channel_id")
    )


def _channel(deps: BotDeps, parsed: Any, command: dict[str, Any], target: SlackTarget) -> Message | Work:
    if deps.settings.database_url is None:
        return notice_message(NEEDS_DATABASE)
    if not command.get("channel_id") or not command.get("user_id"):
        return notice_message(NOT_IN_CHANNEL)
    from bot.usecases.watching import Where  # channel updates load when first used (bot.usecases.channels)

    where = Where(command.get("team_id"), str(command["channel_id"]), str(command["user_id"]))
    return channel_work.command_work(deps, target, parsed, where)


COMMANDS: dict[type, CommandHandler] = {
    HelpCommand: _help,
    AccountsCommand: _accounts,
    UsageError: _usage,
    QueryCommand: _query,
    WatchCommand: _channel,
    UnwatchCommand: _channel,
    SubscribeCommand: _channel,
    UnsubscribeCommand: _channel,
    ListCommand: _channel,
}


def _command_regions(parsed: Command) -> tuple[str, ...]:
    if isinstance(parsed, QueryCommand):
        return parsed.query.regions
    if isinstance(parsed, WatchCommand):
        return (parsed.region,)
    if isinstance(parsed, SubscribeCommand):
        return parsed.regions
    return ()


def _command_accounts(parsed: Command) -> tuple[str, ...]:
    """The accounts a command names (the grammar already refused unbound words; this is the one check)."""
    if isinstance(parsed, QueryCommand):
        return parsed.query.accounts
    if isinstance(parsed, (WatchCommand, UnwatchCommand, SubscribeCommand, UnsubscribeCommand)):
        return (parsed.account,) if parsed.account else ()
    return ()


@dataclass(frozen=True)
class Button:
    action: str | re.Pattern[str]
    kind: ButtonKind
    handler: ButtonHandler
    cancels: bool = False
    needs_database: bool = False


def _refresh(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    return task_work.refresh_work(deps, value, click)


def _details(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    return task_work.details_work(deps, value, click)


def _cancel(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    return task_work.cancel_work(deps, value, click)


def _watch(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    # The task's account as its card's button carries it; a button from before accounts: the function's own.
    return channel_work.watch_button_work(deps, target, value, click, value.account or HOME_ACCOUNT_NAME)


def _unwatch(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    return channel_work.unwatch_button_work(deps, target, value, click)


def _unsubscribe(deps: BotDeps, value: Any, click: Click, target: SlackTarget) -> Work:
    return channel_work.unsubscribe_button_work(deps, target, value, click)


BUTTONS = (
    Button(ACTION_REFRESH, ButtonKind.QUERY, _refresh),
    Button(ACTION_PREV, ButtonKind.QUERY, _refresh),
    Button(ACTION_NEXT, ButtonKind.QUERY, _refresh),
    Button(ACTION_DETAILS_PATTERN, ButtonKind.TASK_REF, _details),
    Button(ACTION_TASK_MENU, ButtonKind.TASK_REF, _details),
    Button(ACTION_CANCEL_PATTERN, ButtonKind.TASK_REF, _cancel, cancels=True),
    Button(ACTION_WATCH_PATTERN, ButtonKind.TASK_REF, _watch, needs_database=True),
    Button(ACTION_UNWATCH_PATTERN, ButtonKind.UNWATCH_REF, _unwatch, needs_database=True),
    Button(ACTION_UNSUBSCRIBE_PATTERN, ButtonKind.SUBSCRIPTION_ID, _unsubscribe, needs_database=True),
)


def register(app: App, deps: BotDeps, runner: Runner) -> None:
    def on_command(
        ack: Ack,
        command: dict[str, Any],
        request: BoltRequest,
        context: BoltContext,
        respond: Respond,
        client: WebClient,
    ) -> None:
        if not runner.first_time(request, context):
            ack()
            return
        channel_id = command.get("channel_id")
        parsed = parse(
            command.get("text", ""),
            default_region=deps.settings.default_region,
            now=deps.clock(),
            known_regions=recognised_regions(deps.settings.allowed_regions),
            accounts=_channel_accounts(deps, channel_id),
            configured_accounts=tuple(deps.accounts.accounts),
        )
        denied = access.check_command(
            deps.policy.current(),
            team_id=command.get("team_id"),
            channel_id=channel_id,
            regions=_command_regions(parsed),
            accounts=_command_accounts(parsed),
        )
        if denied is not None:
            ack(**notice_message(denied.reason).as_kwargs())
            return
        handled = COMMANDS[type(parsed)](deps, parsed, command, SlackTarget(respond.response_url, context.bot_token))
        if isinstance(handled, Message):
            ack(**handled.as_kwargs())
            return
        runner.answer(handled, request=request, context=context, ack=ack, respond=respond, client=client, in_ack=True)

    app.command(SLASH_COMMAND)(on_command)

    for button in BUTTONS:
        app.action(button.action)(_button_listener(deps, runner, button))


def _button_listener(deps: BotDeps, runner: Runner, button: Button) -> Callable[..., None]:
    def on_click(
        ack: Ack,
        body: dict[str, Any],
        request: BoltRequest,
        context: BoltContext,
        respond: Respond,
        client: WebClient,
    ) -> None:
        if not runner.first_time(request, context):
            ack()
            return
        checked = check_click(
            deps.settings, button.kind, body, cancels=button.cancels, now=deps.clock(), policy=deps.policy.current()
        )
        if isinstance(checked, Refused) or (button.needs_database and deps.settings.database_url is None):
            if not runner.is_deferred(context):  # the inline attempt already told the user
                reason = checked.reason if isinstance(checked, Refused) else NEEDS_DATABASE
                reply_ephemeral(respond, notice_message(reason))
            ack()
            return
        assert isinstance(checked, Allowed)
        target = SlackTarget(respond.response_url, context.bot_token)
        work = button.handler(deps, checked.value, checked.click, target)
        runner.answer(work, request=request, context=context, ack=ack, respond=respond, client=client, in_ack=False)

    return on_click
