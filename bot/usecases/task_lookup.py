"""Which accounts a channel command works in, and finding tasks across them.

Every command works in the channel's accounts (`AccountDirectory.accounts_for_channel`; with none
configured, the home account alone). A named account must be one of them. A task looked up in several
accounts is not guessed when two know it: the user is asked to name the account. Look-ups a user starts run
under `SessionSpec.for_user(user, READ)` in a non-home account (`bot.usecases.tasks.user_client`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.usecases import access
from bot.usecases.tasks import log_sts_error, user_client
from bot.usecases.where import Where
from bot.usecases.work import Ephemeral, Replies
from bot.wiring.deps import BotDeps
from shared.cards.task_cards import notice_message
from shared.ecs.accounts import Account
from shared.ecs.finder import find_tasks
from shared.ecs.models import Task
from shared.ecs.query import ALL_REGIONS
from shared.errors import StsApiError

if TYPE_CHECKING:
    from shared.ecs.client import EcsClient  # the client module (and `requests`) loads where a call is made


def accounts_for(
    deps: BotDeps, where: Where, named: str | None, *, region: str | None = None
) -> tuple[list[Account], Replies]:
    """The accounts a command works in: the named one, if the channel is bound to it; else the channel's.
    Those not covering `region` are left out. Empty (with the answer saying why) when none is left."""
    policy = deps.policy.current()
    bound = policy.accounts.accounts_for_channel(where.channel_id)
    if named is not None:
        account = policy.accounts.account_for_channel(where.channel_id, named)
        denied = access.check_accounts(policy, where.channel_id, (named,))
        if account is None or denied is not None:
            # The one check's reason, as for a query or a button.
            return [], (Ephemeral(notice_message(f":no_entry: {denied.reason if denied else named}")),)
        bound = (account,)
    covering = [a for a in bound if region is None or region == ALL_REGIONS or a.covers(region)]
    if not covering:
        shown = ", ".join(f"`{a.name}` ({', '.join(a.regions)})" for a in bound)
        text = f":no_entry: {region} is not a region of {shown}. Name one of their regions."
        return [], (Ephemeral(notice_message(text)),)
    return covering, ()


@dataclass
class Lookup:
    """What the channel's accounts said about some task ids."""

    found: list[tuple[Account, Task]] = field(default_factory=list)  # each with the one account that has it
    answered: set[str] = field(default_factory=set)  # ids found (in one account or several)
    failed: set[str] = field(default_factory=set)  # accounts whose role could not be assumed
    notes: list[str] = field(default_factory=list)


def find_in_accounts(
    deps: BotDeps, where: Where, region: str, task_ids: Sequence[str], accounts: Sequence[Account]
) -> Lookup:
    """Each task with the account that knows it. With several accounts, each is asked (a task in two is not
    guessed: a note asks for the account); an account whose role cannot be assumed is named in a note and
    the others still answer."""
    lookup = Lookup()
    seen: dict[str, list[tuple[Account, Task]]] = {}
    for account in accounts:
        try:
            tasks = _find_tasks(deps, user_client(deps, account, where.user_id), region, task_ids)
        except StsApiError as error:
            log_sts_error(error)
            lookup.failed.add(account.name)
            lookup.notes.append(
                f":warning: Could not look in account `{account.name}` ({error.code}): an admin can find the "
                "details in the logs."
            )
            continue
        for task in tasks:
            seen.setdefault(task.task_id, []).append((account, task))
    for task_id in dict.fromkeys(task_ids):
        where_found = seen.get(task_id, [])
        if where_found:
            lookup.answered.add(task_id)
        if len(where_found) == 1:
            lookup.found.append(where_found[0])
        elif len(where_found) > 1:
            names = ", ".join(f"`{a.name}`" for a, _ in where_found)
            lookup.notes.append(
                f"`{task_id}` is in more than one of this channel's accounts ({names}): name the account in the "
                "command to watch it there."
            )
    return lookup


def in_accounts(accounts: Sequence[Account], *, configured: bool) -> str:
    """` (account `a`, `b`)`, naming where a task was looked for; empty where no accounts are configured."""
    if not configured:
        return ""
    return " (account " + ", ".join(f"`{a.name}`" for a in accounts) + ")"


def of_account(account: Account, *, configured: bool) -> str:
    """` (account `a`)`, naming a task's account; empty where no accounts are configured."""
    return f" (account `{account.name}`)" if configured else ""


def _find_tasks(deps: BotDeps, ecs: EcsClient, region: str, task_ids: Sequence[str]) -> list[Task]:
    """The tasks ECS knows of these ids (`shared.ecs.finder`: a Waiting task is found too), so "not found"
    is said only when ECS says so."""
    return list(find_tasks(ecs, region, task_ids, deadline=ecs.deadline(deps.settings.ecs_deadline_s)).tasks)
