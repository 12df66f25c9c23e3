"""What the channel-updates feature keeps and moves around: watches, subscriptions, outbox deliveries.

Plain frozen dataclasses (no SQLAlchemy), shared by the store, the tick planner, the poller and the card
layouts. The store keeps these values; their vocabulary (states, kinds, scopes) is defined here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.models import Task
from shared.ecs.query import ALL_REGIONS, TaskStatus

WATCH_ACTIVE = "active"
WATCH_ENDED = "ended"  # the task finished, failed or was deleted
WATCH_EXPIRED = "expired"  # ECS_TASKS_WATCH_TTL passed
WATCH_UNDELIVERABLE = "undeliverable"  # the channel is gone or archived
WATCH_STOPPED = "stopped"  # unwatched or unsubscribed by a person
ORIGIN_WATCH = "watch"
ORIGIN_SUBSCRIPTION_PREFIX = "sub:"

KIND_ANNOUNCE = "announce"  # a subscription's new task: a new card in the channel
KIND_CHANGE = "change"  # card updated in place, a reply in its thread
KIND_FINAL = "final"  # the same, with the final state, duration and (for Failed) error codes
KIND_EXPIRED = "expired"  # the watch's time ran out: a note in the thread
# DescribeTasks no longer lists the task: final, as DescribeTaskAttribute told (e.g. Deleted when cancelled)
KIND_UNLISTED = "unlisted"
KIND_GONE = "gone"  # ECS no longer knows the task at all: a final note in the thread

# An outbox entry's life: pending until posted, or closed on purpose (channel gone, given up).
ENTRY_PENDING = "pending"
ENTRY_POSTED = "posted"
ENTRY_UNDELIVERABLE = "undeliverable"
ENTRY_ABANDONED = "abandoned"

# The poller's cursors are kept per (account, region) for each of its two passes.
SCOPE_WATCHES = "watches"
SCOPE_SUBSCRIPTIONS = "subscriptions"

ANY = "*"  # in a subscription's filter key: no filter on that field


def origin_of(subscription_id: int | None) -> str:
    return ORIGIN_WATCH if subscription_id is None else f"{ORIGIN_SUBSCRIPTION_PREFIX}{subscription_id}"


def task_to_json(task: Task) -> str:
    return json.dumps(task.to_api_dict(), separators=(",", ":"), ensure_ascii=False)


def task_from_json(text: str) -> Task:
    return Task.model_validate(json.loads(text))


def is_terminal(status: str | None) -> bool:
    return status in TaskStatus.TERMINAL


@dataclass(frozen=True)
class PollTarget:
    """The little the poller needs of an active watch to ask about its task and claim a change."""

    watch_id: int
    region_id: str
    task_id: str
    version: int
    last_status: str | None
    announced: bool
    wanted_status: str | None
    expires_at: datetime
    # Where it posts, for today's access policy; and why that policy stopped it, if it did.
    team_id: str | None = None
    channel_id: str = ""
    suspended: str | None = None
    checked_at: datetime | None = None  # DescribeTaskAttribute's last answer, for a task not listed
    # The account (its configured name) the task lives in; as stored: today's policy checks it is bound.
    account: str = HOME_ACCOUNT_NAME


@dataclass(frozen=True)
class Watch:
    """A followed task in a channel, as stored (for cards, lists and delivery)."""

    id: int
    team_id: str | None
    channel_id: str
    user_id: str
    region_id: str
    task_id: str
    origin: str
    subscription_id: int | None
    task: Task
    last_status: str | None
    card_ts: str | None
    thread_ts: str | None
    state: str
    problem: str | None
    created_at: datetime
    expires_at: datetime
    account: str = HOME_ACCOUNT_NAME  # the account's configured name ("home": the function's own role)
    # Who started the task, as a channel is shown it (an ActionTrail event told), or None when unknown.
    started_by: str | None = None


@dataclass(frozen=True)
class NewWatch:
    """A watch to create: its card was already posted (card_ts), replies go to thread_ts."""

    team_id: str | None
    channel_id: str
    user_id: str
    region_id: str
    task: Task
    card_ts: str
    thread_ts: str
    account: str = HOME_ACCOUNT_NAME


@dataclass(frozen=True)
class Subscription:
    id: int
    team_id: str | None
    channel_id: str
    user_id: str
    region_id: str  # a region, or "all"
    status: str | None
    action: str | None
    created_at: datetime
    suspended: str | None = None  # why today's policy stops it, if it does
    account: str = HOME_ACCOUNT_NAME  # the account whose new tasks it posts

    @property
    def all_regions(self) -> bool:
        return self.region_id == ALL_REGIONS

    def covers(self, region_id: str) -> bool:
        return self.all_regions or self.region_id == region_id


def filter_key(region_id: str, status: str | None, action: str | None, account: str = HOME_ACCOUNT_NAME) -> str:
    """One subscription per filter per channel; the account leads (schema v4), so each account has its own."""
    return "|".join((account, region_id, status or ANY, action or ANY))


@dataclass(frozen=True)
class PollCursor:
    """Per (account, region): where an unfinished pass over the watched tasks stopped, and the last good scan."""

    region_id: str
    resume_after: str | None
    last_success_at: datetime | None
    account: str = HOME_ACCOUNT_NAME


@dataclass(frozen=True)
class OutboxEntry:
    """One pending outbox row with the watch it belongs to: everything needed to post it."""

    transition_id: int
    seq: int
    kind: str
    from_status: str | None
    to_status: str | None
    task: Task
    lease_owner: str | None
    lease_until: datetime
    attempts: int
    created_at: datetime
    watch: Watch


@dataclass(frozen=True)
class Accepted:
    """A change a poller saw, to record: the new task, and what (if anything) to post about it."""

    target: PollTarget
    task: Task
    kind: str | None  # an outbox kind, or None to record silently (a follow-up not yet announced)
    ends: bool  # the watch is over (the task ended)
    announces: bool  # this change makes a subscription's follow-up visible


@dataclass(frozen=True)
class Lease:
    """Who delivers an outbox row, and until when nobody else may."""

    owner: str
    until: datetime
