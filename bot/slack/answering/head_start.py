"""A cold instance's head start: the first request's ECS read leaves before Bolt and the listeners load.

Most of a cold instance's first answer is imports, and its one ECS call then waits on the network with
nothing left to do. So the HTTP entry point, once Slack's signature is verified and before it builds the
Bolt app, hands the request here. It is read and checked once (`bot.slack.checked`), and what was read
goes to the listener in the request's `Arrival`; a slash-command query, or a click on a button that runs its
query (Refresh / Prev / Next), that was allowed is started on the instance's ECS client
(`EcsClient.prefetch`) while the app loads. The listener asks the client the same query and takes that
answer. Everything else stays the listener's: the card, every refusal, the inline budget and the deferral.

Only a query that reads the same a moment later is started: not one that depends on the clock ("since 2h"),
not `all` narrowed to ECS_TASKS_REGIONS (the listener asks for those regions by name), and nothing once
accounts are configured (the listener then works in the channel's accounts, each under its own session).
"""

from __future__ import annotations

import time

from bot.language.grammar import QueryCommand
from bot.slack.checked import Checked, CheckedClick, CheckedCommand, decode_form, read_request
from bot.slack.guard import Allowed
from bot.usecases.attempt import GRACE_S
from bot.wiring.deps import BotDeps
from shared.ecs.accounts import HOME
from shared.ecs.query import TaskQuery
from shared.log import log_context


def start(deps: BotDeps, form_body: str, *, started: float) -> Checked | None:
    """Read and check the request, and start the ECS read its listener will make; what was read (None:
    not a command or click of ours)."""
    checked = read_request(deps, decode_form(form_body))
    asked = _query_to_start(deps, checked)
    if asked is None:
        return checked
    query, ids = asked
    budget_left = started + deps.settings.inline_budget_s - time.monotonic()
    if budget_left <= 0:
        return checked  # no inline answer is coming (ECS_TASKS_INLINE_BUDGET=0, or already spent): it is deferred
    seconds = budget_left + GRACE_S
    home = deps.ecs(HOME, None)  # the one the listener asks: the factory keeps the home account's client
    with log_context(**ids):  # the prefetch's log lines carry the ids the listener's would
        home.prefetch(query, deadline=home.deadline(seconds))
    return checked


# A query, and the Slack ids of who asked it where (for the log context).
Asked = tuple[TaskQuery, dict[str, "str | None"]]


def _query_to_start(deps: BotDeps, checked: Checked | None) -> Asked | None:
    if deps.settings.accounts:
        # With accounts, the listener asks each of the channel's accounts under its own session: only the
        # function's own account is started early, and only where no account is configured at all.
        return None
    asked: Asked | None = None
    if isinstance(checked, CheckedCommand) and checked.refusal is None and isinstance(checked.parsed, QueryCommand):
        fields = checked.fields
        asked = checked.parsed.query, {key: fields.get(key) for key in ("team_id", "channel_id", "user_id")}
    elif (
        isinstance(checked, CheckedClick)
        and checked.button.runs_its_query
        and isinstance(checked.checked, Allowed)
        and isinstance(checked.checked.value, TaskQuery)
    ):
        click = checked.checked.click
        asked = (
            checked.checked.value,
            {"team_id": click.team_id, "channel_id": click.channel_id, "user_id": click.user_id},
        )
    if asked is None:
        return None
    query = asked[0]
    if query.start_time is not None or query.end_time is not None:
        return None
    if query.all_regions and deps.settings.allowed_regions:
        return None
    return asked
