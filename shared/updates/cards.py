"""Slack messages of the channel-updates feature: the watch card, thread replies, the final notice, the
expiry note, the channel's list of watches and subscriptions, and the "cannot post there" message.

Built from `shared.cards.parts` with `slack_sdk.models.blocks`; every layout is measured against the Block Kit
limits and condensed (no per-task buttons, packed lines, then "…and N more") until it fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from shared.cards.layout import BlockDicts, largest_fitting, pack_lines, plural, to_dicts
from shared.cards.limits import BLOCK_KIT, blocks_fit
from shared.cards.parts import (
    ACTION_UNSUBSCRIBE,
    ACTION_UNWATCH,
    ELLIPSIS,
    MESSAGE_CHARS,
    NAME_CHARS,
    SEPARATOR,
    STATUS_EMOJI,
    WARNING_EMOJI,
    button,
    clip,
    code,
    duration_phrase,
    mrkdwn,
    one_line,
    plain,
    plain_text,
    slack_date,
    status_emoji,
    task_status_line,
)
from shared.cards.task_cards import Message
from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.models import Task, TaskAttribute
from shared.ecs.query import TaskStatus
from shared.timefmt import format_duration
from shared.updates.model import WATCH_ACTIVE, WATCH_ENDED, WATCH_EXPIRED, WATCH_STOPPED, Subscription, Watch
from shared.updates.slack_answers import (
    CHANNEL_NOT_FOUND,
    IS_ARCHIVED,
    IS_INACTIVE,
    NOT_IN_CHANNEL,
    RESTRICTED_ACTION,
    RESTRICTED_READ_ONLY,
    RESTRICTED_THREAD_ONLY,
)

LABEL_UNWATCH = "Unwatch"
VALUE_SEPARATOR = "/"
LABEL_UNSUBSCRIBE = "Unsubscribe"
FALLBACK_CHARS = 300
# Failed items listed in a final notice; the rest are counted.
ERRORS_SHOWN = 10
BOT_HANDLE = "@ecs-tasks"
CHANGE_EMOJI = ":arrows_counterclockwise:"
EXPIRED_EMOJI = ":hourglass:"
ANY_STATUS = "any status"
ANY_ACTION = "any action"

_STATE_NOTES = {
    WATCH_ENDED: "ended",
    WATCH_EXPIRED: "no longer watched (expired)",
    WATCH_STOPPED: "no longer watched",
}


def unwatch_value(watch: Watch) -> str:
    """An Unwatch button names the task, not a row: the card is drawn before its watches are stored.
    `region/task` in the function's own account (what buttons posted before accounts carry);
    `account/region/task` in another."""
    parts = [watch.region_id, watch.task_id]
    if watch.account != HOME_ACCOUNT_NAME:
        parts.insert(0, watch.account)
    return VALUE_SEPARATOR.join(parts)


def _message(fallback: str, blocks: BlockDicts) -> Message:
    return Message(text=clip(one_line(fallback), FALLBACK_CHARS) or "ecs-tasks", blocks=blocks)


def _fit(build: Callable[[int], BlockDicts], count: int, fallback: str) -> BlockDicts:
    """The most rows that fit (`build(n)` shows n of `count`), never nothing."""
    blocks = largest_fitting(build, count)
    return blocks if blocks is not None else to_dicts([SectionBlock(text=mrkdwn(clip(fallback, MESSAGE_CHARS)))])


# --- the card -------------------------------------------------------------------------------------


def started_by_text(started_by: str) -> str:
    """Who started a task, as its card says (the name was checked where the event entered)."""
    return f"started by {started_by}"


def watch_card(
    watches: Sequence[Watch], *, now: datetime, title: str | None = None, extra_lines: Sequence[str] = ()
) -> Message:
    """One line per followed task (its current status), an Unwatch button on each still followed;
    `extra_lines` (a failure's error codes, for a subscription's card) follow the tasks."""
    if not watches:
        raise ValueError("a watch card shows at least one task")
    heading = title or f"Watching {plural(len(watches), 'task')}"
    regions = sorted({_where(w) for w in watches})
    active = [w for w in watches if w.state == WATCH_ACTIVE]
    footer = "Changes are posted in this thread"
    if active:
        footer += f"{SEPARATOR}until {slack_date(max(w.expires_at for w in active))}"
    head: list[Block] = [HeaderBlock(text=plain_text(heading, BLOCK_KIT.header_text_chars))]
    tail: list[Block] = [
        *(SectionBlock(text=mrkdwn(text)) for text in pack_lines(extra_lines)),
        ContextBlock(elements=[mrkdwn(f"{SEPARATOR.join(regions)}{SEPARATOR}{footer}")]),
    ]

    def line(watch: Watch) -> str:
        text = task_status_line(watch.task, now=now)
        if watch.started_by:
            text = f"{text}{SEPARATOR}{started_by_text(watch.started_by)}"
        note = _STATE_NOTES.get(watch.state)
        return f"{text}{SEPARATOR}_{note}_" if note and watch.state != WATCH_ENDED else text

    def rich(shown: int) -> BlockDicts:
        rows: list[Block] = []
        for index, watch in enumerate(watches[:shown]):
            accessory = (
                button(LABEL_UNWATCH, ACTION_UNWATCH, unwatch_value(watch), index=index)
                if watch.state == WATCH_ACTIVE
                else None
            )
            rows.append(SectionBlock(text=mrkdwn(line(watch)), accessory=accessory))
        return to_dicts([*head, *rows, *_more(len(watches) - shown, "task"), *tail])

    def packed(shown: int) -> BlockDicts:
        lines = pack_lines([line(w) for w in watches[:shown]])
        return to_dicts(
            [*head, *(SectionBlock(text=mrkdwn(t)) for t in lines), *_more(len(watches) - shown, "task"), *tail]
        )

    full = rich(len(watches))
    blocks = full if blocks_fit(full) else _fit(packed, len(watches), heading)
    statuses = ", ".join(f"{w.task_id} {w.task.task_status or 'Unknown'}" for w in watches[:5])
    return _message(f"{heading}: {statuses}", blocks)


def _where(watch: Watch) -> str:
    """`staging · cn-hangzhou` for a watch in a configured account; the region alone in the function's own."""
    region = plain(watch.region_id, NAME_CHARS)
    return region if watch.account == HOME_ACCOUNT_NAME else f"{plain(watch.account, NAME_CHARS)}{SEPARATOR}{region}"


