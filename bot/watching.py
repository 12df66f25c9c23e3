"""The work behind `/ecs-tasks watch | unwatch | subscribe | unsubscribe | list` and their buttons, run by
`bot.channel_work` (inline or deferred). Each function answers the user itself and returns nothing.

A watch's card is posted before its rows are stored, so a channel the bot cannot post in never gets a
watch that could not be delivered: the user is told how to fix it instead (`/invite @ecs-tasks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import reply
from bot.deps import BotDeps
from bot.grammar import SubscribeCommand, UnsubscribeCommand, UnwatchCommand
from shared.cards.task_cards import Message, notice_message
from shared.ecs.models import Task
from shared.ecs.query import ALL_REGIONS
from shared.errors import EcsApiError
from shared.log import log_event
from shared.updates.cards import channel_problem_message, describe_subscription, list_message, watch_card
from shared.updates.model import TASK_NOT_FOUND, WATCH_ACTIVE, NewWatch, Subscription, Watch, is_terminal, origin_of
from shared.updates.notifier import ChannelUnavailable, Notifier, SlackRejected, SlackUnavailable

BOT_MISSING = (
    "I am not in this channel, so I could not post there. Invite me with `/invite @ecs-tasks`, then try again."
)


@dataclass(frozen=True)
class Where:
    """Who asked, in which channel; `anchor_ts` is the channel card a Watch button was clicked on."""

    team_id: str | None
    channel_id: str
    user_id: str
    anchor_ts: str | None = None


def watch_tasks(
    deps: BotDeps, respond: Respond, client: WebClient, where: Where, region: str, ids: Sequence[str]
) -> None:
    store = deps.store()
    if _refused(deps, respond, where, _rate_refusal(deps, where)):
        return
    # One card per task per channel: a task this channel follows already (watched, or found by one of its
    # subscriptions) is answered with the card it has.
    followed = store.watches.live_in_channel(where.channel_id, region, ids)
    known = {w.task_id for w in followed if w.card_ts}
    wanted = [task_id for task_id in dict.fromkeys(ids) if task_id not in known]
    if wanted and _refused(deps, respond, where, _watch_limit_refusal(deps, where, len(wanted))):
        return
    if followed and known:
        shown_cards = [w for w in followed if w.task_id in known]
        names = ", ".join(f"`{w.task_id}`" for w in shown_cards)
        reply.reply_ephemeral(
            respond, watch_card(shown_cards, now=deps.clock(), title=f"Already followed here: {names}")
        )
    tasks = _find_tasks(deps, region, wanted) if wanted else []
    found = {t.task_id for t in tasks}
    notes = [f"`{t}` was not found in {region}." for t in wanted if t not in found]
    notes += [
        f"`{t.task_id}` already ended ({t.task_status}): nothing to watch." for t in tasks if is_terminal(t.task_status)
    ]
    running = [t for t in tasks if not is_terminal(t.task_status)]
    if not running:
        if notes or not known:
            reply.reply_ephemeral(respond, notice_message("\n".join(notes) or "Nothing to watch."))
        return
    now = deps.clock()
    shown = [_provisional(where, t, now, deps) for t in running]
    card = watch_card(shown, now=now, title=f"Watching {_count(running)} in {region}")
    posted = _post(respond, client, where.channel_id, card, thread_ts=where.anchor_ts)
    if posted is None:
        return
    thread_ts = where.anchor_ts or posted
    for task in running:
        new = NewWatch(
            where.team_id, where.channel_id, where.user_id, region, task, card_ts=posted, thread_ts=thread_ts
        )
        store.watches.add(new, now=now, ttl=deps.settings.watch_ttl)
    names = ", ".join(f"`{t.task_id}`" for t in running)
    lines = [f":eyes: Watching {names} in <#{where.channel_id}>: changes are posted in the card's thread.", *notes]
    reply.reply_ephemeral(respond, notice_message("\n".join(lines)))


def _find_tasks(deps: BotDeps, region: str, task_ids: Sequence[str]) -> list[Task]:
    """DescribeTasks for the ids, then DescribeTaskAttribute for each it did not list: the API page's
    listing leaves out Waiting (and Paused, Deleted) tasks, so "not found" is said only when ECS says so."""
    deadline = deps.ecs.deadline(deps.settings.ecs_deadline_s)
    tasks = [t.with_region(region) for t in deps.ecs.iter_tasks(region, task_ids=task_ids, deadline=deadline)]
    listed = {t.task_id for t in tasks}
    for task_id in task_ids:
        if task_id in listed:
            continue
        try:
            attribute = deps.ecs.describe_task_attribute(region, task_id, deadline=deadline)
        except EcsApiError as error:
            if error.code == TASK_NOT_FOUND:
                continue
            raise
        tasks.append(Task.model_validate(attribute.to_api_dict()).with_region(region))
    return tasks


def unwatch_tasks(
    deps: BotDeps, respond: Respond, client: WebClient, where: Where, command: UnwatchCommand
) -> list[Watch]:
    """Stop the channel's watches of these tasks; their cards are redrawn. Returns the stopped watches."""
    store = deps.store()
    if _refused(deps, respond, where, _rate_refusal(deps, where)):
        return []
    chosen = [
        w
        for w in store.watches.for_channel(where.channel_id)
        if w.task_id in command.task_ids and (command.region is None or w.region_id == command.region)
    ]
    store.watches.stop(where.channel_id, [w.id for w in chosen])
    redraw_cards(deps, client, where.channel_id, {w.card_ts for w in chosen if w.card_ts})
    if chosen:
        names = ", ".join(f"`{w.task_id}`" for w in chosen)
        text = f"Stopped watching {names} in <#{where.channel_id}>."
    else:
        text = "None of these tasks is watched in this channel. `/ecs-tasks list` shows what is."
    reply.reply_ephemeral(respond, notice_message(text))
    return chosen


