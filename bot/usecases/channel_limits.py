"""The bounds on channel-update commands: each person's rate of them, and each channel's caps on active
watches and subscriptions. A refusal names the limit, its setting, and how to make room, and is logged.

A cap is checked before the card or notice is posted, and again when its rows are stored, counted and added
in one step by the store (another instance may have added since); what the post then says is `NOT_WATCHED`
or `NOT_SUBSCRIBED`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.usecases.where import Where
from bot.usecases.work import Ephemeral, Replies
from bot.wiring.deps import BotDeps
from shared.cards.layout import plural
from shared.cards.task_cards import notice_message
from shared.log import log_event

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
# What a posted card or notice says once the channel turned out to be full when its rows were stored.
NOT_WATCHED = "Not watched: this channel reached its limit of active watches."
NOT_SUBSCRIBED = "Not subscribed: this channel reached its limit of subscriptions."


@dataclass(frozen=True)
class Refusal:
    setting: str  # the limit's setting, for the log line
    text: str


def rate_refused(deps: BotDeps, where: Where) -> Replies:
    """Counts one more channel-update command of this person's; the refusal's answer once the minute's are
    used up (empty: not refused)."""
    limit = deps.settings.max_update_commands_per_minute
    key = ":".join((RATE_KEY_PREFIX, where.team_id or "-", where.user_id))
    if deps.store().rates.take(key, limit=limit, window=RATE_WINDOW, now=deps.clock()):
        return ()
    return _refused(where, rate_refusal(limit))


def watch_limit_refused(deps: BotDeps, where: Where, adding: int) -> Replies:
    """The refusal's answer if `adding` more active watches do not fit in the channel (empty: they do)."""
    active = deps.store().watches.count_active(where.channel_id)
    return _over(where, active, adding, deps.settings.max_watches_per_channel, watch_limit_refusal)


def subscription_limit_refused(deps: BotDeps, where: Where, adding: int) -> Replies:
    """The refusal's answer if `adding` more subscriptions do not fit in the channel (empty: they do)."""
    existing = deps.store().subscriptions.count(where.channel_id)
    return _over(where, existing, adding, deps.settings.max_subscriptions_per_channel, subscription_limit_refusal)


def watches_full(deps: BotDeps, where: Where) -> Replies:
    """The refusal's answer when the store, counting and adding in one step, found the channel's watches full."""
    limit = deps.settings.max_watches_per_channel
    return _refused(where, watch_limit_refusal(limit, limit))


def subscriptions_full(deps: BotDeps, where: Where) -> Replies:
    """The refusal's answer when the store, counting and adding in one step, found the channel's subscriptions
    full."""
    limit = deps.settings.max_subscriptions_per_channel
    return _refused(where, subscription_limit_refusal(limit, limit))


def _over(where: Where, count: int, adding: int, limit: int, refusal: Callable[[int, int], Refusal]) -> Replies:
    return () if count + adding <= limit else _refused(where, refusal(count, limit))


def rate_refusal(limit: int) -> Refusal:
    return Refusal(
        RATE_SETTING,
        f":no_entry: Too many channel-update commands: at most {limit} a minute per person "
        f"({RATE_SETTING}={limit}). Try again in a minute. {HOW_TO_REMOVE}",
    )


def watch_limit_refusal(active: int, limit: int) -> Refusal:
    room = max(0, limit - active)
    return Refusal(
        WATCHES_SETTING,
        f":no_entry: This channel follows {plural(active, 'task')}; at most {limit} active watches are allowed "
        f"per channel ({WATCHES_SETTING}={limit}), so {plural(room, 'more task')} can be watched here. "
        f"{HOW_TO_REMOVE}",
    )


def subscription_limit_refusal(existing: int, limit: int) -> Refusal:
    return Refusal(
        SUBSCRIPTIONS_SETTING,
        f":no_entry: This channel has {plural(existing, 'subscription')}; at most {limit} are allowed per "
        f"channel ({SUBSCRIPTIONS_SETTING}={limit}). {HOW_TO_REMOVE}",
    )


def _refused(where: Where, refusal: Refusal) -> Replies:
    log_event("updates.refused", channel_id=where.channel_id, user_id=where.user_id, outcome=refusal.setting)
    return (Ephemeral(notice_message(refusal.text)),)