def announce_title(subscription: Subscription | None, task: Task) -> str:
    what = describe_subscription(subscription) if subscription else "a subscription"
    return f"New {task.task_action or 'task'} task{SEPARATOR}{what}"


def _more(hidden: int, noun: str) -> list[Block]:
    if hidden <= 0:
        return []
    return [ContextBlock(elements=[mrkdwn(f"{ELLIPSIS}and {plural(hidden, 'more ' + noun)}")])]


# --- thread replies -------------------------------------------------------------------------------


FINAL_SUBJECT = "No longer watching this task."


def change_reply(task: Task, *, from_status: str | None, now: datetime) -> Message:
    """`🔄 t-… Waiting → Processing`, then the task's status line."""
    before = plain(from_status or "Unknown", NAME_CHARS)
    after = plain(task.task_status or "Unknown", NAME_CHARS)
    head = f"{CHANGE_EMOJI} {code(task.task_id)} {before} → {status_emoji(task.task_status)} *{after}*"
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f"{head}\n{task_status_line(task, now=now)}"))]
    return _message(f"{task.task_id}: {from_status or 'Unknown'} → {task.task_status or 'Unknown'}", to_dicts(blocks))


def final_reply(
    task: Task,
    *,
    attribute: TaskAttribute | None,
    attribute_error: str | None,
    now: datetime,
    subject: str = FINAL_SUBJECT,
) -> Message:
    """The final state with the duration; for a failure, DescribeTaskAttribute's error codes and messages."""
    status = task.task_status or "Unknown"
    duration = duration_phrase(task, now)
    action = plain(task.task_action or "Task", NAME_CHARS)
    head = f"{status_emoji(status)} {action} {code(task.task_id)} *{plain(status, NAME_CHARS)}*"
    if duration:
        head += f"{SEPARATOR}{duration}"
    error_lines = failure_lines(attribute, attribute_error) if status == TaskStatus.FAILED.value else []
    fallback = f"{task.task_id} {status}" + (f", {duration}" if duration else "")

    def build(shown: int) -> BlockDicts:
        lines = error_lines[:shown] + (
            [f"{ELLIPSIS}and {plural(len(error_lines) - shown, 'more line')}"] if shown < len(error_lines) else []
        )
        blocks: list[Block] = [SectionBlock(text=mrkdwn(head))]
        blocks.extend(SectionBlock(text=mrkdwn(text)) for text in pack_lines(lines))
        blocks.append(ContextBlock(elements=[mrkdwn(subject)]))
        return to_dicts(blocks)

    return _message(fallback, _fit(build, len(error_lines), fallback))


