"""The one dispatcher for `/ecs-tasks` and every button: the request read and checked once
(`bot.slack.checked`, or the head start's reading in its `Arrival`), then the command or click handed to its
handler, found by its type (commands) or in the one button table (`bot.slack.buttons`). Bolt's public
listener API only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_sdk import WebClient

from bot.language.codecs import QueryCodecError, encode_query
from bot.language.grammar import (
    AccountsCommand,
    BindCommand,
    BindingsCommand,
    DoctorCommand,
    HelpCommand,
    ListCommand,
    QueryCommand,
    SubscribeCommand,
    UnbindCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    UsageError,
    WatchCommand,
)
from bot.language.help import accounts_message, help_message
from bot.language.words import SLASH_COMMAND
from bot.slack.answering.answer import Runner
from bot.slack.answering.deferral import Arrival
from bot.slack.answering.reply import reply_ephemeral
from bot.slack.buttons import BUTTONS, Button
from bot.slack.checked import (
    NEEDS_DATABASE,
    Checked,
    CheckedClick,
    CheckedCommand,
    channel_accounts,
    read_click,
    read_command,
)
from bot.slack.guard import Refused
from bot.usecases import channels, tasks
from bot.usecases.where import NOT_IN_CHANNEL, Where
from bot.usecases.work import Work
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import Message, notice_message

# What a typed command becomes: an answer for the ack (no ECS, no store), or work for the runner.
CommandHandler = Callable[[BotDeps, Any, dict[str, Any]], "Message | Work"]


NO_ROOM_FOR_ACCOUNTS = (
    ":warning: This query is too long for its card's buttons together with its accounts ({accounts}). "
    "Name fewer task ids or regions, or one account."
)


def _help(deps: BotDeps, parsed: HelpCommand, command: dict[str, Any]) -> Message | Work:
    return help_message(deps.settings, accounts=channel_accounts(deps, command.get("channel_id")))


def _accounts(deps: BotDeps, parsed: AccountsCommand, command: dict[str, Any]) -> Message | Work:
    return accounts_message(deps.settings, deps.accounts.accounts_for_channel(command.get("channel_id")))


def _usage(deps: BotDeps, parsed: UsageError, command: dict[str, Any]) -> Message | Work:
    # The grammar's message already names the word, what was expected and the closest valid word.
    return notice_message(f":warning: {parsed.message}\nType `/ecs-tasks help` for the full syntax.")


def _query(deps: BotDeps, parsed: QueryCommand, command: dict[str, Any]) -> Message | Work:
    if parsed.query.accounts:
        try:
            # Its card's buttons must carry it, accounts and all, as the card will run it (`all` narrowed).
            encode_query(tasks.narrow_all_regions(deps, parsed.query))
        except QueryCodecError:
            return notice_message(NO_ROOM_FOR_ACCOUNTS.format(accounts=", ".join(parsed.query.accounts)))
    return tasks.query_work(deps, parsed.query, user_id=command.get("user_id"), channel_id=command.get("channel_id"))


def _channel(deps: BotDeps, parsed: Any, command: dict[str, Any]) -> Message | Work:
    if deps.settings.database_url is None:
        return notice_message(NEEDS_DATABASE)
    if not command.get("channel_id") or not command.get("user_id"):
        return notice_message(NOT_IN_CHANNEL)
    where = Where(command.get("team_id"), str(command["channel_id"]), str(command["user_id"]))
    return channels.command_work(deps, parsed, where)


def _doctor(deps: BotDeps, parsed: DoctorCommand, command: dict[str, Any]) -> Message | Work:
    from bot.usecases import doctor  # admins' commands load when first used: off every query's path

    return doctor.doctor_work(deps, command.get("user_id"))


def _bind(deps: BotDeps, parsed: BindCommand, command: dict[str, Any]) -> Message | Work:
    from bot.usecases import bindings

    return bindings.bind_work(deps, parsed.accounts, command.get("user_id"), command.get("channel_id"))


def _unbind(deps: BotDeps, parsed: UnbindCommand, command: dict[str, Any]) -> Message | Work:
    from bot.usecases import bindings

    return bindings.unbind_work(deps, parsed.accounts, command.get("user_id"), command.get("channel_id"))


def _bindings(deps: BotDeps, parsed: BindingsCommand, command: dict[str, Any]) -> Message | Work:
    from bot.usecases import bindings

    return bindings.bindings_work(deps, command.get("user_id"), command.get("channel_id"))


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
    DoctorCommand: _doctor,
    BindCommand: _bind,
    UnbindCommand: _unbind,
    BindingsCommand: _bindings,
}


def register(app: App, deps: BotDeps, runner: Runner) -> None:
    def on_command(
        ack: Ack,
        command: dict[str, Any],
        request: BoltRequest,
        respond: Respond,
        client: WebClient,
    ) -> None:
        if not runner.first_time(request):
            ack()
            return
        read = _read_ahead(request)
        checked = read if isinstance(read, CheckedCommand) else read_command(deps, command)
        if checked.refusal is not None:
            ack(**notice_message(checked.refusal).as_kwargs())
            return
        parsed, fields = checked.parsed, checked.fields
        handled = COMMANDS[type(parsed)](deps, parsed, dict(fields))
        if isinstance(handled, Message):
            ack(**handled.as_kwargs())
            return
        runner.answer(handled, request=request, ack=ack, respond=respond, client=client, in_ack=True)

    app.command(SLASH_COMMAND)(on_command)

    for button in BUTTONS:
        app.action(button.action)(_button_listener(deps, runner, button))


def _read_ahead(request: BoltRequest) -> Checked | None:
    """What the head start already read of this request (a cold instance's first), if anything."""
    arrival = Arrival.of(request.context)
    return arrival.checked if arrival is not None else None


def _button_listener(deps: BotDeps, runner: Runner, button: Button) -> Callable[..., None]:
    def on_click(
        ack: Ack,
        body: dict[str, Any],
        request: BoltRequest,
        respond: Respond,
        client: WebClient,
    ) -> None:
        if not runner.first_time(request):
            ack()
            return
        read = _read_ahead(request)
        clicked = read if isinstance(read, CheckedClick) and read.button is button else read_click(deps, button, body)
        checked = clicked.checked
        if isinstance(checked, Refused):
            if not runner.is_deferred(request):  # the inline attempt already told the user
                reply_ephemeral(runner.response_url(respond), notice_message(checked.reason))
            ack()
            return
        work = button.handler(deps, checked.value, checked.click)
        runner.answer(work, request=request, ack=ack, respond=respond, client=client, in_ack=False)

    return on_click
