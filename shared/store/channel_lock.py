"""A channel's lock: held by a transaction that counts the channel's watches (or subscriptions) and adds one,
so two instances adding at once cannot both find room for the last one.

The lock is an UPDATE of the channel's row in `ecs_tasks_channel_locks`: a row lock until the transaction
ends on PostgreSQL and MariaDB, and SQLite's one writer at a time. The row is made first, in its own
transaction, as two instances may make it at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError

from shared.store.schema import channel_locks


def ensure_lock_row(engine: Engine, channel_id: str, *, now: datetime) -> None:
    """The channel's lock row exists (made by this call or by another)."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(channel_locks).values(channel_id=channel_id, locked_at=now))
    except IntegrityError:
        pass  # it exists already: what was wanted


def lock_channel(connection: Connection, channel_id: str, *, now: datetime) -> None:
    """Hold the channel's lock until `connection`'s transaction ends (its row must exist: `ensure_lock_row`)."""
    locked = connection.execute(
        update(channel_locks).where(channel_locks.c.channel_id == channel_id).values(locked_at=now)
    ).rowcount
    if locked != 1:
        raise RuntimeError("the channel's lock row is missing: ensure_lock_row first")
