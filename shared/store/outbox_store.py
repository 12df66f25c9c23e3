"""The outbox: pending posts, their delivery leases, and the record that each one was posted.

A row is delivered only by the holder of its lease. The poller that accepted the change holds it from the
start; a lease that ran out (its poller crashed or stopped) is taken over by one conditional UPDATE, so
exactly one later tick resumes it. Marking a row posted is conditional on still holding the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select, update

from shared.store.schema import (
    ENTRY_PENDING,
    ENTRY_POSTED,
    transitions,
    watches,
)
from shared.store.tx import transact
from shared.store.watch_store import chunks, watch_from_row
from shared.updates.model import KIND_ANNOUNCE, Lease, OutboxEntry, task_from_json

# One tick never loads more pending rows than this; the rest wait for the next tick.
MAX_PENDING = 2_000


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take_over_expired(self, lease: Lease, *, now: datetime) -> int:
        """Become the deliverer of every pending row whose lease ran out (one statement, so two pollers
        never both take the same row)."""

        def work(connection: Connection) -> int:
            return connection.execute(
                update(transitions)
                .where(transitions.c.state == ENTRY_PENDING, transitions.c.lease_until < now)
                .values(lease_owner=lease.owner, lease_until=lease.until, attempts=transitions.c.attempts + 1)
            ).rowcount

        return transact(self.engine, work)

    def pending(self, owner: str, *, limit: int = MAX_PENDING) -> list[OutboxEntry]:
        """Pending rows of the watches where `owner` holds at least one, oldest change first within each watch
        (all of a watch's pending rows, so the caller can keep their order; other watches' rows, such as
        long-deferred ones, never crowd this owner's work out of the limit)."""
        owned = (
            select(transitions.c.watch_id)
            .where(transitions.c.state == ENTRY_PENDING, transitions.c.lease_owner == owner)
            .scalar_subquery()
        )
        query = (
            select(transitions, watches)
            .join(watches, watches.c.id == transitions.c.watch_id)
            .where(transitions.c.state == ENTRY_PENDING, transitions.c.watch_id.in_(owned))
            .order_by(transitions.c.watch_id, transitions.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [_delivery(row) for row in rows]

    def mark_posted(
        self,
        delivery: OutboxEntry,
        lease: Lease,
        *,
        posted_ts: str | None,
        now: datetime,
        folded: Sequence[int] = (),
    ) -> bool:
        """Record that Slack accepted the post (with the ts it gave); for an announcement, the new card's ts
        becomes the watch's card in the same transaction. `folded`: earlier rows of the same watch that this
        one post summed up, recorded as posted with it. False if the lease was lost meanwhile."""
        ids = [delivery.transition_id, *folded]

        def work(connection: Connection) -> bool:
            done = connection.execute(
                update(transitions)
                .where(
                    transitions.c.id.in_(ids),
                    transitions.c.lease_owner == lease.owner,
                    transitions.c.state == ENTRY_PENDING,
                )
                .values(state=ENTRY_POSTED, posted_ts=posted_ts, posted_at=now)
            ).rowcount
            if done != len(ids):
                # Part of it lost to another poller: record none of it (raising rolls the transaction back).
                raise _LeaseLost
            if delivery.kind == KIND_ANNOUNCE and posted_ts:
                connection.execute(
                    update(watches)
                    .where(watches.c.id == delivery.watch.id, watches.c.card_ts.is_(None))
                    .values(card_ts=posted_ts, thread_ts=posted_ts)
                )
            return True

        try:
            return transact(self.engine, work)
        except _LeaseLost:
            return False

    def close(self, transition_ids: Sequence[int], lease: Lease, *, state: str) -> int:
        """End rows without posting them (undeliverable, abandoned): deliberately, and on record."""
        return self._update_owned(transition_ids, lease.owner, {"state": state})

    def defer(self, transition_ids: Sequence[int], lease: Lease, *, until: datetime) -> int:
        """Give rows back, to be tried again from `until` (not in channel, rate limited, out of time)."""
        return self._update_owned(transition_ids, lease.owner, {"lease_owner": None, "lease_until": until})

    def release_all(self, lease: Lease, *, now: datetime) -> int:
        """At the end of a tick: whatever this poller still holds may be taken by the next tick at once."""

        def work(connection: Connection) -> int:
            return connection.execute(
                update(transitions)
                .where(transitions.c.lease_owner == lease.owner, transitions.c.state == ENTRY_PENDING)
                .values(lease_owner=None, lease_until=now)
            ).rowcount

        return transact(self.engine, work)

    def count_by_state(self) -> dict[str, int]:
        query = select(transitions.c.state, func.count()).group_by(transitions.c.state)
        with self.engine.connect() as connection:
            return {state: int(n) for state, n in connection.execute(query)}

    def for_watch(self, watch_id: int) -> list[dict[str, Any]]:
        """Every outbox row of a watch, oldest first (for tests and support)."""
        query = select(transitions).where(transitions.c.watch_id == watch_id).order_by(transitions.c.seq)
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def _update_owned(self, transition_ids: Sequence[int], owner: str, values: dict[str, Any]) -> int:
        changed = 0
        for part in chunks(list(transition_ids)):

            def work(connection: Connection, ids: Sequence[int] = part) -> int:
                return connection.execute(
                    update(transitions)
                    .where(
                        transitions.c.id.in_(ids),
                        transitions.c.lease_owner == owner,
                        transitions.c.state == ENTRY_PENDING,
                    )
                    .values(**values)
                ).rowcount

            changed += transact(self.engine, work)
        return changed


class _LeaseLost(Exception):
    """Some rows of a summed-up post were no longer this poller's."""


def _delivery(row: Row[Any]) -> OutboxEntry:
    mapping = row._mapping
    watch = watch_from_row(_WatchColumns(mapping))
    snapshot = mapping[transitions.c.task_json]
    return OutboxEntry(
        transition_id=mapping[transitions.c.id],
        seq=mapping[transitions.c.seq],
        kind=mapping[transitions.c.kind],
        from_status=mapping[transitions.c.from_status],
        to_status=mapping[transitions.c.to_status],
        task=task_from_json(snapshot) if snapshot else watch.task,
        lease_owner=mapping[transitions.c.lease_owner],
        lease_until=mapping[transitions.c.lease_until],
        attempts=mapping[transitions.c.attempts],
        created_at=mapping[transitions.c.created_at],
        watch=watch,
    )


class _WatchColumns:
    """Attribute access to the watch's columns of a joined row (both tables have `id`, `state`, ...)."""

    def __init__(self, mapping: Any) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        return self._mapping[watches.c[name]]
