"""A cold instance's head start: the first request's ECS read leaves before Bolt and the listeners load.

Most of a cold instance's first answer is imports, and its one ECS call then waits on the network with
nothing left to do. So the HTTP entry point, once Slack's signature is verified and before it builds the
Bolt app, hands the request here: a slash-command query, or a Refresh / Prev / Next click, is read and
checked as its listener will read and check it (`bot.language.grammar.parse`,
`bot.slack.access`, `bot.slack.guard.check_click`),
and its query is started on the instance's ECS client (`EcsClient.prefetch`) while the app loads. The
listener asks the client the same query and takes that answer. Everything else stays the listener's: the
card, every refusal, the inline budget and the deferral.

Only a query that reads the same a moment later is started: not one that depends on the clock ("since 2h"),
not `all` narrowed to ECS_TASKS_REGIONS (the listener asks for those regions by name), and nothing once
accounts are configured (the listener then works in the channel's accounts, each under its own session).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from bot.language.grammar import QueryCommand, parse
from bot.language.regions import recognised_regions
from bot.language.words import SLASH_COMMAND
from bot.slack import access
from bot.slack.answering.attempt import GRACE_S
from bot.slack.guard import Allowed, ButtonKind, check_click
from bot.wiring.deps import BotDeps
from shared.cards.parts import ACTION_NEXT, ACTION_PREV, ACTION_REFRESH
from shared.ecs.accounts import HOME
from shared.ecs.query import TaskQuery
from shared.log import log_context

# The buttons whose listener asks `EcsClient.query` for the query the button carries (bot.slack.dispatch).
QUERY_BUTTONS = frozenset({ACTION_REFRESH, ACTION_PREV, ACTION_NEXT})


def start(deps: BotDeps, form_body: str, *, started: float) -> TaskQuery | None:
    """Start the ECS read this request's listener will make; the query started, or None (nothing started)."""
    if deps.settings.accounts:
        # With accounts, the listener asks each of the channel's accounts under its own session: only the
        # function's own account is started early, and only where no account is configured at all.
        return None
    form = dict(parse_qsl(form_body, keep_blank_values=True))  # as Bolt reads a form body
    asked = _slash_query(deps, form) if "command" in form else _click_query(deps, form.get("payload"))
    if asked is None:
        return None
    query, ids = asked
    if query.start_time is not None or query.end_time is not None:
        return None
    if query.all_regions and deps.settings.allowed_regions:
        return None
    budget_left = started + deps.settings.inline_budget_s - time.monotonic()
    if budget_left <= 0:
        return None  # no inline answer is coming (ECS_TASKS_INLINE_BUDGET=0, or already spent): it is deferred
    seconds = budget_left + GRACE_S
    home = deps.ecs(HOME, None)  # the one the listener asks: the factory keeps the home account's client
    with log_context(**ids):  # the prefetch's log lines carry the ids the listener's would
        home.prefetch(query, deadline=home.deadline(seconds))
    return query


# A query, and the Slack ids of who asked it where (for the log context).
Asked = tuple[TaskQuery, dict[str, "str | None"]]


def _slash_query(deps: BotDeps, command: Mapping[str, str]) -> Asked | None:
    if command.get("command") != SLASH_COMMAND:
        return None
    settings = deps.settings
    parsed = parse(
        command.get("text", ""),
        default_region=settings.default_region,
        now=deps.clock(),
        known_regions=recognised_regions(settings.allowed_regions),
    )
    if not isinstance(parsed, QueryCommand):
        return None
    # The listener's own checks (bot.slack.dispatch); no accounts are configured here (see `start`).
    denied = access.check_command(
        deps.policy.current(),
        team_id=command.get("team_id"),
        channel_id=command.get("channel_id"),
        regions=parsed.query.regions,
        accounts=(),
    )
    if denied is not None:
        return None
    ids = {key: command.get(key) for key in ("team_id", "channel_id", "user_id")}
    return parsed.query, ids


def _click_query(deps: BotDeps, payload: str | None) -> Asked | None:
    try:
        body: Any = json.loads(payload) if payload else None
    except ValueError:
        return None  # the listener's path says what is wrong with it
    if not isinstance(body, dict) or body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    if actions[0].get("action_id") not in QUERY_BUTTONS:
        return None
    checked = check_click(
        deps.settings, ButtonKind.QUERY, body, cancels=False, now=deps.clock(), policy=deps.policy.current()
    )
    if not isinstance(checked, Allowed) or not isinstance(checked.value, TaskQuery):
        return None
    click = checked.click
    return checked.value, {"team_id": click.team_id, "channel_id": click.channel_id, "user_id": click.user_id}
