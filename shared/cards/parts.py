"""The pieces of a task card: action ids, emoji, mrkdwn text, Slack dates, task lines and buttons.

Pure functions with bounded output: every piece of API data is clipped before it is shown, so a layout
can reason about sizes. Layout (which pieces, how many) lives in `shared.cards.layout`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType

from slack_sdk.models.blocks import ButtonElement, ConfirmObject, MarkdownTextObject, PlainTextObject

from shared.cards.limits import BLOCK_KIT
from shared.ecs.models import OperationProgress, Task
from shared.ecs.query import TaskAction, TaskStatus
from shared.errors import ApiError
from shared.log import redact
from shared.timefmt import format_duration, format_utc, task_duration

ACTION_REFRESH = "ecs_tasks_refresh"
ACTION_PREV = "ecs_tasks_prev"
ACTION_NEXT = "ecs_tasks_next"
ACTION_DETAILS = "ecs_tasks_details"
ACTION_CANCEL = "ecs_tasks_cancel"
ACTION_WATCH = "ecs_tasks_watch"
ACTION_TASK_MENU = "ecs_tasks_task_menu"
# The channel-updates cards' buttons (shared.updates.cards draws them): named here, beside the others, so the
# listeners can be registered without loading channel updates.
ACTION_UNWATCH = "ecs_tasks_unwatch"
ACTION_UNSUBSCRIBE = "ecs_tasks_unsubscribe"

# Per-task buttons repeat in a list; each action_id must be unique within a message, so they carry a
# `:<n>` suffix there. Listeners should match these patterns (bare ids, as in the detail card, match too).
_SUFFIX = ":"
ACTION_DETAILS_PATTERN = re.compile(rf"^{ACTION_DETAILS}(?:{_SUFFIX}\d+)?$")
ACTION_CANCEL_PATTERN = re.compile(rf"^{ACTION_CANCEL}(?:{_SUFFIX}\d+)?$")
ACTION_WATCH_PATTERN = re.compile(rf"^{ACTION_WATCH}(?:{_SUFFIX}\d+)?$")
ACTION_UNWATCH_PATTERN = re.compile(rf"^{ACTION_UNWATCH}(?:{_SUFFIX}\d+)?$")
ACTION_UNSUBSCRIBE_PATTERN = re.compile(rf"^{ACTION_UNSUBSCRIBE}(?:{_SUFFIX}\d+)?$")

STATUS_EMOJI: Mapping[str, str] = MappingProxyType(
    {
        TaskStatus.FINISHED.value: ":white_check_mark:",
        TaskStatus.FAILED.value: ":x:",
        TaskStatus.PROCESSING.value: ":hourglass_flowing_sand:",
        TaskStatus.WAITING.value: ":clock3:",
        TaskStatus.PAUSED.value: ":double_vertical_bar:",
        TaskStatus.DELETED.value: ":wastebasket:",
    }
)
UNKNOWN_EMOJI = ":grey_question:"
WARNING_EMOJI = ":warning:"

ELLIPSIS = "…"
BACKTICK = "`"
SEPARATOR = " · "
NO_VALUE = "—"
# Display caps for API data: real ids are ~25 characters, names ~16; longer ones are clipped.
ID_CHARS = 64
NAME_CHARS = 40
MESSAGE_CHARS = 300

LABEL_DETAILS = "Details"
LABEL_CANCEL = "Cancel"
LABEL_WATCH = "Watch"
LABEL_REFRESH = "Refresh"
LABEL_PREV = "◀ Prev"
LABEL_NEXT = "Next ▶"
CONFIRM_TITLE = "Cancel this task?"
CONFIRM_YES = "Cancel task"
CONFIRM_NO = "Keep it"
STYLE_DANGER = "danger"


@dataclass(frozen=True)
class CardButtons:
    """Button values, computed by the caller (the bot owns the codec)."""

    refresh: str
    prev: str | None
    next: str | None
    task_ref: Callable[[Task], str]
    can_cancel: bool
    can_watch: bool = False

    def __post_init__(self) -> None:
        for name, value in (("refresh", self.refresh), ("prev", self.prev), ("next", self.next)):
            if value is not None and len(value) > BLOCK_KIT.button_value_chars:
                raise ValueError(f"the {name} value is longer than {BLOCK_KIT.button_value_chars} characters")


# --- text ---------------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def one_line(text: str) -> str:
    return " ".join(text.split())


def escape(text: str) -> str:
    """Slack's three control characters, so API data can never form a link or a mention. Every outside text
    passes here on its way into a message, so it is also the last guard for credentials: known secrets and
    the user-info of URLs are masked (`shared.log.redact`), as in log lines."""
    return redact(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int = ID_CHARS) -> str:
    """API data as safe mrkdwn on one line."""
    return escape(clip(one_line(text), limit)) or NO_VALUE


def code(text: str, limit: int = ID_CHARS) -> str:
    # A backtick inside would end the code span early.
    inner = plain(text, limit).replace(BACKTICK, "'")
    return f"{BACKTICK}{inner}{BACKTICK}"


def slack_date(moment: datetime) -> str:
    """A date each reader sees in their own time zone; the fallback is UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{format_utc(aware)}>"


