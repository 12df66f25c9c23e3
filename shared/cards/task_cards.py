"""Slack messages for ECS tasks: task lists, task details, errors and notices.

Built with `slack_sdk.models.blocks` and kept within every Block Kit limit (`shared.cards.limits`) for any
input: layouts condense, then truncate with a visible "…and N more" line, rather than fail to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ContextBlock, HeaderBlock, SectionBlock

from shared.cards.layout import (
    BlockDicts,
    ListContent,
    RegionGroup,
    detail_blocks,
    largest_fitting,
    list_blocks,
    plural,
    sections,
    to_dicts,
)
from shared.cards.limits import BLOCK_KIT
from shared.cards.parts import (
    ACTION_CANCEL,
    ACTION_CANCEL_PATTERN,
    ACTION_DETAILS,
    ACTION_DETAILS_PATTERN,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_REFRESH,
    ACTION_TASK_MENU,
    ACTION_WATCH,
    ACTION_WATCH_PATTERN,
    ELLIPSIS,
    LABEL_REFRESH,
    MESSAGE_CHARS,
    NAME_CHARS,
    NO_VALUE,
    SEPARATOR,
    STATUS_EMOJI,
    WARNING_EMOJI,
    CardButtons,
    action_name,
    base_action_id,
    button,
    clip,
    code,
    duration_phrase,
    escape,
    mrkdwn,
    one_line,
    plain,
    plain_text,
    progress_bar,
    slack_date,
    status_emoji,
    status_name,
    task_buttons,
    task_status_line,
)
from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskQuery, TaskStatus
from shared.ecs.results import MultiRegionResult, RegionResult
from shared.errors import EcsApiError, StsApiError

__all__ = [
    "ACTION_CANCEL",
    "ACTION_CANCEL_PATTERN",
    "ACTION_DETAILS",
    "ACTION_DETAILS_PATTERN",
    "ACTION_NEXT",
    "ACTION_PREV",
    "ACTION_REFRESH",
    "ACTION_TASK_MENU",
    "ACTION_WATCH",
    "ACTION_WATCH_PATTERN",
    "STATUS_EMOJI",
    "CardButtons",
    "Message",
    "base_action_id",
    "cancelled_message",
    "error_message",
    "escape",
    "notice_message",
    "sts_error_message",
    "task_detail_message",
    "task_list_message",
    "task_status_line",
]

# The top-level `text` is what notifications show: one line, short.
FALLBACK_CHARS = 300
FALLBACK_ERRORS = 3
ERROR_MESSAGE_CHARS = 1_000
RECOMMEND_LABEL = "How to fix this"
# Regions that answered with no task are named up to this many, then counted.
QUIET_SHOWN = 10


@dataclass(frozen=True)
class Message:
    text: str  # top-level fallback, never empty
    blocks: list[dict[str, Any]]

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a Slack message needs a non-empty fallback text")

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def _message(fallback: str, blocks: BlockDicts) -> Message:
    return Message(text=clip(one_line(fallback), FALLBACK_CHARS) or NO_VALUE, blocks=blocks)


# --- task lists -----------------------------------------------------------------------------------


def task_list_message(result: MultiRegionResult, *, title: str, buttons: CardButtons, now: datetime) -> Message:
    """Tasks grouped by region, each failing region with its Code and RequestId, paging controls."""
    regions = result.regions
    multi_region = len(regions) != 1
    summary = (_single_summary(regions[0]) if not multi_region else _multi_summary(result),)
    filters = _filters(result.query)
    note = _why_empty(result)
    content = ListContent(
        title=title,
        summary=summary + ((filters,) if filters else ()) + _not_asked(result),
        note=note,
        groups=tuple(
            RegionGroup(r.where, r.page.tasks, max(r.page.total_count, len(r.page.tasks)))
            for r in regions
            if r.page is not None and r.page.tasks
        ),
        errors=tuple((r.where, r.error) for r in regions if r.error is not None),
        quiet=_quiet_regions(result) if multi_region else None,
        multi_region=multi_region,
    )
    return _message(_list_fallback(result, title, summary[0], note), list_blocks(content, buttons, now))


def _not_asked(result: MultiRegionResult) -> tuple[str, ...]:
    """A line naming the accounts left out because they cover none of the query's regions: nothing is
    left out silently."""
    if not result.not_asked:
        return ()
    named = "; ".join(
        f"{code(name, NAME_CHARS)} covers {', '.join(plain(r, NAME_CHARS) for r in covers[:5])}"
        + (ELLIPSIS if len(covers) > 5 else "")
        for name, covers in result.not_asked[:5]
    )
    return (f"Not asked: {named}. Name its regions to include it.",)


def _list_fallback(result: MultiRegionResult, title: str, summary: str, note: str | None) -> str:
    """One line for notifications: the totals, why nothing is listed, and what failed."""
    parts = [f"{escape(title)}: {summary}" if title.strip() else summary]
    if note and any(r.page is not None for r in result.regions):
        parts.append(note.splitlines()[0])
    failed = [(r.where, r.error) for r in result.regions if r.error is not None]
    if len(failed) == 1:
        region, error = failed[0]
        parts.append(escape(f"{region}: {error.code} — {error.message}"))
    elif failed:
        named = ", ".join(escape(f"{region} {error.code}") for region, error in failed[:FALLBACK_ERRORS])
        parts.append(f"{len(failed)} regions failed: {named}" + (ELLIPSIS if len(failed) > FALLBACK_ERRORS else ""))
    return "; ".join(parts)


def _single_summary(region: RegionResult) -> str:
    name = plain(region.where, NAME_CHARS)
    page = region.page
    if page is None:
        return f"{name}{SEPARATOR}request failed"
    if not page.tasks:
        return f"No tasks{SEPARATOR}{name}"
    start = (max(1, page.page_number) - 1) * max(1, page.page_size) + 1
    end = start + len(page.tasks) - 1
    return f"Showing {start}–{end} of {max(page.total_count, end)}{SEPARATOR}{name}"


def _multi_summary(result: MultiRegionResult) -> str:
    pages = [r.page for r in result.regions if r.page is not None]
    shown = sum(len(p.tasks) for p in pages)
    total = sum(max(p.total_count, len(p.tasks)) for p in pages)
    tasks = f"{shown} of {total} tasks" if total > shown else plural(shown, "task")
    accounts = {r.account for r in result.regions if r.account}
    regions = {r.region_id for r in result.regions}
    # In several accounts a group is an (account, region) pair: count each kind, not the pairs.
    where = f"{plural(len(accounts), 'account')}{SEPARATOR}" if accounts else ""
    text = f"{where}{plural(len(regions), 'region')}{SEPARATOR}{tasks}"
    if result.errors:
        text += f"{SEPARATOR}{len(result.errors)} failed"
    if result.query.page > 1:
        text += f"{SEPARATOR}page {result.query.page}"
    return text


def _filters(query: TaskQuery) -> str | None:
    parts = [value.value for value in (query.status, query.action) if value is not None]
    parts.extend(_matching(query))
    window = _window(query)
    if window:
        parts.append(window)
    return f"Filter: {SEPARATOR.join(parts)}" if parts else None


def _matching(query: TaskQuery) -> list[str]:
    found = []
    for ids, noun in ((query.task_ids, "task id"), (query.resource_ids, "resource")):
        if ids:
            found.append(code(ids[0]) if len(ids) == 1 else plural(len(ids), noun))
    return found


def _window(query: TaskQuery) -> str | None:
    start, end = query.start_time, query.end_time
    if start and end:
        return f"between {slack_date(start)} and {slack_date(end)}"
    if start:
        return f"since {slack_date(start)}"
    return f"before {slack_date(end)}" if end else None


def _why_empty(result: MultiRegionResult) -> str | None:
    """ "No Failed ImportImage tasks in cn-hangzhou", plus the API's status-filter quirk when it applies."""
    if result.tasks:
        return None
    regions = result.regions
    answered = [r for r in regions if r.page is not None]
    if not regions:
        return "There is no region to list tasks in."
    if not answered:
        where = plain(regions[0].where, NAME_CHARS) if len(regions) == 1 else f"any of the {len(regions)} regions"
        return f"Could not list tasks in {where}."
    query = result.query
    words = ["No", *(value.value for value in (query.status, query.action) if value is not None), "tasks"]
    words.extend(f"matching {m}" for m in _matching(query))
    words.append(f"in {_answered_where(regions, answered)}")
    window = _window(query)
    if window:
        words.append(window)
    lines = [" ".join(words)]
    if query.status is not None and query.status not in TaskStatus.FILTERABLE and not query.task_ids:
        # DescribeTasks lists only these (API page); by id, the client asks DescribeTaskAttribute instead.
        *first, last = [s.value for s in TaskStatus if s in TaskStatus.FILTERABLE]
        honoured = f"{', '.join(first)} and {last}"
        lines.append(
            f"_ECS lists only {honoured} tasks, so {query.status.value} tasks cannot be listed:"
            f" name a task by its id (`t-…`) to see it whatever its status._"
        )
    page = answered[0].page
    if len(regions) == 1 and page is not None and page.page_number > 1 and page.total_count > 0:
        lines.append(f"Page {page.page_number} is past the end: {plural(page.total_count, 'task')} matched.")
    return "\n".join(lines)


