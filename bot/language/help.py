"""The answer to `/ecs-tasks help` and to a bare `/ecs-tasks`: the usage, and buttons for common queries.

Each button runs its query through the existing card-replacing handling: its value is the query's button
value (`encode_query`) and its action id is one of the ids that handling listens to (Refresh, and Prev and
Next, which do the same: decode the query, run it, replace the card). Three ids because an action id must
be unique within a message. A click replaces this help with that query's card.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, SectionBlock

from bot.language.codecs import encode_query
from bot.language.grammar import usage_text
from shared.cards.layout import sections, to_dicts
from shared.cards.parts import ACTION_NEXT, ACTION_PREV, ACTION_REFRESH, button, mrkdwn
from shared.cards.task_cards import Message, notice_message
from shared.config import Settings
from shared.ecs.query import ALL_REGIONS, TaskQuery, TaskStatus

if TYPE_CHECKING:
    from shared.ecs.accounts import Account

HELP_FALLBACK = "/ecs-tasks help: the words it takes, examples, and buttons for common queries"
LAST_DAY = timedelta(hours=24)
# The ids the card-replacing handler listens to, one per button (see the module docstring).
RUN_ACTION_IDS = (ACTION_REFRESH, ACTION_PREV, ACTION_NEXT)


@dataclass(frozen=True)
class CommonQuery:
    label: str  # a button's text: at most 75 characters
    make: Callable[[tuple[str, ...], datetime], TaskQuery]


def _failed_last_day(regions: tuple[str, ...], now: datetime) -> TaskQuery:
    return TaskQuery(regions=regions, status=TaskStatus.FAILED, start_time=(now - LAST_DAY).replace(microsecond=0))


COMMON_QUERIES = (
    CommonQuery("Failed in the last 24 h", _failed_last_day),
    CommonQuery("Running now", lambda regions, now: TaskQuery(regions=regions, status=TaskStatus.PROCESSING)),
    CommonQuery(
        "Failed, all regions", lambda regions, now: TaskQuery(regions=(ALL_REGIONS,), status=TaskStatus.FAILED)
    ),
)


def help_message(settings: Settings, *, now: datetime | None = None, accounts: tuple[str, ...] = ()) -> Message:
    """The usage text, then buttons that run common queries in the default region (or in every region, when
    no default is set). `now` fixes "the last 24 h" (the button carries absolute times). `accounts`: the
    channel's accounts, which the buttons' queries run in (empty: the function's own account)."""
    now = datetime.now(timezone.utc) if now is None else now
    regions = (settings.default_region,) if settings.default_region else (ALL_REGIONS,)
    where = f"`{settings.default_region}`" if settings.default_region else "all regions"
    runs = [
        button(common.label, action, encode_query(dataclasses.replace(common.make(regions, now), accounts=accounts)))
        for common, action in zip(COMMON_QUERIES, RUN_ACTION_IDS, strict=True)
    ]
    blocks: list[Block] = [
        *sections(usage_text().split("\n")),
        DividerBlock(),
        SectionBlock(text=mrkdwn(f"*Common queries* in {where} (the answer replaces this help):")),
        ActionsBlock(elements=runs),
    ]
    return Message(text=HELP_FALLBACK, blocks=to_dicts(blocks))


def accounts_message(settings: Settings, accounts: Sequence[Account]) -> Message:
    """`/ecs-tasks accounts`: the channel's accounts, each with the regions it covers."""
    if len(accounts) == 1 and accounts[0].is_home:
        regions = ", ".join(sorted(settings.allowed_regions)) or "every region"
        return notice_message(
            f"This channel works in the function's own account (`{accounts[0].name}`), in {regions}. "
            "No account word is needed."
        )
    lines = [f"*This channel's accounts* ({len(accounts)}): a query covers all of them unless you name some."]
    for account in accounts:
        regions = ", ".join(account.regions) or ", ".join(sorted(settings.allowed_regions)) or "every region"
        where = f" (account {account.account_id})" if account.account_id else ""
        lines.append(f"• `{account.name}`{where}: {regions}")
    example = accounts[0].name
    lines.append(f"Name one in a command, e.g. `/ecs-tasks {example} failed` or `/ecs-tasks watch {example} t-…`.")
    return notice_message("\n".join(lines))