def redraw_cards(deps: BotDeps, client: WebClient, channel_id: str, card_ts: set[str]) -> None:
    notifier = Notifier(client)
    for ts in sorted(card_ts):
        on_card = deps.store().watches.on_card(channel_id, ts)
        if on_card:
            try:
                notifier.update(channel_id, ts, watch_card(on_card, now=deps.clock()))
            except (ChannelUnavailable, SlackUnavailable, SlackRejected):
                continue  # the card keeps its old look; the watch is stopped all the same (logged by the notifier)


def subscribe(deps: BotDeps, respond: Respond, client: WebClient, where: Where, command: SubscribeCommand) -> None:
    store = deps.store()
    if _refused(deps, respond, where, _rate_refusal(deps, where)):
        return
    status = command.status.value if command.status else None
    action = command.action.value if command.action else None
    regions = (ALL_REGIONS,) if ALL_REGIONS in command.regions else command.regions
    existing = {
        s.region_id
        for s in store.subscriptions.for_channel(where.channel_id)
        if s.status == status and s.action == action
    }
    new_regions = [r for r in regions if r not in existing]
    if not new_regions:
        reply.reply_ephemeral(
            respond, notice_message("This channel already has that subscription (`/ecs-tasks list`).")
        )
        return
    if _refused(deps, respond, where, _subscription_limit_refusal(deps, where, len(new_regions))):
        return
    described = [describe_subscription(_draft(where, r, status, action, deps.clock())) for r in new_regions]
    text = (
        f":bell: <@{where.user_id}> subscribed this channel to new tasks: "
        + "; ".join(described)
        + ". Each new task gets a post here, then updates in its thread. Stop with `/ecs-tasks unsubscribe`."
    )
    # Posted first: if the bot cannot post here, no subscription is left that could never deliver.
    if _post(respond, client, where.channel_id, notice_message(text)) is None:
        return
    for region in new_regions:
        store.subscriptions.add(
            team_id=where.team_id,
            channel_id=where.channel_id,
            user_id=where.user_id,
            region_id=region,
            status=status,
            action=action,
            now=deps.clock(),
        )


def unsubscribe(deps: BotDeps, respond: Respond, where: Where, command: UnsubscribeCommand) -> None:
    store = deps.store()
    if _refused(deps, respond, where, _rate_refusal(deps, where)):
        return
    chosen = [
        s
        for s in store.subscriptions.for_channel(where.channel_id)
        if command.regions is None or s.region_id in command.regions
    ]
    removed = remove_subscriptions(deps, where.channel_id, [s.id for s in chosen])
    if removed:
        text = "Unsubscribed: " + "; ".join(describe_subscription(s) for s in removed) + "."
    else:
        text = "This channel has no such subscription. `/ecs-tasks list` shows what it has."
    reply.reply_ephemeral(respond, notice_message(text))


def remove_subscriptions(deps: BotDeps, channel_id: str, ids: Sequence[int]) -> list[Subscription]:
    store = deps.store()
    removed = store.subscriptions.remove(channel_id, ids)
    store.watches.stop_followups([s.id for s in removed])
    return removed


def channel_list(deps: BotDeps, channel_id: str) -> Message:
    store = deps.store()
    watches = [w for w in store.watches.for_channel(channel_id) if w.state == WATCH_ACTIVE]
    return list_message(watches, store.subscriptions.for_channel(channel_id), now=deps.clock())


# --- bounds (issue 10 item 2): each refusal names the limit, its setting, and how to make room -------

