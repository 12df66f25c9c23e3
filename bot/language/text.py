"""Queries back into words: the canonical `to_words` form, a short human header, and the usage text."""

from __future__ import annotations

from collections.abc import Mapping

from bot.language.times import describe_moment, format_moment
from bot.language.words import (
    ACTION_ALIASES,
    DEFAULT_REGION_ENV,
    FROM,
    PAGE,
    PUBLIC,
    SLASH_COMMAND,
    STATUS_ALIASES,
    TO,
    action_word,
    status_word,
)
from shared.ecs.query import MAX_TASK_IDS, TaskQuery

# Headers stay short (Slack header blocks take 150 characters): longer lists become counts.
_LISTED_AT_MOST = 3


def to_words(q: TaskQuery) -> str:
    """Text that `parse()` maps back to an equal TaskQuery: times are absolute, regions explicit.

    `page_size` and `resource_ids` have no words in the grammar and are not written.
    """
    words = [",".join(q.regions)]
    if q.status is not None:
        words.append(status_word(q.status))
    if q.action is not None:
        words.append(action_word(q.action))
    if q.task_ids:
        words.append(",".join(q.task_ids))
    if q.start_time is not None:
        words += [FROM, format_moment(q.start_time)]
    if q.end_time is not None:
        words += [TO, format_moment(q.end_time)]
    if q.page != 1:
        words += [PAGE, str(q.page)]
    if q.public:
        words.append(PUBLIC)
    return " ".join(word for word in words if word)


def describe_query(q: TaskQuery) -> str:
    """A short header: `Failed ImportImage tasks in cn-hangzhou since 2026-11-01 10:00 UTC (page 1)`."""
    adjectives = [x.value for x in (q.status, q.action) if x is not None]
    ids = q.task_ids
    if len(ids) == 1:
        noun = f"task {ids[0]}"
    elif ids and len(ids) <= _LISTED_AT_MOST:
        noun = "tasks " + ", ".join(ids)
    elif ids:
        noun = f"{len(ids)} tasks by id"
    else:
        noun = "tasks"
    head = " ".join([*adjectives, noun])
    text = head[0].upper() + head[1:] + " in " + _where(q)
    if q.resource_ids:
        text += f" for {_count(len(q.resource_ids), 'resource')}"
    if q.start_time is not None and q.end_time is not None:
        text += f" from {describe_moment(q.start_time)} to {describe_moment(q.end_time)} UTC"
    elif q.start_time is not None:
        text += f" since {describe_moment(q.start_time)} UTC"
    elif q.end_time is not None:
        text += f" until {describe_moment(q.end_time)} UTC"
    return text + f" (page {q.page})"


def _where(q: TaskQuery) -> str:
    if q.all_regions:
        return "all regions"
    if len(q.regions) <= _LISTED_AT_MOST:
        return ", ".join(q.regions)
    return _count(len(q.regions), "region")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _alias_groups(table: Mapping[str, object]) -> str:
    """`failed/fail/failure/error, finished/done/…`: every alias, grouped by meaning, in table order."""
    groups: dict[object, list[str]] = {}
    for alias, meaning in table.items():
        groups.setdefault(meaning, []).append(alias)
    return ", ".join("/".join(aliases) for aliases in groups.values())


def usage_text(command: str = SLASH_COMMAND, *, channel_commands: bool = True) -> str:
    """Usage with examples; plain enough for a terminal, and Slack mrkdwn renders the `*` and backticks."""
    c = command
    lines = [
        f"*Usage:* `{c} [REGION|all|REGION,REGION] [STATUS] [ACTION] [t-ID ...] "
        "[since DURATION | from TIME [to TIME]] [page N] [public]`  or  "
        f"`{c} help`",
        "Words go in any order, in any case. Without a region, the default region is used "
        f"(set by {DEFAULT_REGION_ENV}).",
        "",
        "*Regions:* ids such as `cn-hangzhou`, or the console's names: `杭州`, `华东1（杭州）`, `Singapore`",
        f"*Status:* {_alias_groups(STATUS_ALIASES)}",
        f"*Action:* {_alias_groups(ACTION_ALIASES)} (`-` and `_` are ignored: IMPORT_IMAGE works)",
        "*Time (UTC):* `since 90s|30m|2h|7d|1w`, or `from 2026-11-01[T10:00[:00Z]] [to 2026-11-02]` "
        "(a date alone after `to` means the end of that day; from 2010-01-01 to a day after now)",
        f"*Task ids:* up to {MAX_TASK_IDS}, with spaces or commas: `t-abc,t-def`",
        "*Other:* `page N` (from 1), `public` (answer in the channel, for everyone), `help`",
        "",
        "*Examples:*",
        f"• `{c} cn-hangzhou failed import since 2h`",
        f"• `{c} all processing`",
        f"• `{c} cn-hangzhou,cn-shanghai export from 2026-10-01 to 2026-10-07 page 2`",
        f"• `{c} ap-southeast-1 t-bp1hvgwromzv32iqab0c t-bp1hvgwromzv32iqab0d public`",
        f"• `{c} finished since 7d`  (in the default region)",
    ]
    if channel_commands:
        lines += [
            "",
            "*Channel updates:*",
            f"• `{c} watch [REGION] t-ID ...`: post here when these tasks change",
            f"• `{c} unwatch [REGION] t-ID ...`: stop watching them",
            f"• `{c} subscribe REGION|all [STATUS] [ACTION]`: post new matching tasks, e.g. "
            f"`{c} subscribe cn-hangzhou failed`",
            f"• `{c} unsubscribe [REGION|all]`: stop one subscription, or (with no region) all of them",
            f"• `{c} list`: what this channel watches and subscribes to",
            "",
            "*Accounts:* where a channel works in several Alibaba Cloud accounts, name one or more of them "
            f"in a command (`{c} prod cn-hangzhou failed`, `{c} prod staging all`); without one, a query covers "
            "all of the channel's accounts.",
            f"• `{c} accounts`: the accounts this channel works in, and their regions",
        ]
    return "\n".join(lines)
