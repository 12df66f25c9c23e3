"""What the channel-updates feature needs from durable storage: the calls, not how they are made.

The poller and the outbox sender are written against these protocols; `shared.store.SqlStore` implements
them on SQLAlchemy Core. Every call that must happen once is one conditional statement in the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.models import Task
from shared.updates.model import Accepted, Lease, OutboxEntry, PollCursor, PollTarget, Subscription, Watch


class WatchStorage(Protocol):
    def active_groups(self) -> list[tuple[str, str]]:
        """The (account, region) pairs with active watches, as stored (unchecked)."""
        ...

    def poll_batch(
        self,
        region_id: str,
        *,
        account: str = HOME_ACCOUNT_NAME,
        after: str | None,
        upto: str | None = None,
        limit: int,
        statuses: Sequence[str] | None = None,
    ) -> list[PollTarget]: ...

    def set_suspended(self, watch_id: int, reason: str | None) -> bool: ...

    def mark_checked(self, watch_ids: Sequence[int], *, now: datetime) -> None: ...

    def accept(self, change: Accepted, *, now: datetime, lease: Lease) -> bool: ...

    def expire(self, target: PollTarget, *, now: datetime, lease: Lease) -> bool: ...

    def add_followup(
        self,
        subscription: Subscription,
        task: Task,
        *,
        announce: bool,
        now: datetime,
        ttl: timedelta,
        lease: Lease,
        started_by: str | None = None,
    ) -> bool: ...

    def note_started_by(self, account: str, region_id: str, task_id: str, started_by: str) -> int: ...

    def live_for_task(self, account: str, region_id: str, task_id: str) -> list[Watch]: ...

    def settled_in_channels(
        self,
        channel_ids: Sequence[str],
        region_id: str,
        task_ids: Sequence[str],
        *,
        account: str = HOME_ACCOUNT_NAME,
    ) -> set[tuple[str, str]]: ...

    def on_card(self, channel_id: str, card_ts: str) -> list[Watch]: ...

    def set_problem(self, watch_id: int, problem: str | None) -> None: ...

    def end_undeliverable(self, watch_id: int, problem: str, *, now: datetime) -> bool: ...

    def end_channel(self, channel_id: str, problem: str, *, now: datetime) -> int: ...

    def move_card(self, channel_id: str, old_ts: str, new_ts: str) -> int: ...


class SubscriptionStorage(Protocol):
    def all(self) -> list[Subscription]: ...

    def get(self, subscription_id: int) -> Subscription | None: ...

    def for_channel(self, channel_id: str) -> list[Subscription]: ...

    def remove(self, channel_id: str, subscription_ids: Sequence[int]) -> list[Subscription]: ...

    def set_suspended(self, subscription_id: int, reason: str | None) -> bool: ...


class CursorStorage(Protocol):
    """The poller's cursors per (scope, account, region): where a pass stopped, when a scan last succeeded."""

    def by_region(self, scope: str, account: str = HOME_ACCOUNT_NAME) -> dict[str, PollCursor]: ...

    def save(
        self,
        scope: str,
        region_id: str,
        *,
        now: datetime,
        resume_after: str | None = None,
        last_success_at: datetime | None = None,
        account: str = HOME_ACCOUNT_NAME,
    ) -> None: ...


class OutboxStorage(Protocol):
    def take_over_expired(self, lease: Lease, *, now: datetime) -> int: ...

    def pending(self, owner: str) -> list[OutboxEntry]: ...

    def mark_posted(
        self, entry: OutboxEntry, lease: Lease, *, posted_ts: str | None, now: datetime, folded: Sequence[int] = ()
    ) -> bool: ...

    def close(self, transition_ids: Sequence[int], lease: Lease, *, state: str) -> int: ...

    def defer(self, transition_ids: Sequence[int], lease: Lease, *, until: datetime) -> int: ...

    def release_all(self, lease: Lease, *, now: datetime) -> int: ...


class HoldStorage(Protocol):
    """Why the whole outbox holds (Slack refuses the token), and since when."""

    def hold(self, reason: str, *, now: datetime) -> None: ...

    def release(self) -> bool: ...

    def current(self) -> tuple[str, datetime] | None: ...


class UpdatesStorage(Protocol):
    @property
    def watches(self) -> WatchStorage: ...

    @property
    def subscriptions(self) -> SubscriptionStorage: ...

    @property
    def cursors(self) -> CursorStorage: ...

    @property
    def outbox(self) -> OutboxStorage: ...

    @property
    def hold(self) -> HoldStorage: ...

    def claim_channel_notice(self, problem: str, channel_id: str, user_id: str, *, now: datetime) -> bool:
        """True for the one caller that may tell this user about this channel's problem (once per lease)."""
        ...

    def complete_channel_notice(self, problem: str, channel_id: str, user_id: str) -> None: ...

    def purge_deferred_work_claims(self, *, older_than: datetime) -> int: ...


class EventStorage(UpdatesStorage, Protocol):
    """What the EventBridge handler needs beyond the poller's: once-only claims of events."""

    def claim_event(self, key: str, *, now: datetime) -> bool: ...

    def complete_event(self, key: str) -> None: ...

    def release_event(self, key: str) -> None: ...

    def purge_event_claims(self, *, older_than: datetime) -> int: ...