HOW_TO_REMOVE = (
    "See what this channel follows with `/ecs-tasks list` (it has Unwatch and Unsubscribe buttons), or remove "
    "entries with `/ecs-tasks unwatch [REGION] t-ID ...` and `/ecs-tasks unsubscribe [REGION ...]`."
)
RATE_WINDOW = timedelta(minutes=1)
# The rate limit's key: one count per person (per workspace) for every channel-update command.
RATE_KEY_PREFIX = "channel-updates"
RATE_SETTING = "ECS_TASKS_MAX_UPDATE_COMMANDS_PER_MINUTE"
WATCHES_SETTING = "ECS_TASKS_MAX_WATCHES_PER_CHANNEL"
SUBSCRIPTIONS_SETTING = "ECS_TASKS_MAX_SUBSCRIPTIONS_PER_CHANNEL"


@dataclass(frozen=True)
class Refusal:
    setting: str  # the limit's setting, for the log line
    text: str


def _refused(deps: BotDeps, respond: Respond, where: Where, refusal: Refusal | None) -> bool:
    if refusal is None:
        return False
    log_event("updates.refused", channel_id=where.channel_id, user_id=where.user_id, outcome=refusal.setting)
    reply.reply_ephemeral(respond, notice_message(refusal.text))
    return True


def _rate_refusal(deps: BotDeps, where: Where) -> Refusal | None:
    limit = deps.settings.max_update_commands_per_minute
    key = ":".join((RATE_KEY_PREFIX, where.team_id or "-", where.user_id))
    if deps.store().rates.take(key, limit=limit, window=RATE_WINDOW, now=deps.clock()):
        return None
    return Refusal(
        RATE_SETTING,
        f":no_entry: Too many channel-update commands: at most {limit} a minute per person "
        f"({RATE_SETTING}={limit}). Try again in a minute. {HOW_TO_REMOVE}",
    )


def _watch_limit_refusal(deps: BotDeps, where: Where, adding: int) -> Refusal | None:
    limit = deps.settings.max_watches_per_channel
    active = deps.store().watches.count_active(where.channel_id)
    if active + adding <= limit:
        return None
    room = max(0, limit - active)
    return Refusal(
        WATCHES_SETTING,
        f":no_entry: This channel follows {_count_of(active, 'task')}; at most {limit} active watches are allowed "
        f"per channel ({WATCHES_SETTING}={limit}), so {_count_of(room, 'more task')} can be watched here. "
        f"{HOW_TO_REMOVE}",
    )


def _subscription_limit_refusal(deps: BotDeps, where: Where, adding: int) -> Refusal | None:
    limit = deps.settings.max_subscriptions_per_channel
    existing = deps.store().subscriptions.count(where.channel_id)
    if existing + adding <= limit:
        return None
    return Refusal(
        SUBSCRIPTIONS_SETTING,
        f":no_entry: This channel has {_count_of(existing, 'subscription')}; at most {limit} are allowed per "
        f"channel ({SUBSCRIPTIONS_SETTING}={limit}). {HOW_TO_REMOVE}",
    )


def _count_of(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _post(
    respond: Respond, client: WebClient, channel_id: str, message: Message, *, thread_ts: str | None = None
) -> str | None:
    """Post in the channel; None (and the user told why, and how to fix it) if the bot cannot."""
    try:
        return Notifier(client).post(channel_id, message, thread_ts=thread_ts).ts
    except ChannelUnavailable as unavailable:
        text = (
            BOT_MISSING
            if unavailable.recoverable
            else channel_problem_message(channel_id, unavailable.problem, task_ids=(), kept=False).text
        )
        reply.reply_ephemeral(respond, notice_message(text))
    except (SlackUnavailable, SlackRejected) as failed:
        reply.reply_ephemeral(respond, notice_message(f":warning: Slack did not take the post ({failed}). Try again."))
    return None


def _provisional(where: Where, task: Task, now: datetime, deps: BotDeps) -> Watch:
    """The watch as it will be stored, to draw its card before the rows exist."""
    return Watch(
        id=0,
        team_id=where.team_id,
        channel_id=where.channel_id,
        user_id=where.user_id,
        region_id=task.region_id or "",
        task_id=task.task_id,
        origin=origin_of(None),
        subscription_id=None,
        task=task,
        last_status=task.task_status,
        card_ts=None,
        thread_ts=None,
        state=WATCH_ACTIVE,
        problem=None,
        created_at=now,
        expires_at=now + deps.settings.watch_ttl,
    )


def _draft(where: Where, region: str, status: str | None, action: str | None, now: datetime) -> Subscription:
    return Subscription(0, where.team_id, where.channel_id, where.user_id, region, status, action, now)


def _count(tasks: Sequence[Task]) -> str:
    return f"{len(tasks)} task" + ("" if len(tasks) == 1 else "s")
