"""Subscriptions of channels to new tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.store.channel_lock import ensure_lock_row, lock_channel
from shared.store.schema import subscriptions
from shared.store.tx import transact
from shared.updates.model import Subscription, filter_key


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        team_id=row.team_id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        region_id=row.region_id,
        status=row.status,
        action=row.action,
        created_at=row.created_at,
        suspended=row.suspended,
        account=row.account,
    )


class SubscriptionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        *,
        team_id: str | None,
        channel_id: str,
        user_id: str,
        region_id: str,
        status: str | None,
        action: str | None,
        now: datetime,
        account: str = HOME_ACCOUNT_NAME,
    ) -> tuple[Subscription, bool]:
        """The channel's subscription with this filter in this account, and whether it is new (one per filter
        and account per channel)."""
        added = self._add(team_id, channel_id, user_id, region_id, status, action, now, account, limit=None)
        if added is None:
            raise RuntimeError("a subscription without a limit was refused")  # only a limit refuses
        return added

    def add_within(
        self,
        limit: int,
        *,
        team_id: str | None,
        channel_id: str,
        user_id: str,
        region_id: str,
        status: str | None,
        action: str | None,
        now: datetime,
        account: str = HOME_ACCOUNT_NAME,
    ) -> tuple[Subscription, bool] | None:
        """As `add`, or None instead of a new subscription when the channel has `limit` already: counted and
        added under the channel's lock, one step for every instance."""
        return self._add(team_id, channel_id, user_id, region_id, status, action, now, account, limit=limit)

    def _add(
        self,
        team_id: str | None,
        channel_id: str,
        user_id: str,
        region_id: str,
        status: str | None,
        action: str | None,
        now: datetime,
        account: str,
        *,
        limit: int | None,
    ) -> tuple[Subscription, bool] | None:
        key = filter_key(region_id, status, action, account)
        this_one = and_(subscriptions.c.channel_id == channel_id, subscriptions.c.filter_key == key)

        def work(connection: Connection) -> bool | None:
            if limit is not None:
                lock_channel(connection, channel_id, now=now)
                if connection.execute(select(subscriptions.c.id).where(this_one)).first() is not None:
                    return False
                count = select(func.count()).where(subscriptions.c.channel_id == channel_id)
                if int(connection.execute(count).scalar_one()) >= limit:
                    return None
            connection.execute(
                insert(subscriptions).values(
                    team_id=team_id,
                    channel_id=channel_id,
                    account=account,
                    user_id=user_id,
                    region_id=region_id,
                    status=status,
                    action=action,
                    filter_key=key,
                    created_at=now,
                )
            )
            return True

        if limit is not None:
            ensure_lock_row(self.engine, channel_id, now=now)
        try:
            created = transact(self.engine, work)
        except IntegrityError:
            created = False
        if created is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(subscriptions).where(this_one)).one()
        return _subscription(row), created

    def all(self) -> list[Subscription]:
        with self.engine.connect() as connection:
            return [_subscription(r) for r in connection.execute(select(subscriptions).order_by(subscriptions.c.id))]

    def for_channel(self, channel_id: str) -> list[Subscription]:
        query = select(subscriptions).where(subscriptions.c.channel_id == channel_id).order_by(subscriptions.c.id)
        with self.engine.connect() as connection:
            return [_subscription(r) for r in connection.execute(query)]

    def get(self, subscription_id: int) -> Subscription | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).first()
        return _subscription(row) if row else None

    def remove(self, channel_id: str, subscription_ids: Sequence[int]) -> list[Subscription]:
        """Delete these subscriptions of the channel; returns those that existed (their follow-ups are the
        caller's to stop)."""
        found = [s for s in self.for_channel(channel_id) if s.id in set(subscription_ids)]
        if found:

            def work(connection: Connection) -> None:
                connection.execute(
                    delete(subscriptions).where(
                        subscriptions.c.channel_id == channel_id, subscriptions.c.id.in_([s.id for s in found])
                    )
                )

            transact(self.engine, work)
        return found

    def set_suspended(self, subscription_id: int, reason: str | None) -> bool:
        """As `WatchStore.set_suspended`: True only for the call that changed the mark."""
        column = subscriptions.c.suspended
        changed = (column.is_(None) | (column != reason)) if reason is not None else column.is_not(None)

        def work(connection: Connection) -> int:
            return connection.execute(
                update(subscriptions).where(subscriptions.c.id == subscription_id, changed).values(suspended=reason)
            ).rowcount

        return transact(self.engine, work) == 1

    def count(self, channel_id: str) -> int:
        query = select(func.count()).where(subscriptions.c.channel_id == channel_id)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())