def failure_lines(attribute: TaskAttribute | None, attribute_error: str | None) -> list[str]:
    """`ErrorCode` — ErrorMsg (Name `Value`) for each failed item; or why they could not be read."""
    if attribute is None:
        reason = f": {plain(attribute_error, MESSAGE_CHARS)}" if attribute_error else ""
        return [f"{WARNING_EMOJI} The error details could not be read{reason}."]
    failed = [op for op in attribute.operations if op.error_code or op.error_msg]
    if not failed:
        return [f"{attribute.failed_count} of {attribute.total_count} items failed; ECS gave no error code."]
    lines = [f"*Errors* ({attribute.failed_count} of {attribute.total_count} items failed):"]
    for op in failed[:ERRORS_SHOWN]:
        text = f"{STATUS_EMOJI[TaskStatus.FAILED.value]} {code(op.error_code or 'Unknown', NAME_CHARS)}"
        if op.error_msg:
            text += f" — {plain(op.error_msg, MESSAGE_CHARS)}"
        if op.related_items:
            item = op.related_items[0]
            text += f" ({plain(item.name, NAME_CHARS)} {code(item.value)})"
        lines.append(text)
    if len(failed) > ERRORS_SHOWN:
        lines.append(f"{ELLIPSIS}and {plural(len(failed) - ERRORS_SHOWN, 'more error')}")
    return lines


def unlisted_subject(task: Task) -> str:
    """Why a watch ended that DescribeTasks stopped listing (DescribeTaskAttribute gave the status)."""
    status = plain(task.task_status or "Unknown", NAME_CHARS)
    cancelled = " (cancelled)" if task.task_status == TaskStatus.DELETED.value else ""
    return f"No longer listed by ECS: {status}{cancelled}. No longer watching this task."


def gone_note(task: Task, *, region_id: str) -> Message:
    """ECS answers InvalidTaskId.NotFound for a watched task: the watch ends, saying so."""
    text = (
        f"{EXPIRED_EMOJI} ECS no longer knows this task: {code(task.task_id)} is not found in "
        f"{plain(region_id, NAME_CHARS)} (it was {plain(task.task_status or 'Unknown', NAME_CHARS)}). "
        "No longer watching it."
    )
    return _message(
        f"ECS no longer knows {task.task_id}; no longer watching it", to_dicts([SectionBlock(text=mrkdwn(text))])
    )


def cancelled_by_note(task_id: str, cancelled_by: str) -> Message:
    """Someone other than ecs-tasks cancelled a followed task (an ActionTrail event told who)."""
    text = f":no_entry_sign: {code(task_id)} was cancelled by {cancelled_by}."
    return _message(f"{task_id} was cancelled by {cancelled_by}", to_dicts([SectionBlock(text=mrkdwn(text))]))


def expiry_note(task: Task, *, ttl: timedelta, region_id: str, account: str = HOME_ACCOUNT_NAME) -> Message:
    # The command to watch again names the account too, so it works in a channel bound to several.
    words = [region_id] if account == HOME_ACCOUNT_NAME else [account, region_id]
    again = " ".join(plain(word, NAME_CHARS) for word in words)
    text = (
        f"{EXPIRED_EMOJI} Stopped watching {code(task.task_id)} after {format_duration(ttl)} "
        f"(ECS_TASKS_WATCH_TTL); it was {plain(task.task_status or 'Unknown', NAME_CHARS)}. "
        f"To keep following it: `/ecs-tasks watch {again} {plain(task.task_id)}`"
    )
    return _message(
        f"Stopped watching {task.task_id} after {format_duration(ttl)}", to_dicts([SectionBlock(text=mrkdwn(text))])
    )


# --- the channel cannot be posted to ---------------------------------------------------------------


