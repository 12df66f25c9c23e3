"""The poller's cursors, per (scope, account, region): where an unfinished pass over the watched tasks
stopped, and when a subscription scan last succeeded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from shared.ecs.accounts import HOME_ACCOUNT_NAME
from shared.store.schema import poll_cursors
from shared.store.tx import transact
from shared.updates.model import PollCursor


class CursorStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def by_region(self, scope: str, account: str = HOME_ACCOUNT_NAME) -> dict[str, PollCursor]:
        """One account's cursors of one scope, by region."""
        query = select(poll_cursors).where(poll_cursors.c.scope == scope, poll_cursors.c.account == account)
        with self.engine.connect() as connection:
            return {
                r.region_id: PollCursor(r.region_id, r.resume_after, r.last_success_at, account=r.account)
                for r in connection.execute(query)
            }

    def save(
        self,
        scope: str,
        region_id: str,
        *,
        now: datetime,
        resume_after: str | None = None,
        last_success_at: datetime | None = None,
        account: str = HOME_ACCOUNT_NAME,
    ) -> None:
        """Upsert one (account, region)'s cursor. `last_success_at` only ever moves forward (two pollers may
        race)."""
        values: dict[str, Any] = {"resume_after": resume_after, "updated_at": now}
        c = poll_cursors.c
        where = [c.scope == scope, c.account == account, c.region_id == region_id]
        if last_success_at is not None:
            values["last_success_at"] = last_success_at
            where.append(or_(c.last_success_at.is_(None), c.last_success_at < last_success_at))

        def work(connection: Connection) -> int:
            return connection.execute(update(poll_cursors).where(*where).values(**values)).rowcount

        if transact(self.engine, work) == 1:
            return
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    insert(poll_cursors).values(scope=scope, account=account, region_id=region_id, **values)
                )
        except IntegrityError:
            pass  # the row exists: either a newer success is recorded already, or a concurrent insert won
