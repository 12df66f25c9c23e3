"""Watches (and subscription follow-ups): creation, the compare-and-set that accepts a change, expiry.

Accepting a change is one conditional UPDATE (`WHERE version = :seen AND state = 'active'`): of two
pollers that saw the same change, exactly one matches a row. Its outbox row is inserted in the same
transaction, so a change is never accepted without something to post, nor posted without being accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.ecs.models import Task
from shared.store.channel_lock import ensure_lock_row, lock_channel
from shared.store.schema import ENTRY_PENDING, LIVE, transitions, watches
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
FULL = "full"  # not added: the channel is at its limit
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
        account=row.account,
        started_by=row.started_by,
    )


def _target(r: Any) -> PollTarget:
    # The row is `WatchStore._TARGET_COLUMNS`, in PollTarget's field order: unpacked by position (this runs
    # once per watch per pass; a Row's lookups by name cost more).
    watch_id, region_id, task_id, version, last_status, announced, *rest = r
    return PollTarget(watch_id, region_id, task_id, version, last_status, bool(announced), *rest)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))


class WatchStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # poll_batch's statements by shape (whether after, upto, statuses are given): built once, not per batch.
        self._batch_queries: dict[tuple[bool, bool, bool], Any] = {}

    # --- creating ---------------------------------------------------------------------------------

    def add(self, new: NewWatch, *, now: datetime, ttl: timedelta, limit: int | None = None) -> tuple[int, str]:
        """Create the watch, or revive an ended one of the same task in the same channel.

        One active follow per (channel, account, region, task): a subscription's follow-up not yet announced is
        taken over by the watch (its card becomes this one); one already announced (or another watch)
        stays as it is. Returns (watch id, ADDED | REVIVED | ALREADY); for ALREADY, the active follow's id.
        With a `limit`: (0, FULL) instead of a new active watch when the channel has `limit` active follows
        already, counted and added under the channel's lock (one step for every instance).
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
            "live": LIVE,
            "problem": None,
            "suspended": None,
            "created_at": now,
            "expires_at": now + ttl,
            "updated_at": now,
        }
        same_task = and_(
            watches.c.channel_id == new.channel_id,
            watches.c.account == new.account,
            watches.c.region_id == new.region_id,
            watches.c.task_id == new.task.task_id,
        )
        own = and_(same_task, watches.c.origin == ORIGIN_WATCH)

        def live_id(connection: Connection) -> int | None:
            found = connection.execute(select(watches.c.id).where(same_task, watches.c.live == LIVE)).scalar()
            return int(found) if found is not None else None

        def work(connection: Connection) -> tuple[int, str]:
            if limit is not None:
                lock_channel(connection, new.channel_id, now=now)
            # A silent follow-up becomes this watch (its origin is kept, as history of how it began); it is
            # active already, so the count does not change.
            adopted = connection.execute(
                update(watches)
                .where(same_task, watches.c.live == LIVE, watches.c.announced.is_(False))
                .values(**values, version=watches.c.version + 1)
            ).rowcount
            if adopted == 1:
                return live_id(connection) or 0, REVIVED
            existing = live_id(connection)
            if existing is not None:
                return existing, ALREADY
            if limit is not None and _count_active(connection, new.channel_id) >= limit:
                return 0, FULL
            # The version still grows: outbox rows of the earlier life keep unique sequence numbers.
            revived = connection.execute(
                update(watches)
                .where(own, watches.c.state != WATCH_ACTIVE)
                .values(**values, version=watches.c.version + 1)
            ).rowcount
            if revived == 1:
                return live_id(connection) or 0, REVIVED
            result = connection.execute(
                insert(watches).values(
                    channel_id=new.channel_id,
                    account=new.account,
                    region_id=new.region_id,
                    task_id=new.task.task_id,
                    origin=ORIGIN_WATCH,
                    **values,
                    version=1,
                )
            )
            return _new_id(result), ADDED

        if limit is not None:
            ensure_lock_row(self.engine, new.channel_id, now=now)
        try:
            return transact(self.engine, work)
        except IntegrityError:
            pass  # another request (or a subscription's scan) made it active first
        return self._live_id(same_task) or 0, ALREADY

    def _live_id(self, same_task: Any) -> int | None:
        with self.engine.connect() as connection:
            found = connection.execute(select(watches.c.id).where(same_task, watches.c.live == LIVE)).scalar()
        return int(found) if found is not None else None

    def live_in_channel(
        self, channel_id: str, region_id: str, task_ids: Sequence[str], *, accounts: Sequence[str] | None = None
    ) -> list[Watch]:
        """The active follows of these tasks in this channel, whatever began them (a watch or a subscription),
        in these accounts (None: in any)."""
        found: list[Watch] = []
        with self.engine.connect() as connection:
            for part in chunks(list(dict.fromkeys(task_ids))):
                query = select(watches).where(
                    watches.c.channel_id == channel_id,
                    watches.c.region_id == region_id,
                    watches.c.task_id.in_(part),
                    watches.c.live == LIVE,
                )
                if accounts is not None:
                    query = query.where(watches.c.account.in_(list(accounts)))
                found += [watch_from_row(r) for r in connection.execute(query.order_by(watches.c.id))]
        return found

    def count_active(self, channel_id: str) -> int:
        """Active follows in a channel (watches and subscriptions' follow-ups): what the per-channel bound counts."""
        with self.engine.connect() as connection:
            return _count_active(connection, channel_id)

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
    ) -> bool:
        """Start following a task a subscription found; False if the channel follows it already.

        One active follow per (channel, region, task): overlapping subscriptions of one channel share it.
        A follow-up that is still silent (waiting for its subscription's status) is announced now when this
        subscription wants it announced. The announcement's outbox row is written in the same transaction,
        so a follow-up is never announced without it, nor twice. `started_by`: who started the task, when an
        ActionTrail event told.
        """
        region_id = task.region_id or ""

        def work(connection: Connection) -> None:
            result = connection.execute(
                insert(watches).values(
                    team_id=subscription.team_id,
                    channel_id=subscription.channel_id,
                    account=subscription.account,
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
                    live=LIVE,
                    started_by=started_by,
                    created_at=now,
                    expires_at=now + ttl,
                    updated_at=now,
                )
            )
            if announce:
                _insert_transition(connection, _new_id(result), 1, KIND_ANNOUNCE, None, task, now, lease)

        try:
            transact(self.engine, work)
            return True
        except IntegrityError:
            pass
        return announce and self._announce_silent(subscription, task, now=now, lease=lease, started_by=started_by)

    def _announce_silent(
        self, subscription: Subscription, task: Task, *, now: datetime, lease: Lease, started_by: str | None
    ) -> bool:
        same_task = and_(
            watches.c.channel_id == subscription.channel_id,
            watches.c.account == subscription.account,
            watches.c.region_id == (task.region_id or ""),
            watches.c.task_id == task.task_id,
            watches.c.live == LIVE,
        )

        def work(connection: Connection) -> bool:
            row = connection.execute(
                select(watches.c.id, watches.c.version, watches.c.announced).where(same_task)
            ).first()
            if row is None or row.announced:
                return False
            starter = {"started_by": started_by} if started_by is not None else {}
            moved = connection.execute(
                update(watches)
                .where(watches.c.id == row.id, watches.c.version == row.version, watches.c.announced.is_(False))
                .values(
                    **starter,
                    announced=True,
                    subscription_id=subscription.id,
                    wanted_status=subscription.status,
                    last_status=task.task_status,
                    task_json=task_to_json(task),
                    version=watches.c.version + 1,
                    updated_at=now,
                )
            ).rowcount
            if moved != 1:
                return False
            _insert_transition(connection, row.id, row.version + 1, KIND_ANNOUNCE, None, task, now, lease)
            return True

        return transact(self.engine, work)

    def note_started_by(self, account: str, region_id: str, task_id: str, started_by: str) -> int:
        """Record who started a task on its live follows that do not say yet (an event that came after the
        poller found the task); how many rows now say."""
        same_task = and_(
            watches.c.account == account,
            watches.c.region_id == region_id,
            watches.c.task_id == task_id,
            watches.c.live == LIVE,
            watches.c.started_by.is_(None),
        )

        def work(connection: Connection) -> int:
            return connection.execute(update(watches).where(same_task).values(started_by=started_by)).rowcount

        return transact(self.engine, work)

    def started_by(self, account: str, region_id: str, task_id: str) -> str | None:
        """Who started the task, if any follow of it (live or ended) was told by an ActionTrail event."""
        query = (
            select(watches.c.started_by)
            .where(
                watches.c.account == account,
                watches.c.region_id == region_id,
                watches.c.task_id == task_id,
                watches.c.started_by.is_not(None),
            )
            .limit(1)
        )
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar()
        return str(found) if found is not None else None

    def live_for_task(self, account: str, region_id: str, task_id: str) -> list[Watch]:
        """The task's active follows in every channel."""
        query = select(watches).where(
            watches.c.account == account,
            watches.c.region_id == region_id,
            watches.c.task_id == task_id,
            watches.c.live == LIVE,
        )
        with self.engine.connect() as connection:
            return [watch_from_row(r) for r in connection.execute(query.order_by(watches.c.id))]

    # --- the poller's compare-and-set -------------------------------------------------------------

    # In PollTarget's field order (`_target` unpacks a row by position).
    _TARGET_COLUMNS = (
        watches.c.id,
        watches.c.region_id,
        watches.c.task_id,
        watches.c.version,
        watches.c.last_status,
        watches.c.announced,
        watches.c.wanted_status,
        watches.c.expires_at,
        watches.c.team_id,
        watches.c.channel_id,
        watches.c.suspended,
        watches.c.checked_at,
        watches.c.account,
    )

    def poll_targets(self) -> list[PollTarget]:
        """Every active watch, in one query (tests and support; the poller streams `poll_batch`)."""
        query = select(*self._TARGET_COLUMNS).where(watches.c.state == WATCH_ACTIVE).order_by(watches.c.id)
        with self.engine.connect() as connection:
            return [_target(r) for r in connection.execute(query)]

    def active_groups(self) -> list[tuple[str, str]]:
        """The (account, region) pairs (as stored: unchecked) with at least one active watch."""
        query = select(watches.c.account, watches.c.region_id).where(watches.c.state == WATCH_ACTIVE).distinct()
        with self.engine.connect() as connection:
            return sorted((str(r.account), str(r.region_id)) for r in connection.execute(query))

    def poll_batch(
        self,
        region_id: str,
        *,
        account: str = HOME_ACCOUNT_NAME,
        after: str | None,
        upto: str | None = None,
        limit: int,
        statuses: Sequence[str] | None = None,
    ) -> list[PollTarget]:
        """The active watches of the next `limit` distinct task ids of an account's region after `after` (up
        to `upto`, included), in task-id order: keyset pagination, so a tick holds one batch at a time.

        One round trip: the batch ends at the last of its task ids, found by a subquery (not a first query and
        then an IN list of the ids), and the statement is built once per shape (`_batch_query`)."""
        params: dict[str, Any] = {"account": account, "region_id": region_id, "limit": limit}
        if after is not None:
            params["after"] = after
        if upto is not None:
            params["upto"] = upto
        if statuses is not None:
            params["statuses"] = list(statuses)
        query = self._batch_query(after is not None, upto is not None, statuses is not None)
        with self.engine.connect() as connection:
            rows = connection.execute(query, params).all()
        return [_target(r) for r in rows]

    def _batch_query(self, after: bool, upto: bool, statuses: bool) -> Any:
        key = (after, upto, statuses)
        query = self._batch_queries.get(key)
        if query is not None:
            return query
        where = [
            watches.c.state == WATCH_ACTIVE,
            watches.c.account == bindparam("account"),
            watches.c.region_id == bindparam("region_id"),
        ]
        if after:
            where.append(watches.c.task_id > bindparam("after"))
        if upto:
            where.append(watches.c.task_id <= bindparam("upto"))
        if statuses:
            where.append(watches.c.last_status.in_(bindparam("statuses", expanding=True)))
        ids = (
            select(watches.c.task_id)
            .where(*where)
            .distinct()
            .order_by(watches.c.task_id)
            .limit(bindparam("limit"))
            .subquery("batch_ids")
        )
        # Ids in order: the batch is every matching row up to its last id, a range on the stream index (a join
        # on the ids would have SQLite scan the rest of the region for each batch).
        last_id = select(func.max(ids.c.task_id)).scalar_subquery()
        query = (
            select(*self._TARGET_COLUMNS)
            .where(*where, watches.c.task_id <= last_id)
            .order_by(watches.c.task_id, watches.c.id)
        )
        self._batch_queries[key] = query
        return query

    def mark_checked(self, watch_ids: Sequence[int], *, now: datetime) -> None:
        """DescribeTaskAttribute answered for these watches' tasks (the next look-ups start elsewhere)."""
        for part in chunks(list(watch_ids)):

            def work(connection: Connection, ids: Sequence[int] = part) -> None:
                connection.execute(update(watches).where(watches.c.id.in_(ids)).values(checked_at=now))

            transact(self.engine, work)

    def set_suspended(self, watch_id: int, reason: str | None) -> bool:
        """Mark (or, with None, clear) why today's policy stops this watch; True only for the call that
        changed it, so the poller logs each suspension once, not every tick."""
        column = watches.c.suspended
        changed = (column.is_(None) | (column != reason)) if reason is not None else column.is_not(None)

        def work(connection: Connection) -> int:
            return connection.execute(
                update(watches).where(watches.c.id == watch_id, changed).values(suspended=reason)
            ).rowcount

        return transact(self.engine, work) == 1

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
            values["live"] = None
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
                .values(state=WATCH_EXPIRED, live=None, version=watches.c.version + 1, updated_at=now)
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
                    .values(state=WATCH_STOPPED, live=None, version=watches.c.version + 1)
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
                .values(state=WATCH_STOPPED, live=None, version=watches.c.version + 1)
            ).rowcount

        return transact(self.engine, work)

    def settled_in_channels(
        self,
        channel_ids: Sequence[str],
        region_id: str,
        task_ids: Sequence[str],
        *,
        account: str = HOME_ACCOUNT_NAME,
    ) -> set[tuple[str, str]]:
        """(channel, task id) pairs a scan must leave alone: followed there already, and either announced or
        over (a silent active follow-up may still be announced by another subscription)."""
        found: set[tuple[str, str]] = set()
        if not channel_ids:
            return found
        settled = or_(watches.c.announced.is_(True), watches.c.state != WATCH_ACTIVE)
        with self.engine.connect() as connection:
            for part in chunks(list(task_ids)):
                query = select(watches.c.channel_id, watches.c.task_id).where(
                    watches.c.channel_id.in_(list(channel_ids)),
                    watches.c.account == account,
                    watches.c.region_id == region_id,
                    watches.c.task_id.in_(part),
                    settled,
                )
                found.update((r.channel_id, r.task_id) for r in connection.execute(query))
        return found

    def set_problem(self, watch_id: int, problem: str | None) -> None:
        def work(connection: Connection) -> None:
            connection.execute(update(watches).where(watches.c.id == watch_id).values(problem=problem))

        transact(self.engine, work)

    def end_undeliverable(self, watch_id: int, problem: str, *, now: datetime) -> bool:
        """The channel is gone or archived: the watch ends, deliberately and on record."""

        def work(connection: Connection) -> int:
            return connection.execute(
                update(watches)
                .where(watches.c.id == watch_id, watches.c.state.in_((WATCH_ACTIVE, WATCH_ENDED)))
                .values(**_undeliverable(problem, now))
            ).rowcount

        return transact(self.engine, work) == 1

    def end_channel(self, channel_id: str, problem: str, *, now: datetime) -> int:
        """The channel is archived: every live watch in it ends, deliberately and on record (one statement)."""

        def work(connection: Connection) -> int:
            return connection.execute(
                update(watches)
                .where(watches.c.channel_id == channel_id, watches.c.state.in_((WATCH_ACTIVE, WATCH_ENDED)))
                .values(**_undeliverable(problem, now))
            ).rowcount

        return transact(self.engine, work)

    def move_card(self, channel_id: str, old_ts: str, new_ts: str) -> int:
        """Someone deleted a card: every watch shown on it now lives on the new card, and replies go there."""

        def work(connection: Connection) -> int:
            return connection.execute(
                update(watches)
                .where(watches.c.channel_id == channel_id, watches.c.card_ts == old_ts)
                .values(card_ts=new_ts, thread_ts=new_ts)
            ).rowcount

        return transact(self.engine, work)


def _undeliverable(problem: str, now: datetime) -> dict[str, Any]:
    """What ending a watch whose channel cannot be posted to writes: ended on record, with the reason."""
    return {
        "state": WATCH_UNDELIVERABLE,
        "live": None,
        "problem": problem,
        "version": watches.c.version + 1,
        "updated_at": now,
    }


def _count_active(connection: Connection, channel_id: str) -> int:
    query = select(func.count()).where(watches.c.channel_id == channel_id, watches.c.state == WATCH_ACTIVE)
    return int(connection.execute(query).scalar_one())


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
