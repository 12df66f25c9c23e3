"""The answer to `/ecs-tasks help` and to a bare `/ecs-tasks`: the usage, and buttons for common queries.

Each button is a Refresh button (`ACTION_REFRESH`) whose value is the query's button value, so a click runs
the existing Refresh handling and replaces this help with that query's card. Slack wants an action_id
unique within its block, not within the message: each button is the accessory of its own section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from slack_sdk.models.blocks import Block, DividerBlock, SectionBlock

from bot.grammar import usage_text
from bot.query_codec import encode_query
from shared.cards.layout import sections, to_dicts
from shared.cards.limits import BLOCK_KIT
from shared.cards.parts import ACTION_REFRESH, button, mrkdwn
from shared.cards.task_cards import Message
from shared.config import Settings
from shared.ecs.query import ALL_REGIONS, TaskQuery, TaskStatus

HELP_FALLBACK = "ecs-tasks help: how to ask for tasks, with buttons for common queries"
RUN_LABEL = "Show"
LAST_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class CommonQuery:
    label: str  # mrkdwn beside the button; `{where}` is the region or `all regions`
    make: Callable[[tuple[str, ...], datetime], TaskQuery]


COMMON_QUERIES = (
    CommonQuery(
        "*Failed in the last 24 hours* in {where}",
        lambda regions, now: TaskQuery(
            regions=regions, status=TaskStatus.FAILED, start_time=(now - LAST_DAY).replace(microsecond=0)
        ),
    ),
    CommonQuery(
        "*Running now* in {where}", lambda regions, now: TaskQuery(regions=regions, status=TaskStatus.PROCESSING)
    ),
    CommonQuery(
        "*Failed in all regions*", lambda regions, now: TaskQuery(regions=(ALL_REGIONS,), status=TaskStatus.FAILED)
    ),
)


def help_message(settings: Settings, *, now: datetime | None = None) -> Message:
    """Usage text, then one section per common query with a button that runs it in the default region
    (or in every region, when no default is set)."""
    now = datetime.now(timezone.utc) if now is None else now
    regions = (settings.default_region,) if settings.default_region else (ALL_REGIONS,)
    where = f"`{regions[0]}`" if settings.default_region else "all regions"
    blocks: list[Block] = [*sections(usage_text().split("\n")), DividerBlock()]
    blocks.append(SectionBlock(text=mrkdwn("*Common queries* (the answer replaces this help):")))
    seen: set[TaskQuery] = set()
    for common in COMMON_QUERIES:
        query = common.make(regions, now)
        if query in seen:  # without a default region, two of them are the same query
            continue
        seen.add(query)
        run = button(RUN_LABEL, ACTION_REFRESH, encode_query(query))
        blocks.append(SectionBlock(text=mrkdwn(common.label.format(where=where)), accessory=run))
    return Message(text=HELP_FALLBACK, blocks=to_dicts(blocks[: BLOCK_KIT.blocks_per_message]))
