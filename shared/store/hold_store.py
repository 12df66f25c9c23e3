"""The outbox's hold: while Slack refuses the bot's token nothing is posted anywhere, and this says why.

One row at most. The outbox sets it when Slack answers a configuration error and clears it once a post goes
through; the bot's replies to watch, subscribe and list read it (`bot.usecases.channel_status.paused_notice`).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.store.schema import outbox_hold
from shared.store.tx import transact

HOLD_ID = 1


class HoldStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hold(self, reason: str, *, now: datetime) -> None:
        """Record the hold (keeping when it began, if it already holds)."""

        def work(connection: Connection) -> None:
            found = connection.execute(select(outbox_hold.c.id).where(outbox_hold.c.id == HOLD_ID)).first()
            if found is None:
                connection.execute(insert(outbox_hold).values(id=HOLD_ID, reason=reason, since=now))
            else:
                connection.execute(update(outbox_hold).where(outbox_hold.c.id == HOLD_ID).values(reason=reason))

        # Another poller recording the hold at the same moment (a duplicate key) leaves it held either way.
        with suppress(IntegrityError):
            transact(self.engine, work)

    def release(self) -> bool:
        """Posting works again; True if a hold was lifted."""

        def work(connection: Connection) -> int:
            return connection.execute(delete(outbox_hold).where(outbox_hold.c.id == HOLD_ID)).rowcount

        return transact(self.engine, work) == 1

    def current(self) -> tuple[str, datetime] | None:
        """Why the outbox holds and since when; None when it does not."""
        with self.engine.connect() as connection:
            row = connection.execute(select(outbox_hold.c.reason, outbox_hold.c.since)).first()
        return (str(row.reason), row.since) if row is not None else None
