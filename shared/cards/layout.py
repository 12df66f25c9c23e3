"""Fitting a card into one Slack message: the richest layout that keeps every limit, else a condensed one.

A task list is tried as rich (a section and buttons per task), then compact (several task lines per
section and a "Task details…" menu), then terse; if even that is too big, the most tasks that fit are
shown with "…and N more — narrow the query". Every candidate is measured as it would be sent, so the
result fits whatever the input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from shared.cards.limits import BLOCK_KIT, blocks_fit
from shared.cards.parts import (
    ACTION_DETAILS,
    ACTION_TASK_MENU,
    ELLIPSIS,
    LABEL_DETAILS,
    MESSAGE_CHARS,
    NAME_CHARS,
    SEPARATOR,
    CardButtons,
    button,
    clip,
    compact_task_line,
    mrkdwn,
    operation_emoji,
    operation_line,
    operation_ok,
    paging_buttons,
    plain,
    plain_text,
    region_error_line,
    rich_task_text,
    task_buttons,
    task_option_label,
)
from shared.ecs.models import OperationProgress, Task
from shared.errors import ApiError

BlockDicts = list[dict[str, Any]]

MENU_PLACEHOLDER = "Task details…"
NARROW_HINT = "narrow the query"
# When regions fail by the dozen, this many are listed one by one; the rest are counted by Code.
CROWDED_ERRORS = 10


class TaskStyle(Enum):
    RICH = "rich"
    COMPACT = "compact"
    TERSE = "terse"


@dataclass(frozen=True)
class RegionGroup:
    region_id: str
    tasks: tuple[Task, ...]
    total: int  # the region's TotalCount, which may exceed the tasks on this page


@dataclass(frozen=True)
class ListContent:
    """What a task list card says, before any layout decision."""

    title: str
    summary: tuple[str, ...]  # context elements (mrkdwn)
    note: str | None  # why nothing is listed
    groups: tuple[RegionGroup, ...]  # regions with tasks, in the result's order
    errors: tuple[tuple[str, ApiError], ...]
    quiet: str | None  # the regions that answered with no task
    multi_region: bool

    @property
    def task_count(self) -> int:
        return sum(len(g.tasks) for g in self.groups)


@dataclass(frozen=True)
class Detail:
    style: TaskStyle
    verbose_errors: bool
    shown_tasks: int | None = None  # None: all
    shown_errors: int | None = None


DETAIL_LEVELS = (
    Detail(TaskStyle.RICH, verbose_errors=True),
    Detail(TaskStyle.COMPACT, verbose_errors=True),
    Detail(TaskStyle.TERSE, verbose_errors=True),
    Detail(TaskStyle.TERSE, verbose_errors=False),
)
CROWDED = DETAIL_LEVELS[-1]


# --- generic fitting ------------------------------------------------------------------------------


def to_dicts(blocks: Sequence[Block]) -> BlockDicts:
    return [b.to_dict() for b in blocks]


def pack_lines(lines: Sequence[str], limit: int = BLOCK_KIT.section_text_chars) -> list[str]:
    """Lines joined into as few texts of at most `limit` characters as possible, in order."""
    chunks: list[str] = []
    current = ""
    for raw in lines:
        line = clip(raw, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def sections(lines: Sequence[str]) -> list[Block]:
    return [SectionBlock(text=mrkdwn(chunk)) for chunk in pack_lines(lines)]


def largest_fitting(build: Callable[[int], BlockDicts], upper: int) -> BlockDicts | None:
    """The blocks of the largest n in [0, upper] whose blocks fit (sizes grow with n), or None."""
    low, high = 0, upper
    best: BlockDicts | None = None
    while low <= high:
        middle = (low + high) // 2
        candidate = build(middle)
        if blocks_fit(candidate):
            best, low = candidate, middle + 1
        else:
            high = middle - 1
    return best


def more_line(hidden: int, noun: str) -> str:
    return f"{ELLIPSIS}and {plural(hidden, 'more ' + noun)} — {NARROW_HINT}"


# --- task lists -----------------------------------------------------------------------------------


def list_blocks(content: ListContent, buttons: CardButtons, now: datetime) -> BlockDicts:
    """The richest layout of `content` that keeps every limit."""
    for detail in DETAIL_LEVELS:
        blocks = render_list(content, buttons, now, detail)
        if blocks_fit(blocks):
            return blocks
    shown_errors = min(len(content.errors), CROWDED_ERRORS)

    def build(shown: int) -> BlockDicts:
        return render_list(content, buttons, now, replace(CROWDED, shown_tasks=shown, shown_errors=shown_errors))

    found = largest_fitting(build, content.task_count)
    # Unreachable with bounded parts (header, summary and ten error lines fit easily); kept as the floor.
    return found or render_list(content, buttons, now, replace(CROWDED, shown_tasks=0, shown_errors=0))


def render_list(content: ListContent, buttons: CardButtons, now: datetime, detail: Detail) -> BlockDicts:
    blocks: list[Block] = [HeaderBlock(text=plain_text(content.title, BLOCK_KIT.header_text_chars))]
    if content.summary:
        elements = content.summary[: BLOCK_KIT.context_elements]
        blocks.append(ContextBlock(elements=[mrkdwn(text) for text in elements]))
    if content.note:
        blocks.append(SectionBlock(text=mrkdwn(content.note)))
    groups = shown_groups(content.groups, detail.shown_tasks)
    hidden_tasks = content.task_count - sum(len(g.tasks) for g in groups)
    if detail.style is TaskStyle.RICH:
        blocks.extend(rich_tasks(groups, buttons, now, multi_region=content.multi_region))
    else:
        lines = task_lines(groups, now, multi_region=content.multi_region, dated=detail.style is TaskStyle.COMPACT)
        if hidden_tasks:
            lines.append(more_line(hidden_tasks, "task"))
        blocks.extend(sections(lines))
    blocks.extend(sections(error_lines(content.errors, detail)))
    if content.quiet:
        blocks.append(ContextBlock(elements=[mrkdwn(content.quiet)]))
    controls: list[InteractiveElement] = list(paging_buttons(buttons))
    if detail.style is not TaskStyle.RICH:
        menu = task_menu([t for g in groups for t in g.tasks], buttons)
        if menu is not None:
            controls.append(menu)
    blocks.append(ActionsBlock(elements=controls))
    return to_dicts(blocks)


def shown_groups(groups: Sequence[RegionGroup], limit: int | None) -> list[RegionGroup]:
    """The first `limit` tasks in display order, keeping their region groups."""
    if limit is None:
        return list(groups)
    shown: list[RegionGroup] = []
    left = limit
    for group in groups:
        if left <= 0:
            break
        shown.append(RegionGroup(group.region_id, group.tasks[:left], group.total))
        left -= len(group.tasks)
    return shown


def group_heading(group: RegionGroup, *, bold: bool) -> str:
    count = len(group.tasks)
    tasks = f"{count} of {group.total} tasks" if group.total > count else plural(count, "task")
    name = plain(group.region_id, NAME_CHARS)
    return f"{'*' + name + '*' if bold else name}{SEPARATOR}{tasks}"


def rich_tasks(
    groups: Sequence[RegionGroup], buttons: CardButtons, now: datetime, *, multi_region: bool
) -> list[Block]:
    """Per task: a section with its Details button, then Cancel / Watch when the rules allow them."""
    blocks: list[Block] = []
    index = 0
    for group in groups:
        if multi_region:
            blocks.append(ContextBlock(elements=[mrkdwn(group_heading(group, bold=True))]))
        for task in group.tasks:
            details = button(LABEL_DETAILS, ACTION_DETAILS, buttons.task_ref(task), index=index)
            blocks.append(SectionBlock(text=mrkdwn(rich_task_text(task, now)), accessory=details))
            extra = task_buttons(task, buttons, index=index)
            if extra:
                blocks.append(ActionsBlock(elements=extra))
            index += 1
    return blocks


def task_lines(groups: Sequence[RegionGroup], now: datetime, *, multi_region: bool, dated: bool) -> list[str]:
    lines: list[str] = []
    for group in groups:
        if multi_region:
            lines.append(group_heading(group, bold=True))
        lines.extend(compact_task_line(task, now, with_date=dated) for task in group.tasks)
    return lines


def error_lines(errors: Sequence[tuple[str, ApiError]], detail: Detail) -> list[str]:
    shown = errors if detail.shown_errors is None else errors[: detail.shown_errors]
    lines = [region_error_line(region, error, verbose=detail.verbose_errors) for region, error in shown]
    hidden = errors[len(shown) :]
    if hidden:
        codes = Counter(error.code for _, error in hidden)
        counted = ", ".join(f"{plain(code, NAME_CHARS)} ×{n}" for code, n in codes.most_common())
        lines.append(clip(f"{ELLIPSIS}and {plural(len(hidden), 'more region')} failed: {counted}", MESSAGE_CHARS))
    return lines


def task_menu(tasks: Sequence[Task], buttons: CardButtons) -> StaticSelectElement | None:
    """A "Task details…" menu whose values are task refs; a ref too long for an option is left out."""
    options: list[Option] = []
    for task in tasks:
        ref = buttons.task_ref(task)
        if len(ref) <= BLOCK_KIT.option_value_chars:
            options.append(Option(value=ref, text=plain_text(task_option_label(task), BLOCK_KIT.option_text_chars)))
        if len(options) == BLOCK_KIT.select_options:
            break
    if not options:
        return None
    return StaticSelectElement(
        placeholder=plain_text(MENU_PLACEHOLDER, BLOCK_KIT.placeholder_chars),
        action_id=ACTION_TASK_MENU,
        options=options,
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- one task's items -----------------------------------------------------------------------------


def detail_blocks(head: Sequence[Block], operations: Sequence[OperationProgress], tail: Sequence[Block]) -> BlockDicts:
    """Every item in full while it fits; else the items not OK (successes counted), then the most that fit."""
    others = [op for op in operations if not operation_ok(op)]
    passed = Counter(op.operation_status for op in operations if operation_ok(op))

    def build(items: Sequence[OperationProgress], verbose: bool, *, counted: bool) -> BlockDicts:
        lines = [f"*Items* ({len(operations)})"] if operations else []
        lines.extend(operation_line(op, verbose=verbose) for op in items)
        if counted:
            lines.extend(f"{operation_emoji(s)} {plain(s, NAME_CHARS)} ×{n}" for s, n in passed.items())
            if len(items) < len(others):
                lines.append(more_line(len(others) - len(items), "item"))
        return to_dicts([*head, *sections(lines), *tail])

    for items, verbose, counted in ((operations, True, False), (others, True, True), (others, False, True)):
        blocks = build(items, verbose, counted=counted)
        if blocks_fit(blocks):
            return blocks
    found = largest_fitting(lambda n: build(others[:n], False, counted=True), len(others))
    return found if found is not None else to_dicts([*head, *tail])
