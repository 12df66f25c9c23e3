"""A request read once: a slash command parsed and access-checked, or a click on one of our buttons guarded.

A cold instance's head start reads its first request before Bolt loads (`bot.slack.answering.head_start`)
and hands what it read to the listener in the request's `Arrival`; otherwise the listener reads it here from
Bolt's body. Either way, a request is parsed and checked once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.language.grammar import (
    Command,
    QueryCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    UnwatchCommand,
    WatchCommand,
    parse,
)
from bot.language.regions import recognised_regions
from bot.language.words import SLASH_COMMAND
from bot.slack.buttons import Button, button_for
from bot.slack.guard import Allowed, Refused, check_click
from bot.usecases import access
from bot.wiring.deps import BotDeps

NEEDS_DATABASE = (
    ":information_source: Channel updates (watch, subscribe, list) need a database, and this deployment has "
    "none: an admin can set ECS_TASKS_DATABASE_URL. Queries and their buttons work without one."
)


@dataclass(frozen=True)
class CheckedCommand:
    """`/ecs-tasks` as parsed, with the form's fields, and the refusal (None: allowed)."""

    parsed: Command
    fields: Mapping[str, Any]
    refusal: str | None


@dataclass(frozen=True)
class CheckedClick:
    """A click on one of our buttons, guarded by its rule."""

    button: Button
    checked: Allowed | Refused


Checked = CheckedCommand | CheckedClick


def decode_form(raw_body: str) -> dict[str, Any]:
    """A Slack request's form body as Bolt reads it: a slash command's fields, or a click's JSON payload."""
    form = dict(parse_qsl(raw_body, keep_blank_values=True))
    if "payload" not in form:
        return form
    try:
        payload = json.loads(form["payload"])
    except ValueError:
        return {}  # Bolt refuses it (the listener's path says so)
    return payload if isinstance(payload, dict) else {}


def read_request(deps: BotDeps, body: Mapping[str, Any]) -> Checked | None:
    """The slash command or button click `body` is, checked; None for anything else."""
    if body.get("command") == SLASH_COMMAND:
        return read_command(deps, body)
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], Mapping):
        return None
    button = button_for(str(actions[0].get("action_id") or ""))
    return None if button is None else read_click(deps, button, body)


def read_command(deps: BotDeps, command: Mapping[str, Any]) -> CheckedCommand:
    channel_id = command.get("channel_id")
    policy = deps.policy.current()
    parsed = parse(
        command.get("text", ""),
        default_region=deps.settings.default_region,
        now=deps.clock(),
        known_regions=recognised_regions(deps.settings.allowed_regions),
        accounts=channel_accounts(deps, channel_id),
        configured_accounts=tuple(policy.accounts.accounts),
    )
    denied = access.check_command(
        policy,
        team_id=command.get("team_id"),
        channel_id=channel_id,
        regions=_command_regions(parsed),
        accounts=_command_accounts(parsed),
    )
    return CheckedCommand(parsed, dict(command), denied.reason if denied is not None else None)


def read_click(deps: BotDeps, button: Button, body: Mapping[str, Any]) -> CheckedClick:
    checked = check_click(deps.settings, button, body, now=deps.clock(), policy=deps.policy.current())
    if isinstance(checked, Allowed) and button.needs_database and deps.settings.database_url is None:
        checked = Refused(NEEDS_DATABASE)
    return CheckedClick(button, checked)


def channel_accounts(deps: BotDeps, channel_id: str | None) -> tuple[str, ...]:
    """The names a channel's queries run in; empty where it works in the function's own account."""
    return tuple(a.name for a in deps.policy.current().accounts.accounts_for_channel(channel_id) if not a.is_home)


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