def mrkdwn(text: str, limit: int = BLOCK_KIT.text_object_chars) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit) or NO_VALUE)


def plain_text(text: str, limit: int) -> PlainTextObject:
    return PlainTextObject(text=clip(one_line(text), limit) or NO_VALUE, emoji=True)


# --- tasks --------------------------------------------------------------------------------------


def status_emoji(status: str) -> str:
    return STATUS_EMOJI.get(status, UNKNOWN_EMOJI)


def is_running(task: Task) -> bool:
    return task.status in TaskStatus.RUNNING


def offers_cancel(task: Task, buttons: CardButtons) -> bool:
    cancellable = task.action in TaskAction.CANCELLABLE
    return bool(task.support_cancel and buttons.can_cancel and cancellable and is_running(task))


def offers_watch(task: Task, buttons: CardButtons) -> bool:
    return buttons.can_watch and is_running(task)


def action_name(task: Task) -> str:
    return plain(task.task_action or "Task", NAME_CHARS)


def status_name(task: Task) -> str:
    return plain(task.task_status or "Unknown", NAME_CHARS)


def duration_phrase(task: Task, now: datetime) -> str | None:
    spent = task_duration(task.creation_time, task.finished_time, now)
    if spent is None:
        return None
    if task.finished_time is not None:
        return f"took {format_duration(spent)}"
    if is_running(task):
        return f"running for {format_duration(spent)}"
    return f"{format_duration(spent)} since created"


def task_status_line(task: Task, *, now: datetime) -> str:
    """One mrkdwn line: emoji, action, id, status, created and finished dates, duration."""
    parts = [f"{status_emoji(task.task_status)} *{action_name(task)}* {code(task.task_id)} {status_name(task)}"]
    if task.creation_time is not None:
        parts.append(f"created {slack_date(task.creation_time)}")
    if task.finished_time is not None:
        parts.append(f"finished {slack_date(task.finished_time)}")
    duration = duration_phrase(task, now)
    if duration:
        parts.append(duration)
    return SEPARATOR.join(parts)


def rich_task_text(task: Task, now: datetime) -> str:
    line = task_status_line(task, now=now)
    return f"{line}\nResource {code(task.resource_id)}" if task.resource_id else line


def compact_task_line(task: Task, now: datetime, *, with_date: bool) -> str:
    parts = [f"{status_emoji(task.task_status)} {code(task.task_id)} {action_name(task)} {status_name(task)}"]
    if with_date and task.creation_time is not None:
        parts.append(slack_date(task.creation_time))
    duration = duration_phrase(task, now)
    if duration:
        parts.append(duration)
    return SEPARATOR.join(parts)


def task_option_label(task: Task) -> str:
    return f"{task.task_id} · {task.task_action or 'Task'} · {task.task_status or 'Unknown'}"


def region_error_line(region_id: str, error: ApiError, *, verbose: bool) -> str:
    """A failing region with its Code and RequestId (and, verbosely, its message)."""
    line = f"{WARNING_EMOJI} *{plain(region_id, NAME_CHARS)}* {code(error.code, NAME_CHARS)}"
    if verbose and error.message:
        line += f" {plain(error.message, MESSAGE_CHARS)}"
    if error.request_id:
        line += f"{SEPARATOR}RequestId {code(error.request_id)}"
    return line


OPERATION_OK = frozenset({"success", "succeed", "succeeded", "successful", "finished"})
OPERATION_FAILED = frozenset({"failed", "fail", "failure", "error"})
RELATED_SHOWN = 5
RELATED_INDENT = "      "


def operation_ok(operation: OperationProgress) -> bool:
    return operation.operation_status.lower() in OPERATION_OK