def _answered_where(regions: Sequence[RegionResult], answered: Sequence[RegionResult]) -> str:
    if len(regions) == 1:
        return plain(regions[0].where, NAME_CHARS)
    if len(answered) == 1:
        return f"{plain(answered[0].where, NAME_CHARS)} (the only region that answered)"
    if len(answered) < len(regions):
        return f"the {len(answered)} regions that answered"
    return plural(len(answered), "region")


def _quiet_regions(result: MultiRegionResult) -> str | None:
    if not result.tasks:
        return None  # the empty-result note already says it
    quiet = [r.where for r in result.regions if r.page is not None and not r.page.tasks]
    if not quiet:
        return None
    named = ", ".join(plain(region, NAME_CHARS) for region in quiet[:QUIET_SHOWN])
    rest = len(quiet) - QUIET_SHOWN
    return f"No tasks in {named}" + (f" and {plural(rest, 'more region')}" if rest > 0 else "")


# --- one task -------------------------------------------------------------------------------------


def task_detail_message(
    attribute: TaskAttribute, *, now: datetime, buttons: CardButtons | None = None, started_by: str | None = None
) -> Message:
    """Status, progress bar, counts and per-item outcomes (condensed when many), Refresh / Cancel / Watch;
    who started the task when an ActionTrail event told (`started_by`, as stored with a follow of it)."""
    blocks = detail_blocks(
        _detail_head(attribute, now, started_by), attribute.operations, _detail_tail(attribute, buttons)
    )
    progress = attribute.progress_percent
    fallback = f"{attribute.task_action or 'Task'} {attribute.task_id}: {attribute.task_status or 'Unknown'}"
    return _message(fallback + (f", {progress}%" if progress is not None else ""), blocks)