def channel_problem_message(
    channel_id: str, problem: str, *, task_ids: Sequence[str], kept: bool, gave_up_after: str | None = None
) -> Message:
    """For the person who set the watch or subscription up: what happened and how to fix it. `gave_up_after`
    (e.g. "24h"): the watch was paused that long and has now ended."""
    where = f"<#{plain(channel_id, NAME_CHARS)}>"
    tasks = ", ".join(code(t) for t in task_ids[:5]) + (f" and {len(task_ids) - 5} more" if len(task_ids) > 5 else "")
    if problem == NOT_IN_CHANNEL:
        fix = f"Invite me with `/invite {BOT_HANDLE}` in {where}; the updates waiting will be posted then."
    elif problem in (IS_ARCHIVED, IS_INACTIVE):
        fix = f"{where} is archived. Unarchive it, or watch the tasks again in another channel."
    elif problem == CHANNEL_NOT_FOUND:
        fix = (
            f"If {where} is a private channel, invite me with `/invite {BOT_HANDLE}` there; "
            "if it was deleted, watch the tasks again in another channel."
        )
    elif problem in (RESTRICTED_ACTION, RESTRICTED_READ_ONLY, RESTRICTED_THREAD_ONLY):
        fix = f"{where} does not allow my posts (read-only or restricted); ask its managers to allow them."
    else:
        fix = "Check the channel and try again."
    if gave_up_after is not None:
        outcome = f"Posting has failed for {gave_up_after}, so I stopped watching there."
    else:
        outcome = "I keep watching and will post there once I can." if kept else "I stopped posting there."
    what = f"I could not post updates about {tasks} in {where} ({code(problem, NAME_CHARS)})."
    text = f"{WARNING_EMOJI} {what} {fix} {outcome}"
    return _message(f"ecs-tasks could not post in {channel_id}: {problem}", to_dicts([SectionBlock(text=mrkdwn(text))]))


def plain_fallback(message: Message) -> Message:
    """The message as plain text alone, for when Slack refuses its blocks: the change still gets through."""
    return Message(text=message.text, blocks=[])


def while_paused(message: Message, *, from_status: str | None, to_status: str | None) -> Message:
    """A change summed up after a hold: one post with the current state, saying what happened meanwhile."""
    before, after = plain(from_status or "Unknown", NAME_CHARS), plain(to_status or "Unknown", NAME_CHARS)
    note = f"{before} → {after} while updates were paused"
    blocks = [*message.blocks, *to_dicts([ContextBlock(elements=[mrkdwn(note)])])]
    return Message(text=clip(f"{message.text} ({note})", FALLBACK_CHARS), blocks=blocks)


# --- the channel's list ---------------------------------------------------------------------------


def describe_subscription(subscription: Subscription, *, show_account: bool = False) -> str:
    region = "all regions" if subscription.all_regions else subscription.region_id
    parts = (region, subscription.status or ANY_STATUS, subscription.action or ANY_ACTION)
    return SEPARATOR.join(((f"account {subscription.account}",) if show_account else ()) + parts)


def list_message(
    watches: Sequence[Watch], subscriptions: Sequence[Subscription], *, now: datetime, show_accounts: bool = False
) -> Message:
    """The channel's watches and subscriptions, each with its Unwatch / Unsubscribe button; with
    `show_accounts` (accounts are configured), each names its account."""
    summary = (
        f"This channel watches {plural(len(watches), 'task')} and has {plural(len(subscriptions), 'subscription')}."
    )
    if not watches and not subscriptions:
        text = (
            "This channel watches no task and has no subscription. "
            "Try `/ecs-tasks watch REGION t-…` or `/ecs-tasks subscribe REGION failed`."
        )
        return _message(text, to_dicts([SectionBlock(text=mrkdwn(text))]))
    rows: list[tuple[str, str, str, str]] = [
        (
            f"*Subscription* {plain(describe_subscription(s, show_account=show_accounts), MESSAGE_CHARS)}"
            f"{SEPARATOR}by <@{plain(s.user_id, NAME_CHARS)}>",
            LABEL_UNSUBSCRIBE,
            ACTION_UNSUBSCRIBE,
            str(s.id),
        )
        for s in subscriptions
    ]
    rows += [
        (
            f"{task_status_line(w.task, now=now)}{SEPARATOR}"
            + (f"account {plain(w.account, NAME_CHARS)}{SEPARATOR}" if show_accounts else "")
            + f"{plain(w.region_id, NAME_CHARS)}{SEPARATOR}until {slack_date(w.expires_at)}",
            LABEL_UNWATCH,
            ACTION_UNWATCH,
            unwatch_value(w),
        )
        for w in watches
    ]

    def build(shown: int) -> BlockDicts:
        blocks: list[Block] = [SectionBlock(text=mrkdwn(summary))]
        for index, (text, label, action, value) in enumerate(rows[:shown]):
            blocks.append(SectionBlock(text=mrkdwn(text), accessory=button(label, action, value, index=index)))
        blocks.extend(_more(len(rows) - shown, "item"))
        return to_dicts(blocks)

    return _message(summary, _fit(build, len(rows), summary))