def operation_emoji(status: str) -> str:
    if status.lower() in OPERATION_OK:
        return STATUS_EMOJI[TaskStatus.FINISHED.value]
    if status.lower() in OPERATION_FAILED:
        return STATUS_EMOJI[TaskStatus.FAILED.value]
    return UNKNOWN_EMOJI


def operation_line(operation: OperationProgress, *, verbose: bool) -> str:
    """An item's status, ErrorCode, ErrorMsg (verbose) and related items on an indented second line."""
    status = operation.operation_status
    line = f"{operation_emoji(status)} {plain(status or 'Unknown', NAME_CHARS)}"
    if operation.error_code:
        line += f" {code(operation.error_code, NAME_CHARS)}"
    if verbose and operation.error_msg:
        line += f" {plain(operation.error_msg, MESSAGE_CHARS)}"
    items = operation.related_items
    shown = items[: RELATED_SHOWN if verbose else 1]
    if shown:
        related = SEPARATOR.join(f"{plain(item.name, NAME_CHARS)} {code(item.value)}" for item in shown)
        more = f" +{len(items) - len(shown)} more" if len(items) > len(shown) else ""
        line += f"\n{RELATED_INDENT}{related}{more}"
    return line


# --- buttons ------------------------------------------------------------------------------------


def action_id(base: str, index: int | None = None) -> str:
    return base if index is None else f"{base}{_SUFFIX}{index}"


def base_action_id(action_id: str) -> str:
    """`ecs_tasks_details:3` -> `ecs_tasks_details`; an id without a suffix is returned as is."""
    return action_id.split(_SUFFIX, 1)[0]


def checked_value(value: str) -> str:
    """Values are the caller's codec output; one Slack cannot carry is a bug there, so say so loudly."""
    if len(value) > BLOCK_KIT.button_value_chars:
        raise ValueError(f"a button value is longer than {BLOCK_KIT.button_value_chars} characters")
    return value


def button(label: str, base: str, value: str, *, index: int | None = None) -> ButtonElement:
    return ButtonElement(
        text=plain_text(label, BLOCK_KIT.button_text_chars),
        action_id=action_id(base, index),
        value=checked_value(value),
    )


def cancel_button(task: Task, value: str, *, index: int | None = None) -> ButtonElement:
    """Cancel, behind a confirm dialog that names the task."""
    what = f"{action_name(task)} task {code(task.task_id, NAME_CHARS)}"
    where = f" in {plain(task.region_id, NAME_CHARS)}" if task.region_id else ""
    confirm = ConfirmObject(
        title=plain_text(CONFIRM_TITLE, BLOCK_KIT.confirm_title_chars),
        text=mrkdwn(f"Cancel {what}{where}? This cannot be undone.", BLOCK_KIT.confirm_text_chars),
        confirm=plain_text(CONFIRM_YES, BLOCK_KIT.confirm_button_chars),
        deny=plain_text(CONFIRM_NO, BLOCK_KIT.confirm_button_chars),
        style=STYLE_DANGER,
    )
    return ButtonElement(
        text=plain_text(LABEL_CANCEL, BLOCK_KIT.button_text_chars),
        action_id=action_id(ACTION_CANCEL, index),
        value=checked_value(value),
        style=STYLE_DANGER,
        confirm=confirm,
    )


def task_buttons(task: Task, buttons: CardButtons, *, index: int | None) -> list[ButtonElement]:
    """Cancel and Watch, when the rules allow them (Details is placed by the layout)."""
    if not (offers_cancel(task, buttons) or offers_watch(task, buttons)):
        return []
    ref = buttons.task_ref(task)
    found: list[ButtonElement] = []
    if offers_cancel(task, buttons):
        found.append(cancel_button(task, ref, index=index))
    if offers_watch(task, buttons):
        found.append(button(LABEL_WATCH, ACTION_WATCH, ref, index=index))
    return found


def paging_buttons(buttons: CardButtons) -> list[ButtonElement]:
    found = [button(LABEL_REFRESH, ACTION_REFRESH, buttons.refresh)]
    if buttons.prev is not None:
        found.append(button(LABEL_PREV, ACTION_PREV, buttons.prev))
    if buttons.next is not None:
        found.append(button(LABEL_NEXT, ACTION_NEXT, buttons.next))
    return found


def progress_bar(percent: int, width: int = 10) -> str:
    """`▓▓▓▓▓░░░░░ 50%`."""
    bounded = min(100, max(0, percent))
    filled = bounded * width // 100
    return f"{'▓' * filled}{'░' * (width - filled)} {bounded}%"