def _detail_head(attribute: TaskAttribute, now: datetime, started_by: str | None = None) -> list[Block]:
    status = f"{status_emoji(attribute.task_status)} *{status_name(attribute)}*"
    if attribute.region_id:
        status += f"{SEPARATOR}{plain(attribute.region_id, NAME_CHARS)}"
    progress = attribute.progress_percent
    if progress is not None:
        status += f"\n{progress_bar(progress)}"
    elif attribute.task_process:
        status += f"\nProgress: {plain(attribute.task_process, NAME_CHARS)}"
    fields = [
        ("Total", str(attribute.total_count)),
        ("Success", str(attribute.success_count)),
        ("Failed", str(attribute.failed_count)),
        ("Created", slack_date(attribute.creation_time) if attribute.creation_time else NO_VALUE),
        ("Finished", slack_date(attribute.finished_time) if attribute.finished_time else NO_VALUE),
        ("Duration", duration_phrase(attribute, now) or NO_VALUE),
    ]
    if attribute.resource_id:
        fields.append(("Resource", code(attribute.resource_id)))
    if started_by:
        fields.append(("Started by", started_by))
    title = f"{attribute.task_action or 'Task'} {attribute.task_id}"
    return [
        HeaderBlock(text=plain_text(title, BLOCK_KIT.header_text_chars)),
        SectionBlock(
            text=mrkdwn(status),
            fields=[mrkdwn(f"*{name}*\n{value}", BLOCK_KIT.section_field_chars) for name, value in fields],
        ),
    ]


