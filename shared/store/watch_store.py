"""Watches (and subscription follow-ups): creation, the compare-and-set that accepts a change, expiry.

Accepting a change is one conditional UPDATE (`WHERE version = :seen AND state = 'active'`): of two
pollers that saw the same change, exactly one matches a row. Its outbox row is inserted in the same
transaction, so a change is never accepted without something to post, nor posted without being accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.ecs.models import Task
from shared.store.schema import ENTRY_PENDING, transitions, watches
from shared.store.tx import transact
from shared.updates.model import (
    KIND_ANNOUNCE,
    KIND_EXPIRED,
    ORIGIN_WATCH,
    WATCH_ACTIVE,
    WATCH_ENDED,
    WATCH_EXPIRED,
    WATCH_STOPPED,
    WATCH_UNDELIVERABLE,
    Accepted,
    Lease,
    NewWatch,
    PollTarget,
    Subscription,
    Watch,
    origin_of,
    task_from_json,
    task_to_json,
)

ADDED = "added"
REVIVED = "revived"
ALREADY = "already"
# IN (...) lists are chunked: every engine takes this many parameters comfortably.
CHUNK = 500


def watch_from_row(row: Any) -> Watch:
    return Watch(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        region_id=row.region_id,
        task_id=row.task_id,
        origin=row.origin,
        subscription_id=row.subscription_id,
        task=task_from_json(row.task_json),
        last_status=row.last_status,
        card_ts=row.card_ts,
        thread_ts=row.thread_ts,
        state=row.state,
        problem=row.problem,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))


class WatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- creating ---------------------------------------------------------------------------------

    def add(self, new: NewWatch, *, now: datetime, ttl: timedelta) -> tuple[int, str]:
        """Create the watch, or revive an ended one of the same task in the same channel.

        Returns (watch id, ADDED | REVIVED | ALREADY); ALREADY when another request made it active first.
        """
        values = {
            "team_id": new.team_id,
            "user_id": new.user_id,
            "subscription_id": None,
            "wanted_status": None,
            "announced": True,
            "last_status": new.task.task_status,
            "task_json": task_to_json(new.task),
            "card_ts": new.card_ts,
            "thread_ts": new.thread_ts,
            "state": WATCH_ACTIVE,
            "problem": None,
            "created_at": now,
            "expires_at": now + ttl,
            "updated_at": now,
        }
        key = {
            "channel_id": new.channel_id,
            "region_id": new.region_id,
            "task_id": new.task.task_id,
            "origin": ORIGIN_WATCH,
        }
        try:
            with self.engine.begin() as connection:
                result = connection.execute(insert(watches).values(**key, **values, version=1))
                return _new_id(result), ADDED
        except IntegrityError:
            pass
        where = and_(*(watches.c[name] == value for name, value in key.items()))

        def revive(connection: Connection) -> int:
            # The version still grows: outbox rows of the earlier life keep unique sequence numbers.
            result = connection.execute(
                update(watches)
                .where(where, watches.c.state != WATCH_ACTIVE)
                .values(**values, version=watches.c.version + 1)
            )
            return result.rowcount

        revived = transact(self.engine, revive)
        with self.engine.connect() as connection:
            watch_id = connection.execute(select(watches.c.id).where(where)).scalar_one()
        return int(watch_id), REVIVED if revived == 1 else ALREADY

    def add_followup(
        self,
        subscription: Subscription,
        task: Task,
        *,
        announce: bool,
        now: datetime,
        ttl: timedelta,
        lease: Lease,
    ) -> bool:
        """Start following a task a subscription found; False if it already does (another scan, a retry).

        The unique key (channel, region, task, origin) de-duplicates overlapping scans; the announcement's
        outbox row is written in the same transaction, so a follow-up never exists without it.
        """
        region_id = task.region_id or ""
        try:
            with self.engine.begin() as connection:
                result = connection.execute(
                    insert(watches).values(
                        team_id=subscription.team_id,
                        channel_id=subscription.channel_id,
                        user_id=subscription.user_id,
                        region_id=region_id,
                        task_id=task.task_id,
                        origin=origin_of(subscription.id),
                        subscription_id=subscription.id,
                        wanted_status=subscription.status,
                        announced=announce,
                        last_status=task.task_status,
                        version=1,
                        task_json=task_to_json(task),
                        state=WATCH_ACTIVE,
                        created_at=now,
                        expires_at=now + ttl,
                        updated_at=now,
                    )
                )
                if announce:
                    watch_id = _new_id(result)
                    _insert_transition(connection, watch_id, 1, KIND_ANNOUNCE, None, task, now, lease)
            return True
        except IntegrityError:
            return False

    # --- the poller's compare-and-set -------------------------------------------------------------

    def poll_targets(self) -> list[PollTarget]:
        """Every active watch, in one query."""
        query = select(
            watches.c.id,
            watches.c.region_id,
            watches.c.task_id,
            watches.c.version,
            watches.c.last_status,
            watches.c.announced,
            watches.c.wanted_status,
            watches.c.expires_at,
        ).where(watches.c.state == WATCH_ACTIVE)
        with self.engine.connect() as connection:
            return [
                PollTarget(
                    r.id,
                    r.region_id,
                    r.task_id,
                    r.version,
                    r.last_status,
                    bool(r.announced),
                    r.wanted_status,
                    r.expires_at,
                )
                for r in connection.execute(query)
            ]

    def accept(self, change: Accepted, *, now: datetime, lease: Lease) -> bool:
        """Record a change seen by this poller; False if another poller (or an earlier tick) already did."""
        target = change.target
        values: dict[str, Any] = {
            "last_status": change.task.task_status,
            "task_json": task_to_json(change.task),
            "version": watches.c.version + 1,
            "updated_at": now,
        }
        if change.ends:
            values["state"] = WATCH_ENDED
        if change.announces:
            values["announced"] = True

        def work(connection: Connection) -> bool:
            result = connection.execute(
                update(watches)
                .where(
                    watches.c.id == target.watch_id,
                    watches.c.version == target.version,
                    watches.c.state == WATCH_ACTIVE,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                return False
            if change.kind is not None:
                _insert_transition(
                    connection,
                    target.watch_id,
                    target.version + 1,
                    change.kind,
                    target.last_status,
                    change.task,
                    now,
                    lease,
                )
            return True

        return transact(self.engine, work)

    def expire(self, target: PollTarget, *, now: datetime, lease: Lease) -> bool:
        """End a watch whose time ran out; its thread gets a note if its card was ever posted."""

        def work(connection: Connection) -> bool:
            result = connection.execute(
                update(watches)
                .where(
                    watches.c.id == target.watch_id,
                    watches.c.version == target.version,
                    watches.c.state == WATCH_ACTIVE,
                )
                .values(state=WATCH_EXPIRED, version=watches.c.version + 1, updated_at=now)
            )
            if result.rowcount != 1:
                return False
            if target.announced:
                _insert_transition(
                    connection,
                    target.watch_id,
                    target.version + 1,
                    KIND_EXPIRED,
                    target.last_status,
                    None,
                    now,
                    lease,
                )
            return True

        return transact(self.engine, work)

    # --- reading and stopping ---------------------------------------------------------------------

    def get(self, watch_id: int) -> Watch | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(watches).where(watches.c.id == watch_id)).first()
        return watch_from_row(row) if row else None

    def on_card(self, channel_id: str, card_ts: str) -> list[Watch]:
        """Every watch shown on one card (a `watch` command can follow several tasks on one card)."""
        query = select(watches).where(watches.c.channel_id == channel_id, watches.c.card_ts == card_ts)
        with self.engine.connect() as connection:
            return [watch_from_row(r) for r in connection.execute(query.order_by(watches.c.id))]

    def for_channel(self, channel_id: str, *, active_only: bool = True) -> list[Watch]:
        query = select(watches).where(watches.c.channel_id == channel_id, watches.c.announced.is_(True))
        if active_only:
            query = query.where(watches.c.state == WATCH_ACTIVE)
        with self.engine.connect() as connection:
            return [watch_from_row(r) for r in connection.execute(query.order_by(watches.c.id))]

    def stop(self, channel_id: str, watch_ids: Sequence[int]) -> int:
        """Stop watches of this channel (a person asked); returns how many were active."""
        stopped = 0
        for part in chunks(list(watch_ids)):

            def work(connection: Connection, ids: Sequence[int] = part) -> int:
                return connection.execute(
                    update(watches)
                    .where(watches.c.channel_id == channel_id, watches.c.id.in_(ids), watches.c.state == WATCH_ACTIVE)
                    .values(state=WATCH_STOPPED, version=watches.c.version + 1)
                ).rowcount

            stopped += transact(self.engine, work)
        return stopped

    def stop_followups(self, subscription_ids: Sequence[int]) -> int:
        if not subscription_ids:
            return 0

        def work(connection: Connection) -> int:
            return connection.execute(
                update(watches)
                .where(watches.c.subscription_id.in_(list(subscription_ids)), watches.c.state == WATCH_ACTIVE)
                .values(state=WATCH_STOPPED, version=watches.c.version + 1)
            ).rowcount

        return transact(self.engine, work)

    def known_followups(self, subscription_ids: Sequence[int], task_ids: Sequence[str]) -> set[tuple[int, str]]:
        """(subscription id, task id) pairs already followed: one query per chunk, before inserting."""
        found: set[tuple[int, str]] = set()
        if not subscription_ids:
            return found
        with self.engine.connect() as connection:
            for part in chunks(list(task_ids)):
                query = select(watches.c.subscription_id, watches.c.task_id).where(
                    watches.c.subscription_id.in_(list(subscription_ids)), watches.c.task_id.in_(part)
                )
                found.update((int(r.subscription_id), r.task_id) for r in connection.execute(query))
        return found

    def set_problem(self, watch_id: int, problem: str | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(update(watches).where(watches.c.id == watch_id).values(problem=problem))

    def end_undeliverable(self, watch_id: int, problem: str, *, now: datetime) -> bool:
        """The channel is gone or archived: the watch ends, deliberately and on record."""
        with self.engine.begin() as connection:
            return (
                connection.execute(
                    update(watches)
                    .where(watches.c.id == watch_id, watches.c.state.in_((WATCH_ACTIVE, WATCH_ENDED)))
                    .values(state=WATCH_UNDELIVERABLE, problem=problem, version=watches.c.version + 1, updated_at=now)
                ).rowcount
                == 1
            )


def _insert_transition(
    connection: Connection,
    watch_id: int,
    seq: int,
    kind: str,
    from_status: str | None,
    task: Task | None,
    now: datetime,
    lease: Lease,
) -> None:
    connection.execute(
        insert(transitions).values(
            watch_id=watch_id,
            seq=seq,
            kind=kind,
            from_status=from_status,
            to_status=task.task_status if task else None,
            task_json=task_to_json(task) if task else None,
            state=ENTRY_PENDING,
            lease_owner=lease.owner,
            lease_until=lease.until,
            attempts=1,
            created_at=now,
        )
    )


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no id for the new row")
    return int(key[0])