def _detail_tail(attribute: TaskAttribute, buttons: CardButtons | None) -> list[Block]:
    tail: list[Block] = []
    if attribute.request_id:
        tail.append(ContextBlock(elements=[mrkdwn(f"RequestId {code(attribute.request_id)}")]))
    if buttons is not None:
        refresh = button(LABEL_REFRESH, ACTION_REFRESH, buttons.refresh)
        tail.append(ActionsBlock(elements=[refresh, *task_buttons(attribute, buttons, index=None)]))
    return tail


# --- errors, notices ----------------------------------------------------------------------------


def error_message(error: EcsApiError, *, what: str) -> Message:
    """`Could not <what> in <region>: <Code> — <Message>`, its RequestId and the Recommend link."""
    where = f" in *{plain(error.region_id, NAME_CHARS)}*" if error.region_id else ""
    lines = [
        f"{WARNING_EMOJI} Could not {plain(what, MESSAGE_CHARS)}{where}: {code(error.code, NAME_CHARS)}"
        f" — {plain(error.message, ERROR_MESSAGE_CHARS)}"
    ]
    if error.request_id:
        lines.append(f"RequestId {code(error.request_id)}")
    if error.retry_after_s is not None:
        # Already seconds (the transport converted x-acs-retry-after from milliseconds); one decimal is plenty.
        lines.append(f"ECS asks to wait {max(error.retry_after_s, 0.1):.1f} s before trying again.")
    blocks: list[Block] = [SectionBlock(text=mrkdwn("\n".join(lines)))]
    if error.recommend:
        blocks.append(ContextBlock(elements=[mrkdwn(_recommend(error.recommend))]))
    fallback = f"Could not {what}" + (f" in {error.region_id}" if error.region_id else "")
    fallback += f": {error.code} — {error.message}"
    if error.request_id:
        fallback += f" RequestId {error.request_id}"
    return _message(fallback, to_dicts(blocks))


def sts_error_message(error: StsApiError, *, what: str) -> Message:
    """`Could not <what> in account <name>: <Code>`, then what to fix (the STS client's message names the
    account and the setting or role policy at fault; it never holds a credential) and the RequestId."""
    account = f" in account *{plain(error.account, NAME_CHARS)}*" if error.account else ""
    lines = [
        f"{WARNING_EMOJI} Could not {plain(what, MESSAGE_CHARS)}{account}: {code(error.code, NAME_CHARS)}",
        plain(error.message, ERROR_MESSAGE_CHARS),
    ]
    if error.request_id:
        lines.append(f"STS RequestId {code(error.request_id)}")
    fallback = f"Could not {what}" + (f" in account {error.account}" if error.account else "") + f": {error.code}"
    return _message(fallback, to_dicts([SectionBlock(text=mrkdwn("\n".join(lines)))]))


def _recommend(recommend: str) -> str:
    # Only a plain http(s) address becomes a link; anything else is shown as text.
    target = recommend.strip()
    is_link = target.startswith(("https://", "http://")) and not any(c in target for c in " |<>\n")
    if is_link and len(target) <= BLOCK_KIT.url_chars:
        return f"<{target}|{RECOMMEND_LABEL}>"
    return f"{RECOMMEND_LABEL}: {plain(target, MESSAGE_CHARS)}"


def notice_message(text: str) -> Message:
    """A plain notice (usage errors, access denied, help); `text` is mrkdwn written by the bot."""
    if not text.strip():
        raise ValueError("a notice needs text")
    lines = text.split("\n")

    def build(shown: int) -> BlockDicts:
        return to_dicts(sections(lines[:shown] + ([ELLIPSIS] if shown < len(lines) else [])))

    blocks = largest_fitting(build, len(lines)) or to_dicts(sections([clip(text, MESSAGE_CHARS)]))
    return _message(text, blocks)


def cancelled_message(task: Task, *, request_id: str | None = None) -> Message:
    """The answer to a successful CancelTask."""
    where = f" in {plain(task.region_id, NAME_CHARS)}" if task.region_id else ""
    line = f"{STATUS_EMOJI[TaskStatus.DELETED.value]} Cancelled {action_name(task)} task {code(task.task_id)}{where}."
    blocks: list[Block] = [SectionBlock(text=mrkdwn(line))]
    if request_id:
        blocks.append(ContextBlock(elements=[mrkdwn(f"RequestId {code(request_id)}")]))
    return _message(f"Cancelled {task.task_action or 'task'} {task.task_id}", to_dicts(blocks))
